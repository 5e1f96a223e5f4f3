// SPDX-License-Identifier: Apache-2.0
// canary_log.h — benchmark instrumentation: when a process first saw each defect's canaries.
// Defines CanaryLog.
//
// With INTERPFUZZ_CANARY_LOG=<file> set, every engine (fuzz targets, `interpfuzz stress`, the
// property bench runner) hands each execution's result to observe(); the log gets one line the
// first time this process sees, for any defect (enabled or not: the location exists in both
// designs, defects.h),
//   reached\t<defect>\t<unix time, s>           its code location ran (canary *reached*)
//   triggered\t<defect>\t<unix time, s>         its bug condition held (canary *triggered*)
//   detected\t<defect>\t<unix time, s>\t<sig>   a finding of the generic oracles in an
//                                               execution where it triggered (its "known:" label)
// Wall-clock (CLOCK_REALTIME) times, so several processes (stress workers, a restarted fuzzer)
// append to one file and the benchmark subtracts its own trial start. Each line is one
// O_APPEND write: lines of concurrent processes never interleave. Nothing here decides what a
// finding is; it only timestamps canaries and the attribution the executor already made.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "harness/exec/executor.h"
#include "runtime/defects.h"

namespace ifz::harness {

class CanaryLog {
 public:
  /// The log named by INTERPFUZZ_CANARY_LOG, or null when unset/empty. Exits with status 2
  /// (one line on stderr) when the file cannot be opened.
  static std::unique_ptr<CanaryLog> from_env();
  explicit CanaryLog(int fd) : fd_(fd) {}
  ~CanaryLog();
  CanaryLog(const CanaryLog&) = delete;
  CanaryLog& operator=(const CanaryLog&) = delete;

  /// Records the first reach / trigger / detection of each defect in `r`.
  void observe(const ExecResult& r);
  /// Appends a free-form line ("<tag>\t<text>\t<unix time>"): "minimised\t<sig>\t<ops>" (the
  /// minimised size), "false\t<sig>" (a finding not attributed to an enabled defect: fuzz
  /// targets once per signature, properties_bench as "<contract> <sig>").
  void note(const std::string& tag, const std::string& text);

 private:
  void write_line(const std::string& line);
  int fd_ = -1;
  std::array<bool, rt::kDefectCount> reached_{}, triggered_{}, detected_{};
};

/// Seconds since the Unix epoch (CLOCK_REALTIME), with nanoseconds.
double unix_seconds();

}  // namespace ifz::harness
