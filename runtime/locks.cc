// SPDX-License-Identifier: Apache-2.0
// locks.cc — the rows of locks.def (see locks.h).
#include "runtime/locks.h"

#include <array>

namespace ifz::rt {

namespace {

constexpr std::array<RuntimeLockInfo, kRuntimeLockCount> kLocks = {{
#define IFZ_RUNTIME_LOCK(id, word, mutex, member, since, reinit, cpython) \
  {RuntimeLock::id, word, mutex, since, LockReinit::reinit, cpython, "no " word " lock before 3." #since},
#include "runtime/locks.def"
#undef IFZ_RUNTIME_LOCK
}};

// The binary encoding of hold_lock is the row position: the enum must count from 0 in rows.
constexpr bool rows_in_enum_order() {
  for (int i = 0; i < kRuntimeLockCount; ++i) {
    if (static_cast<int>(kLocks[i].id) != i) return false;
  }
  return true;
}
static_assert(rows_in_enum_order());

}  // namespace

std::span<const RuntimeLockInfo> all_runtime_locks() { return kLocks; }
const RuntimeLockInfo& runtime_lock_info(RuntimeLock l) { return kLocks[static_cast<size_t>(l)]; }
const char* runtime_lock_name(RuntimeLock l) { return runtime_lock_info(l).word; }

}  // namespace ifz::rt
