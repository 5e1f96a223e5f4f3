// SPDX-License-Identifier: Apache-2.0
// fuzz_input.h — how a program fuzz target turns its input bytes into an execution, as a
// library: the fuzz targets (fuzzers/fuzz_target.cc) and `interpfuzz replay|explain|minimize` on
// a raw libFuzzer crash file all use it, so a crash file is decoded and scheduled exactly as the
// target did.
// Defines decode_options_for, env_decode_options, input_exec_options, run_input,
// replay_fuzzer_input and looks_like_text_program.
//
// The rules, in one place:
//   - decoding: the target's op mix (TargetSpec::ops), DecodeOptions::fixed_profiles_only,
//     the profile pinned by INTERPFUZZ_PROFILE and the defects added by INTERPFUZZ_DEFECTS;
//   - scheduling: the input-driven strategy over the bytes after the records;
//   - execution: the simulated platform with ExecOptions' defaults (step budget included).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "harness/program/fuzz_targets.h"
#include "harness/exec/executor.h"
#include "harness/program/binary_codec.h"
#include "harness/schedule/schedule.h"
#include "harness/schedule/strategy.h"

namespace ifz::fuzz {

/// The DecodeOptions target `t` decodes every input with, with `profile` pinned ("" = the
/// input's byte picks a -fixed profile) and `defects` enabled. Returns nullopt with a one-line
/// `error` for an unknown profile or defect name. REQUIRES: t.input == kBinaryProgram.
std::optional<harness::DecodeOptions> decode_options_for(const TargetSpec& t,
                                                         const std::string& profile,
                                                         const std::vector<std::string>& defects,
                                                         std::string* error);

/// decode_options_for with the profile and defects of the environment: INTERPFUZZ_PROFILE and
/// INTERPFUZZ_DEFECTS (comma-separated), what the fuzz target binaries read at start-up.
std::optional<harness::DecodeOptions> env_decode_options(const TargetSpec& t, std::string* error);

/// "a,b,,c" -> {a, b, c}.
std::vector<std::string> split_names(const std::string& list);

/// The ExecOptions of one fuzzing execution on the simulated platform, driven by `chooser`.
harness::ExecOptions input_exec_options(platform::Chooser* chooser);

/// One execution of a decoded input, as LLVMFuzzerTestOneInput runs it: `strategy` (an
/// InputDrivenStrategy over d.schedule_bytes, or one wrapping it) is rewound and decides every
/// choice. On the simulated platform `eo.chooser` is replaced by `chooser` (the strategy itself
/// when null); the native platform has no chooser.
harness::ExecResult run_input(const harness::Decoded& d, harness::Strategy& strategy,
                              harness::ExecOptions eo, platform::Chooser* chooser = nullptr);

/// A raw input (a libFuzzer crash-/leak-/timeout- file or a corpus entry) run exactly as the
/// target runs it, with the schedule its bytes drove recorded, so that (program, schedule)
/// replays the same execution with a ReplayStrategy.
struct ReplayedInput {
  harness::Program program;    // program.schedule is "" (the schedule is below)
  harness::Schedule schedule;  // what the input-driven strategy chose
  harness::ExecResult result;
};
/// `eo` as input_exec_options() by default; the CLI sets trace and contain (contained_run.h).
ReplayedInput replay_fuzzer_input(std::span<const uint8_t> input, const harness::DecodeOptions& d,
                                  harness::ExecOptions eo = input_exec_options(nullptr));

/// True if the file is an `.ifz` program: its name ends in `.ifz`, or its first line that is not
/// blank or a `#` comment starts with the versioned header `interpfuzz-program`. Anything else
/// is raw fuzzer bytes.
bool looks_like_text_program(const std::string& path, std::span<const uint8_t> bytes);

}  // namespace ifz::fuzz
