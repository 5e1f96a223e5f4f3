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
    if (e.kind == OpLogEntry::Kind::kStart) {
      t.start = seq.turns++;
      t.current_interp = e.current_interp;
      t.thread_slot = e.thread_slot;
      t.holds_gil_at_start = e.holds_gil;
    } else {
      t.returned = true;
      t.dropped_gil = e.dropped_gil;
      t.skipped = e.skipped;
      t.why = e.why;
      const bool nothing_in_between = previous != nullptr &&
                                      previous->kind == OpLogEntry::Kind::kStart &&
                                      previous->script == e.script && previous->index == e.index;
      if (!nothing_in_between) t.end = seq.turns++;
    }
    previous = &e;
  }
  return seq;
}

}  // namespace ifz::harness::emit
