// SPDX-License-Identifier: Apache-2.0
// interp_lifecycle.cc — Py_NewInterpreter(FromConfig) and Py_EndInterpreter
// (CPython Python/pylifecycle.c), with the contract checks of cpython-notes S1.
#include "base/check.h"
#include "runtime/runtime.h"

namespace ifz::rt {

ThreadState* Runtime::new_interpreter(const InterpConfig& requested, std::string* error) {
  ThreadState* caller = current();
  if (caller == nullptr) {
    fatal("Py_NewInterpreter", "the function must be called with the GIL held, but the GIL is released (the current Python thread state is NULL)");
  }
  touch(caller, "Py_NewInterpreter: current tstate");
  if (!initialized_) {
    if (error) *error = "RuntimeError: Py_NewInterpreter: runtime is not initialized";
    return nullptr;
  }
  // new_interpreter: "the GIL API doesn't work with multiple interpreters" (issues 10915,
  // 15751): PyGILState_Check answers 1 from here on, in every version [EXP 3.7–3.13].
  gilstate_check_enabled_ = false;
  InterpConfig cfg = requested;
  // Config flags a version does not have are ignored, as the real API cannot express them.
  if (!profile_.has_isolated_interps) cfg.isolated = false;
  if (!profile_.per_interp_gil) cfg.own_gil = false;
  // PyInterpreterState_New: linked into the runtime's list at once (a finalizing thread can
  // find it from here on), and claimed by this thread unless finalize_ends_claimed_interp.
  const bool claims = !defect(Defect::kFinalizeEndsClaimedInterp);
  Interpreter* i = alloc_interpreter(cfg, /*claim_for_creator=*/claims);
  i->main_thread = platform_.current();
  ThreadState* t = new_tstate(i, ThreadKind::kInterp, /*daemon=*/false);
  t->thread = platform_.current();
  // init_interp_create_gil: the GIL exists from here (interp->ceval.gil), and the creator
  // takes it: ≤3.11 the process GIL stays held; 3.12+ swap moves this thread to the new
  // interpreter's GIL, where a thread must exit if the runtime is finalizing (F2). Such a
  // creator leaves the interpreter half-built ([EXP] 3.13.0: it exits in take_gil, called
  // from init_interp_create_gil).
  i->creation = Interpreter::Creation::kGilCreated;
  swap(t);
  i->creation = Interpreter::Creation::kReady;
  if (claims) give_up_creation_claim(i);
  return t;
}

void Runtime::give_up_creation_claim(Interpreter* i) {
  per_thread(platform_.current()).creating_interp = false;
  i->creating_thread = platform::kNoThread;
  // A finalizing thread may wait for this claim (finalize_subinterpreters). Seen under
  // HEAD_LOCK, with the notify, so that it cannot miss it; with no finalizer yet, it reads the
  // cleared claim itself (both flags are seq_cst atomics).
  if (finalizer_waits()) {
    head_lock_.lock();
    ending_done_.notify_all();
    head_lock_.unlock();
  }
}

void Runtime::end_interpreter(ThreadState* t) {
  IFZ_PRECONDITION(t != nullptr, "Py_EndInterpreter(NULL)");
  if (t != current()) fatal("Py_EndInterpreter", "thread is not current");
  touch(t, "Py_EndInterpreter: tstate->interp");
  Interpreter* interp = t->interp;
  if (t->frames > 0) fatal("Py_EndInterpreter", "thread still has a frame");
  if (defect(Defect::kFinalizeEndsClaimedInterp)) {
    // CPython keeps no claim; recorded without a lock (no scheduling point), for the
    // canary in finalize_subinterpreters only.
    interp->ending_thread = platform_.current();
    per_thread(platform_.current()).ending_interp = true;
  } else {
    head_lock_.lock();
    const platform::ThreadId claimed = interp->ending_thread.load();
    if (claimed == platform::kNoThread) interp->ending_thread = platform_.current();
    head_lock_.unlock();
    // Only the finalizing thread takes over a claim, and only of a thread that is gone.
    if (claimed != platform::kNoThread && claimed != platform_.current() &&
        !is_finalizer(platform_.current())) {
      // Py_FinalizeEx is ending it: this thread is running at shutdown and must exit, as
      // when it takes the GIL then (F2); it gives the GIL back first.
      if (profile_.tstate_refcounted) {
        // 3.14.1+ ends leftovers before SetFinalizing (finalize_subinterps_early), and its
        // Py_EndInterpreter shuts every other tstate of the interpreter down (PR gh-128640):
        // this thread's is marked now, so it hangs as such a thread does. Still linked: the
        // finalizer's Py_EndInterpreter leaves it allocated for this (hung) holder. Marked
        // while this thread still holds the interpreter's GIL: once it gives it back, the
        // finalizer may end and free the interpreter (fuzz_pending_calls on 3.14-fixed: the
        // event read the freed interpreter; regression 0027).
        emit(EventKind::kTstateShutDown, platform_.current(), 0, 0, {}, t, interp);
        t->shutting_down.store(true);
      }
      save_thread();
      exit_for_finalization(nullptr, nullptr, false);
    }
    interp->ending_thread = platform_.current();
    per_thread(platform_.current()).ending_interp = true;
  }
  interp->finalizing = true;
  if (interp->creation.load() != Interpreter::Creation::kReady &&
      defects_.has(Defect::kFinalizeHalfBuiltSubinterp)) {
    // Only finalize_subinterpreters gets here (nobody else has a tstate in an interpreter
    // being created). [EXP] 3.13.0: wait_for_thread_shutdown fails to import threading from
    // the missing sys.modules and reports it with PyErr_FormatUnraisable, which reads a NULL
    // dict: SIGSEGV. The fixed design has nothing of the half-built interpreter to wait for.
    crash("NULL dereference: Py_EndInterpreter: wait_for_thread_shutdown of an interpreter "
          "whose creation never finished (no sys.modules)");
  }
  // Wrap up existing "threading"-module-created, non-daemon threads.
  wait_for_thread_shutdown(t);
  interp->shutdown = Interpreter::Shutdown::kThreadsJoined;
  // P1: 3.12+ run what is queued for this interpreter (the fixed 3.9–3.11 design too).
  if (profile_.has_interp_pending_queue) {
    const bool drains =
        profile_.end_interp_finishes_pending || !defect(Defect::kGh104812LostSubinterpPending);
    if (!drains && !interp->pending.empty()) {
      // gh-104812: the queue is freed with calls still in it (3.9–3.11 never drain it).
      trigger(Defect::kGh104812LostSubinterpPending, __PRETTY_FUNCTION__);
    }
    if (drains) {
      // Closed first, under its lock, so that nothing can be added behind the last drain.
      interp->pending.lock.lock();
      interp->pending.closed = true;
      interp->pending.lock.unlock();
      drain_until_empty(t, interp->pending);
    }
  }
  // 3.11 [EXP]: Python code runs here (eval breaker checked on this thread): that code is
  // threading._shutdown(), which wait_for_thread_shutdown only calls when the interpreter
  // imported `threading` (conform: Debian 3.11.2 with no threading import runs nothing here).
  if (profile_.end_interp_runs_bytecode && interp->threading_imported) handle_eval_breaker(t);
  interp->shutdown = Interpreter::Shutdown::kAtexit;
  // _PyAtExit_Call(interp) (bpo-31901, 3.7+): this interpreter's atexit callbacks, on the
  // ending thread, before the last-thread check [EXP 3.7.16–3.13.0].
  run_atexit(t);
  const bool shut_down_others =
      profile_.end_interp_with_other_tstates == EndInterpOthers::kShutDownOthers;
  if (shut_down_others || (!defects_.has(Defect::kFinalizeFreesForeignTstate) &&
                           is_finalizer(platform_.current()))) {
    // Fixed design: Py_FinalizeEx ending a leftover subinterpreter (3.13 finalize_subinterpreters):
    // its daemon threads' tstates go as the main interpreter's do (_PyThreadState_DeleteExcept);
    // those threads exit at their next GIL take (F2).
    // 3.14.1+ (gh-128639, PR gh-128640): every caller does so; with 3.14's refcounted thread
    // states a thread still running keeps its tstate, marked shutting down, and hangs at
    // its next GIL take [PROBE 3.14.10 end_interp_daemon: returns, the daemon parked].
    delete_threads_except(t);
  }
  if (t != interp->tstate_head || t->next != nullptr) {
    fatal("Py_EndInterpreter", "not the last thread");
  }
  interp->shutdown = Interpreter::Shutdown::kFinalizing;
  // finalize_modules / finalize_interp_clear / finalize_interp_delete.
  interpreter_clear(interp, t);
  Gil* g = gil_for(interp);
  PerThread& pt = per_thread(platform_.current());
  pt.current.store(nullptr);
  if (pt.bound.load() == t) pt.bound.store(nullptr);
  // 3.12+: the GIL is released (own GILs are destroyed with the interpreter); the caller
  // re-attaches with PyThreadState_Swap [EXP 3.12.1, 3.13.0: another thread takes the GIL
  // right after Py_EndInterpreter]. CPython releases it at the start of
  // PyInterpreterState_Delete, *before* zapthreads and the unlink from the runtime's list: a
  // finalizing main thread can then take the shared GIL and end this same interpreter
  // (3.13 finalize_subinterpreters), and this thread resumes on freed state. The -fixed twins
  // keep a shared GIL until the interpreter is unlinked, so nobody finds it half-deleted
  // (an own GIL protects nothing outside its interpreter; its release order does not matter).
  // end_interp_releases_gil_before_unlink is CPython's order.
  const bool release_after_unlink =
      interp->own_gil == nullptr && !(profile_.per_interp_gil &&
                                      defect(Defect::kEndInterpReleasesGilBeforeUnlink));
  if (profile_.per_interp_gil && !release_after_unlink) {
    if (interp->own_gil == nullptr && another_thread_inside(g)) {
      trigger(Defect::kEndInterpReleasesGilBeforeUnlink, __PRETTY_FUNCTION__);  // a waiter gets it before the unlink
    }
    drop_gil(*g, nullptr);
  }
  unlink_tstate(t);
  free_tstate(t);
  interpreter_delete(interp);
  per_thread(platform_.current()).ending_interp = false;
  if (profile_.per_interp_gil && release_after_unlink) drop_gil(*g, nullptr);
}

}  // namespace ifz::rt
