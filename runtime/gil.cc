// SPDX-License-Identifier: Apache-2.0
// gil.cc — take_gil / drop_gil (CPython Python/ceval_gil.h), PyEval_SaveThread /
// RestoreThread, PyThreadState_Swap and the "must exit" rule for threads that want the GIL
// while the runtime finalises (cpython-notes F2, bpo-1856, bpo-36475, bpo-39877).
#include "runtime/check.h"
#include "runtime/runtime.h"

namespace ifz::rt {

using platform::Point;
using platform::ThreadId;

Gil* Runtime::gil_for(const Interpreter* i) const {
  // ≤3.11 one process GIL (_PyRuntime.ceval.gil); 3.12+ interp->ceval.gil (PEP 684).
  return profile_.per_interp_gil ? i->gil : main_gil_.get();
}

Ceval& Runtime::ceval_for(const Interpreter* i) {
  // ≤3.8 the eval breaker is runtime-wide; 3.9 moved it into each interpreter (bpo-39984).
  return profile_.minor <= 8 ? runtime_ceval_ : const_cast<Interpreter*>(i)->ceval;
}

bool Runtime::interp_alive(const Interpreter* i) const {
  for (const Interpreter* p = head_; p != nullptr; p = p->next) {
    if (p == i) return true;
  }
  return false;
}

void Runtime::create_gil(Gil& g) {
  // create_gil()/recreate_gil(): the state is reset, the OS primitives are not re-made, so a
  // thread of an earlier runtime lifetime still waiting on gil.cond stays a waiter.
  g.locked = false;
  g.holder = platform::kNoThread;
  g.last_holder = nullptr;
  g.switch_number = 0;
  g.created = true;
}

// The rule every GIL acquisition applies once finalisation started. Never dereferences `t`:
// after Py_FinalizeEx it may be freed (bpo-39877 moved the check to the global runtime).
bool Runtime::must_exit_before_gil(ThreadState* t) {
  const ThreadId self = platform_.current();
  const ThreadId fin = finalizing_thread_.load();
  if (fin != platform::kNoThread) {
    // gh-109793: 3.13 compares the *thread* with the finalizing one; before, the tstate.
    // Comparing tstates makes the finalizing thread itself exit when it swaps interpreters.
    const bool by_tstate = profile_.minor <= 12 || defect(Defect::kGh109793SwapExitsFinalizer);
    if (by_tstate && fin == self && t != finalizing_tstate_) trigger(Defect::kGh109793SwapExitsFinalizer);
    return by_tstate ? t != finalizing_tstate_ : fin != self;
  }
  // F6: a thread that attached in an earlier runtime lifetime must never resume in this one.
  // CPython checks only `finalizing`, which re-initialisation cleared.
  const int64_t gen = per_thread(self).generation.load();
  if (gen != 0 && gen != generation_) {
    if (!defect(Defect::kReinitWithStaleDaemons)) return true;
    trigger(Defect::kReinitWithStaleDaemons);
  }
  return false;
}

void Runtime::exit_for_finalization(ThreadState* t, Gil* g, bool holds_gil_mutex) {
  if (holds_gil_mutex && g) g->mutex.unlock();
  emit(EventKind::kThreadExitForced, 0, 0, 0, phase_);
  per_thread(platform_.current()).current.store(nullptr);
  platform_.exit_thread();  // PyThread_exit_thread: unwinds
}

void Runtime::take_gil(ThreadState* t) {
  const bool check_early =
      profile_.daemon_after_finalize == DaemonAfterFinalize::kExitBeforeAndDuring;
  if (check_early && must_exit_before_gil(t)) exit_for_finalization(t, nullptr, false);
  if (defect(Defect::kBpo39877TstateDanglingInTakeGil)) {
    // 3.9 dev tree: the check went through tstate->interp->runtime.
    if (heap_.freed(t)) trigger(Defect::kBpo39877TstateDanglingInTakeGil);
    touch(t, "take_gil: tstate->interp->runtime");
  }
  // 3.9+ reads tstate->interp here (after the check); 3.7/3.8 use the runtime-wide GIL and
  // eval breaker and do not touch the tstate until the GIL is theirs.
  Interpreter* interp = nullptr;
  Gil* g = main_gil_.get();
  if (profile_.minor >= 9) {
    touch(t, "take_gil: tstate->interp");
    interp = t->interp;
    g = gil_for(interp);
  }
  auto ceval = [&]() -> Ceval& { return interp ? ceval_for(interp) : runtime_ceval_; };
  g->mutex.lock();
  bool drop_requested = false;
  while (g->locked.load()) {
    const uint64_t saved = g->switch_number;
    const bool timed_out = g->cond.wait_for(g->mutex, profile_.switch_interval_us);
    if (!(timed_out && g->locked.load() && g->switch_number == saved)) continue;
    // gh-110052: asking for the drop through `interp` before the must-exit check reaches an
    // interpreter finalisation may have freed.
    if (check_early && defect(Defect::kGh110052InterpFreedBeforeDaemonCheck)) {
      if (heap_.freed(interp)) trigger(Defect::kGh110052InterpFreedBeforeDaemonCheck);
      touch(interp, "take_gil: SET_GIL_DROP_REQUEST(interp) after timed wait");
    }
    if (check_early && must_exit_before_gil(t)) {
      // gh-96387: withdraw our own drop request, or drop_gil() of the holder waits forever
      // for a switch to this exiting thread. Only through an interpreter still in the
      // runtime's list (a pointer comparison, no dereference of a freed one).
      if (drop_requested) {
        if (defect(Defect::kGh96387StaleDropRequest)) {
          trigger(Defect::kGh96387StaleDropRequest);
        } else if (interp == nullptr || interp_alive(interp)) {
          ceval().gil_drop_request = false;
        }
      }
      exit_for_finalization(t, g, /*holds_gil_mutex=*/true);
    }
    if (interp) touch(interp, "take_gil: SET_GIL_DROP_REQUEST(interp)");
    ceval().gil_drop_request = true;
    drop_requested = true;
  }
  // _ready: we hold the GIL.
  g->switch_mutex.lock();
  g->locked = true;
  g->holder = platform_.current();
  if (g->last_holder != t) {
    g->last_holder = t;
    ++g->switch_number;
  }
  g->switch_cond.notify_all();
  g->switch_mutex.unlock();
  emit(EventKind::kGilTaken, g->id);
  if (check_early && must_exit_before_gil(t)) {
    // bpo-36475 / bpo-19466: a thread that waited while Py_Finalize started exits even after
    // winning the GIL, and gives it back first.
    g->mutex.unlock();
    drop_gil(*g, t);
    exit_for_finalization(t, nullptr, false);
  }
  // RESET_GIL_DROP_REQUEST: whoever asked, a switch just happened.
  ceval().gil_drop_request = false;
  g->mutex.unlock();
  if (!check_early && must_exit_before_gil(t)) {
    // 3.7/3.8 exit_thread_if_finalizing(): checked only once the GIL is ours.
    drop_gil(*g, t);
    exit_for_finalization(t, nullptr, false);
  }
}

void Runtime::drop_gil(Gil& g, ThreadState* t) {
  if (!g.locked.load()) fatal("drop_gil", "GIL is not locked");
  g.mutex.lock();
  g.locked = false;
  g.holder = platform::kNoThread;
  if (t) g.last_holder = t;
  g.cond.notify_one();
  g.mutex.unlock();
  emit(EventKind::kGilDropped, g.id);
  if (t == nullptr) return;
  // FORCE_SWITCHING: when someone asked for the GIL, wait until a switch really happened so
  // that the requester gets it (and not this thread again).
  Ceval& ce = ceval_for(t->interp);
  if (!ce.gil_drop_request.load()) return;
  g.switch_mutex.lock();
  if (g.last_holder == t) {
    ce.gil_drop_request = false;
    while (g.last_holder == t) g.switch_cond.wait(g.switch_mutex);
  }
  g.switch_mutex.unlock();
}

void Runtime::attach(ThreadState* t) {
  const ThreadId self = platform_.current();
  PerThread& pt = per_thread(self);
  pt.current.store(t);
  pt.bound.store(t);
  pt.generation.store(t->runtime_generation);
  // The thread now runs with `t`: the first thing CPython does is use it.
  touch(t, "PyEval_RestoreThread: resumed with tstate");
  t->thread = self;
  t->bound = true;
}

ThreadState* Runtime::save_thread() {
  ThreadState* t = current();
  if (t == nullptr) fatal("PyEval_SaveThread", "the function must be called with the GIL held, but the GIL is released (the current Python thread state is NULL)");
  per_thread(platform_.current()).current.store(nullptr);
  drop_gil(*gil_for(t->interp), t);
  return t;
}

void Runtime::restore_thread(ThreadState* t) {
  if (t == nullptr) fatal("PyEval_RestoreThread", "NULL tstate");
  take_gil(t);
  attach(t);
}

void Runtime::block(const char* label) {
  ThreadState* t = save_thread();
  platform_.syscall(label);
  restore_thread(t);
}

ThreadState* Runtime::swap(ThreadState* t) {
  ThreadState* old = current();
  if (profile_.minor >= 12) {
    // 3.12+: _PyThreadState_Swap detaches the old tstate (releasing its GIL) and attaches the
    // new one (taking its GIL, with the must-exit check: gh-109793).
    if (old) {
      per_thread(platform_.current()).current.store(nullptr);
      drop_gil(*gil_for(old->interp), old);
    }
    if (t) {
      take_gil(t);
      attach(t);
    }
    return old;
  }
  // ≤3.11: only the current-tstate pointer changes; the GIL stays with this thread.
  PerThread& pt = per_thread(platform_.current());
  pt.current.store(t);
  if (t) {
    pt.bound.store(t);
    touch(t, "PyThreadState_Swap: new tstate");
    t->thread = platform_.current();
  }
  platform_.point({Point::kYield, "PyThreadState_Swap", nullptr});
  return old;
}

std::string Runtime::check_gil_holder_unique() const {
  // G1: a Gil has one holder field, so "two holders" shows as a holder that is not attached
  // or as two threads whose current tstate claims the same GIL.
  std::string out;
  auto check = [&](const Gil& g) {
    const ThreadId h = g.holder.load();
    if (g.locked.load() != (h != platform::kNoThread)) {
      out += "GIL " + std::to_string(g.id) + ": locked flag disagrees with holder; ";
    }
  };
  check(*main_gil_);
  for (Interpreter* i = head_; i != nullptr; i = i->next) {
    if (i->own_gil) check(*i->own_gil);
  }
  return out;
}

}  // namespace ifz::rt
