// SPDX-License-Identifier: Apache-2.0
// fork.cc — os.fork / subprocess as CPython runs them: the refusal matrix (K4),
// PyOS_BeforeFork, PyOS_AfterFork_Parent and PyOS_AfterFork_Child as an ordered list of
// steps (K1–K3; Modules/posixmodule.c, Python/pystate.c). The order of the child steps is
// where gh-112275 lived, so it is data here, not code layout.
#include "base/check.h"
#include "runtime/runtime.h"

namespace ifz::rt {

using platform::Point;

ApiResult Runtime::fork_refusal(ThreadState* t, ForkKind kind) const {
  const Interpreter* i = t->interp;
  const bool in_main = i == main_;
  const auto stage = i->shutdown.load();
  if (profile_.threads_at_shutdown == ThreadsAtShutdown::kRefuseInAtexit &&
      (stage >= Interpreter::Shutdown::kAtexit || i->finalizing.load())) {
    return ApiResult::fail("RuntimeError: can't fork at interpreter shutdown");
  }
  if (profile_.threads_at_shutdown == ThreadsAtShutdown::kRefuseAfterJoin &&
      stage >= Interpreter::Shutdown::kFinalizing) {
    return ApiResult::fail("PythonFinalizationError: can't fork at interpreter shutdown");
  }
  if (in_main) return {};
  const bool isolated = i->config.isolated || !i->config.allow_fork;
  switch (kind) {
    case ForkKind::kForkPreexec:
      if (profile_.preexec_refused_in_subinterp) {
        return ApiResult::fail("RuntimeError: preexec_fn not supported within subinterpreters");
      }
      return {};
    case ForkKind::kForkExec:
      // 3.9–3.11 _posixsubprocess refuses isolated interpreters; 3.12+ has no such check
      // (allow_exec only governs os.exec*) [EXP 3.12.1, 3.13.0: subprocess works in an
      // isolated subinterpreter].
      if (profile_.subprocess_refused_in_isolated && i->config.isolated) {
        return ApiResult::fail(
            "RuntimeError: subprocess not supported for isolated subinterpreters");
      }
      return {};
    case ForkKind::kFork:
      break;
  }
  if (profile_.has_isolated_interps && isolated) {
    return ApiResult::fail("RuntimeError: fork not supported for isolated subinterpreters");
  }
  if (profile_.fork_in_subinterp == ForkInSubinterp::kAllow) return {};
  // bpo-40453 (3.9+): os_fork_impl only checks the isolated flag.
  if (profile_.fork_refusal_by_config) {
    auto* self = const_cast<Runtime*>(this);
    if (self->defect(Defect::kBpo40453ForkSubinterpChildFatal)) {
      self->trigger(Defect::kBpo40453ForkSubinterpChildFatal, __PRETTY_FUNCTION__);
      return {};
    }
  }
  return ApiResult::fail("RuntimeError: fork not supported for subinterpreters");
}

ForkOutcome Runtime::fork(ForkKind kind, platform::ForkFollow follow) {
  ThreadState* t = current();
  if (t == nullptr) fatal("PyOS_BeforeFork", "the function must be called with the GIL held, but the GIL is released (the current Python thread state is NULL)");
  touch(t, "os.fork: tstate->interp");
  ForkOutcome out;
  // os.fork() and subprocess.run() are called from Python code, whose first frame checks the
  // eval breaker (RESUME) before the call: pending calls and signals run here, before any
  // refusal, and a failing pending call raises out of that code: nothing forks.
  if (handle_eval_breaker(t)) {
    out.result = ApiResult::fail("RuntimeError: a pending call failed");
    emit(EventKind::kError, 0, 0, 0, out.result.error, t, t->interp);
    return out;
  }
  // subprocess.run() first imports subprocess, which imports threading: from here
  // threading._shutdown runs at Py_EndInterpreter / Py_FinalizeEx (its eval-breaker check),
  // also when _posixsubprocess then refuses [conform 3.11.2: 'init; fork exec follow=parent;
  // add_pending fail; add_pending rearm; finalize' runs all three calls].
  if (kind != ForkKind::kFork) t->interp->threading_imported = true;
  out.result = fork_refusal(t, kind);
  if (!out.result.ok) {
    emit(EventKind::kError, 0, 0, 0, out.result.error, t, t->interp);
    return out;
  }
  // _posixsubprocess without preexec_fn forks and execs without running Python in the child.
  if (kind != ForkKind::kForkExec) before_fork(t);
  // Native: the block table must not be mid-update by another thread in the child. (Simulated
  // threads never hold it across a scheduling point, and fork() is one: no lock there.)
  const bool native = !platform_.deterministic();
  if (fork_orphans_threads()) {
    threading_threads_.update_all(
        [this](ThreadRecord& rec) { rec.alive_at_fork = platform_.alive(rec.thread); });
  }
  if (native) {
    heap_.lock_for_fork();
    threading_threads_.lock_for_fork();
  }
  const platform::ForkResult r = platform_.fork(follow);
  if (native) {
    threading_threads_.unlock_after_fork();
    heap_.unlock_after_fork();
  }
  if (!r.in_child) {
    if (kind != ForkKind::kForkExec) after_fork_parent(t);
    out.child_pid = r.child_pid;
    out.child_report_fd = r.child_report_fd;
    emit(EventKind::kForkParent, r.child_pid, 0, 0, fork_kind_name(kind), t, t->interp);
    return out;
  }
  out.in_child = true;
  emit(EventKind::kForkChild, 0, 0, 0, fork_kind_name(kind), t, t->interp);
  if (kind == ForkKind::kForkExec) exit_process(0);  // execv: the image is replaced
  after_fork_child(t);
  if (kind == ForkKind::kForkPreexec) {
    run_bytecode(1);   // preexec_fn is Python code in the child
    exit_process(0);   // then execv
  }
  return out;
}

void Runtime::before_fork(ThreadState* t) {
  // PyOS_BeforeFork: before_forkers (Python code, none registered by the programs modelled:
  // threading registers only an after-in-child hook; the eval breaker was checked by the
  // caller's frame, Runtime::fork), then the import lock; 3.13 also HEAD_LOCK so that its
  // state in the child is known (gh-112275 hardening).
  (void)t;
  import_lock_.lock();
  if (profile_.before_fork_holds_head_lock) head_lock_.lock();
  platform_.point({Point::kFork, "PyOS_BeforeFork", nullptr});
}

void Runtime::after_fork_parent(ThreadState* t) {
  if (profile_.before_fork_holds_head_lock) head_lock_.unlock();
  import_lock_.unlock();
}

void Runtime::reinit_runtime_locks() {
  // _PyRuntimeState_ReInitThreads: every runtime lock another thread could have held
  // (locks.def's kRuntimeState rows).
  if (defect(Defect::kBpo30395HeadMutexNotReinit)) {
    if (head_lock_.locked() && head_lock_.owner() != platform_.current()) {
      trigger(Defect::kBpo30395HeadMutexNotReinit, __PRETTY_FUNCTION__);
    }
  }
  for (const RuntimeLockInfo& l : all_runtime_locks()) {
    if (l.reinit != LockReinit::kRuntimeState || !has_lock(l.id)) continue;
    if (l.id == RuntimeLock::kHead && defect(Defect::kBpo30395HeadMutexNotReinit)) continue;
    const_cast<platform::Mutex&>(lock(l.id)).reinit();
  }
  if (main_) main_.load()->id_mutex.reinit();  // bpo-42540
}

void Runtime::after_fork_child(ThreadState* t) {
  // runtime->main_tstate: CPython leaves it at the parent's main thread's tstate, which
  // delete_threads_except below deletes when another thread forked (3.13.15 posixmodule.c
  // PyOS_AfterFork_Child never writes it). The fixed design moves it with main_thread.
  if (defect(Defect::kForkChildStaleMainTstate)) {
    if (main_tstate_.load() != t) trigger(Defect::kForkChildStaleMainTstate, __PRETTY_FUNCTION__);
  } else {
    main_tstate_ = t;
  }
  set_phase(Phase::kForkChildAfterFork);
  // _PySignal_AfterFork (Modules/signalmodule.c, every version): the signal flags are cleared
  // so that a signal tripped just before the fork is handled by the parent only (issue9535)
  // [EXP 3.7.16, 3.8.18, 3.11.7, 3.13.0: PyErr_SetInterrupt, fork, bytecode in the child: its
  // handler never runs there].
  clear_tripped_signals();
  const bool legacy_order = profile_.afterfork_legacy_order;
  const bool wrong_order = legacy_order && defect(Defect::kGh112275AfterForkOrder);
  if (wrong_order && head_lock_.locked() && head_lock_.owner() != platform_.current()) {
    trigger(Defect::kGh112275AfterForkOrder, __PRETTY_FUNCTION__);  // HEAD_LOCK inherited held, used before reinit
  }
  if (!wrong_order) reinit_runtime_locks();
  // _PyEval_ReInitThreads: a fresh GIL taken by this thread, the pending lock, and the other
  // thread states of this interpreter deleted (HEAD_LOCK).
  Gil& g = *gil_for(t->interp);
  g.mutex.reinit();
  g.cond.reinit();
  g.switch_mutex.reinit();
  g.switch_cond.reinit();
  create_gil(g);
  take_gil(t);
  attach(t);
  if (runtime_pending_) runtime_pending_->lock.reinit();
  t->interp->pending.lock.reinit();
  // K1: this thread is now the runtime's main thread (_PyRuntimeState_ReInitThreads), only
  // after _PyEval_ReInitThreads' take_gil: with breaker_not_set_off_main_thread (3.9-3.12)
  // that take_gil recomputed the eval breaker as a non-main thread, so a call queued before
  // a non-main thread forked is not seen in the child until its next take_gil [conform
  // 3.11.2: a raw thread ensures, adds, forks following the child, runs bytecode: the call
  // does not run].
  main_thread_ = platform_.current();
  // 3.7 _PySignal_AfterFork: signalmodule.c's own main_thread too.
  signal_main_thread_ = platform_.current();
  const platform::ThreadId forker = platform_.current();
  auto handled_by_vanished = [&](const PendingQueue* q) {
    return q != nullptr && q->handling_thread.load() != platform::kNoThread &&
           q->handling_thread.load() != forker;
  };
  if (defect(Defect::kForkKeepsVanishedPendingHandler)) {
    if (handled_by_vanished(runtime_pending_.get()) || handled_by_vanished(&t->interp->pending)) {
      trigger(Defect::kForkKeepsVanishedPendingHandler, __PRETTY_FUNCTION__);
    }
  } else {
    // A thread that was running pending calls vanished with the fork: nobody is handling the
    // queues any more. CPython leaves its busy flag / handling_thread set, so the child never
    // runs pending calls again (3.13 even flags the vanished handler's freed tstate); the
    // fixed design forgets the handler with the lock it re-initialises.
    if (runtime_pending_) runtime_pending_->handling_thread = platform::kNoThread;
    t->interp->pending.handling_thread = platform::kNoThread;
    pending_busy_global_ = false;
  }
  set_phase(Phase::kForkChildDeleteExcept);
  delete_threads_except(t);
  // _PyImport_ReInitLock: the import lock PyOS_BeforeFork held is free again.
  for (const RuntimeLockInfo& l : all_runtime_locks()) {
    if (l.reinit == LockReinit::kImport && has_lock(l.id)) const_cast<platform::Mutex&>(lock(l.id)).reinit();
  }
  // The model's Thread._started lock: a thread that vanished mid-start may have held it.
  started_lock_.reinit();
  started_cond_.reinit();
  if (wrong_order) reinit_runtime_locks();  // gh-112275: too late, HEAD_LOCK was used above
  if (profile_.fork_deletes_other_interps) {
    set_phase(Phase::kForkChildDeleteExceptMain);
    delete_interps_except_main(t);
  } else if (defect(Defect::kForkOrphansOtherInterpThreads)) {
    // 3.7 keeps the other interpreters, and PyEval_ReInitThreads runs threading._after_fork
    // in the forking one only: elsewhere a vanished non-daemon thread still looks alive to
    // threading._shutdown. The fixed design treats it as the forking interpreter's own.
    const int64_t gen = generation_;
    const int64_t forking_interp = t->interp->id;
    const platform::ThreadId self = platform_.current();
    bool orphaned_one = false;
    threading_threads_.update_all([&](ThreadRecord& rec) {
      const bool orphan = rec.alive_at_fork && !rec.daemon && rec.generation == gen &&
                          rec.interp_id != forking_interp && rec.thread != self;
      orphaned_one |= orphan;
      rec.orphaned |= orphan;
    });
    if (orphaned_one) trigger(Defect::kForkOrphansOtherInterpThreads, __PRETTY_FUNCTION__);
  }
  set_phase(Phase::kForkChildRunning);
}

void Runtime::delete_interps_except_main(ThreadState* t) {
  // K3: only the main interpreter survives in the child.
  if (t->interp != main_) {
    // 3.9 Py_FatalError (abort); 3.10+ Py_ExitStatusException (exit status 1) [EXP].
    fatal("_PyInterpreterState_DeleteExceptMain", "not main interpreter",
          profile_.fork_child_exit_status);
  }
  const bool reentry = defect(Defect::kBpo39958HeadLockReentry);
  const bool no_tstate = defect(Defect::kGh101437ClearWithoutTstate);
  head_lock_.lock();
  Interpreter* victims = nullptr;
  for (Interpreter* i = head_; i != nullptr;) {
    Interpreter* next = i->next;
    if (i != main_) {
      i->next = victims;
      victims = i;
    }
    i = next;
  }
  head_ = main_;
  main_.load()->next = nullptr;
  if (victims != nullptr && reentry) {
    // bpo-39958: PyInterpreterState_Clear while still holding HEAD_LOCK: it takes it again.
    trigger(Defect::kBpo39958HeadLockReentry, __PRETTY_FUNCTION__);
    interpreter_clear(victims, nullptr);
  }
  head_lock_.unlock();
  for (Interpreter* i = victims; i != nullptr;) {
    Interpreter* next = i->next;
    if (no_tstate) {
      // gh-101437: cleared with no current tstate; PyThreadState_Get() is fatal.
      trigger(Defect::kGh101437ClearWithoutTstate, __PRETTY_FUNCTION__);
      if (profile_.fork_child_clear_null_tstate_segv) {
        crash("NULL dereference: _PyInterpreterState_DeleteExceptMain: clearing a "
              "subinterpreter with no current thread state (gh-139759)");
      }
      fatal("PyThreadState_Get",
            "the function must be called with the GIL held, after Python initialization and "
            "before Python finalization, but the GIL is released (the current Python thread "
            "state is NULL)");
    }
    interpreter_clear(i, t);
    while (i->tstate_head != nullptr) {
      ThreadState* p = i->tstate_head;
      unlink_tstate(p);
      free_tstate(p);
    }
    free_interpreter(i);
    i = next;
  }
}

}  // namespace ifz::rt
