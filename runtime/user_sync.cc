// SPDX-License-Identifier: Apache-2.0
// user_sync.cc — threading.Lock and threading.Event as Python code uses them: how their waits
// release and re-take the GIL (Modules/_threadmodule.c acquire_timed, Lib/threading.py
// Condition.wait / Event.wait), on the objects of user_sync.h.
#include "base/check.h"
#include "runtime/runtime.h"
#include "runtime/user_sync.h"

namespace ifz::rt {

namespace {

// Simulated: ignored (the timeout is a scheduling choice). Native: short enough that a timed
// wait nobody ends returns within a run, long enough for a releaser that is running.
constexpr int64_t kTimeoutMicros = 200'000;

}  // namespace

bool Runtime::user_lock_acquire(UserSync& l, bool timed, const std::function<bool()>& keep_waiting) {
  ThreadState* t = current();
  if (t == nullptr) fatal("lock.acquire", "called without a thread state");
  touch(t, "lock.acquire: tstate");
  // acquire_timed: a non-blocking try first, GIL held; only a lock held by someone else
  // releases the GIL (Py_BEGIN_ALLOW_THREADS around PyThread_acquire_lock_timed).
  l.mutex.lock();
  if (!l.state) {
    l.state = true;
    l.mutex.unlock();
    return true;
  }
  l.mutex.unlock();
  save_thread();
  if (timed) platform_.fresh_timed_wait();
  l.mutex.lock();
  bool timed_out = false;
  while (l.state && !timed_out) {
    if (timed || keep_waiting) {
      timed_out = l.cond.wait_for(l.mutex, kTimeoutMicros) && (timed || !keep_waiting());
    } else {
      l.cond.wait(l.mutex);
    }
  }
  const bool got = !l.state;
  if (got) l.state = true;
  l.mutex.unlock();
  // Py_END_ALLOW_THREADS: a daemon thread waking here after finalisation started exits or
  // hangs in take_gil, per version (F2), before it could use the lock.
  restore_thread(t);
  return got;
}

bool Runtime::user_lock_release(UserSync& l) {
  ThreadState* t = current();
  if (t == nullptr) fatal("lock.release", "called without a thread state");
  touch(t, "lock.release: tstate");
  l.mutex.lock();
  const bool was_locked = l.state;
  if (was_locked) {
    l.state = false;
    l.cond.notify_one();
  }
  l.mutex.unlock();
  if (!was_locked) {
    emit(EventKind::kError, 0, 0, 0, "RuntimeError: release unlocked lock", t, t->interp);
  }
  return was_locked;
}

// Event.set and Event.wait are Python functions (threading.py): their first frame checks the
// eval breaker, so a failing pending call raises out of them before they do anything. The
// first use of an Event makes it (`import threading; threading.Event()`, Python code: one more
// check, and a raise there leaves nothing made; a first import of threading also reads it from
// disk with the GIL released); from then on threading is imported in the
// main interpreter and Py_FinalizeEx runs threading._shutdown there (wait_for_thread_shutdown).
bool Runtime::enter_event_code(UserSync& e, ThreadState* t) {
  touch(t, "threading.Event: tstate");
  if (!e.created) {
    // A first `import threading` in the interpreter reads the module from disk, with the GIL
    // released (FileIO.read): taking it back recomputes the eval breaker (bpo-40010's "next
    // take_gil"), so a call a C thread added unseen is noticed here [conform 3.11.2: diff].
    if (!t->interp->threading_imported) block("import threading");
    if (handle_eval_breaker(t)) {
      emit(EventKind::kError, 0, 0, 0, "RuntimeError: a pending call failed", t, t->interp);
      return false;
    }
    e.created = true;
    t->interp->threading_imported = true;
  }
  if (handle_eval_breaker(t)) {
    emit(EventKind::kError, 0, 0, 0, "RuntimeError: a pending call failed", t, t->interp);
    return false;
  }
  return true;
}

ApiResult Runtime::user_event_set(UserSync& e) {
  ThreadState* t = current();
  if (t == nullptr) fatal("Event.set", "called without a thread state");
  if (!enter_event_code(e, t)) return ApiResult::fail("RuntimeError: a pending call failed");
  // `with self._cond: self._flag = True; self._cond.notify_all()`: every waiter wakes.
  e.mutex.lock();
  e.state = true;
  e.cond.notify_all();
  e.mutex.unlock();
  return {};
}

ApiResult Runtime::user_event_wait(UserSync& e, bool timed, bool* flag,
                                   const std::function<bool()>& keep_waiting) {
  ThreadState* t = current();
  if (t == nullptr) fatal("Event.wait", "called without a thread state");
  *flag = false;
  if (!enter_event_code(e, t)) return ApiResult::fail("RuntimeError: a pending call failed");
  e.mutex.lock();
  if (e.state) {
    e.mutex.unlock();
    *flag = true;
    return {};
  }
  e.mutex.unlock();
  // Condition.wait: the waiter lock's acquire releases the GIL (acquire_timed).
  save_thread();
  if (timed) platform_.fresh_timed_wait();
  e.mutex.lock();
  bool timed_out = false;
  while (!e.state && !timed_out) {
    if (timed || keep_waiting) {
      timed_out = e.cond.wait_for(e.mutex, kTimeoutMicros) && (timed || !keep_waiting());
    } else {
      e.cond.wait(e.mutex);
    }
  }
  *flag = e.state;
  e.mutex.unlock();
  restore_thread(t);
  return {};
}

}  // namespace ifz::rt
