// SPDX-License-Identifier: Apache-2.0
// program_deadlock.h — whether a deadlock is the program's own (EndContext::program_deadlock):
// the rule of docs/program-format.md "The program's own deadlocks", on plain data so that it
// can be tested without building the deadlock. Defines StuckThread and is_program_deadlock.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "harness/program/op.h"

namespace ifz::harness {

/// One live thread when nothing could run.
struct StuckThread {
  std::string waits_on;  // platform::BlockedThread::waits_on ("cond user L0 (lock user L0)")
  // Of this runtime lifetime, with a known script position: only then can its remaining ops
  // count as a release to come (a thread of an earlier lifetime holds only that lifetime's
  // objects).
  bool current_lifetime = false;
  std::span<const Op> ops_left;  // its running script from its current op on
};

/// True when some thread waits on one of the program's locks or events (its wait names
/// rt::kUserSyncPrefix) that no other thread could still release or set: no thread of this
/// lifetime that is not itself waiting for the program (on such an object, in a join, or hung
/// for good) has a lock_release / event_set of that object among its ops left.
bool is_program_deadlock(const std::vector<StuckThread>& threads);

}  // namespace ifz::harness
