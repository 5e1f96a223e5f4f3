// SPDX-License-Identifier: Apache-2.0
// checked_run.h — one simulated execution under a strategy, recorded, and — when it found
// something — replayed from its recorded schedule to check that the finding reproduces
// exactly (DESIGN D5/D6 determinism self-check). Also the report every front end prints.
// Defines CheckedRun, run_checked, replay_schedule and format_report.
#pragma once

#include <string>

#include "harness/exec/executor.h"
#include "harness/program/program.h"
#include "harness/schedule/schedule.h"
#include "harness/schedule/strategy.h"

namespace ifz::harness {

struct CheckedRun {
  ExecResult result;
  Schedule schedule;           // what the strategy chose, replayable
  bool reproducible = true;    // the replay gave the same first signature
  std::string divergence;      // why not, when !reproducible
};

/// Runs `p` once under `strategy` (begin_execution() is called first) and self-checks.
CheckedRun run_checked(const Program& p, Strategy& strategy, const ExecOptions& base);

/// Replays (p, schedule) on the simulated platform. `divergence` receives the replay
/// strategy's first divergence, if any.
ExecResult replay_schedule(const Program& p, const Schedule& schedule, const ExecOptions& base,
                           std::string* divergence);

/// The libFuzzer-shaped report of a finding: "==ifz== FINDING: <kind> [<oracle>]", the cause,
/// its classification, the line that reproduces it, "SUMMARY: interpfuzz: <signature>".
std::string format_report(const Finding& f, const std::string& program_file,
                          const Schedule& schedule);

}  // namespace ifz::harness
