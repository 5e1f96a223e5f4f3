// SPDX-License-Identifier: Apache-2.0
// input_file.h — FILE as `replay`, `explain` and `minimize` read it: an `.ifz` program, or a raw
// fuzzer input (libFuzzer's crash-/leak-/timeout- files, corpus entries) decoded and run exactly
// as the fuzz target --target did (harness/exec/fuzz_input.h). Defines InputFile and
// load_input_file.
#pragma once

#include <optional>
#include <string>

#include "harness/cli/flags.h"
#include "harness/exec/executor.h"
#include "harness/program/program.h"
#include "harness/schedule/schedule.h"

namespace ifz::harness::cli {

struct InputFile {
  std::string path;
  std::string bytes;   // the file's contents
  Program program;     // --profile / --defects applied (text); as decoded (raw)
  Schedule schedule;   // --schedule, else the program's own line (text) or what the input drove (raw)
  bool raw = false;
  /// Raw: how it was decoded ("fuzz_lifecycle, profile 3.13-fixed, defects none") and the
  /// execution the decoding ran (contained, traced as asked), which *is* the fuzz target's.
  std::string raw_setup;
  std::optional<ExecResult> raw_result;
  /// How to name the file in a reproduce line: the path, plus the flags a raw input needs.
  std::string reproduce_name;
};

/// Reads FILE (the first positional). A raw input is decoded with --target and --profile /
/// --defects, else INTERPFUZZ_PROFILE / INTERPFUZZ_DEFECTS (as the fuzz targets read them), and
/// run once with `eo` (contained) unless --schedule is given. On a bad file, flag or environment
/// prints one line on stderr and returns nullopt (exit status 2).
std::optional<InputFile> load_input_file(const Flags& f, ExecOptions eo);

}  // namespace ifz::harness::cli
