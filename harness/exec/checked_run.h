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

/// The one report shape every front end prints (replay, run, stress, minimize, the fuzz
/// targets), libFuzzer's:
///   ==ifz== FINDING: <kind> [<oracle>]
///       <message>
///       phase: <phase>
///       <each live thread once: what it waits on, and that lock's owner>
///       <classification: "new" or "known: <issue>">
///       reproduce: <command>
///   SUMMARY: interpfuzz: <signature>
std::string format_finding(const Finding& f, const std::string& reproduce);

/// "interpfuzz replay FILE --schedule S": the exact replay of a simulated finding.
std::string replay_command(const std::string& program_file, const Schedule& schedule);

/// The reproduce line of a native finding: no schedule was recorded, so only a native re-run
/// (timing-dependent) or a simulated search for a schedule can bring it back.
std::string native_reproduce_command(const std::string& program_file);

/// format_finding with replay_command(program_file, schedule).
std::string format_report(const Finding& f, const std::string& program_file,
                          const Schedule& schedule);

}  // namespace ifz::harness
