// SPDX-License-Identifier: Apache-2.0
// stress.h — `interpfuzz stress`, the main job: time-boxed, one worker process per core,
// random programs × strategies × profiles, deduplicated findings written atomically to an
// artifacts folder before anything else happens, a live progress line and a summary.
// Defines StressOptions and run_stress.
#pragma once

#include <cstdint>
#include <string>

namespace ifz::harness::cli {

struct StressOptions {
  double seconds = 60;                  // --time
  int jobs = 0;                         // --jobs, 0 = one per core
  std::string profile;                  // --profile: "" = every -fixed profile; "3.9" = that one
  std::string defects;                  // --defects: extra defects (comma-separated)
  uint64_t seed = 1;                    // --seed
  std::string artifacts = "artifacts";  // --artifacts
  std::string seeds_dir = "corpus/seeds";  // --corpus
  uint64_t max_steps = 20'000;          // per execution
  bool native = true;                   // include native-thread executions (a share of them)
  bool native_only_uniform = false;     // baseline: native threads + uniform random programs only
  bool minimize = true;                 // auto-minimise each new finding
  std::string strategy;                 // --strategy: "" = the mix; "pct" / "random": simulated
                                        // executions with that strategy only, no native share
  bool stop_on_known = false;           // --stop-on-known: end at the first finding attributed
                                        // to an enabled defect (benchmarks), then minimise it
  bool quiet = false;
  std::string json;                     // --json: write the summary as JSON lines here too
};

/// Runs the stress job; returns the exit status: 0 when every finding (if any) was attributed
/// to a defect the run enabled; 1 on a new finding, a determinism failure or a worker that did
/// not exit cleanly; 2 on a usage error. An interrupted run (SIGINT/SIGTERM) follows the same
/// rule over what it found.
int run_stress(const StressOptions& opts);

}  // namespace ifz::harness::cli
