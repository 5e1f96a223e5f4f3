// SPDX-License-Identifier: Apache-2.0
// pending_calls.cc — Py_AddPendingCall routing, make_pending_calls and _Py_FinishPendingCalls
// per version (cpython-notes P1–P6; CPython Python/ceval.c / ceval_gil.c).
#include "runtime/pending_calls.h"

#include <exception>

#include "base/check.h"
#include "runtime/runtime.h"

namespace ifz::rt {

using platform::Point;
using platform::ThreadId;

// ---------------------------------------------------------------------------------------------
// PendingQueue

bool PendingQueue::push(const PendingCall& c) {
  if (ring_) {
    // NPENDINGCALLS ring: "i == first" means full, so one slot always stays empty (31 of 32).
    const int next = (last_ + 1) % kRingSize;
    if (next == first_) return false;
    calls_[last_] = {c.id, c.kind};
    last_ = next;
  } else {
    if (npending_ >= max_) return false;  // 3.13: npending < max
    calls_[last_] = {c.id, c.kind};
    last_ = (last_ + 1) % kMaxStorage;
  }
  ++npending_;
  return true;
}

bool PendingQueue::pop(PendingCall* out) {
  if (npending_ == 0) return false;
  out->id = calls_[first_].id;
  out->kind = calls_[first_].kind;
  first_ = (first_ + 1) % (ring_ ? kRingSize : kMaxStorage);
  --npending_;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Py_AddPendingCall

int Runtime::add_pending(PendingKind kind, Interpreter* target, const char* event_text) {
  const char* const text = event_text != nullptr ? event_text : pending_kind_name(kind);
  ThreadState* cur = current();
  const int64_t id = next_call_id_++;
  // For the event only: the interpreter the calling thread runs (or last ran) in. A C
  // thread's last tstate may be freed by another thread meanwhile: read under the heap's
  // guard (a live tstate's interpreter is live too).
  // Without a current tstate, the one PyGILState_GetThisThreadState() names (route_pending's
  // choice without defect bpo39984: the bound tstate, else the GILState one).
  const PerThread& caller = per_thread(platform_.current());
  ThreadState* who = cur ? cur : caller.bound.load() ? caller.bound.load() : caller.gilstate.load();
  int64_t caller_interp = -1;
  if (who != nullptr) heap_.read_if_live(who, [&] { caller_interp = who->interp->id; });
  const int64_t cur_id = cur ? cur->id : -1;
  auto refuse = [&](int64_t owner) {
    emit_ids(EventKind::kPendingAdded, id, owner, -1, text, cur_id,
             caller_interp);
    return -1;
  };
  if (profile_.pending_finishing_flag && runtime_pending_) {
    // 3.8: _Py_FinishPendingCalls set pending->finishing (read under the pending lock); Add
    // refuses with a SystemError raised through the caller's tstate.
    runtime_pending_->lock.lock();
    const bool finishing = runtime_pending_->finishing;
    runtime_pending_->lock.unlock();
    if (finishing) {
      if (defect(Defect::kBpo37127FinishingNullTstate) && cur == nullptr) {
        trigger(Defect::kBpo37127FinishingNullTstate, __PRETTY_FUNCTION__);
        touch(cur, "_PyErr_Fetch(tstate) in _PyEval_AddPendingCall (finishing)");
      }
      return refuse(-1);
    }
  } else if (pending_closed_ || !initialized_) {
    // P6: after finalisation's last drain nothing may be accepted (a call would never run).
    if (!defect(Defect::kPendingAddAfterFinalize)) return refuse(-1);
    trigger(Defect::kPendingAddAfterFinalize, __PRETTY_FUNCTION__);
  }
  // A queue inside an interpreter must not be freed while this thread waits for its lock (a
  // C thread racing Py_EndInterpreter / Py_FinalizeEx): route and push under HEAD_LOCK, which
  // deletion takes to unlink the interpreter, and refuse if it is already unlinked.
  const bool per_interp = (target != nullptr && profile_.has_interp_pending_queue) ||
                          profile_.pending_routing == PendingRouting::kCurrentInterp;
  if (per_interp) head_lock_.lock();
  // Decided again under HEAD_LOCK: finalisation may have closed the queues (and gone on to free
  // the main interpreter) while this thread waited for it, and a re-initialisation may have
  // started since (its queues open again before its main interpreter exists).
  if (per_interp && !profile_.pending_finishing_flag && (pending_closed_ || !initialized_) &&
      !defects_.has(Defect::kPendingAddAfterFinalize)) {
    head_lock_.unlock();
    return refuse(-1);
  }
  Interpreter* owner = nullptr;
  PendingQueue* q = route_pending(target, cur, &owner);
  if (q == nullptr) {
    if (per_interp) head_lock_.unlock();
    return refuse(-1);
  }
  // Still linked (pointer comparison under HEAD_LOCK): deletion unlinks first and frees after,
  // so an unlinked interpreter may be freed while we wait for its queue's lock.
  bool linked = owner == nullptr;
  for (const Interpreter* i = head_; i != nullptr && !linked; i = i->next) linked = i == owner;
  if (!linked) {
    head_lock_.unlock();
    return refuse(-1);
  }
  struct HeadUnlock {
    platform::Mutex* m;
    ~HeadUnlock() {
      if (m) m->unlock();
    }
  } head_unlock{per_interp ? &head_lock_ : nullptr};
  q->lock.lock();
  // The check above raced with finalisation (the lock is a scheduling point): decide again
  // under the queue's lock, which finalisation holds when it closes the queues.
  const bool feeds_finalize_drain = finalize_drain_thread_.load() == platform_.current();
  const bool closed = (profile_.pending_finishing_flag
                           ? runtime_pending_ != nullptr && runtime_pending_->finishing
                           : pending_closed_.load()) ||
                      feeds_finalize_drain;
  if (closed && defects_.has(Defect::kPendingAddAfterFinalize)) {
    trigger(Defect::kPendingAddAfterFinalize, __PRETTY_FUNCTION__);  // closed while we waited for the lock
  }
  if ((closed && !defects_.has(Defect::kPendingAddAfterFinalize)) || q->closed) {
    q->lock.unlock();
    return refuse(q->owner_interp);
  }
  const bool ok = q->push(PendingCall{id, kind});
  // Reported while the lock is held: once it is released (a scheduling point) another thread
  // may already run the call, and observers must see the acceptance first.
  if (ok) {
    emit_ids(EventKind::kPendingAdded, id, q->owner_interp, 0, text, cur_id,
             caller_interp);
  }
  q->lock.unlock();
  if (!ok) return refuse(q->owner_interp);
  // 3.12's main-thread queue signals the main interpreter (≤3.8's runtime-wide queue sets the
  // runtime-wide breaker unconditionally: no defect there).
  signal_pending(*q, q == runtime_pending_.get() ? main_.load() : owner);
  return 0;
}

PendingQueue* Runtime::route_pending(Interpreter* target, ThreadState* cur, Interpreter** owner) {
  *owner = nullptr;
  if (target != nullptr && profile_.has_interp_pending_queue) {
    // Internal per-interpreter add (_PyEval_AddPendingCall(interp), 3.9+). Its callers hold
    // the interpreter alive; the caller here looked it up before waiting for HEAD_LOCK, so a
    // deleted target is a refusal, decided without touching it.
    if (!interp_alive(target)) return nullptr;
    touch(target, "_PyEval_AddPendingCall: interp->ceval.pending");
    *owner = target;
    return &target->pending;
  }
  switch (profile_.pending_routing) {
    case PendingRouting::kGlobal:
      return runtime_pending_.get();
    case PendingRouting::kMainThreadOnly:
      // 3.12: SIGNAL_PENDING_CALLS goes through _PyInterpreterState_Main(); 3.13 signals the
      // static main tstate instead.
      if (profile_.pending_signal_via_main_interp) touch(main_, "Py_AddPendingCall: _PyInterpreterState_Main()");
      return runtime_pending_.get();
    case PendingRouting::kCurrentInterp:
      break;
  }
  // 3.9–3.11 (bpo-39984): the caller's interpreter.
  Interpreter* interp = nullptr;
  if (cur != nullptr) {
    touch(cur, "Py_AddPendingCall: tstate->interp");
    interp = cur->interp;
  } else {
    const PerThread& pt = per_thread(platform_.current());
    ThreadState* gilstate = pt.gilstate.load();  // main-interpreter tstates only
    ThreadState* bound = pt.bound.load();
    ThreadState* via = bound ? bound : gilstate;
    if (defect(Defect::kBpo39984GilstateWrongInterp)) {
      // PyGILState_GetThisThreadState() is not subinterpreter-aware: a subinterpreter
      // thread that released the GIL is routed to the main interpreter.
      if (bound != nullptr && bound != gilstate) trigger(Defect::kBpo39984GilstateWrongInterp, __PRETTY_FUNCTION__);
      via = gilstate;
    }
    if (via != nullptr) {
      touch(via, "Py_AddPendingCall: PyGILState_GetThisThreadState()->interp");
      interp = via->interp;
    } else {
      interp = main_;
    }
  }
  touch(interp, "Py_AddPendingCall: interp->ceval.pending");
  *owner = interp;
  return &interp->pending;
}

void Runtime::signal_pending(PendingQueue& q, Interpreter* owner) {
  // SIGNAL_PENDING_CALLS: calls_to_do, then the owner's eval breaker recomputed by the adding
  // thread (defect breaker_not_set_off_main_thread); otherwise the model's eval breaker reads
  // queue emptiness directly.
  // Under HEAD_LOCK for a per-interpreter add (the owner is linked, so alive).
  compute_eval_breaker(owner);
  platform_.point({Point::kYield, "SIGNAL_PENDING_CALLS", &q});
}

// ---------------------------------------------------------------------------------------------
// make_pending_calls

bool Runtime::can_handle_pending(const ThreadState* t, const PendingQueue& q) const {
  const ThreadId self = platform_.current();
  const bool is_main_thread = self == main_thread_;
  if (&q == runtime_pending_.get()) {
    // ≤3.8 global queue: the main thread, in whatever interpreter it is (P3).
    // 3.12+ main-thread queue: the main thread of the main interpreter.
    if (!is_main_thread) return false;
    return profile_.pending_routing == PendingRouting::kGlobal || t->interp == main_;
  }
  if (t->interp->id != q.owner_interp) return false;
  if (profile_.interp_pending_main_thread_only) {
    // _Py_ThreadCanHandlePendingCalls() == "is the runtime's main thread" (3.9–3.11): calls
    // queued to an interpreter that never runs on the main thread never run (gh-104812).
    if (!is_main_thread) {
      auto* self_ = const_cast<Runtime*>(this);
      if (self_->defect(Defect::kGh104812LostSubinterpPending)) {
        if (!q.empty()) self_->trigger(Defect::kGh104812LostSubinterpPending, __PRETTY_FUNCTION__);
        return false;
      }
    }
  }
  return true;
}

int Runtime::run_pending_queue(ThreadState* t, PendingQueue& q, int maxloop) {
  const ThreadId self = platform_.current();
  // P4: no recursion. 3.9–3.11 one process-wide `busy` (with gh-104812's main-thread-only
  // handling that was harmless; once any thread of an interpreter may run its queue — the
  // fixed design — a global flag starves the other queues' drains, so it is per queue there);
  // 3.12 per queue; 3.13 the handling thread of the queue.
  const bool global_busy =
      profile_.pending_busy_is_global && defects_.has(Defect::kGh104812LostSubinterpPending);
  if (global_busy) {
    if (pending_busy_global_.exchange(true)) return 0;
  } else {
    if (q.handling_thread != platform::kNoThread) return 0;
    q.handling_thread = self;
  }
  // Released however the pass ends, also when the thread is made to exit inside a call
  // (PyThread_exit_thread unwinds): a busy flag left set would stop every later drain.
  // The queue of an interpreter goes with it: a slow call has scheduling points, and the
  // interpreter may be deleted meanwhile (its thread made to exit, or another thread ending
  // it); nobody is left to wait on a freed queue then.
  Interpreter* const owner = &q == runtime_pending_.get() ? nullptr : t->interp;
  struct Release {
    Runtime* rt;
    PendingQueue& q;
    Interpreter* owner;
    bool global;
    ~Release() {
      if (global) {
        rt->pending_busy_global_ = false;
        return;
      }
      if (owner != nullptr && rt->heap_.freed(owner)) return;
      if (std::uncaught_exceptions() > 0) {
        // The thread is being made to exit (finalisation started): from its next scheduling
        // point on, the interpreter holding this queue may be freed, so no lock is waited
        // for on the way out, and no scheduling point is made while unwinding.
        q.handling_thread = platform::kNoThread;
        q.done.notify_all_while_exiting();
        return;
      }
      q.lock.lock();
      q.handling_thread = platform::kNoThread;
      q.done.notify_all();
      q.lock.unlock();
    }
  } release{this, q, owner, global_busy};
  int rc = 0;
  for (int n = 0; maxloop == 0 || n < maxloop; ++n) {
    PendingCall c;
    q.lock.lock();
    const bool got = q.pop(&c);
    // Reported under the lock, as the add is: from here the call is in this thread's hands
    // only (a fork or the process end between here and the call loses it with the thread).
    if (got) emit(EventKind::kPendingTaken, c.id, q.owner_interp);
    q.lock.unlock();
    if (!got) break;
    if (!q.empty()) platform_.point({Point::kYield, "make_pending_calls", &q});
    if (c.kind == PendingKind::kRearm) {
      // The callback queues a follow-up call into the same queue (a plain no-op).
      const int64_t id = next_call_id_++;
      q.lock.lock();
      const bool ok = q.push(PendingCall{id, PendingKind::kNoop});
      emit(EventKind::kPendingAdded, id, q.owner_interp, ok ? 0 : -1, "rearm", t);  // under the lock
      q.lock.unlock();
    }
    run_one_pending(t, q, c);
    if (c.kind == PendingKind::kFail) {
      rc = -1;  // the pass stops; the queue stays signalled (P4)
      break;
    }
  }
  // UNSIGNAL_PENDING_CALLS (at the start of the pass in CPython, with calls_to_do cleared; a
  // call added during the pass or a failure signals again): what is left decides, as seen by
  // this thread. A slow call may have let the interpreter be deleted.
  if (!heap_.freed(t->interp)) compute_eval_breaker(t->interp);
  return rc;
}

void Runtime::run_one_pending(ThreadState* t, const PendingQueue& q, const PendingCall& c) {
  const Gil* g = gil_for(t->interp);
  const bool holds_gil = g->holder.load() == platform_.current();
  // The queue is named in the event (and the call's end reported) so that an observer can
  // tell a call started while another call of the same queue still runs on this thread (P4).
  emit(EventKind::kPendingRun, c.id, q.owner_interp, holds_gil ? 1 : 0,
       pending_kind_name(c.kind), t, t->interp);
  switch (c.kind) {
    case PendingKind::kTouch:
      touch(t->interp, "pending call: reads its interpreter's state");
      break;
    case PendingKind::kSlow:
      // Python code: each iteration checks the eval breaker, so the GIL may change hands
      // mid-call and the queue may be re-entered (what `busy` / handling_thread stop, P4).
      for (int i = 0; i < 3; ++i) {
        platform_.point({Point::kYield, "slow pending call", nullptr});
        handle_eval_breaker(t);
      }
      break;
    case PendingKind::kAdds:
      // Py_AddPendingCall from the callback, with the GIL, on the thread running it: where the
      // new call goes and whether it is accepted is the public add's business.
      add_pending(PendingKind::kNoop, nullptr, "noop:from-call");
      break;
    case PendingKind::kForever:
      // Re-adds itself every time it runs, through the public add: each pass runs it up to
      // its bound (pass_max) and leaves it queued; only a refused add ends it.
      add_pending(PendingKind::kForever, nullptr, "forever:again");
      break;
    default:
      break;
  }
  emit(EventKind::kPendingRunEnd, c.id);
}

int Runtime::pass_max(const PendingQueue& q) const {
  return &q == runtime_pending_.get() ? profile_.pending_maxloop_runtime
                                      : profile_.pending_maxloop_per_interp;
}

void Runtime::drain_until_empty(ThreadState* t, PendingQueue& q) {
  // Until empty. When another thread is in the middle of running this queue (one handler at
  // a time, P4), give it the GIL to finish its pass instead of leaving its calls behind.
  // Waiting for another handler is bounded: one that never comes back (a daemon parked in a
  // call) gives up the drain. Its own passes are not, as in CPython (3.13's `do ... while
  // (npending > 0)`): a call that keeps re-adding itself keeps it busy for ever [EXP 3.13.0:
  // Py_FinalizeEx never returns], unless the queue refuses the re-add (closed).
  for (int waits = 0; waits < 1000 && !q.empty();) {
    const platform::ThreadId handler = q.handling_thread;
    if (handler != platform::kNoThread && handler != platform_.current()) {
      ++waits;
      save_thread();  // the handler needs the GIL to finish
      q.lock.lock();
      while (q.handling_thread != platform::kNoThread) q.done.wait(q.lock);
      q.lock.unlock();
      restore_thread(t);
      continue;
    }
    if (run_pending_queue(t, q, pass_max(q)) < 0) print_exception(t);  // each failure is printed
  }
}

void Runtime::finish_pending_calls(ThreadState* t) {
  // _Py_FinishPendingCalls (3.8+): run what is queued for this thread before atexit.
  auto drain = [&](PendingQueue& q) {
    if (profile_.pending_finishing_flag) {  // 3.8
      q.lock.lock();
      q.finishing = true;
      q.lock.unlock();
    }
    if (q.empty()) return;
    // A failing call: _Py_FinishPendingCalls prints its error (chained to a SystemError).
    if (run_pending_queue(t, q, pass_max(q)) < 0) print_exception(t);
    // gh-118297: one pass (3.8–3.12), which stops at the first failing call. Whatever is
    // still queued after it is stranded: behind a failing call, queued by a call of the pass
    // (a rearm), or left because another thread was handling the queue. The bug condition is
    // "calls remain after the single pass", whichever way they got there.
    if (defect(Defect::kGh118297FinishPendingSinglePass)) {
      if (!q.empty()) trigger(Defect::kGh118297FinishPendingSinglePass, __PRETTY_FUNCTION__);
      return;
    }
    drain_until_empty(t, q);  // 3.13
  };
  if (runtime_pending_ && can_handle_pending(t, *runtime_pending_)) drain(*runtime_pending_);
  if (profile_.has_interp_pending_queue && can_handle_pending(t, t->interp->pending)) drain(t->interp->pending);
}

std::vector<int64_t> Runtime::queued_pending_calls() const {
  std::vector<int64_t> out;
  auto add = [&](int64_t id) { out.push_back(id); };
  if (runtime_pending_) runtime_pending_->for_each_queued(add);
  for (const Interpreter* i = head_; i != nullptr; i = i->next) i->pending.for_each_queued(add);
  return out;
}

void Runtime::drop_queue(PendingQueue& q) {
  q.drain_dropped([&](const PendingCall& c) { emit(EventKind::kPendingDropped, c.id, q.owner_interp); });
}

}  // namespace ifz::rt
