// SPDX-License-Identifier: Apache-2.0
// spin_lock.h — SpinLock: a lock for short, non-blocking critical sections over the model's
// own bookkeeping (the heap's block table, the threading.Thread table).
//
// Not a platform::Mutex: taking it is no scheduling point, so it must never be held across
// one (a simulated thread holding it would block every other fiber on the same OS thread).
// On the native platform a forking thread holds it across fork() (lock/unlock around the
// call) so that the child never inherits it locked mid-update. Works with std::lock_guard.
#pragma once

#include <sched.h>

#include <atomic>

namespace ifz::rt {

class SpinLock {
 public:
  void lock() {
    while (busy_.test_and_set(std::memory_order_acquire)) sched_yield();
  }
  void unlock() { busy_.clear(std::memory_order_release); }

 private:
  std::atomic_flag busy_ = ATOMIC_FLAG_INIT;
};

}  // namespace ifz::rt
