// SPDX-License-Identifier: Apache-2.0
// finalize.cc — Py_FinalizeEx as explicit ordered phases (cpython-notes F0; CPython
// Python/pylifecycle.c _Py_Finalize). Profiles change what happens inside a phase, never the
// order; every phase boundary is a scheduling point where parked threads may wake.
#include "base/check.h"
#include "runtime/runtime.h"

namespace ifz::rt {

void Runtime::resolve_final_tstate(ThreadState* t) {
  // 3.13+ resolve_final_tstate (pylifecycle.c): on the main thread, a current tstate other than
  // runtime->main_tstate is swapped for it. Only the read is modelled (the swap is a gap,
  // docs/versions-3.13-3.15.md §2.5): a main_tstate that was deleted is the interpreter's
  // embedded initial tstate reset to _PyThreadState_INIT (interp NULL), and the swap
  // dereferences its interp [conform 3.13.18, 3.14.10, 3.15.2: SIGSEGV; debug builds assert
  // main_tstate->thread_id == runtime->main_thread first].
  ThreadState* m = main_tstate_.load();
  if (m == nullptr || platform_.current() != main_thread_.load() || m == t) return;
  touch(m, "resolve_final_tstate: runtime->main_tstate");
  // The embedded storage may hold a new thread state again (the interpreter's next first
  // tstate): CPython's main_tstate then addresses that one, a live tstate (the swap to it is
  // the unmodelled part). Only storage left reset is the NULL read.
  if (m->deleted && m->embedded && m->interp->initial_tstate_in_use) return;
  if (m->deleted) {
    crash("NULL dereference: resolve_final_tstate: runtime->main_tstate was deleted and reset "
          "(interp NULL); PyThreadState_Swap to it");
  }
}

int Runtime::finalize() {
  if (!initialized_) return 0;  // Py_FinalizeEx on an uninitialized runtime does nothing
  ThreadState* t = current();
  if (t == nullptr) fatal("Py_FinalizeEx", "the function must be called with the GIL held, but the GIL is released (the current Python thread state is NULL)");
  touch(t, "Py_FinalizeEx: tstate");
  if (profile_.finalize_resolves_main_tstate) resolve_final_tstate(t);
  Interpreter* interp = t->interp;

  // 3.15 (gh-136003, PR gh-136004): the three pre-finalisation steps repeat until a pass
  // started no thread, queued no pending call and registered no atexit callback; earlier
  // versions run them once (a thread started by an atexit callback is then never joined).
  for (;;) {
    size_t threads_before = 0;
    for (ThreadRecord r; threading_threads_.get(threads_before, &r);) ++threads_before;
    // Wrap up existing "threading"-module-created, non-daemon threads (F1).
    set_phase(Phase::kFinalizeWaitForThreadShutdown);
    wait_for_thread_shutdown(t);
    interp->shutdown = Interpreter::Shutdown::kThreadsJoined;

    // Make any remaining pending calls (3.8+, P6). From here Add must refuse (3.15: once the
    // loop found nothing new; until then a call queued by an atexit callback runs next pass).
    set_phase(Phase::kFinalizeFinishPendingCalls);
    if (!profile_.prefinalize_loop) close_pending_queues(interp);
    if (defect(Defect::kNoFinishPendingAtFinalize)) {
      if (!runtime_pending_->empty()) trigger(Defect::kNoFinishPendingAtFinalize, __PRETTY_FUNCTION__);
    } else {
      finalize_drain_thread_ = platform_.current();
      finish_pending_calls(t);
      finalize_drain_thread_ = platform::kNoThread;
    }

    // The atexit module's callbacks, with the GIL (threads/fork refusal per F5).
    set_phase(Phase::kFinalizeAtexit);
    interp->shutdown = Interpreter::Shutdown::kAtexit;
    run_atexit(t);
    if (!profile_.prefinalize_loop) break;
    ThreadRecord r;
    const bool new_thread = threading_threads_.get(threads_before, &r);
    const bool new_pending = !runtime_pending_->empty() || !interp->pending.empty();
    if (!new_thread && !new_pending && !has_hook(atexit_, interp->id)) {
      // Nothing new: close the queues, then run what slipped in before the close.
      close_pending_queues(interp);
      finalize_drain_thread_ = platform_.current();
      finish_pending_calls(t);
      finalize_drain_thread_ = platform::kNoThread;
      break;
    }
  }

  // 3.14.1+ (PR gh-128640): leftover subinterpreters are ended here, before SetFinalizing,
  // so that their threads can still take the GIL and be joined ("or else threads might get
  // prematurely blocked"). 3.13 ends them after finalize_modules (gh-128639: a leftover
  // subinterpreter's non-daemon thread then deadlocks finalisation).
  set_phase(Phase::kFinalizeSubinterpretersEarly);
  const bool subinterps_early =
      profile_.finalize_subinterps_early &&
      profile_.finalize_with_subinterps == FinalizeWithSubinterps::kAutoEnd;
  if (subinterps_early) end_leftover_subinterpreters(t);

  if (profile_.finalize_stop_the_world) set_phase(Phase::kFinalizeStopTheWorld);
  // Block some operations: from here a thread taking the GIL must exit (F2).
  set_phase(Phase::kFinalizeSetFinalizing);
  interp->shutdown = Interpreter::Shutdown::kFinalizing;
  finalizing_tstate_ = t;
  finalizing_thread_ = platform_.current();
  initialized_ = false;
  if (profile_.finalize_stop_the_world) set_phase(Phase::kFinalizeStartTheWorld);

  // bpo-19466 (3.9+): delete the other thread states of this interpreter now (daemons).
  if (profile_.finalize_deletes_other_tstates) {
    set_phase(Phase::kFinalizeDeleteExcept);
    delete_threads_except(t);
  }
  // flush_std_files(): writing sys.stdout/stderr releases the GIL around write(2)
  // (Py_BEGIN_ALLOW_THREADS): the one GIL hand-off finalisation always makes. A thread
  // waiting in take_gil may win it here (and must exit, F2); a stale drop request makes
  // drop_gil wait for a switch that never comes (gh-96387).
  set_phase(Phase::kFinalizeFlushStdFiles);
  save_thread();
  platform_.syscall("flush_std_files: write(2)");
  restore_thread(t);
  set_phase(Phase::kFinalizeSignalsFini);
  // Module teardown. Destructors written in Python are program-specific; the model runs
  // none, so no pending call runs after _Py_FinishPendingCalls ([EXP] gh-118297: calls
  // left behind at finalisation never run).
  set_phase(Phase::kFinalizeModules);
  if (profile_.finalize_with_subinterps == FinalizeWithSubinterps::kAutoEnd) {
    set_phase(Phase::kFinalizeSubinterpreters);
    if (!subinterps_early) end_leftover_subinterpreters(t);
  }
  set_phase(Phase::kFinalizeImportFini);
  set_phase(Phase::kFinalizeInterpClear);
  interpreter_clear(interp, t);
  set_phase(Phase::kFinalizeInterpDelete);
  per_thread(platform_.current()).current.store(nullptr);
  interpreter_delete(interp);
  set_phase(Phase::kFinalizeRuntimeFini);
  runtime_fini();
  emit(EventKind::kFinalizeReturned);
  set_phase(Phase::kFinalized);
  return 0;
}

void Runtime::close_pending_queues(Interpreter* interp) {
  // Closed under the locks Add takes, so an Add racing with this either got in before (and
  // its call is drained next) or sees the queues closed.
  runtime_pending_->lock.lock();
  interp->pending.lock.lock();
  pending_closed_ = true;
  interp->pending.lock.unlock();
  runtime_pending_->lock.unlock();
}

bool Runtime::pop_hook(std::vector<ShutdownHook>& hooks, int64_t interp_id,
                       std::function<void()>* out) {
  for (size_t n = hooks.size(); n-- > 0;) {
    if (hooks[n].interp_id != interp_id) continue;
    *out = std::move(hooks[n].fn);
    hooks.erase(hooks.begin() + static_cast<std::ptrdiff_t>(n));
    return true;
  }
  return false;
}

bool Runtime::has_hook(const std::vector<ShutdownHook>& hooks, int64_t interp_id) {
  for (const ShutdownHook& h : hooks) {
    if (h.interp_id == interp_id) return true;
  }
  return false;
}

void Runtime::run_atexit(ThreadState* t) {
  // _PyAtExit_Call(interp): this interpreter's callbacks only (bpo-31901, 3.7: each
  // interpreter has its own), newest first, those registered when the call starts: it counts
  // them first (`for (i = ncallbacks - 1; i >= 0; i--)`), then atexit_cleanup() drops
  // everything, so a callback registered by a callback never runs [conform 3.11.2, 3.13.18,
  // 3.15.2: `atexit T2` inside an atexit callback, in the main interpreter and in a
  // subinterpreter; 3.15's pre-finalisation loop does not run it either].
  // atexit_callfuncs calls each with PyObject_Call and checks no eval breaker between them
  // (3.7-3.15): a callback written in C (the embedder's, and emit-c's) that queues a pending
  // call leaves it queued; only bytecode run by a callback (its own ops) checks the breaker.
  // [conform 3.11.2: 'init; atexit T1; finalize', T1 'add_pending noop': the call never runs.]
  const int64_t id = t->interp->id;
  size_t due = 0;
  for (const ShutdownHook& h : atexit_) due += h.interp_id == id ? 1 : 0;
  std::function<void()> fn;
  // The due ones are the oldest of this interpreter: newer ones are appended behind them.
  for (; due > 0; --due) {
    size_t newest_due = 0;
    size_t seen = 0;
    for (size_t n = 0; n < atexit_.size(); ++n) {
      if (atexit_[n].interp_id != id) continue;
      if (++seen == due) newest_due = n;
    }
    fn = std::move(atexit_[newest_due].fn);
    atexit_.erase(atexit_.begin() + static_cast<std::ptrdiff_t>(newest_due));
    emit(EventKind::kAtexitCallback, 0, 0, 0, {}, t, t->interp);
    fn();
    fn = nullptr;
  }
  std::erase_if(atexit_, [id](const ShutdownHook& h) { return h.interp_id == id; });
}

void Runtime::end_leftover_subinterpreters(ThreadState* t) {
  // Who ends the leftovers, for the claims of the -fixed twins (Interpreter::ending_thread):
  // the finalizing thread, also before SetFinalizing (3.14's early phase).
  subinterp_finalizer_ = platform_.current();
  finalize_subinterpreters(t);
  subinterp_finalizer_ = platform::kNoThread;
}

void Runtime::finalize_subinterpreters(ThreadState* t) {
  // 3.13 (gh-113433): end every remaining subinterpreter, swapping into it first.
  if (defect(Defect::kGh113433FatalRemainingSubinterps)) {
    if (head_ != main_ || main_.load()->next != nullptr) {
      trigger(Defect::kGh113433FatalRemainingSubinterps, __PRETTY_FUNCTION__);
    }
    return;
  }
  // CPython 3.13.0: "we always delete [the head tstate] and use a fresh tstate instead",
  // assuming at most one tstate is left; a second one (a daemon thread's) makes
  // Py_EndInterpreter fail with "not the last thread" ([EXP] 3.13.0).
  const bool ignores_claims = defect(Defect::kFinalizeEndsClaimedInterp);
  for (;;) {
    Interpreter* victim = nullptr;
    bool others_ending = false;
    head_lock_.lock();
    for (Interpreter* i = head_; i != nullptr; i = i->next) {
      if (i == main_) continue;
      // An interpreter another live thread is ending is left to it (see
      // Interpreter::ending_thread); one whose ender is gone (made to exit) is taken over.
      // finalize_ends_claimed_interp: CPython does not look.
      const platform::ThreadId ender = i->ending_thread.load();
      if (!ignores_claims && ender != platform::kNoThread && ender != platform_.current()) {
        others_ending = true;
        continue;
      }
      // Likewise one another thread is still creating (Interpreter::creating_thread): its
      // creator either finishes or is made to exit at the new GIL, giving the claim up.
      // CPython 3.13 does not look (the defect): it ends whatever is in the list.
      const platform::ThreadId creator = i->creating_thread.load();
      if (creator != platform::kNoThread && !defect(Defect::kFinalizeHalfBuiltSubinterp)) {
        others_ending = true;
        continue;
      }
      victim = i;
    }
    // The -fixed design joins a non-daemon thread inside the victim before claiming it (the
    // claim would make that thread stop should it end or enter the victim itself).
    const platform::ThreadId inside =
        victim != nullptr ? nondaemon_thread_inside(victim) : platform::kNoThread;
    if (inside != platform::kNoThread) {
      head_lock_.unlock();
      join_thread(inside);  // the GIL released meanwhile, as threading._shutdown's join does
      continue;
    }
    if (victim != nullptr && !ignores_claims) victim->ending_thread = platform_.current();
    if (victim != nullptr && ignores_claims) {
      // The bug condition: another thread is inside Py_EndInterpreter of this interpreter
      // (its record, kept for this canary only), or inside Py_NewInterpreter of it.
      const platform::ThreadId ender = victim->ending_thread.load();
      const bool being_ended = ender != platform::kNoThread && ender != platform_.current() &&
                               per_thread(ender).ending_interp.load();
      if (being_ended || victim->creation.load() != Interpreter::Creation::kReady) {
        trigger(Defect::kFinalizeEndsClaimedInterp, __PRETTY_FUNCTION__);
      }
    }
    if (victim != nullptr && victim->creation.load() != Interpreter::Creation::kReady &&
        defects_.has(Defect::kFinalizeHalfBuiltSubinterp)) {
      trigger(Defect::kFinalizeHalfBuiltSubinterp, __PRETTY_FUNCTION__);
    }
    head_lock_.unlock();
    if (victim == nullptr && others_ending) {
      // Give the other enders the GIL and wait until each has unlinked its interpreter or
      // exited (which gives its claim up).
      save_thread();
      head_lock_.lock();
      auto someone_ending = [&] {
        for (Interpreter* i = head_; i != nullptr; i = i->next) {
          const platform::ThreadId ender = i->ending_thread.load();
          if (i != main_ && ender != platform::kNoThread && ender != platform_.current()) return true;
          if (i != main_ && i->creating_thread.load() != platform::kNoThread) return true;
        }
        return false;
      };
      while (someone_ending()) ending_done_.wait(head_lock_);
      head_lock_.unlock();
      restore_thread(t);
      continue;
    }
    if (victim == nullptr) break;
    if (profile_.warn_remaining_subinterps) {
      // 3.14.1+ (gh-141528): "RuntimeWarning: remaining subinterpreters; close them with
      // Interpreter.close()" on stderr: a warning, not a raised error (the embedding's C sees
      // nothing: conform on 3.14.10/3.15.2).
      emit(EventKind::kWarning, 0, 0, 0,
           "RuntimeWarning: remaining subinterpreters; close them with Interpreter.close()", t,
           victim);
    }
    // CPython 3.13.0 deletes the head tstate whoever owns it (finalize_frees_foreign_tstate):
    // a thread still starting or running in the interpreter (own GIL) then resumes on freed
    // memory. The fixed design leaves other threads' tstates to Py_EndInterpreter (below),
    // which joins the non-daemon ones and, for the finalizing thread, deletes the rest as
    // Py_FinalizeEx does its own. 3.14 (PR gh-128640, "don't assume one thread") does that
    // too: the defect's mask ends at 3.13.
    ThreadState* const leftover =
        defect(Defect::kFinalizeFreesForeignTstate) ? victim->tstate_head : nullptr;
    if (leftover != nullptr && leftover->thread != platform::kNoThread &&
        leftover->thread != platform_.current()) {
      trigger(Defect::kFinalizeFreesForeignTstate, __PRETTY_FUNCTION__);  // another OS thread's tstate
    }
    if (ThreadState* old = leftover) {
      // Attached first (_PyThreadState_Attach), which takes the interpreter's GIL: a thread
      // still running in an own-GIL interpreter gets to release it before its tstate goes
      // (and exits when it wants the GIL back: the runtime is finalizing).
      swap(old);
      clear_tstate(old);
      swap(nullptr);  // _PyThreadState_Detach
      unlink_tstate(old);
      free_tstate(old);  // its OS thread, if parked, holds a dangling pointer from now on
    }
    ThreadState* st = new_tstate(victim, ThreadKind::kInterp, /*daemon=*/false);
    st->thread = platform_.current();
    swap(st);  // gh-109793: the must-exit check must recognise the finalizing *thread*
    end_interpreter(st);
    swap(t);
  }
}

platform::ThreadId Runtime::nondaemon_thread_inside(Interpreter* victim) {
  // Caller: finalize_subinterpreters, HEAD_LOCK held, `victim` chosen and not yet claimed.
  // The fixed shutdown design (docs/design-notes.md §16): before SetFinalizing (3.14's early
  // finalize_subinterpreters) a non-daemon thread is joined, never stopped. Returns a live
  // non-daemon threading thread of this runtime lifetime, other than the caller, that holds a
  // thread state of `victim` (whichever interpreter's thread it is: a thread may create and
  // enter interpreters of its own), to be joined before the victim is ended; kNoThread when
  // there is none, after SetFinalizing (3.13's late clean-up: no thread can run any more,
  // nothing to wait for), or with finalize_hangs_nondaemon_thread (3.14/3.15: Py_EndInterpreter
  // shuts that thread's tstate down, it hangs when it next takes the GIL, and whoever joins it
  // waits for good [conform 3.14.10, 3.15.2: hang]).
  const platform::ThreadId self = platform_.current();
  if (finalizing_thread_.load() != platform::kNoThread || !is_finalizer(self)) {
    return platform::kNoThread;
  }
  reach(Defect::kFinalizeHangsNondaemonThread);
  const int64_t gen = generation_.load();
  for (ThreadState* p = victim->tstate_head; p != nullptr; p = p->next) {
    const platform::ThreadId owner = p->holder.load();
    if (owner == platform::kNoThread || owner == self || !platform_.alive(owner)) continue;
    ThreadRecord r;
    for (size_t n = 0; threading_threads_.get(n, &r); ++n) {
      if (r.thread != owner || r.daemon || r.generation != gen) continue;
      // Owed a join only while its own interpreter lives: once that was ended (its
      // threading._shutdown having raised, so nothing joined it), its thread state there was
      // shut down and the thread hangs when it goes back to it (3.14+): nobody waits for it.
      bool home_alive = false;
      for (Interpreter* i = head_; i != nullptr && !home_alive; i = i->next) {
        home_alive = i->id == r.interp_id;
      }
      if (!home_alive) continue;
      if (defect(Defect::kFinalizeHangsNondaemonThread)) {
        trigger(Defect::kFinalizeHangsNondaemonThread, __PRETTY_FUNCTION__);
        return platform::kNoThread;
      }
      return owner;
    }
  }
  return platform::kNoThread;
}

void Runtime::interpreter_clear(Interpreter* i, ThreadState* caller) {
  // PyInterpreterState_Clear: clears every tstate under HEAD_LOCK (bpo-39958's second lock).
  head_lock_.lock();
  for (ThreadState* p = i->tstate_head; p != nullptr; p = p->next) clear_tstate(p);
  head_lock_.unlock();
  drop_queue(i->pending);
}

void Runtime::interpreter_delete(Interpreter* i) {
  // PyInterpreterState_Delete: zapthreads, unlink, then the main-interpreter checks.
  // Two threads may delete one interpreter when Py_FinalizeEx ends an interpreter another
  // thread is ending (finalize_ends_claimed_interp): the later one reads freed memory here, or,
  // if the other has unlinked it and not freed it yet, finds it missing from the list.
  touch(i, "PyInterpreterState_Delete: zapthreads(interp)");
  while (i->tstate_head != nullptr) {
    ThreadState* p = i->tstate_head;
    unlink_tstate(p);
    free_tstate(p);
  }
  head_lock_.lock();
  Interpreter** pp = &head_;
  while (*pp != nullptr && *pp != i) pp = &(*pp)->next;
  if (*pp != i) {
    head_lock_.unlock();
    fatal("PyInterpreterState_Delete", "NULL interpreter");  // CPython's walk off the list's end
  }
  *pp = i->next;
  const bool was_main = i == main_;
  // Wakes a finalizing thread waiting for this ender (finalize_subinterpreters).
  if (!defects_.has(Defect::kFinalizeEndsClaimedInterp) && finalizer_waits() &&
      !is_finalizer(platform_.current())) {
    ending_done_.notify_all();
  }
  head_lock_.unlock();
  if (was_main && head_ != nullptr) {
    free_interpreter(i);
    fatal("PyInterpreterState_Delete", "remaining subinterpreters");
  }
  free_interpreter(i);
}

void Runtime::runtime_fini() {
  // _PyRuntime_Finalize: the GILState key goes away; the static GIL storage stays, still
  // "held" by the finalizing thread (3.7/3.8 daemons stay parked on it, F2).
  gilstate_key_created_ = false;
  for (int i = 0, n = threads_used_.load(); i < n; ++i) threads_[i].gilstate.store(nullptr);
  // Callbacks of interpreters that were never ended (their state is gone with the runtime).
  atexit_.clear();
  threading_atexit_.clear();
}

void Runtime::delete_threads_except(ThreadState* keep) {
  // _PyThreadState_DeleteExcept: unlink every other tstate of keep's interpreter under
  // HEAD_LOCK, then free them. Their OS threads (daemons, or vanished in a fork) may still
  // hold the pointers.
  Interpreter* interp = keep->interp;
  head_lock_.lock();
  ThreadState* garbage = nullptr;  // singly linked through `next` (no allocation: see heap.h)
  for (ThreadState* p = interp->tstate_head; p != nullptr;) {
    ThreadState* next = p->next;
    if (p != keep) {
      p->next = garbage;
      garbage = p;
    }
    p = next;
  }
  interp->tstate_head = keep;
  keep->prev = keep->next = nullptr;
  head_lock_.unlock();
  for (ThreadState* p = garbage; p != nullptr;) {
    ThreadState* next = p->next;
    clear_tstate(p);
    if (!shut_down_for_owner(p)) free_tstate(p);
    p = next;
  }
}

bool Runtime::shut_down_for_owner(ThreadState* p) {
  // 3.14 (gh-124878) decref_threadstate: the interpreter's reference goes; a tstate whose OS
  // thread is alive keeps that thread's reference, so it stays allocated and marked
  // _Py_THREAD_SHUTTING_DOWN until the thread hangs (exit_for_finalization frees it). Also
  // the interpreter's embedded initial tstate (a daemon that created a leftover subinterpreter
  // holds it): the model keeps it past its interpreter rather than let the thread resume on
  // freed storage (the 3.14 source was not available to say what CPython does there).
  if (!profile_.tstate_refcounted) return false;
  const platform::ThreadId owner = p->holder;
  if (owner == platform::kNoThread || owner == platform_.current() || !platform_.alive(owner)) {
    return false;
  }
  p->next = p->prev = nullptr;
  // Runtime bookkeeping stops following it, as free_tstate does.
  if (p->thread != platform::kNoThread) {
    PerThread& pt = per_thread(p->thread);
    ThreadState* expected = p;
    pt.gilstate.compare_exchange_strong(expected, nullptr);
    expected = p;
    pt.bound.compare_exchange_strong(expected, nullptr);
  }
  emit(EventKind::kTstateDeleted, 0, 0, 0, {}, p, p->interp);
  emit(EventKind::kTstateShutDown, owner, 0, 0, {}, p, p->interp);
  // Last: once the holder sees the mark it may hang and free `p` at any moment.
  p->shutting_down.store(true);
  return true;
}

}  // namespace ifz::rt
