// SPDX-License-Identifier: Apache-2.0
// thread_records.h — the runtime's list of threading.Thread objects, as threading._shutdown
// and the fork child see them. Defines ThreadRecord and ThreadRecords.
//
// In CPython the list lives in each interpreter's `threading` module and its GIL protects it.
// Here it is one table for the whole runtime, so since 3.12 (a GIL per interpreter) two
// interpreters' threads may append to it while a third walks it. A SpinLock (spin_lock.h)
// keeps the table consistent, as the heap's keeps its block table; the forking thread holds
// it across fork() so that a native child never inherits it mid-update.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "runtime/platform/platform.h"
#include "runtime/spin_lock.h"

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
    std::lock_guard<SpinLock> g(busy_);
    records_.push_back(r);
  }
  /// Copies record `n` into `*out`; false past the end. By index, because the table may grow
  /// while a caller waits between two reads.
  bool get(size_t n, ThreadRecord* out) const {
    std::lock_guard<SpinLock> g(busy_);
    if (n >= records_.size()) return false;
    *out = records_[n];
    return true;
  }
  /// Calls `f(record&)` on every record, with the table locked: `f` must not wait.
  template <typename F>
  void update_all(F f) {
    std::lock_guard<SpinLock> g(busy_);
    for (ThreadRecord& r : records_) f(r);
  }
  void lock_for_fork() { busy_.lock(); }
  void unlock_after_fork() { busy_.unlock(); }

 private:
  mutable SpinLock busy_;
  std::vector<ThreadRecord> records_;
};

}  // namespace ifz::rt
