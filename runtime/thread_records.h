// SPDX-License-Identifier: Apache-2.0
// thread_records.h — the runtime's list of threading.Thread objects, as threading._shutdown
// and the fork child see them. Defines ThreadRecord and ThreadRecords.
//
// In CPython the list lives in each interpreter's `threading` module and its GIL protects it.
// Here it is one table for the whole runtime, so since 3.12 (a GIL per interpreter) two
// interpreters' threads may append to it while a third walks it. A short spinlock keeps the
// table consistent; it is never held across a scheduling point (so it is no scheduling point
// itself and cannot deadlock a simulated thread), and the forking thread holds it across
// fork() so that a native child never inherits it mid-update.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "runtime/platform/platform.h"

namespace ifz::rt {

struct ThreadRecord {  // a threading.Thread, for joins at shutdown (never dereferenced)
  platform::ThreadId thread;
  int64_t interp_id;
  int64_t generation;
  bool daemon;
  bool alive_at_fork = false;  // its thread was running when this process last forked
  // 3.7 fork child: it vanished from an interpreter other than the forking one, whose
  // threading._after_fork never ran, so its _tstate_lock stays held: a join waits forever.
  bool orphaned = false;
};

class ThreadRecords {
 public:
  void add(const ThreadRecord& r) {
    Guard g(busy_);
    records_.push_back(r);
  }
  /// Copies record `n` into `*out`; false past the end. By index, because the table may grow
  /// while a caller waits between two reads.
  bool get(size_t n, ThreadRecord* out) const {
    Guard g(busy_);
    if (n >= records_.size()) return false;
    *out = records_[n];
    return true;
  }
  /// Calls `f(record&)` on every record, with the table locked: `f` must not wait.
  template <typename F>
  void update_all(F f) {
    Guard g(busy_);
    for (ThreadRecord& r : records_) f(r);
  }
  void lock_for_fork() { lock(busy_); }
  void unlock_after_fork() { busy_.clear(std::memory_order_release); }

 private:
  static void lock(std::atomic_flag& f) {
    while (f.test_and_set(std::memory_order_acquire)) {
    }
  }
  struct Guard {
    explicit Guard(std::atomic_flag& f) : f(f) { lock(f); }
    ~Guard() { f.clear(std::memory_order_release); }
    std::atomic_flag& f;
  };
  mutable std::atomic_flag busy_ = ATOMIC_FLAG_INIT;
  std::vector<ThreadRecord> records_;
};

}  // namespace ifz::rt
