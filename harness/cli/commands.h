// SPDX-License-Identifier: Apache-2.0
// commands.h — the `interpfuzz` subcommands. Each returns the process exit status:
// 0 nothing found, 1 findings, 2 usage or input error (one line on stderr).
#pragma once

#include <optional>
#include <string>

#include "harness/cli/flags.h"
#include "harness/program/program.h"

namespace ifz::harness::cli {

int cmd_replay(const Flags& f, bool explain);
int cmd_run(const Flags& f);
int cmd_list(const Flags& f);

/// Reads FILE (the first positional) and applies --profile / --defects. On error prints one
/// line and returns nullopt.
std::optional<Program> load_program(const Flags& f, std::string* file);

/// Prints a one-line input error ("interpfuzz: ...") and returns 2.
int input_error(const std::string& message);

}  // namespace ifz::harness::cli
