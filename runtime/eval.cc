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
  emit(EventKind::kSignalTripped, signum);
  platform_.point({Point::kYield, "trip_signal", nullptr});
}

void Runtime::handle_signals(ThreadState* t) {
  signal_tripped_ = false;
  for (size_t s = 1; s < tripped_signals_.size(); ++s) {
    if (tripped_signals_[s].exchange(false)) {
      emit(EventKind::kSignalHandled, static_cast<int64_t>(s), 0, 0, {}, t, t->interp);
    }
  }
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
