// SPDX-License-Identifier: Apache-2.0
// diff_cmd.h — `interpfuzz diff`: differential fuzzing of the model against real CPython
// (DESIGN D10). Defines DiffOptions, run_diff and cmd_diff.
//
// Worker processes (as the stress runner's: a real run that wedges the machine's resources
// or a model execution that goes wrong takes one worker, not the run) each generate programs
// (harness/diff/program_source.h), judge each on every install of its version
// (harness/diff/diff_check.h) and report to the parent over a pipe. A standing disagreement is
// written to the artifacts folder at once (atomically), then minimised keeping its signature
// with a bounded number of real runs, then written again minimised; only the first worker to
// claim a signature minimises it. The parent shows progress, appends one JSON line per
// disagreement or real-flaky program to <artifacts>/results.jsonl, and prints the summary.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "harness/cli/flags.h"
#include "harness/conform/cpython_install.h"

namespace ifz::harness::cli {

struct DiffOptions {
  std::vector<conform::CPythonInstall> installs;  // each usable (missing == "")
  bool use_driver = true;          // --executor driver (falls back to compile, with a warning)
  double seconds = 60;             // --time: generation stops then (minimisation may run on)
  int jobs = 0;                    // --jobs, 0 = one per core
  std::string artifacts = "artifacts/diff";
  std::string corpus = "corpus/seeds";
  int runs = 5;                    // --runs: re-runs of a disagreeing program
  int timeout_ms = 10000;          // --timeout
  uint64_t seed = 1;
  std::vector<std::string> extra_defects;  // --defects: the what-if model
  bool minimize = true;
  double minimize_seconds = 120;   // per disagreement
  int minimize_real_checks = 0;    // per disagreement; 0 = by executor (compile 40, driver 400)
  size_t max_ops = 20;
  uint64_t max_programs = 0;       // --iterations: programs per worker; 0 = until --time
  bool quiet = false;
};

/// Runs the campaign; returns 0 (no disagreement, no error), 1 (some) or 2 (setup failed).
int run_diff(const DiffOptions& o);

/// Parses the flags into DiffOptions (bad input: one line, 2) and runs.
int cmd_diff(const Flags& f);

}  // namespace ifz::harness::cli
