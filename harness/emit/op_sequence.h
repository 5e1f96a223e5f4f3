// SPDX-License-Identifier: Apache-2.0
// op_sequence.h — from one recorded simulated execution (OpLog) to the turns of the emitted
// program's handshake: which op boundaries happen in which order.
// Defines OpTurns, OpSequence and sequence_ops().
//
// Each op start is a turn. An op's return is a turn too when other ops started or ended while
// it ran (join, finalize, a blocked syscall, ...): the emitted thread passes the turn on as the
// op starts and waits for its return turn once CPython returns. An op that returned before
// anything else happened keeps the turn for its whole duration. Ops the execution never
// reached have no turn: their thread parks there.
#pragma once

#include <map>
#include <string>
#include <utility>

#include "harness/exec/op_log.h"

namespace ifz::harness::emit {

struct OpTurns {
  int start = -1;          // turn of the op's start
  int end = -1;            // turn of its return, -1 = keeps the start turn (or never returned)
  bool returned = false;   // the execution saw it return
  bool skipped = false;    // its precondition did not hold (see harness/exec/ops.cc)
  std::string why;         // why it was skipped
  int64_t current_interp = -1;  // the thread's current interpreter when it started
  int thread_slot = 0;     // the program thread that ran it
  bool holds_gil_at_start = false;  // the thread held a GIL as the op started (OpLogEntry)
  bool dropped_gil = false;         // it dropped a GIL inside the op (OpLogEntry, kEnd)
  // hold_lock: the turn its lock was given back; kReleasedAtOnce if nothing else happened
  // between the op's start and that (the C gives it back right after taking it), -1 never.
  static constexpr int kReleasedAtOnce = -2;
  int lock_released = -1;
  // hold_lock: the turn its lock was taken; kTakenAtOnce if nothing happened between the op's
  // start and that (the C takes it in the op's turn), -1 never (the C never takes it).
  static constexpr int kTakenAtOnce = -2;
  int lock_taken = -1;
};

struct OpSequence {
  std::map<std::pair<int, int>, OpTurns> ops;  // (script, op index) -> turns
  int turns = 0;
  int died_on_slot = -1;  // OpLog::died_on_slot: the thread the modelled process died on
  /// nullptr if the op was never reached.
  const OpTurns* find(int script, int index) const;
};

OpSequence sequence_ops(const OpLog& log);

}  // namespace ifz::harness::emit
