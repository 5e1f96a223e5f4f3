// SPDX-License-Identifier: Apache-2.0
// program_deadlock.cc — see program_deadlock.h.
#include "harness/exec/program_deadlock.h"

#include "runtime/user_sync.h"

namespace ifz::harness {

namespace {

// "cond user L0 (lock user L0)" -> "L0"; "" for any other wait.
std::string user_object(const std::string& waits_on) {
  const std::string prefix = "cond " + std::string(rt::kUserSyncPrefix);
  if (waits_on.rfind(prefix, 0) != 0) return "";
  const std::string rest = waits_on.substr(prefix.size());
  return rest.substr(0, rest.find(' '));
}

// Waiting for the program rather than inside the runtime: such a thread cannot release
// anything before its own wait ends.
bool waits_for_program(const std::string& waits_on) {
  return !user_object(waits_on).empty() || waits_on.rfind("join ", 0) == 0 ||
         waits_on.rfind("hang", 0) == 0;
}

bool ends_wait_on(const Op& op, const std::string& object) {
  const bool ends = op.code == OpCode::kLockRelease || op.code == OpCode::kEventSet;
  return ends && std::string(1, sync_letter(op.code)) + std::to_string(op.variant) == object;
}

}  // namespace

bool is_program_deadlock(const std::vector<StuckThread>& threads) {
  for (const StuckThread& waiter : threads) {
    const std::string object = user_object(waiter.waits_on);
    if (object.empty()) continue;
    bool could_end = false;
    for (const StuckThread& t : threads) {
      if (could_end) break;
      if (waits_for_program(t.waits_on) || !t.current_lifetime) continue;
      for (const Op& op : t.ops_left) could_end |= ends_wait_on(op, object);
    }
    if (!could_end) return true;
  }
  return false;
}

}  // namespace ifz::harness
