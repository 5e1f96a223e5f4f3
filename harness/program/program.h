// SPDX-License-Identifier: Apache-2.0
// program.h — a program: per-thread scripts of operations, the profile and extra defects to
// run them on, and optionally the schedule to replay (DESIGN D4).
// Defines Script and Program.
//
// Script 0 is the process's main thread; any other script runs when some op starts it
// (`start T<k>`), when a fork follows the child into it (`fork ... child=T<k>`), or as an
// atexit callback (`atexit T<k>`). A script started twice runs only the first time. Ops whose
// precondition does not hold when they execute (e.g. `join` of a thread never started) are
// skipped and traced as such, so that every decoded program is runnable.
#pragma once

#include <string>
#include <vector>

#include "harness/program/op.h"

namespace ifz::harness {

struct Script {
  std::vector<Op> ops;
  bool operator==(const Script&) const = default;
};

struct Program {
  static constexpr int kFormatVersion = 1;
  std::string profile = "3.12-fixed";   // a name of rt::all_profiles()
  std::vector<std::string> defects;     // extra defect names, in defects.def order, unique
  std::vector<Script> threads;          // threads[0] = main; at most kMaxThreads
  std::string schedule;                 // "" = none (use the chosen strategy)
  bool operator==(const Program&) const = default;

  size_t op_count() const;
};

}  // namespace ifz::harness
