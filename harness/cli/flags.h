// SPDX-License-Identifier: Apache-2.0
// flags.h — the `interpfuzz` command line: one table of flags (flags.def) parsed into Flags.
// Defines Flags, parse_flags and usage().
//
// Bad input is the third error tier (STYLE §8.6): parse_flags returns a one-line message and
// the CLI exits 2; it never aborts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ifz::harness::cli {

struct Flags {
#define IFZ_FLAG_STR(name, flag, def, help) std::string name = def;
#define IFZ_FLAG_INT(name, flag, def, help) int64_t name = def;
#define IFZ_FLAG_BOOL(name, flag, help) bool name = false;
#define IFZ_FLAG_LIST(name, flag, help) std::vector<std::string> name;
#include "harness/cli/flags.def"
#undef IFZ_FLAG_STR
#undef IFZ_FLAG_INT
#undef IFZ_FLAG_BOOL
#undef IFZ_FLAG_LIST
  std::string command;
  std::vector<std::string> positional;
  // Which flags were given explicitly (by flag text, e.g. "--seed").
  std::vector<std::string> given;
  bool was_given(const std::string& flag) const;
};

/// Parses argv[1..]. On error returns nullopt and sets `error` to one line.
std::optional<Flags> parse_flags(int argc, char** argv, std::string* error);

std::string usage();

}  // namespace ifz::harness::cli
