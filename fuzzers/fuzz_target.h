// SPDX-License-Identifier: Apache-2.0
// fuzz_target.h — what every fuzz binary is: one Target object behind libFuzzer's entry points
// (fuzzers/<target>.cc) and behind the standalone replay driver (standalone_main.cc).
// Defines Target, ProgramTarget, TextTarget, this_target() and the environment knobs.
//
// Environment (read once, when the target object is built; a bad value exits with status 2):
//   INTERPFUZZ_PROFILE=<name>   pin the profile (default: the input's byte picks a -fixed one)
//   INTERPFUZZ_DEFECTS=a,b,...  enable these defects (default: none; the input's defect bits
//                               are ignored, see DecodeOptions::fixed_profiles_only)
//   INTERPFUZZ_FINDINGS=<dir>   also write each finding's program, as .ifz with its schedule,
//                               to <dir>/<kind>-<hash>.ifz (the crash file is libFuzzer's)
//   INTERPFUZZ_ABORT_ON=all|known|none  which findings abort (default all). Benchmarks only:
//                               `known` aborts only on findings attributed to an enabled
//                               defect (its canary fired) and `none` on nothing; the others
//                               are reported once per signature (and written to
//                               INTERPFUZZ_FINDINGS) and fuzzing goes on.
//   INTERPFUZZ_CANARY_LOG=<file> append when each defect's canaries first fired and when a
//                               finding was first attributed to it (harness/exec/canary_log.h)
// So `fuzz_lifecycle` alone looks for new bugs on every version's -fixed profile, and
// `INTERPFUZZ_PROFILE=3.9-fixed INTERPFUZZ_DEFECTS=gh96387_stale_drop_request fuzz_lifecycle`
// measures how fast one historical defect is rediscovered.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "harness/exec/fuzz_input.h"  // looks_like_text_program, the decoding rules
#include "harness/program/fuzz_targets.h"
#include "harness/exec/executor.h"
#include "harness/program/binary_codec.h"
#include "harness/schedule/strategy.h"

namespace ifz::fuzz {

class Target {
 public:
  virtual ~Target() = default;
  /// LLVMFuzzerTestOneInput. Returns 0; a finding or a broken invariant aborts the process
  /// (libFuzzer then saves the input as a crash file) after printing a report on stderr.
  virtual int run(std::span<const uint8_t> input) = 0;
  /// The standalone driver's entry for one file: `path` only decides how the bytes are read
  /// (ProgramTarget runs a `.ifz` file as a text program). Returns 0, or 1 when the file's
  /// expectation failed (message on stderr).
  virtual int replay(const std::string& path, std::span<const uint8_t> bytes) { return run(bytes); }
  /// Record a one-line summary of each input (outcome, findings, a hash of the trace), for
  /// the replay driver's order-independence check. Off while fuzzing: it turns tracing on.
  void set_summaries(bool on) { summaries_ = on; }
  const std::string& last_summary() const { return summary_; }
  /// Run programs on the native platform (real threads, a sandbox process per execution)
  /// instead of the simulated one: the replay driver's --native, for ThreadSanitizer. Never
  /// while fuzzing (OSS-Fuzz forbids child processes, and nothing native replays exactly).
  virtual void set_native(bool on) {}
  virtual const TargetSpec& spec() const = 0;

 protected:
  bool summaries_ = false;
  std::string summary_;
};

/// The binary-program targets: decode (restricted to spec.ops), run on a fresh runtime with
/// the input-driven strategy, let the oracles decide.
class ProgramTarget final : public Target {
 public:
  explicit ProgramTarget(const TargetSpec& spec);
  int run(std::span<const uint8_t> input) override;
  /// A `.ifz` file (a seed or a regression) runs as written, with its `schedule` line if any.
  /// A `# expect: <signature>` comment line makes that finding the expected result (any other
  /// result fails the file); without one, any finding is reported and aborts, as in run().
  int replay(const std::string& path, std::span<const uint8_t> bytes) override;
  const TargetSpec& spec() const override { return spec_; }
  void set_native(bool on) override { native_ = on; }
  /// LLVMFuzzerCustomMutator / LLVMFuzzerCustomCrossOver (harness/program/program_mutator.h).
  size_t mutate(uint8_t* data, size_t size, size_t max_size, unsigned seed) const;
  size_t cross_over(std::span<const uint8_t> a, std::span<const uint8_t> b, uint8_t* out,
                    size_t max_out, unsigned seed) const;
  const harness::DecodeOptions& decode_options() const { return decode_; }

 private:
  enum class AbortOn : uint8_t { kAll, kKnown, kNone };
  harness::ExecOptions exec_options(harness::Strategy* strategy) const;
  /// A finding that does not abort (INTERPFUZZ_ABORT_ON): one line per new signature.
  void note(const harness::Program& p, harness::Strategy& strategy,
            const harness::ExecResult& r);

  const TargetSpec& spec_;
  harness::DecodeOptions decode_;
  std::string findings_dir_;
  AbortOn abort_on_ = AbortOn::kAll;
  bool native_ = false;
  std::vector<std::string> noted_;  // signatures already noted
};

/// fuzz_program_text: any bytes through the `.ifz` parser; what parses must print canonically,
/// re-parse to the same program, and round-trip through the binary codec.
class TextTarget final : public Target {
 public:
  explicit TextTarget(const TargetSpec& spec) : spec_(spec) {}
  int run(std::span<const uint8_t> input) override;
  const TargetSpec& spec() const override { return spec_; }

 private:
  const TargetSpec& spec_;
};

/// The target of this binary: defined by each fuzzers/<target>.cc.
Target& this_target();

}  // namespace ifz::fuzz
