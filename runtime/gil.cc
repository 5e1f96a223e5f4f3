// SPDX-License-Identifier: Apache-2.0
// gil.cc — take_gil / drop_gil (CPython Python/ceval_gil.h), PyEval_SaveThread /
// RestoreThread, PyThreadState_Swap and the "must exit" rule for threads that want the GIL
// while the runtime finalises (cpython-notes F2, bpo-1856, bpo-36475, bpo-39877).
#include "base/check.h"
#include "runtime/runtime.h"

namespace ifz::rt {

using platform::Point;
using platform::ThreadId;

namespace {

// Marks the calling thread as inside take_gil / drop_gil of `g` for its scope (also when it
// unwinds to its exit): canary bookkeeping only (Runtime::PerThread::inside_gil).
class InsideGil {
 public:
  InsideGil(std::atomic<const Gil*>& slot, const Gil* g) : slot_(slot), outer_(slot.load()) {
    slot_ = g;
  }
  ~InsideGil() { slot_ = outer_; }
  InsideGil(const InsideGil&) = delete;
  InsideGil& operator=(const InsideGil&) = delete;

 private:
  std::atomic<const Gil*>& slot_;
  const Gil* const outer_;
};

}  // namespace

Gil* Runtime::gil_for(const Interpreter* i) const {
  // ≤3.11 one process GIL (_PyRuntime.ceval.gil); 3.12+ interp->ceval.gil (PEP 684).
  return profile_.per_interp_gil ? i->gil : main_gil_.get();
}

Ceval& Runtime::ceval_for(const Interpreter* i) {
  // ≤3.8 the eval breaker is runtime-wide; 3.9 moved it into each interpreter (bpo-39984).
  return profile_.ceval_per_interp ? const_cast<Interpreter*>(i)->ceval : runtime_ceval_;
}

bool Runtime::interp_alive(const Interpreter* i) const {
  // Asked by threads that do not hold HEAD_LOCK (a daemon leaving take_gil): the heap's
  // record answers without walking the list, and `i` is read only while it is live (static
  // storage is never freed, so it says itself whether it was deleted).
  bool deleted = true;
  return i != nullptr && heap_.read_if_live(i, [&] { deleted = i->deleted.load(); }) && !deleted;
}

void Runtime::create_gil(Gil& g) {
  // create_gil()/recreate_gil(): the state is reset, the OS primitives are not re-made, so a
  // thread of an earlier runtime lifetime still waiting on gil.cond stays a waiter (F6). The
  // reset happens under gil.mutex, which such a waiter takes to read the state.
  g.mutex.lock();
  g.locked = false;
  g.holder = platform::kNoThread;
  g.last_holder = nullptr;
  g.switch_number = 0;
  g.created = true;
  g.mutex.unlock();
}

// The rule every GIL acquisition applies once finalisation started. Never dereferences a
// freed `t`: after Py_FinalizeEx it may be freed (bpo-39877 moved the check to the global
// runtime); the F6 check reads it only under the heap's guard, while it is live.
bool Runtime::must_exit_before_gil(ThreadState* t) {
  const ThreadId self = platform_.current();
  if (profile_.tstate_refcounted) {
    // 3.14 (gh-124878): the thread's own reference keeps its tstate allocated, and the
    // tstate says whether it was shut down (by Py_FinalizeEx or Py_EndInterpreter).
    bool marked = false;
    heap_.read_if_live(t, [&] { marked = t->shutting_down.load(); });
    if (marked) return true;
  }
  const ThreadId fin = finalizing_thread_.load();
  if (fin != platform::kNoThread) {
    // gh-109793: 3.13 compares the *thread* with the finalizing one; before, the tstate.
    // Comparing tstates makes the finalizing thread itself exit when it swaps interpreters
    // (≤3.12 have the comparison but their finalizing thread never swaps after
    // SetFinalizing: 3.13's finalize_subinterpreters() made it reachable).
    const bool by_tstate =
        !profile_.must_exit_compares_thread || defect(Defect::kGh109793SwapExitsFinalizer);
    const bool exits = by_tstate ? t != finalizing_tstate_.load() : fin != self;
    if (exits && fin == self && defects_.has(Defect::kGh109793SwapExitsFinalizer)) {
      trigger(Defect::kGh109793SwapExitsFinalizer, __PRETTY_FUNCTION__);
    }
    return exits;
  }
  // F6: a thread state of an earlier runtime lifetime must never resume in this one. CPython
  // checks only `finalizing`, which re-initialisation cleared. The fixed design is 3.14's
  // (gh-124878: the OS thread co-owns its tstate, so it can still tell that the tstate was
  // finalized): here, the tstate is no longer a live one of this lifetime. Its memory is
  // only read when the heap says it is live.
  //
  // Only a tstate of an *earlier* lifetime qualifies. One of this lifetime that was freed
  // while its thread still holds it is no reason to exit: no CPython 3.7–3.13 exits there
  // (take_gil / _PyThreadState_MustExit look only at the runtime's — 3.13 also the
  // interpreter's — finalizing state, Python/ceval_gil.c, Python/pystate.c), and neither does
  // the fixed design (3.14 exits only a tstate finalisation marked _Py_THREAD_SHUTTING_DOWN).
  // Exiting there would turn a use of freed memory into a silent thread exit: the caller
  // goes on, reads the tstate, and the use-after-free is reported where it happens. The
  // lifetime of a freed tstate is the heap's record (Heap::tag_of), not its freed memory.
  int64_t t_generation = -1;
  const bool live = heap_.read_if_live(t, [&] { t_generation = t->runtime_generation; });
  if (!live) heap_.tag_of(t, &t_generation);
  const bool stale = t_generation != generation_.load();
  if (stale) {
    if (!defect(Defect::kReinitWithStaleDaemons)) return true;
    trigger(Defect::kReinitWithStaleDaemons, __PRETTY_FUNCTION__);
  }
  return false;
}

void Runtime::exit_for_finalization(ThreadState* t, Gil* g, bool holds_gil_mutex) {
  if (holds_gil_mutex && g) g->mutex.unlock();
  release_claims_of_exiting_thread();
  per_thread(platform_.current()).current.store(nullptr);
  // 3.13.8+ backported the hang (gh-87135) without 3.14's refcounted thread states and early
  // finalize_subinterpreters: a hung non-daemon thread of a leftover subinterpreter can then
  // never be joined by 3.13's late finalize_subinterpreters (gh-128639 [PROBE 3.13.18
  // finalize_subinterp_nondaemon: hang]). That combination is the defect
  // hang_without_tstate_refcount; without it (3.13-fixed) such a thread unwinds instead. With
  // refcounted thread states (3.14+) the hang is safe and always happens.
  bool hangs = false;
  if (profile_.daemon_after_finalize == DaemonAfterFinalize::kHang) {
    if (profile_.tstate_refcounted) {
      hangs = true;
    } else if (defect(Defect::kHangWithoutTstateRefcount)) {
      trigger(Defect::kHangWithoutTstateRefcount, __PRETTY_FUNCTION__);
      hangs = true;
    }
  }
  // The runtime lifetime of the tstate the thread tried to resume (0: none or unknown), for
  // the oracles: F6 entitles an exit for a tstate of an earlier lifetime, whatever else the
  // thread made since (a PyGILState_Ensure tstate of the new lifetime, released first).
  int64_t t_generation = 0;
  if (t != nullptr && !heap_.read_if_live(t, [&] { t_generation = t->runtime_generation; })) {
    heap_.tag_of(t, &t_generation);
  }
  if (hangs) {
    // 3.13.8+/3.14+ PyThread_hang_thread (gh-87135): the thread parks for good without
    // unwinding; what it promised stays unkept on a version profile (gh-87135's known cost,
    // docs/versions-3.13-3.15.md §5.10). 3.14 (gh-124878) _PyThreadState_HangThread first
    // drops the thread's own reference to its thread state: one finalisation marked
    // shutting down and left allocated for it is freed now.
    emit(EventKind::kThreadHang, t_generation, 0, 0, phase_.load());  // `t` may be freed: no id
    if (profile_.tstate_refcounted && t != nullptr) {
      bool marked = false;
      heap_.read_if_live(t, [&] { marked = t->shutting_down.load(); });
      if (marked) heap_.destroy(t);  // its last reference (unlinked, cleared, reported)
    }
    platform_.hang_thread("PyThread_hang_thread");
  }
  emit(EventKind::kThreadExitForced, t_generation, 0, 0, phase_.load());
  platform_.exit_thread();  // PyThread_exit_thread: unwinds
}

void Runtime::release_claims_of_exiting_thread() {
  // The fixed shutdown design (docs/design-notes.md §7): a thread made to exit must not leave
  // others waiting on what it promised. Invariant kept: after this, no Interpreter's
  // ending_thread or creating_thread names this thread (unless finalize_ends_claimed_interp:
  // CPython keeps no claims), and its Thread.start() starter is awake (unless
  // starter_waits_for_exited_thread).
  PerThread& pt = per_thread(platform_.current());
  if (defect(Defect::kFinalizeEndsClaimedInterp)) {
    pt.ending_interp = false;  // the canary's record only (finalize_subinterpreters)
  } else if (pt.creating_interp.load() && head_lock_.owner() != platform_.current()) {
    pt.creating_interp = false;
    // An interpreter this thread was creating stays half-built (Interpreter::Creation): the
    // finalizing thread ends it.
    head_lock_.lock();
    for (Interpreter* i = head_; i != nullptr; i = i->next) {
      if (i->creating_thread.load() == platform_.current()) i->creating_thread = platform::kNoThread;
    }
    ending_done_.notify_all();
    head_lock_.unlock();
  }
  if (!defects_.has(Defect::kFinalizeEndsClaimedInterp) && pt.ending_interp.load() &&
      head_lock_.owner() != platform_.current()) {
    pt.ending_interp = false;
    // An interpreter this thread was ending is left half-ended: the finalizing thread takes it
    // over (Interpreter::ending_thread).
    head_lock_.lock();
    bool gave_up = false;
    for (Interpreter* i = head_; i != nullptr; i = i->next) {
      if (i->ending_thread.load() == platform_.current()) {
        i->ending_thread = platform::kNoThread;
        gave_up = true;
      }
    }
    if (gave_up) ending_done_.notify_all();
    head_lock_.unlock();
  }
  if (!pt.started.load()) {
    // Made to exit before Thread._bootstrap_inner set _started: wake the starter, which
    // CPython leaves waiting for good.
    if (defect(Defect::kStarterWaitsForExitedThread)) {
      if (pt.has_starter.load()) trigger(Defect::kStarterWaitsForExitedThread, __PRETTY_FUNCTION__);
      return;
    }
    started_lock_.lock();
    pt.start_failed = true;
    started_cond_.notify_all();
    started_lock_.unlock();
  }
}

void Runtime::take_gil(ThreadState* t) {
  const bool check_early =
      profile_.daemon_after_finalize != DaemonAfterFinalize::kCheckAfterTakeGil;
  if (check_early && defect(Defect::kBpo39877TstateDanglingInTakeGil)) {
    // 3.9 dev tree: the check moved before take_gil but still found the runtime through
    // tstate->interp->runtime, which finalisation may have freed.
    if (heap_.freed(t)) trigger(Defect::kBpo39877TstateDanglingInTakeGil, __PRETTY_FUNCTION__);
    touch(t, "take_gil: tstate_must_exit(): tstate->interp->runtime");
  }
  if (check_early && must_exit_before_gil(t)) exit_for_finalization(t, nullptr, false);
  // 3.9+ reads tstate->interp here (after the check); 3.7/3.8 use the runtime-wide GIL and
  // eval breaker and do not touch the tstate until the GIL is theirs.
  Interpreter* interp = nullptr;
  Gil* g = main_gil_.get();
  if (check_early) {
    // The must-exit check and the read of tstate->interp are two steps, with no lock and no
    // wait in between: only an OS preemption stops a thread there (a window, Point::kWindow).
    // gh-110052: nothing keeps the tstate alive meanwhile, so a thread preempted there while
    // the finalizing thread sets `finalizing`, runs _PyThreadState_DeleteExcept and frees
    // this tstate then reads freed memory (a debug build's 0xDD pattern gives
    // interp=0xdddd...). The fixed design (3.14, gh-124878) has the thread own a reference to
    // its tstate, which says it is shutting down: the thread exits instead. The window is a
    // point in both, so a schedule means the same on a version profile and its -fixed twin.
    const char* const kWindow = "take_gil: between the must-exit check and tstate->interp";
    const bool live_before =
        defects_.has(Defect::kGh110052TstateFreedAfterMustExitCheck) && !heap_.freed(t);
    platform_.point({Point::kWindow, kWindow, t});
    if (defect(Defect::kGh110052TstateFreedAfterMustExitCheck)) {
      if (live_before && heap_.freed(t)) {
        trigger(Defect::kGh110052TstateFreedAfterMustExitCheck, __PRETTY_FUNCTION__);
        per_thread(platform_.current()).window = kWindow;
      }
      touch(t, "take_gil: tstate->interp after the must-exit check");
      per_thread(platform_.current()).window = nullptr;
    } else if (must_exit_before_gil(t)) {
      exit_for_finalization(t, nullptr, false);
    }
  }
  if (profile_.ceval_per_interp) {
    // Checked and read in one step: on real threads the finaliser may free `t` right after
    // the must-exit check said "not finalizing" (the check-then-use window CPython has too).
    if (!heap_.read_if_live(t, [&] { interp = t->interp; })) {
      // Natively the finaliser may still free `t` between the re-check above and this read.
      // Without gh-110052 that window is closed by design (gh-124878: the thread's own
      // reference keeps its tstate, which says it is shutting down): a tstate finalisation
      // deleted meanwhile means what the re-check would then have said, exit. A tstate freed
      // any other way (or with the defect) is the use-after-free it is.
      if (check_early && !defects_.has(Defect::kGh110052TstateFreedAfterMustExitCheck) &&
          finalizing_thread_.load() != platform::kNoThread) {
        exit_for_finalization(t, nullptr, false);
      }
      touch(t, "take_gil: tstate->interp");
    }
    bool gil_made = true;
    if (profile_.per_interp_gil &&
        !heap_.read_if_live(interp, [&] {
          g = interp->gil;
          gil_made = interp->creation.load() != Interpreter::Creation::kLinked;
        })) {
      touch(interp, "take_gil: interp->ceval.gil");
    }
    // interp->ceval.gil is NULL until init_interp_create_gil: only a thread that found an
    // interpreter still being created can get here ([EXP] 3.13.0: SIGSEGV in take_gil).
    if (!gil_made) touch(nullptr, "take_gil: interp->ceval.gil (NULL until init_interp_create_gil)");
  }
  auto ceval = [&]() -> Ceval& { return interp ? ceval_for(interp) : runtime_ceval_; };
  const InsideGil inside(per_thread(platform_.current()).inside_gil, g);
  g->mutex.lock();
  bool drop_requested = false;
  while (g->locked.load()) {
    const uint64_t saved = g->switch_number;
    const bool timed_out = g->cond.wait_for(g->mutex, profile_.switch_interval_us);
    if (!(timed_out && g->locked.load() && g->switch_number == saved)) continue;
    if (check_early && must_exit_before_gil(t)) {
      // gh-96387: withdraw our own drop request, or drop_gil() of the holder waits forever
      // for a switch to this exiting thread. CPython resets it through `interp` whatever
      // its state; the model only through a live one (the heap's record, no dereference).
      if (drop_requested) {
        if (defect(Defect::kGh96387StaleDropRequest)) {
          trigger(Defect::kGh96387StaleDropRequest, __PRETTY_FUNCTION__);
        } else if (interp == nullptr || interp_alive(interp)) {
          ceval().gil_drop_request = false;
        }
      }
      exit_for_finalization(t, g, /*holds_gil_mutex=*/true);
    }
    if (interp) touch(interp, "take_gil: SET_GIL_DROP_REQUEST(interp)");
    ceval().gil_drop_request = true;
    ceval().eval_breaker = true;  // SET_GIL_DROP_REQUEST sets it directly
    drop_requested = true;
  }
  // _ready: we hold the GIL.
  g->switch_mutex.lock();
  g->locked = true;
  g->holder = platform_.current();
  if (g->last_holder.load() != t) {
    g->last_holder = t;
    ++g->switch_number;
  }
  g->switch_cond.notify_all();
  g->switch_mutex.unlock();
  emit(EventKind::kGilTaken, g->id);
  if (check_early && must_exit_before_gil(t)) {
    // bpo-36475 / bpo-19466: a thread that waited while Py_Finalize started exits even after
    // winning the GIL, and gives it back first. `t` may be freed (DeleteExcept ran while it
    // waited), so it is not passed on: 3.12's drop_gil(interp, NULL) ("tstate could be a
    // dangling pointer"); 3.9–3.11 passed it, a use-after-free only if a drop request is
    // pending at that moment (not modelled).
    g->mutex.unlock();
    drop_gil(*g, nullptr);
    exit_for_finalization(t, nullptr, false);
  }
  // RESET_GIL_DROP_REQUEST: whoever asked, a switch just happened. A thread of an earlier
  // lifetime that was not made to exit (F6) reaches here with a freed interpreter.
  if (interp != nullptr) touch(interp, "take_gil: RESET_GIL_DROP_REQUEST(interp)");
  ceval().gil_drop_request = false;
  // RESET_GIL_DROP_REQUEST / COMPUTE_EVAL_BREAKER as the GIL is taken (bpo-40010; kept with
  // defect breaker_not_set_off_main_thread): the new holder notices now what other threads
  // signalled without being able to handle it.
  compute_eval_breaker(interp);
  g->mutex.unlock();
  if (!check_early && must_exit_before_gil(t)) {
    // 3.7/3.8 exit_thread_if_finalizing(): checked only once the GIL is ours. drop_gil uses
    // the runtime-wide eval breaker: `t` (possibly freed) is only stored as last_holder.
    drop_gil(*g, t, &runtime_ceval_);
    exit_for_finalization(t, nullptr, false);
  }
}

void Runtime::drop_gil(Gil& g, ThreadState* t, Ceval* ceval) {
  const InsideGil inside(per_thread(platform_.current()).inside_gil, &g);
  if (!g.locked.load()) fatal("drop_gil", "GIL is not locked");
  // Threads might have been switched under our feet (PyThreadState_Swap): fix last_holder.
  if (t) g.last_holder = t;
  IFZ_CHECK(t == nullptr || ceval != nullptr,
            "drop_gil with a tstate needs the eval state found before the release");
  g.mutex.lock();
  g.locked = false;
  g.holder = platform::kNoThread;
  // Emitted before anyone can take the GIL, so the event stream orders drops and takes.
  emit(EventKind::kGilDropped, g.id);
  // FORCE_SWITCHING's question "did someone ask for the GIL?" is read here, before the
  // release: a requester sets the flag holding gil.mutex, so nothing is missed, and once
  // the mutex is released another thread may finalize and free the interpreter that holds
  // the flag (CPython reads it after MUTEX_UNLOCK: a window the model closes).
  const bool requested = t != nullptr && ceval->gil_drop_request.load();
  // gh-154175's window opens with the release below (the unlock may already let the next
  // holder run): `t` is live here, the caller holds the GIL.
  const bool live_at_release = t != nullptr && !heap_.freed(t);
  g.cond.notify_one();
  g.mutex.unlock();
  if (t != nullptr && defect(Defect::kGh154175DropRequestReadAfterRelease)) {
    // 3.13.0–3.13.15: the bit is read through tstate->eval_breaker after MUTEX_UNLOCK; the
    // thread that takes the GIL now may finalize and free this (daemon's) tstate first.
    const char* const kWindow = "drop_gil: after MUTEX_UNLOCK, before reading tstate->eval_breaker";
    const bool live_before = live_at_release;
    platform_.point({Point::kWindow, kWindow, t});
    if (live_before && heap_.freed(t)) {
      trigger(Defect::kGh154175DropRequestReadAfterRelease, __PRETTY_FUNCTION__);
      per_thread(platform_.current()).window = kWindow;
    }
    touch(t, "drop_gil: _Py_eval_breaker_bit_is_set(tstate, _PY_GIL_DROP_REQUEST_BIT)");
    per_thread(platform_.current()).window = nullptr;
  }
  if (!requested) return;
  // FORCE_SWITCHING: when someone asked for the GIL, wait until a switch really happened so
  // that the requester gets it (and not this thread again). The request flag is the
  // runtime's up to 3.8, from 3.9 the caller's interpreter's (ceval2): either way the caller
  // found it *before* releasing the GIL (CPython passes ceval2 in), because from here on
  // another thread may run, finalize and free `t`.
  g.switch_mutex.lock();
  if (g.last_holder.load() == t) {
    // Nobody took the GIL since we dropped it, so nobody freed `t`: 3.9+ reset the request
    // through tstate->interp.
    if (profile_.ceval_per_interp) touch(t, "drop_gil: RESET_GIL_DROP_REQUEST(tstate->interp)");
    ceval->gil_drop_request = false;
    while (g.last_holder.load() == t) g.switch_cond.wait(g.switch_mutex);
  }
  g.switch_mutex.unlock();
}

Ceval* Runtime::ceval_of_attached(ThreadState* t) {
  // _PyEval_ReleaseLock / drop_gil callers: the eval state of the thread's interpreter, read
  // while the caller still holds the GIL (so `t` and its interpreter are alive).
  return profile_.ceval_per_interp ? &ceval_for(t->interp) : &runtime_ceval_;
}

void Runtime::attach(ThreadState* t) {
  const ThreadId self = platform_.current();
  PerThread& pt = per_thread(self);
  pt.current.store(t);
  pt.bound.store(t);
  // The thread now runs with `t`: the first thing CPython does is use it. Checked before
  // any read of it, so a freed `t` is the model's crash and never an unchecked read.
  touch(t, "PyEval_RestoreThread: resumed with tstate");
  t->thread = self;
  t->bound = true;
  // The GILState key (PyGILState_GetThisThreadState): 3.12+ tstate_activate rebinds it to
  // every attached tstate; ≤3.11 the first tstate noted on this OS thread keeps it (a thread
  // state is noted on the thread that creates or bootstraps it, which attaches it first).
  ThreadState* bound_gilstate = pt.gilstate.load();
  if (bound_gilstate != t && (bound_gilstate == nullptr || profile_.gilstate_follows_attach)) {
    pt.gilstate.store(t);
    t->bound_gilstate = true;
  }
}

ThreadState* Runtime::save_thread() {
  ThreadState* t = current();
  if (t == nullptr) fatal("PyEval_SaveThread", "the function must be called with the GIL held, but the GIL is released (the current Python thread state is NULL)");
  // The caller may have been parked since it last used t (a scheduling point in between):
  // its interpreter can be gone (a finalizing thread ended it).
  touch(t, "PyEval_SaveThread: tstate");
  touch(t->interp, "PyEval_SaveThread: tstate->interp");
  per_thread(platform_.current()).current.store(nullptr);
  drop_gil(*gil_for(t->interp), t, ceval_of_attached(t));
  return t;
}

void Runtime::restore_thread(ThreadState* t) {
  if (t == nullptr) fatal("PyEval_RestoreThread", "NULL tstate");
  if (profile_.tstate_refcounted) {
    // 3.14 (gh-124878): the thread attaching a tstate holds it from now on: one deleted by
    // Py_EndInterpreter / Py_FinalizeEx while this thread waits for the GIL stays allocated,
    // marked shutting down, and the wait ends in a hang instead of a use of freed memory.
    heap_.read_if_live(t, [&] { t->holder = platform_.current(); });
  }
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
  if (profile_.swap_releases_gil) {
    // 3.12+: _PyThreadState_Swap detaches the old tstate (releasing its GIL) and attaches the
    // new one (taking its GIL, with the must-exit check: gh-109793).
    if (old) {
      touch(old, "_PyThreadState_Swap: detach oldts");
      touch(old->interp, "_PyThreadState_Swap: oldts->interp");
      per_thread(platform_.current()).current.store(nullptr);
      drop_gil(*gil_for(old->interp), old, ceval_of_attached(old));
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

std::string Runtime::check_gil_holder_unique(bool main_gil_only) const {
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
  if (main_gil_only) return out;
  for (Interpreter* i = head_; i != nullptr; i = i->next) {
    if (i->own_gil) check(*i->own_gil);
  }
  return out;
}

}  // namespace ifz::rt
