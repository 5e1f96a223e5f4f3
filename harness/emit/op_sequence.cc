// SPDX-License-Identifier: Apache-2.0
// op_sequence.cc — see op_sequence.h.
#include "harness/emit/op_sequence.h"

namespace ifz::harness::emit {

const OpTurns* OpSequence::find(int script, int index) const {
  auto it = ops.find({script, index});
  return it == ops.end() ? nullptr : &it->second;
}

OpSequence sequence_ops(const OpLog& log) {
  OpSequence seq;
  seq.died_on_slot = log.died_on_slot;
  const OpLogEntry* previous = nullptr;
  for (const OpLogEntry& e : log.entries) {
    OpTurns& t = seq.ops[{e.script, e.index}];
    const bool follows_own_start_at_once =
        previous != nullptr && previous->script == e.script && previous->index == e.index &&
        (previous->kind == OpLogEntry::Kind::kStart ||
         (previous->kind == OpLogEntry::Kind::kLockTaken &&
          t.lock_taken == OpTurns::kTakenAtOnce));
    if (e.kind == OpLogEntry::Kind::kLockTaken) {
      t.lock_taken = follows_own_start_at_once ? OpTurns::kTakenAtOnce : seq.turns++;
    } else if (e.kind == OpLogEntry::Kind::kLockReleased) {
      t.lock_released = follows_own_start_at_once ? OpTurns::kReleasedAtOnce : seq.turns++;
    } else if (e.kind == OpLogEntry::Kind::kStart) {
      t.start = seq.turns++;
      t.current_interp = e.current_interp;
      t.thread_slot = e.thread_slot;
      t.holds_gil_at_start = e.holds_gil;
    } else {
      t.returned = true;
      t.dropped_gil = e.dropped_gil;
      t.skipped = e.skipped;
      t.why = e.why;
      // (a lock given back at once is no event in between: the C's hold ends in the op's turn)
      const bool nothing_in_between =
          follows_own_start_at_once ||
          (previous != nullptr && previous->script == e.script && previous->index == e.index &&
           previous->kind == OpLogEntry::Kind::kLockReleased &&
           t.lock_released == OpTurns::kReleasedAtOnce);
      if (!nothing_in_between) t.end = seq.turns++;
    }
    previous = &e;
  }
  return seq;
}

}  // namespace ifz::harness::emit
