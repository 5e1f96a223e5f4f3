// SPDX-License-Identifier: Apache-2.0
// program_gen.h — RapidCheck generators of valid programs, for tests and properties/.
// Defines gen_op, gen_script, gen_schedule_token, gen_program and showValue for Op/Program.
//
// Every generated Program passes validate_program(): thread references name existing scripts
// (never T0 where validate.h forbids it), interpreters are I0..I<kMaxInterp>, counts are in
// range, unused Op fields keep make_op()'s defaults, the profile is one of rt::all_profiles()
// and the defects a subset in defects.def order. Shrinking goes towards fewer threads, fewer
// and simpler ops, no defects and no schedule. Link target: ifz::program_gen.
#pragma once

#include <rapidcheck.h>

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "harness/program/op.h"
#include "harness/program/program.h"
#include "harness/program/text_format.h"
#include "harness/program/validate.h"
#include "runtime/defects.h"
#include "runtime/profile.h"

namespace ifz::harness {

namespace gen_detail {

// A copy of `base` changed by `set`, as a generator over `g`'s values.
template <typename T, typename Set>
rc::Gen<Op> with(const Op& base, rc::Gen<T> g, Set set) {
  return rc::gen::map(std::move(g), [base, set](const T& v) {
    Op op = base;
    set(op, v);
    return op;
  });
}

inline rc::Gen<int> thread_ref(OpCode c, int threads) {
  return rc::gen::inRange(min_thread_ref(c), threads);
}

// -1 (no child script) or T1..T<threads-1>.
inline rc::Gen<int> fork_child(int threads) {
  if (threads == 1) return rc::gen::just(-1);
  return rc::gen::oneOf(rc::gen::just(-1), rc::gen::inRange(1, threads));
}

}  // namespace gen_detail

/// The arguments of op `c`, all in range, for a program of `threads` scripts.
/// REQUIRES: op_allowed(c, threads).
inline rc::Gen<Op> gen_op_args(OpCode c, int threads) {
  using gen_detail::with;
  namespace g = rc::gen;
  const Op base = make_op(c);
  switch (op_info(c).args) {
    case ArgShape::kNone: return g::just(base);
    case ArgShape::kInterpCfg:
      return with(base, g::inRange(0, 4), [](Op& o, int v) { o.variant = uint8_t(v); });
    case ArgShape::kInterp:
      return with(base, g::inRange(0, kMaxInterp + 1), [](Op& o, int v) { o.interp = v; });
    case ArgShape::kStart:
      return with(base, g::pair(gen_detail::thread_ref(c, threads), g::inRange(0, kStartKinds)),
                  [](Op& o, std::pair<int, int> v) {
                    o.thread = v.first;
                    o.variant = uint8_t(v.second);
                  });
    case ArgShape::kThread:
      return with(base, gen_detail::thread_ref(c, threads), [](Op& o, int v) { o.thread = v; });
    case ArgShape::kCount:
      return with(base, g::inRange(min_count(c), kMaxCount + 1), [](Op& o, int v) { o.count = v; });
    case ArgShape::kPending:
      return with(base, g::pair(g::inRange(0, kPendingKinds), g::inRange(-1, kMaxInterp + 1)),
                  [](Op& o, std::pair<int, int> v) {
                    o.variant = uint8_t(v.first);
                    o.interp = v.second;
                  });
    case ArgShape::kFork:
      return with(base,
                  g::tuple(g::inRange(0, kForkModes), g::arbitrary<bool>(),
                           gen_detail::fork_child(threads)),
                  [](Op& o, std::tuple<int, bool, int> v) {
                    o.variant = uint8_t(std::get<0>(v));
                    o.follow_child = std::get<1>(v);
                    o.thread = std::get<2>(v);
                  });
    case ArgShape::kLock:
      return with(base, g::pair(g::inRange(0, kLockKinds), g::inRange(1, kMaxCount + 1)),
                  [](Op& o, std::pair<int, int> v) {
                    o.variant = uint8_t(v.first);
                    o.count = v.second;
                  });
    case ArgShape::kSync:
      return with(base, g::pair(g::inRange(0, kSyncObjects), g::arbitrary<bool>()),
                  [c](Op& o, std::pair<int, bool> v) {
                    o.variant = uint8_t(v.first);
                    if (v.second && sync_takes_timeout(c)) o.variant |= kSyncTimeout;
                  });
  }
  return g::just(base);
}

/// Any op allowed in a program of `threads` scripts (uniform over the vocabulary).
inline rc::Gen<Op> gen_op(int threads) {
  std::vector<OpCode> codes;
  for (const OpInfo& o : all_ops()) {
    if (op_allowed(o.code, threads)) codes.push_back(o.code);
  }
  return rc::gen::mapcat(rc::gen::elementOf(codes),
                         [threads](OpCode c) { return gen_op_args(c, threads); });
}

/// A script of 0..kMaxOpsPerThread ops (longer as RapidCheck's size grows).
inline rc::Gen<Script> gen_script(int threads) {
  return rc::gen::map(rc::gen::container<std::vector<Op>>(gen_op(threads)),
                      [](std::vector<Op> ops) {
                        if (ops.size() > static_cast<size_t>(kMaxOpsPerThread)) {
                          ops.resize(kMaxOpsPerThread);
                        }
                        return Script{std::move(ops)};
                      });
}

/// "" or one opaque token of printable ASCII without '#' (what the text format accepts).
inline rc::Gen<std::string> gen_schedule_token() {
  std::vector<char> chars;
  for (char c = '!'; c <= '~'; ++c) {
    if (c != '#') chars.push_back(c);
  }
  return rc::gen::oneOf(
      rc::gen::just(std::string()),
      rc::gen::nonEmpty(rc::gen::container<std::string>(rc::gen::elementOf(chars))));
}

/// A subset of rt::all_defects(), in defects.def order.
inline rc::Gen<std::vector<std::string>> gen_defects() {
  return rc::gen::map(rc::gen::inRange<uint64_t>(0, uint64_t{1} << rt::kDefectCount),
                      [](uint64_t mask) {
                        std::vector<std::string> out;
                        for (const rt::DefectInfo& d : rt::all_defects()) {
                          if ((mask >> static_cast<size_t>(d.id)) & 1) out.emplace_back(d.name);
                        }
                        return out;
                      });
}

/// A valid program of `threads` scripts.
inline rc::Gen<Program> gen_program_with(int threads) {
  return rc::gen::build<Program>(
      rc::gen::set(&Program::profile, rc::gen::elementOf(rt::profile_names())),
      rc::gen::set(&Program::defects, gen_defects()),
      rc::gen::set(&Program::threads,
                   rc::gen::container<std::vector<Script>>(threads, gen_script(threads))),
      rc::gen::set(&Program::schedule, gen_schedule_token()));
}

/// A valid program of 1..kMaxThreads scripts (validate_program(p) is nullopt).
inline rc::Gen<Program> gen_program() {
  return rc::gen::mapcat(rc::gen::inRange(1, kMaxThreads + 1), gen_program_with);
}

/// RapidCheck prints counterexamples with these (found by argument-dependent lookup).
inline void showValue(const Op& op, std::ostream& os) { os << print_op(op); }

inline void showValue(const Program& p, std::ostream& os) {
  if (!validate_program(p)) {
    os << "\n" << print_program(p);
    return;
  }
  os << "(invalid: " << *validate_program(p) << ")\nprofile " << p.profile << "\n";
  for (size_t t = 0; t < p.threads.size(); ++t) {
    os << "thread T" << t << ":\n";
    for (const Op& op : p.threads[t].ops) os << "  " << print_op(op) << "\n";
  }
}

}  // namespace ifz::harness
