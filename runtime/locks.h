// SPDX-License-Identifier: Apache-2.0
// locks.h — the runtime-wide locks (locks.def) as values: RuntimeLock, its row
// (RuntimeLockInfo) and when a version has it.
#pragma once

#include <cstdint>
#include <span>

namespace ifz::rt {

/// The runtime-wide locks a thread can hold when another forks (cpython-notes K2).
enum class RuntimeLock : uint8_t {
#define IFZ_RUNTIME_LOCK(id, word, mutex, member, since, reinit, cpython) id,
#include "runtime/locks.def"
#undef IFZ_RUNTIME_LOCK
};
inline constexpr int kRuntimeLockCount = 0
#define IFZ_RUNTIME_LOCK(id, word, mutex, member, since, reinit, cpython) +1
#include "runtime/locks.def"
#undef IFZ_RUNTIME_LOCK
    ;

/// Which step of PyOS_AfterFork_Child re-initialises a lock (locks.def).
enum class LockReinit : uint8_t { kRuntimeState, kImport };

struct RuntimeLockInfo {
  RuntimeLock id;
  const char* word;        // hold_lock's argument: "HEAD"
  const char* mutex_name;  // the platform::Mutex's name: "HEAD_LOCK"
  int since;               // first 3.x with the lock (locks.def `since`: 10 = 3.10)
  LockReinit reinit;
  const char* cpython;
  const char* missing;     // why a version before `since` cannot hold it (a literal)
};
/// Every row of locks.def, in table (= enum) order.
std::span<const RuntimeLockInfo> all_runtime_locks();
const RuntimeLockInfo& runtime_lock_info(RuntimeLock l);
const char* runtime_lock_name(RuntimeLock l);  // the word
/// Whether CPython 3.`version` has the lock (the profile table's use: Profile::runtime_locks).
inline bool runtime_lock_exists(RuntimeLock l, int version) {
  return version >= runtime_lock_info(l).since;
}

}  // namespace ifz::rt
