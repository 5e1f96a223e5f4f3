// SPDX-License-Identifier: Apache-2.0
// threads.cc — threads as CPython starts and ends them: threading.Thread / _thread
// (Modules/_threadmodule.c t_bootstrap), C threads with their own tstate, PyGILState_*,
// joins, wait_for_thread_shutdown (threading._shutdown) and runtime critical sections.
#include "base/check.h"
#include "runtime/runtime.h"

namespace ifz::rt {

using platform::Point;
using platform::ThreadId;

ApiResult Runtime::can_start_thread(ThreadState* caller, bool daemon) const {
  const Interpreter* i = caller->interp;
  // 3.9–3.11 _thread.start_new_thread refuses every thread in an isolated subinterpreter
  // (bpo-40453's _isolated_interpreter check; conform on Debian 3.11.2); 3.12+ allow_threads.
  const bool by_config = profile_.subinterp_thread_check == SubinterpThreadCheck::kConfigFlags;
  const bool isolated_refuses = by_config ? !i->config.allow_threads
                                          : profile_.has_isolated_interps && i->config.isolated;
  if (isolated_refuses) {
    return ApiResult::fail("RuntimeError: thread is not supported for isolated subinterpreters");
  }
  if (daemon && by_config && !i->config.allow_daemon_threads) {
    return ApiResult::fail("RuntimeError: daemon threads are disabled in this (sub)interpreter");
  }
  const auto stage = i->shutdown.load();
  switch (profile_.threads_at_shutdown) {
    case ThreadsAtShutdown::kAllow:
      break;
    case ThreadsAtShutdown::kRefuseInAtexit:  // 3.12, gh-104690
      if (stage >= Interpreter::Shutdown::kAtexit || i->finalizing.load()) {
        return ApiResult::fail("RuntimeError: can't create new thread at interpreter shutdown");
      }
      break;
    case ThreadsAtShutdown::kRefuseAfterJoin:  // 3.13, gh-113964: atexit may still start threads
      if (stage >= Interpreter::Shutdown::kFinalizing) {
        return ApiResult::fail(
            "PythonFinalizationError: can't create new thread at interpreter shutdown");
      }
      break;
  }
  return {};
}

Runtime::Started Runtime::start_thread(ThreadKind kind, bool daemon, std::function<void()> body) {
  IFZ_PRECONDITION(kind == ThreadKind::kThreading || kind == ThreadKind::kRaw,
                   "start_thread starts threading or _thread threads");
  ThreadState* caller = current();
  if (caller == nullptr) fatal("PyThreadState_Get", "the function must be called with the GIL held, but the GIL is released (the current Python thread state is NULL)");
  touch(caller, "thread.start: tstate->interp");
  // threading.Thread(...).start() is Python code: its first frame checks the eval breaker
  // (pending calls, signals) before anything starts. _thread.start_new_thread is a C call.
  // A failing pending call raises out of start(): no thread is made.
  // Before it, `import threading`: an interpreter's first import runs importlib's Python code
  // (the same check; a failing call raises out of the import and leaves it unimported). Once
  // imported, threading stays in sys.modules even if start() then refuses the thread (an
  // isolated subinterpreter), so threading._shutdown runs at Py_EndInterpreter/Py_FinalizeEx.
  if (kind == ThreadKind::kThreading) {
    if (handle_eval_breaker(caller)) {
      const ApiResult raised = ApiResult::fail("RuntimeError: a pending call failed");
      emit(EventKind::kError, 0, 0, 0, raised.error, caller, caller->interp);
      return {raised};
    }
    caller->interp->threading_imported = true;
  }
  const bool is_daemon = daemon || kind == ThreadKind::kRaw;
  ApiResult ok = can_start_thread(caller, is_daemon);
  if (!ok.ok) {
    emit(EventKind::kError, 0, 0, 0, ok.error, caller, caller->interp);
    return {ok};
  }
  // _PyThreadState_Prealloc: the parent creates the new thread's tstate.
  ThreadState* nt = new_tstate(caller->interp, kind, is_daemon);
  const int64_t interp_id = caller->interp->id;
  const int64_t gen = generation_;
  std::string name = std::string(thread_kind_name(kind)) + (is_daemon ? "-daemon" : "") + "-t" +
                     std::to_string(nt->id);
  const ThreadId tid = platform_.spawn(std::move(name), [this, nt, body = std::move(body)] {
    thread_bootstrap(nt, body);
  });
  // The new OS thread holds its tstate from here (3.14 thread_run's reference, gh-124878):
  // a deletion before its bootstrap leaves it allocated for that thread (shut_down_for_owner).
  // Written only if still live: a thread that already ran may have freed it.
  heap_.read_if_live(nt, [&] { nt->holder = tid; });
  if (kind == ThreadKind::kThreading) {
    per_thread(tid).has_starter = true;
    threading_threads_.add({tid, interp_id, gen, is_daemon});
  }
  emit(EventKind::kThreadStarted, tid, 0, 0, {}, caller, caller->interp);
  return {ok, tid};
}

void Runtime::wait_thread_started(ThreadId tid) {
  // Thread.start() ends with `self._started.wait()`, GIL released, until the new thread has
  // taken the GIL and run its bootstrap (so it is past t_bootstrap's unlocked tstate write:
  // gh-108987 needs the bare _thread.start_new_thread). A new thread made to exit before that
  // leaves its starter waiting for good, as in CPython.
  ThreadState* t = save_thread();
  started_lock_.lock();
  // A thread made to exit before it started wakes its starter (start() then returns as after
  // a failed start), unless starter_waits_for_exited_thread: CPython's starter waits for good,
  // and with 3.13's finalize_subinterpreters a non-daemon starter in a subinterpreter
  // deadlocks shutdown. (start_failed is only ever set when the defect is off.)
  while (!per_thread(tid).started.load() && !per_thread(tid).start_failed.load()) {
    started_cond_.wait(started_lock_);
  }
  started_lock_.unlock();
  restore_thread(t);
  // The wait returns through Python frames (Event.wait, Condition.wait): the eval breaker is
  // checked again, so what arrived meanwhile (a pending call, a signal) runs here; a failing
  // pending call raises out of start(), the thread being started already.
  if (handle_eval_breaker(t)) {
    emit(EventKind::kError, 0, 0, 0, "RuntimeError: a pending call failed", t, t->interp);
  }
}

void Runtime::thread_bootstrap(ThreadState* t, const std::function<void()>& body) {
  const ThreadId self = platform_.current();
  if (defect(Defect::kGh108987ThreadRunAfterFinalize)) {
    // ≤3.11 t_bootstrap writes tstate->thread_id before taking the GIL: a thread started
    // late (from atexit) may run after finalisation freed its tstate.
    // Nothing holds a new thread before this write (no lock, no wait): only an OS preemption
    // delays it past the finaliser's free, which a reproducer cannot force (Outcome::window).
    const char* const kWindow = "t_bootstrap: before its first write to tstate->thread_id";
    if (heap_.freed(t)) {
      trigger(Defect::kGh108987ThreadRunAfterFinalize, __PRETTY_FUNCTION__);
      per_thread(self).window = kWindow;
    }
    touch(t, "t_bootstrap: tstate->thread_id = PyThread_get_thread_ident()");
    per_thread(self).window = nullptr;
    t->thread = self;
  }
  restore_thread(t);  // PyEval_AcquireThread: the must-exit checks protect a freed t
  t->thread = self;
  ++t->frames;  // the thread's target function runs for the whole body
  if (t->kind == ThreadKind::kThreading) {
    // Thread._bootstrap_inner: self._started.set()
    started_lock_.lock();
    per_thread(self).started = true;
    started_cond_.notify_all();
    started_lock_.unlock();
  }
  body();
  emit(EventKind::kThreadFinished, 0, 0, 0, {}, current(), nullptr);
  thread_state_delete_current();
}

platform::ThreadId Runtime::start_c_thread(std::function<void()> body) {
  const ThreadId tid = platform_.spawn("c-thread", [body = std::move(body)] {
    body();
    // A C thread that still has a tstate bound when it ends leaks it, as in CPython.
  });
  emit(EventKind::kThreadStarted, tid);
  return tid;
}

void Runtime::join_thread(ThreadId tid) {
  ThreadState* t = current();
  if (t == nullptr) {  // a C thread joining: no GIL to release
    platform_.join(tid);
    return;
  }
  save_thread();
  platform_.join(tid);
  restore_thread(t);
}

ApiResult Runtime::join_threading_thread(ThreadId tid) {
  ThreadState* t = current();
  if (t == nullptr) fatal("PyThreadState_Get", "the function must be called with the GIL held, but the GIL is released (the current Python thread state is NULL)");
  // Thread.join's first frame (RESUME) checks the eval breaker: what a thread queued or
  // tripped meanwhile runs here, and a failing pending call raises before the wait.
  // Nothing that owns heap memory lives across the join: the process may end while this
  // thread waits there, and its stack is then never unwound (a leak for LeakSanitizer).
  constexpr const char* kRaised = "RuntimeError: a pending call failed";
  if (handle_eval_breaker(t)) {
    emit(EventKind::kError, 0, 0, 0, kRaised, t, t->interp);
    return ApiResult::fail(kRaised);
  }
  join_thread(tid);
  // lock.acquire() returns into _wait_for_tstate_lock, which calls self._stop(): a new frame,
  // a new check. A take_gil at the wait's end may just have set the breaker (3.9-3.12, a call
  // a non-main thread added while this one waited).
  if (handle_eval_breaker(t)) {
    emit(EventKind::kError, 0, 0, 0, kRaised, t, t->interp);
    return ApiResult::fail(kRaised);
  }
  return {};
}

void Runtime::wait_for_thread_shutdown(ThreadState* t) {
  // threading._shutdown(): join every non-daemon threading thread of this interpreter that
  // exists now (F1). The join releases the GIL; it runs Python code (eval breaker). CPython
  // skips all of it when the interpreter never imported `threading`.
  const int64_t interp_id = t->interp->id;
  if (!t->interp->threading_imported) {
    emit(EventKind::kThreadsJoined, 0, 0, 0, {}, t, t->interp);
    return;
  }
  // threading._shutdown is a Python function: its first frame checks the eval breaker
  // before it joins anything (a thread joined below may end the process). A failing pending
  // call raises out of it there: wait_for_thread_shutdown reports it as unraisable (stderr)
  // and finalisation goes on without joining anything.
  if (handle_eval_breaker(t)) {
    print_exception(t);  // PyErr_WriteUnraisable
    emit(EventKind::kThreadsJoinSkipped, 0, 0, 0, {}, t, t->interp);
    return;
  }
  // 3.9+ (bpo-39812): `_SHUTTING_DOWN = True`, then the threading._register_atexit callbacks in
  // reverse order, before anything is joined [EXP 3.9.18–3.13.0]. They are called from
  // _shutdown's loop: its backward jump checks the eval breaker after each, and a failing
  // pending call raises out of _shutdown there (unraisable; nothing is joined).
  if (profile_.has_threading_register_atexit) {
    t->interp->threading_shutting_down = true;
    std::function<void()> fn;
    while (pop_hook(threading_atexit_, interp_id, &fn)) {
      emit(EventKind::kThreadingAtexitCallback, 0, 0, 0, {}, t, t->interp);
      fn();
      fn = nullptr;
      if (handle_eval_breaker(t)) {
        print_exception(t);
        emit(EventKind::kThreadsJoinSkipped, 0, 0, 0, {}, t, t->interp);
        return;
      }
    }
  }
  const ThreadId self = platform_.current();
  // By index, copying each record: the list may grow while we wait, and no heap-owning
  // local may live across a scheduling point (an abandoned coroutine would leak it).
  ThreadRecord r;
  for (size_t n = 0; threading_threads_.get(n, &r); ++n) {
    if (r.daemon || r.interp_id != interp_id || r.generation != generation_ || r.thread == self) {
      continue;
    }
    if (r.orphaned) {
      // Thread.join() on a lock nobody will release (3.7 fork child): with the GIL released,
      // for good.
      save_thread();
      orphan_join_lock_.lock();
      for (;;) orphan_join_cond_.wait(orphan_join_lock_);
    }
    if (!platform_.alive(r.thread)) continue;
    join_thread(r.thread);
  }
  // The loop found no thread left to join (no scheduling point since): a thread started from
  // here on is nobody's to join.
  emit(EventKind::kThreadsJoined, 0, 0, 0, {}, t, t->interp);
  handle_eval_breaker(t);
}

ThreadState* Runtime::thread_state_new(Interpreter* interp) {
  touch(interp, "PyThreadState_New(interp)");
  ThreadState* t = new_tstate(interp, ThreadKind::kForeignC, /*daemon=*/true);
  return t;
}

void Runtime::thread_state_delete_current() {
  ThreadState* t = current();
  if (t == nullptr) fatal("PyThreadState_DeleteCurrent", "no current tstate");
  Gil* g = gil_for(t->interp);
  PerThread& pt = per_thread(platform_.current());
  clear_tstate(t);
  unlink_tstate(t);
  pt.current.store(nullptr);
  if (pt.bound.load() == t) pt.bound.store(nullptr);
  free_tstate(t);
  drop_gil(*g, nullptr);  // _PyEval_ReleaseLock(NULL): no FORCE_SWITCHING wait
}

int Runtime::gilstate_ensure() {
  PerThread& pt = per_thread(platform_.current());
  ThreadState* t = pt.gilstate.load();
  if (t == nullptr) {
    // A thread unknown to Python: a new tstate in the main interpreter (autoInterpreterState).
    // Once Py_FinalizeEx has deleted it (and not re-initialised), 3.15 (gh-131185, PR
    // gh-132510) makes the thread exit as one arriving during finalisation does (3.15: hangs
    // for good [PROBE 3.15.2]); every earlier release reads the interpreter it no longer has
    // (the defect).
    if (main_.load() == nullptr && generation_.load() > 0) {
      if (!defect(Defect::kGh131185GilstateEnsureAfterFinalize)) {
        exit_for_finalization(nullptr, nullptr, false);
      }
      trigger(Defect::kGh131185GilstateEnsureAfterFinalize, __PRETTY_FUNCTION__);
    }
    touch(main_, "PyGILState_Ensure: autoInterpreterState");
    t = new_tstate(main_, ThreadKind::kGilState, /*daemon=*/true);
    if (t == nullptr) {
      // The runtime is finalizing: the thread may not enter it (3.12+ documents that
      // PyGILState_Ensure then terminates the thread; 3.13.8+/3.14 hang it).
      exit_for_finalization(nullptr, nullptr, false);
    }
    bool deleted = true;
    heap_.read_if_live(t, [&] { deleted = t->deleted; });
    if (deleted) {
      // Linked just before finalisation's DeleteExcept deleted it (HEAD_LOCK's release is a
      // scheduling point): the thread may not enter the finalizing runtime either.
      exit_for_finalization(nullptr, nullptr, false);
    }
    t->bound_gilstate = true;
    pt.gilstate.store(t);
    restore_thread(t);
    t->gilstate_counter = 1;
    return 1;  // PyGILState_UNLOCKED
  }
  const bool was_current = pt.current.load() == t;
  if (!was_current) restore_thread(t);
  touch(t, "PyGILState_Ensure: tstate->gilstate_counter");
  ++t->gilstate_counter;
  return was_current ? 0 : 1;
}

void Runtime::gilstate_release(int state) {
  PerThread& pt = per_thread(platform_.current());
  ThreadState* t = pt.gilstate.load();
  if (t == nullptr) fatal("PyGILState_Release", "auto-releasing thread-state, but no thread-state for this thread");
  touch(t, "PyGILState_Release: tstate->gilstate_counter");
  if (pt.current.load() != t) fatal("PyGILState_Release", "thread state must be current when releasing");
  if (--t->gilstate_counter == 0) {
    pt.gilstate.store(nullptr);
    thread_state_delete_current();
  } else if (state == 1) {
    save_thread();
  }
}

void Runtime::hold_lock(RuntimeLock which, int points, const std::function<void()>& taken,
                        const std::function<void()>& released) {
  ThreadState* t = current();
  if (t) save_thread();
  platform::Mutex& m = const_cast<platform::Mutex&>(lock(which));
  m.lock();
  if (taken) taken();
  for (int i = 0; i < points; ++i) platform_.point({Point::kYield, "critical section", &m});
  m.unlock();
  if (released) released();
  if (t) restore_thread(t);
}

ApiResult Runtime::atexit_register(std::function<void()> fn) {
  ThreadState* t = current();
  if (t != nullptr && !t->interp->atexit_imported) {
    // The first `import atexit` of an interpreter runs importlib._bootstrap._find_and_load,
    // whose first frame checks the eval breaker (pending calls, signals) before the builtin
    // module exists; an import that raised leaves it out of sys.modules, so the next import
    // checks again. Later imports find it in sys.modules: C only.
    if (handle_eval_breaker(t)) {
      const ApiResult raised = ApiResult::fail("RuntimeError: a pending call failed");
      emit(EventKind::kError, 0, 0, 0, raised.error, t, t->interp);
      return raised;
    }
    t->interp->atexit_imported = true;
  }
  atexit_.push_back({t->interp->id, std::move(fn)});
  return {};
}

ApiResult Runtime::threading_register_atexit(std::function<void()> fn) {
  ThreadState* t = current();
  IFZ_PRECONDITION(t != nullptr && profile_.has_threading_register_atexit,
                   "threading._register_atexit needs an attached thread state and 3.9+");
  // A Python function (and, the first time, the import of threading): its first frame checks
  // the eval breaker; a failing pending call raises out of it and nothing is registered.
  if (handle_eval_breaker(t)) {
    const ApiResult raised = ApiResult::fail("RuntimeError: a pending call failed");
    emit(EventKind::kError, 0, 0, 0, raised.error, t, t->interp);
    return raised;
  }
  // `threading` is imported now: wait_for_thread_shutdown calls its _shutdown.
  t->interp->threading_imported = true;
  if (t->interp->threading_shutting_down) {
    const ApiResult raised = ApiResult::fail("RuntimeError: can't register atexit after shutdown");
    emit(EventKind::kError, 0, 0, 0, raised.error, t, t->interp);
    return raised;
  }
  threading_atexit_.push_back({t->interp->id, std::move(fn)});
  return {};
}

void Runtime::import_signal_module() {
  ThreadState* t = current();
  IFZ_PRECONDITION(t != nullptr, "import _signal needs an attached thread state");
  t->interp->signal_imported = true;
  // 3.7: PyInit__signal records the importing thread as the module's main thread, once per
  // lifetime (later imports, subinterpreters' too, reuse the module's copy).
  if (!signal_module_loaded_) {
    signal_module_loaded_ = true;
    signal_main_thread_ = platform_.current();
  }
}

ApiResult Runtime::set_signal_handler() {
  ThreadState* t = current();
  IFZ_PRECONDITION(t != nullptr, "signal.signal needs an attached thread state");
  touch(t, "signal.signal: tstate");
  if (!t->interp->signal_imported) {
    // The first `import _signal` of an interpreter is importlib's Python code (eval breaker),
    // as for atexit; one that raised leaves it out of sys.modules.
    if (handle_eval_breaker(t)) {
      const ApiResult raised = ApiResult::fail("RuntimeError: a pending call failed");
      emit(EventKind::kError, 0, 0, 0, raised.error, t, t->interp);
      return raised;
    }
    import_signal_module();
  }
  // signal_signal_impl's first check: 3.7 its own main_thread (first importer); 3.8+
  // _PyOS_IsMainThread(): _PyRuntime.main_thread and (bpo-35724) the main interpreter.
  const ThreadId main = profile_.signal_main_thread_is_first_importer ? signal_main_thread_.load()
                                                                      : main_thread_.load();
  const bool main_interp_ok = !profile_.signals_in_main_interp_only || t->interp == main_.load();
  if (platform_.current() != main || !main_interp_ok) {
    const ApiResult raised = ApiResult::fail("ValueError: signal only works in main thread");
    emit(EventKind::kError, 0, 0, 0, raised.error, t, t->interp);
    return raised;
  }
  // Then, before it changes the handler, signal_signal_impl handles the signals already
  // tripped (_PyErr_CheckSignalsTstate), Python code or not [diff/conform 3.11.2: `signal 1;
  // set_signal` handles signal 1 inside set_signal].
  if (signal_tripped_.load() && can_handle_signals(t)) handle_signals(t);
  return {};
}

const platform::Mutex& Runtime::lock(RuntimeLock l) const {
  switch (l) {
#define IFZ_RUNTIME_LOCK(id, word, mutex, member, since, reinit, cpython) \
  case RuntimeLock::id: return member;
#include "runtime/locks.def"
#undef IFZ_RUNTIME_LOCK
  }
  return head_lock_;
}

bool Runtime::has_lock(RuntimeLock l) const { return profile_.has_lock(l); }

std::vector<const platform::Mutex*> Runtime::runtime_locks() const {
  // locks.def's rows this version has, then the per-interpreter and GIL locks.
  std::vector<const platform::Mutex*> out;
  for (const RuntimeLockInfo& l : all_runtime_locks()) {
    if (has_lock(l.id)) out.push_back(&lock(l.id));
  }
  if (runtime_pending_) out.push_back(&runtime_pending_->lock);
  for (Interpreter* i = head_; i != nullptr; i = i->next) {
    out.push_back(&i->id_mutex);
    out.push_back(&i->pending.lock);
  }
  out.push_back(&main_gil_->mutex);
  out.push_back(&main_gil_->switch_mutex);
  return out;
}

}  // namespace ifz::rt
