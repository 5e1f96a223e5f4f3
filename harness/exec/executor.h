// SPDX-License-Identifier: Apache-2.0
// executor.h — runs a Program on a fresh reference runtime, on the simulated platform (driven
// by a Chooser) or the native one (real threads, sandbox process), with every oracle watching.
// Defines ExecOptions, ExecResult and execute().
//
// One execution = one modelled process: a new Runtime, a new platform, nothing shared with
// the previous execution. Ops whose precondition does not hold are skipped and traced, so
// every decoded program runs (see program.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "harness/exec/finding.h"
#include "harness/exec/op_log.h"
#include "harness/exec/reach.h"
#include "harness/program/program.h"
#include "runtime/defects.h"
#include "runtime/outcome.h"
#include "runtime/platform/platform.h"

namespace ifz::harness {

struct ExecOptions {
  enum class Platform : uint8_t { kSimulated, kNative };
  Platform platform = Platform::kSimulated;
  /// Simulated only: who decides at each choice point. Null = sequential (keep current).
  platform::Chooser* chooser = nullptr;
  /// Simulated: scheduling points before the run is stopped as a hang (IFZ_MAX_STEPS).
  uint64_t max_steps = 200'000;
  /// Native: watchdog for the sandbox process.
  int native_watchdog_ms = 5000;
  /// Keep a readable trace (replay / explain). Off in fuzzing loops for speed.
  bool trace = true;
  /// Also print each thread's state after every op (explain).
  bool trace_thread_states = false;
  /// Simulated only: when set, op starts/ends and runtime events are recorded here (emit-c,
  /// conform). Not owned.
  OpLog* op_log = nullptr;
  /// Run the (simulated) execution in a child process, so that a crash of the model is a
  /// `model-crash` finding instead of the end of the tool (contained_run.h). Costs a fork.
  bool contain = false;
  /// Count reachability (ExecResult::reach) for stress summaries. Off in the fuzz targets,
  /// which never read it: a figure about the run, not an oracle, so nothing is judged less.
  bool count_reach = true;
};

struct ExecResult {
  platform::RunResult run;
  rt::Outcome outcome;             // kRunning when the process ended without a runtime outcome
  std::vector<std::string> trace;  // one line per op / runtime event
  std::vector<Finding> findings;   // in the order observed; [0] is "the" finding
  rt::Canaries canaries;
  uint64_t ops_executed = 0;
  uint64_t ops_skipped = 0;
  // With ExecOptions::trace: each skipped op, "T0 op 3 `gilstate_ensure`: <why>" (the script,
  // @ the program thread running it when another, the op's 1-based line in its script).
  std::vector<std::string> skipped_ops;
  size_t leaked_by_fork = 0;       // runtime blocks still live at the end (fork, process exit)
  ReachCounters reach;             // interesting states this execution reached
  /// "exit 0", "fatal: Fatal Python error: …", "crash: use-after-free: …", "deadlock", "hang".
  std::string outcome_summary() const;
  bool found() const { return !findings.empty(); }
};

ExecResult execute(const Program& program, const ExecOptions& opts);

/// A report's line for one live thread at the end of an execution, each thread once: its id
/// (and spawn name when that says more), what it waits on and who owns that lock:
/// "T1 (threading-daemon-t1) waits on lock HEAD_LOCK, owned by T0".
std::string describe_blocked_thread(const platform::BlockedThread& b);

}  // namespace ifz::harness
