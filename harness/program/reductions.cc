// SPDX-License-Identifier: Apache-2.0
// reductions.cc — drop_thread, inline_thread, compact_threads (see reductions.h).
#include "harness/program/reductions.h"

#include <vector>

namespace ifz::harness {

bool refers_to_thread(const Op& op) {
  const ArgShape a = op_info(op.code).args;
  return a == ArgShape::kStart || a == ArgShape::kThread || (a == ArgShape::kFork && op.thread >= 0);
}

Program drop_thread(const Program& p, int k) {
  Program q = p;
  q.threads.erase(q.threads.begin() + k);
  for (Script& sc : q.threads) {
    std::vector<Op> kept;
    for (Op op : sc.ops) {
      if (refers_to_thread(op) && op.thread == k) {
        if (op_info(op.code).args != ArgShape::kFork) continue;
        op.thread = make_op(OpCode::kFork).thread;  // no child script
      } else if (refers_to_thread(op) && op.thread > k) {
        --op.thread;
      }
      kept.push_back(op);
    }
    sc.ops = std::move(kept);
  }
  return q;
}

std::optional<Program> inline_thread(const Program& p, int k) {
  for (size_t t = 0; t < p.threads.size(); ++t) {
    if (static_cast<int>(t) == k) continue;
    const std::vector<Op>& ops = p.threads[t].ops;
    for (size_t i = 0; i < ops.size(); ++i) {
      const bool runs = (ops[i].code == OpCode::kStart || ops[i].code == OpCode::kAtexit ||
                         ops[i].code == OpCode::kThreadingAtexit ||
                         op_info(ops[i].code).args == ArgShape::kFork) &&
                        refers_to_thread(ops[i]) && ops[i].thread == k;
      if (!runs) continue;
      Program q = p;
      std::vector<Op>& into = q.threads[t].ops;
      const auto at = into.begin() + static_cast<std::ptrdiff_t>(i);
      if (ops[i].code == OpCode::kStart || ops[i].code == OpCode::kAtexit ||
          ops[i].code == OpCode::kThreadingAtexit) {
        into.erase(at);
        into.insert(into.begin() + static_cast<std::ptrdiff_t>(i), p.threads[k].ops.begin(),
                    p.threads[k].ops.end());
      } else {  // fork child=Tk: the child continues with Tk's ops right after the fork
        into[i].thread = make_op(OpCode::kFork).thread;
        into.insert(into.begin() + static_cast<std::ptrdiff_t>(i + 1), p.threads[k].ops.begin(),
                    p.threads[k].ops.end());
      }
      q.threads[k].ops.clear();
      q = drop_thread(q, k);
      for (const Script& sc : q.threads) {
        if (sc.ops.size() > static_cast<size_t>(kMaxOpsPerThread)) return std::nullopt;
      }
      return q;
    }
  }
  return std::nullopt;
}

Program compact_threads(const Program& p) {
  Program q = p;
  for (int k = static_cast<int>(q.threads.size()) - 1; k >= 1; --k) {
    if (!q.threads[k].ops.empty()) continue;
    bool referenced = false;
    for (const Script& s : q.threads) {
      for (const Op& op : s.ops) {
        referenced |= refers_to_thread(op) && op.thread == k;
      }
    }
    if (referenced) continue;
    q.threads.erase(q.threads.begin() + k);
    for (Script& s : q.threads) {
      for (Op& op : s.ops) {
        if (refers_to_thread(op) && op.thread > k) --op.thread;
      }
    }
  }
  return q;
}

}  // namespace ifz::harness
