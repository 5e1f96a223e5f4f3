// SPDX-License-Identifier: Apache-2.0
// fuzz_targets.h — the table of fuzz targets: what each one feeds the runtime and which ops its
// decoder draws from. Defines InputKind, TargetSpec, all_targets and find_target.
//
// One table, so that the fuzz targets, the seed encoder, the dictionary generator, the
// OSS-Fuzz build, the CLI (decoding raw crash files) and the benchmarks agree on the names and
// the op mixes (STYLE §8.7). In harness/ because the CLI needs it and harness/ never includes
// fuzzers/; the namespace names what it is about.
#pragma once

#include <span>
#include <string_view>

#include "harness/program/op.h"

namespace ifz::fuzz {

enum class InputKind : uint8_t {
  kBinaryProgram,  // binary_codec bytes: a program plus the schedule bytes that drive it
  kText,           // `.ifz` text: the parser and printer themselves are the target
};

struct TargetSpec {
  const char* name;  // "fuzz_fork": the binary, its .options, .dict and seed corpus
  InputKind input;
  /// DecodeOptions::ops: the ops records decode to, repeats weight them; empty = all ops.
  std::span<const harness::OpCode> ops;
  const char* what;  // one line for --help and the docs
};

/// fuzz_lifecycle, fuzz_pending_calls, fuzz_fork, fuzz_shutdown, fuzz_program_text.
std::span<const TargetSpec> all_targets();
/// nullptr if unknown.
const TargetSpec* find_target(std::string_view name);
/// True if `c` is one of the ops `t` decodes to (every op when t.ops is empty).
bool target_has_op(const TargetSpec& t, harness::OpCode c);

}  // namespace ifz::fuzz
