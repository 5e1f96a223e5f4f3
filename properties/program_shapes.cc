// SPDX-License-Identifier: Apache-2.0
// program_shapes.cc — shaped program generation (weights, motifs, helper roles) and the
// structural shrinks of a program.
#include "properties/program_shapes.h"

#include <algorithm>
#include <utility>

#include "harness/program/reductions.h"
#include "harness/program/validate.h"

namespace ifz::properties {

using harness::ArgShape;
using harness::ForkMode;
using harness::make_op;
using harness::Op;
using harness::OpCode;
using harness::Program;
using harness::StartKind;
using harness::drop_thread;
using harness::inline_thread;

namespace {

// Draws an index with probability proportional to weights[i] (inside rc::gen::exec).
size_t pick_weighted(const std::vector<int>& weights) {
  int total = 0;
  for (int w : weights) total += w;
  if (total <= 0) return 0;
  int x = uniform<int>(0, total);
  for (size_t i = 0; i < weights.size(); ++i) {
    if (x < weights[i]) return i;
    x -= weights[i];
  }
  return weights.size() - 1;
}

bool chance(int percent) { return uniform<int>(0, 100) < percent; }

// Draws `v` with the given weights among values (inside rc::gen::exec).
template <typename T>
T one_of(std::initializer_list<std::pair<int, T>> choices) {
  std::vector<int> w;
  std::vector<T> v;
  for (const auto& [weight, value] : choices) {
    w.push_back(weight);
    v.push_back(value);
  }
  return v[pick_weighted(w)];
}

// Arguments biased towards what the §3 triggers use: the first subinterpreter (I1) and the
// main one, legacy subinterpreters, short counts, HEAD_LOCK, os.fork followed into the child.
Op draw_args(OpCode c) {
  Op op = make_op(c);
  switch (harness::op_info(c).args) {
    case ArgShape::kNone:
    case ArgShape::kStart:  // thread references are placed by roles, not drawn
    case ArgShape::kThread:
      break;
    case ArgShape::kInterpCfg:
      op.variant = one_of<uint8_t>({{70, 0}, {15, harness::kInterpIsolated}, {15, harness::kInterpOwnGil}});
      break;
    case ArgShape::kInterp:
      op.interp = one_of<int>({{60, 0}, {30, 1}, {10, 2}});
      break;
    case ArgShape::kCount:
      op.count = c == OpCode::kExit ? one_of<int>({{80, 0}, {20, 1}})
                                    : one_of<int>({{50, 1}, {25, 2}, {15, 3}, {10, 4}});
      break;
    case ArgShape::kPending:
      // noop touch rearm fail slow adds forever
      op.variant = one_of<uint8_t>({{34, 0}, {25, 1}, {10, 2}, {10, 3}, {11, 4}, {6, 5}, {4, 6}});
      op.interp = one_of<int>({{60, -1}, {10, 0}, {25, 1}, {5, 2}});
      break;
    case ArgShape::kFork:
      op.variant = static_cast<uint8_t>(
          one_of<ForkMode>({{70, ForkMode::kFork}, {15, ForkMode::kExec}, {15, ForkMode::kPreexec}}));
      op.follow_child = chance(60);
      op.thread = -1;
      break;
    case ArgShape::kLock:
      op.variant = static_cast<uint8_t>(one_of<rt::RuntimeLock>({{70, rt::RuntimeLock::kHead},
                                                                 {10, rt::RuntimeLock::kXidRegistry},
                                                                 {10, rt::RuntimeLock::kUnicodeIds},
                                                                 {10, rt::RuntimeLock::kImport}}));
      op.count = uniform<int>(2, 9);
      break;
  }
  return op;
}

int items_at(int size, int max_items) {
  const int scaled = max_items * (25 + 75 * std::min(size, 100) / 100) / 100;
  return std::max(1, scaled);
}

// Items (single ops or motifs) for script `slot` of a program with `threads` scripts.
std::vector<Op> draw_script(const std::vector<harness::Op>& prefix, const std::vector<Weighted>& ops,
                            const std::vector<Motif>& motifs, int motif_percent, int items,
                            int slot, int threads) {
  std::vector<int> op_w, motif_w;
  for (const Weighted& w : ops) op_w.push_back(w.weight);
  for (const Motif& m : motifs) motif_w.push_back(m.weight);
  // A motif's helper reference means "the thread after me" (T0: T1), when it exists.
  const int helper = slot + 1 < threads ? slot + 1 : -1;
  std::vector<Op> out = prefix;
  for (int n = 0; n < items; ++n) {
    if (!motifs.empty() && (ops.empty() || chance(motif_percent))) {
      for (Op op : motifs[pick_weighted(motif_w)].ops) {
        if (op.thread == kHelperSlot) {
          if (helper < 0) continue;
          op.thread = helper;
        }
        out.push_back(op);
      }
    } else if (!ops.empty()) {
      const OpCode c = ops[pick_weighted(op_w)].code;
      if (c == OpCode::kJoin) {
        if (slot + 1 >= threads) continue;  // a join waits only for a later script (ops.cc)
        Op j = make_op(c);
        j.thread = uniform<int>(slot + 1, threads);
        out.push_back(j);
        continue;
      }
      out.push_back(draw_args(c));
    }
  }
  return out;
}

// The op that makes helper `k` run in its role, placed in T0.
Op role_op(HelperRole role, int k) {
  Op op;
  switch (role) {
    case HelperRole::kThreading:
    case HelperRole::kDaemon:
    case HelperRole::kRaw:
    case HelperRole::kCThread:
      op = make_op(OpCode::kStart);
      op.variant = static_cast<uint8_t>(role == HelperRole::kThreading ? StartKind::kThreading
                                        : role == HelperRole::kDaemon  ? StartKind::kDaemon
                                        : role == HelperRole::kRaw     ? StartKind::kRaw
                                                                       : StartKind::kCThread);
      break;
    case HelperRole::kAtexit:
      op = make_op(OpCode::kAtexit);
      break;
    case HelperRole::kThreadingAtexit:
      op = make_op(OpCode::kThreadingAtexit);
      break;
    case HelperRole::kForkChild:
      op = make_op(OpCode::kFork);
      op.follow_child = true;
      break;
    case HelperRole::kByMotif:
      return op;  // kYield: nothing to place
  }
  op.thread = k;
  return op;
}

Program build_program(const Shape& s, const std::string& profile,
                      const std::vector<std::string>& defects, int size) {
  Program p;
  p.profile = profile;
  p.defects = defects;
  const int helpers = s.max_helpers > 0 ? uniform<int>(s.min_helpers, s.max_helpers + 1) : 0;
  const int threads = 1 + helpers;
  p.threads.resize(threads);
  std::vector<HelperRole> roles;
  for (int k = 1; k < threads; ++k) {
    roles.push_back(static_cast<HelperRole>(pick_weighted(s.role_weights)));
    const int items = uniform<int>(1, items_at(size, s.max_helper_items) + 1);
    p.threads[k].ops =
        draw_script({}, s.helper_ops, s.helper_motifs, s.motif_percent, items, k, threads);
  }
  const int items = uniform<int>(1, items_at(size, s.max_main_items) + 1);
  std::vector<Op> main = draw_script({make_op(OpCode::kInit)}, s.main_ops, s.main_motifs,
                                     s.motif_percent, items, 0, threads);
  // Role ops go into T0's body, before its closing finalize: early (the helper runs during
  // the whole program) or anywhere after `init`.
  for (int k = 1; k < threads; ++k) {
    if (roles[k - 1] == HelperRole::kByMotif) continue;
    const size_t at = chance(s.early_start_percent)
                          ? 1
                          : static_cast<size_t>(uniform<size_t>(1, main.size() + 1));
    main.insert(main.begin() + static_cast<std::ptrdiff_t>(at), role_op(roles[k - 1], k));
  }
  if (chance(s.finalize_percent)) {
    main.push_back(make_op(OpCode::kFinalize));
    if (!s.tails.empty() && chance(s.tail_percent)) {
      std::vector<int> w;
      for (const Motif& t : s.tails) w.push_back(t.weight);
      for (const Op& op : s.tails[pick_weighted(w)].ops) main.push_back(op);
    }
  }
  p.threads[0].ops = std::move(main);
  for (harness::Script& sc : p.threads) {
    if (sc.ops.size() > static_cast<size_t>(harness::kMaxOpsPerThread)) {
      sc.ops.resize(harness::kMaxOpsPerThread);
    }
  }
  return p;
}

bool is_valid(const Program& p) { return !harness::validate_program(p).has_value(); }

}  // namespace

rc::Gen<Op> small_args(OpCode c) {
  return rc::gen::exec([c] { return draw_args(c); });
}

rc::Gen<Program> gen_shaped_program(const Shape& shape, std::string profile,
                                    std::vector<std::string> defects) {
  // The generator's own shrink tree (re-drawing random choices) is replaced by the structural
  // shrinks: removing a drawn op is what makes a program shorter, re-drawing it is not.
  auto raw = rc::gen::withSize([shape, profile, defects](int size) {
    return rc::gen::exec([=] { return build_program(shape, profile, defects, size); });
  });
  return rc::Gen<Program>([raw](const rc::Random& random, int size) {
    return rc::shrinkable::shrinkRecur(raw(random, size).value(), &program_shrinks);
  });
}

std::vector<Op> op_simplifications(const Op& op) {
  std::vector<Op> out;
  const Op base = make_op(op.code);
  auto add = [&](Op o) {
    if (!(o == op) && std::find(out.begin(), out.end(), o) == out.end()) out.push_back(o);
  };
  switch (harness::op_info(op.code).args) {
    case ArgShape::kNone:
    case ArgShape::kThread:
      break;
    case ArgShape::kStart: {
      Op o = op;  // threading is the plainest kind of thread
      o.variant = base.variant;
      add(o);
      break;
    }
    case ArgShape::kInterpCfg:
    case ArgShape::kInterp:
    case ArgShape::kCount:
    case ArgShape::kLock:
    case ArgShape::kPending: {
      Op o = op;
      o.variant = base.variant;
      add(o);
      o = op;
      o.interp = base.interp;
      add(o);
      o = op;
      o.count = base.count;
      add(o);
      if (op.count > base.count + 1) {
        o = op;
        o.count = op.count - 1;
        add(o);
      }
      if (op.interp > 1) {
        o = op;
        o.interp = op.interp - 1;
        add(o);
      }
      break;
    }
    case ArgShape::kFork: {
      Op o = op;
      o.variant = base.variant;
      add(o);
      o = op;
      o.thread = base.thread;
      add(o);
      o = op;
      o.follow_child = base.follow_child;
      add(o);
      break;
    }
  }
  return out;
}

rc::Seq<Program> program_shrinks(const Program& p) {
  const size_t n = p.threads.size();
  auto drops = rc::seq::map(rc::seq::range<int>(static_cast<int>(n) - 1, 0),
                            [p](int k) { return drop_thread(p, k); });
  auto inlined = rc::seq::mapMaybe(rc::seq::range<int>(static_cast<int>(n) - 1, 0),
                                   [p](int k) -> rc::Maybe<Program> {
                                     auto q = inline_thread(p, k);
                                     if (!q) return rc::Nothing;
                                     return std::move(*q);
                                   });
  auto chunks = rc::seq::mapcat(rc::seq::range<size_t>(0, n), [p](size_t t) {
    return rc::seq::map(rc::shrink::removeChunks(p.threads[t].ops), [p, t](std::vector<Op> ops) {
      Program q = p;
      q.threads[t].ops = std::move(ops);
      return q;
    });
  });
  auto simpler = rc::seq::mapcat(rc::seq::range<size_t>(0, n), [p](size_t t) {
    return rc::seq::mapcat(rc::seq::range<size_t>(0, p.threads[t].ops.size()), [p, t](size_t i) {
      return rc::seq::map(rc::seq::fromContainer(op_simplifications(p.threads[t].ops[i])),
                          [p, t, i](Op o) {
                            Program q = p;
                            q.threads[t].ops[i] = o;
                            return q;
                          });
    });
  });
  return rc::seq::filter(rc::seq::concat(std::move(drops), std::move(chunks), std::move(inlined),
                                         std::move(simpler)),
                         &is_valid);
}

}  // namespace ifz::properties
