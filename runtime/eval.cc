// SPDX-License-Identifier: Apache-2.0
// eval.cc — the part of CPython's eval loop the lifecycle depends on: the eval breaker
// (GIL drop requests, pending calls, signals; Python/ceval.c eval_frame_handle_pending) and
// the signal channel (Modules/signalmodule.c trip_signal, bpo-30703).
#include "base/check.h"
#include "runtime/runtime.h"

namespace ifz::rt {

using platform::Point;

void Runtime::run_bytecode(int iterations) {
  ThreadState* t = current();
  if (t == nullptr) {
    fatal("PyEval_EvalCode", "the function must be called with the GIL held, but the GIL is released (the current Python thread state is NULL)");
  }
  touch(t, "eval loop: tstate");
  ++t->frames;
  for (int n = 0; n < iterations; ++n) {
    touch(t, "eval loop: tstate");
    touch(t->interp, "eval loop: tstate->interp");
    platform_.point({Point::kYield, "eval", nullptr});
    if (handle_eval_breaker(t)) {
      // ceval: a failing pending call's exception leaves the frame (`goto error`): the rest of
      // the loop does not run, and the caller (PyRun_*) sees it raised.
      emit(EventKind::kError, 0, 0, 0, "RuntimeError: a pending call failed", t, t->interp);
      break;
    }
  }
  touch(t, "eval loop: tstate");  // the last eval breaker check was a scheduling point
  if (t->frames > 0) --t->frames;  // (cleared meanwhile: no frames left to pop)
}

bool Runtime::handle_eval_breaker(ThreadState* t) {
  touch(t->interp, "eval breaker: interp->ceval");
  Ceval& ce = ceval_for(t->interp);
  // 3.9–3.12: the loop looks at nothing unless eval_breaker is set; once in, it handles
  // whatever is pending that this thread may handle, whoever set the flag and why.
  if (defects_.has(Defect::kBreakerNotSetOffMainThread) && !ce.eval_breaker.load()) return false;
  if (ce.gil_drop_request.load()) {
    // "Give another thread a chance": keep the tstate, drop and re-take the GIL.
    save_thread();
    restore_thread(t);
  }
  // Signals: only the main thread handles them, 3.8+ only in the main interpreter (P5,
  // bpo-35724, bpo-40010).
  if (signal_tripped_.load() && can_handle_signals(t)) handle_signals(t);
  // Pending calls: the queues this thread may run (P3).
  if (runtime_pending_ && !runtime_pending_->empty() && can_handle_pending(t, *runtime_pending_)) {
    if (run_pending_queue(t, *runtime_pending_, profile_.pending_maxloop_runtime) < 0) return true;
  }
  if (profile_.has_interp_pending_queue && !t->interp->pending.empty() &&
      can_handle_pending(t, t->interp->pending)) {
    if (run_pending_queue(t, t->interp->pending, profile_.pending_maxloop_per_interp) < 0) return true;
  }
  return false;
}

void Runtime::compute_eval_breaker(Interpreter* interp) {
  if (interp == nullptr || !defect(Defect::kBreakerNotSetOffMainThread)) return;
  // Each term is asked of the *calling* thread: "could I handle this?", not "could the
  // interpreter's main thread?" (bpo-40010). So a C thread that trips a signal or adds a
  // call stores a breaker without that term, clearing what an earlier trip set; the main
  // thread notices at its next take_gil, or never (a signal lost if it finalizes first).
  // Callers hold `interp` alive (they touched it, hold HEAD_LOCK or the GIL), except a C
  // thread's trip_signal racing the main interpreter's deletion on real threads: read under
  // the heap's guard, and a just-freed interpreter has no breaker left to set.
  const bool main_thread = platform_.current() == main_thread_;
  bool hidden = false;
  heap_.read_if_live(interp, [&] {
    Ceval& ce = ceval_for(interp);
    const bool signals = signal_tripped_.load() && interp == main_;
    const bool pending = !interp->pending.empty();
    const bool main_queue = runtime_pending_ && !runtime_pending_->empty() && interp == main_;
    const bool pending_seen = pending && (main_thread || !profile_.pending_bit_needs_main_thread);
    ce.eval_breaker = ce.gil_drop_request.load() || (signals && main_thread) || pending_seen ||
                      (main_queue && main_thread);
    // The bug condition: work the main thread must handle is pending and its breaker is not
    // set (3.8 and 3.13 set it whoever signals).
    hidden = !ce.eval_breaker.load() && (signals || pending || main_queue);
  });
  if (hidden) trigger(Defect::kBreakerNotSetOffMainThread, __PRETTY_FUNCTION__);
}

bool Runtime::can_handle_signals(const ThreadState* t) const {
  // _Py_ThreadCanHandleSignals (3.9+) / handle_signals' checks (3.7, 3.8).
  return platform_.current() == main_thread_ &&
         (t->interp == main_ || !profile_.signals_in_main_interp_only);
}

void Runtime::trip_signal(int signum) {
  // The C handler only sets flags (bpo-30703); it never queues a pending call. It is
  // async-signal-safe: no lock, no allocation, whatever thread it lands on.
  if (signum > 0 && signum < static_cast<int>(tripped_signals_.size())) {
    tripped_signals_[signum] = true;
  }
  signal_tripped_ = true;
  // Then ceval is told: 3.10–3.12 through _PyInterpreterState_Main(), which
  // PyInterpreterState_Delete set to NULL at finalisation (and which a re-initialisation
  // sets again only once its main interpreter exists).
  Interpreter* const main_interp = main_.load();
  if (main_interp == nullptr) {
    if (defect(Defect::kTripSignalWithoutMainInterp)) {
      trigger(Defect::kTripSignalWithoutMainInterp, __PRETTY_FUNCTION__);
      touch(main_interp, "trip_signal: _PyEval_SignalReceived(_PyInterpreterState_Main())");
    }
  } else {
    compute_eval_breaker(main_interp);  // SIGNAL_PENDING_SIGNALS, by the tripping thread
  }
  emit(EventKind::kSignalTripped, signum);
  platform_.point({Point::kYield, "trip_signal", nullptr});
}

void Runtime::handle_signals(ThreadState* t) {
  // ceval's handle_signals recomputes the breaker (UNSIGNAL_PENDING_SIGNALS, 3.12's cleared
  // _PY_SIGNALS_PENDING_BIT) before PyErr_CheckSignals scans: a trip that lands while a
  // handler runs sets it again only if the tripping thread may (bpo-40010), else the main
  // thread sees it at its next take_gil.
  signal_tripped_ = false;
  compute_eval_breaker(t->interp);  // UNSIGNAL_PENDING_SIGNALS
  for (size_t s = 1; s < tripped_signals_.size(); ++s) {
    if (tripped_signals_[s].exchange(false)) {
      emit(EventKind::kSignalHandled, static_cast<int64_t>(s), 0, 0, {}, t, t->interp);
      // The signal's Python handler runs here: other threads go on meanwhile (a C thread
      // trips another signal without the GIL), so the scan is a window, and the order of
      // is_tripped's clear and the per-signal flags matters (bpo-30703).
      platform_.point({Point::kYield, "handle_signals: a handler ran", nullptr});
    }
  }
}

void Runtime::print_exception(ThreadState* t) {
  // PyFile_WriteObject / PyFile_WriteString → PyObject_Str, which starts with
  // PyErr_CheckSignals (every version): where signals may be handled at all (the main
  // thread; 3.8+ of the main interpreter), tripped signals are handled while the error is
  // printed, Python code or not.
  if (signal_tripped_.load() && can_handle_signals(t)) handle_signals(t);
}

void Runtime::clear_tripped_signals() {
  signal_tripped_ = false;
  for (auto& s : tripped_signals_) s = false;
}

int Runtime::make_pending_calls() {
  ThreadState* t = current();
  if (t == nullptr) {
    fatal("Py_MakePendingCalls", "the function must be called with the GIL held, but the GIL is released (the current Python thread state is NULL)");
  }
  // Every version's Py_MakePendingCalls handles tripped signals first ("Python signal handler
  // doesn't really queue a callback"), where signals may be handled at all (as in the eval
  // breaker).
  if (signal_tripped_.load() && can_handle_signals(t)) handle_signals(t);
  int rc = 0;
  if (runtime_pending_ && can_handle_pending(t, *runtime_pending_)) {
    rc = run_pending_queue(t, *runtime_pending_, profile_.pending_maxloop_runtime);
  }
  if (rc == 0 && profile_.has_interp_pending_queue && can_handle_pending(t, t->interp->pending)) {
    rc = run_pending_queue(t, t->interp->pending, profile_.pending_maxloop_per_interp);
  }
  // Py_MakePendingCalls returns -1 with the failing call's exception set.
  if (rc < 0) emit(EventKind::kError, 0, 0, 0, "RuntimeError: a pending call failed", t, t->interp);
  return rc;
}

}  // namespace ifz::rt
