// SPDX-License-Identifier: Apache-2.0
// minimizer.h — shrinks a failing (program, schedule) while keeping its finding's signature
// (DESIGN D7): rounds of delta debugging over ops, whole-thread reductions (inline a helper
// into the op that starts it, drop it with the ops naming it), removal of op pairs,
// replacement of ops by plain scheduling points (`yield`) and argument simplification, until a
// round removes nothing even with four times the schedule search per candidate; then schedule
// simplification (fewest preemptions).
// Defines MinimizeOptions, MinimizeResult, minimize and find_schedule.
//
// A candidate program no longer matches the old schedule choice by choice, so each candidate
// is tried with the current schedule (replayed as far as it applies), the sequential schedule
// and a few seeded PCT/random schedules; the schedule of the first run that reproduces the
// signature becomes the current one. Half of those seeded tries are repairs of the current
// schedule instead: one run of identical picks shortened, since a removed op took its choice
// points with it and the later preemptions now come too late. Everything runs on the simulated
// platform, so the result replays exactly. IFZ_MINIMIZE_LOG=1 prints each accepted reduction
// (ops, schedules per candidate, executions so far) on stderr.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "harness/exec/executor.h"
#include "harness/program/program.h"
#include "harness/schedule/schedule.h"

namespace ifz::harness {

struct MinimizeOptions {
  double seconds = 25;         // wall-clock budget (the whole minimisation)
  uint64_t max_executions = 1'000'000;  // execution budget: with a generous `seconds` the result
                                        // depends on this alone, so tests are deterministic
  int tries_per_candidate = 48; // seeded schedules tried when replay and sequential fail...
  int max_tries_per_candidate = 3072;  // ...raised 4x per round that removes nothing, up to this
  size_t pair_max_ops = 24;    // remove op pairs (quadratic) only in programs this short
  int search_budget = 20'000;  // executions to find a schedule for a schedule-less finding
  uint64_t max_steps = 50'000;
  /// Every execution in a child process (ExecOptions::contain): a candidate that crashes the
  /// model is a `model-crash` finding, so such a signature can be kept. About a fork per
  /// execution; the CLI turns it on for model-crash signatures and after a crash.
  bool contain = false;
};

struct MinimizeResult {
  bool ok = false;
  std::string error;           // why not (the finding did not reproduce, ...)
  Program program;             // minimal, with `schedule` set
  Schedule schedule;
  Finding finding;             // as reproduced by the minimal program
  size_t ops_before = 0, ops_after = 0;
  size_t threads_before = 0, threads_after = 0;
  size_t preemptions_before = 0, preemptions_after = 0;
  uint64_t executions = 0;
  double seconds = 0;
  bool schedule_searched = false;  // the input had no replayable schedule (native / raw crash)
};

/// What a keep-mode minimisation keeps instead of a finding's signature: a property of one
/// simulated execution of a candidate (program, the schedule recorded for it). `diff` keeps
/// "the model's outcome differs from real CPython's, with this signature" (DESIGN D10), a
/// property that costs a real run per candidate: `exhausted` (optional) ends the search when
/// its budget of real runs is spent, as if the time were up. Tries per candidate follow
/// MinimizeOptions as in signature mode; keep them low when `holds` is expensive.
struct KeepProperty {
  std::string name;  // the result's finding: kind "keep", detail = name
  std::function<bool(const Program&, const Schedule&, const ExecResult&)> holds;
  std::function<bool()> exhausted;
};

/// Minimises (p, s) keeping `keep`. The input must have it under `s` (replayed): no schedule is
/// searched for. Otherwise as minimize().
MinimizeResult minimize_keeping(const Program& p, const Schedule& s, const KeepProperty& keep,
                                const MinimizeOptions& opts);

/// Minimises (p, s). `signature` "" = whatever the first finding of replaying (p, s) is.
MinimizeResult minimize(const Program& p, const Schedule& s, const std::string& signature,
                        const MinimizeOptions& opts);

/// Looks for a simulated schedule under which `p` yields `signature` ("" = any finding):
/// sequential, then PCT depths 1–3 and random, up to `budget` executions. Used to make native
/// findings replayable. Returns false when none was found.
bool find_schedule(const Program& p, const std::string& signature, int budget, uint64_t max_steps,
                   Schedule* out, Finding* finding, uint64_t* executions, bool contain = false);

}  // namespace ifz::harness
