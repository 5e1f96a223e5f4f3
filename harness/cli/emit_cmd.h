// SPDX-License-Identifier: Apache-2.0
// emit_cmd.h — `interpfuzz emit-c` and `interpfuzz conform` (DESIGN D9).
#pragma once

#include <string>

#include "harness/cli/flags.h"

namespace ifz::harness::cli {

/// emit-c FILE [--schedule S] [--profile P] [-o repro.c]: exit 0, or 2 (one line on stderr)
/// when the file is bad or an op has no faithful counterpart on the profile's version.
int cmd_emit_c(const Flags& f);

/// Where the per-install real-CPython drivers are cached, for conform and diff alike:
/// $IFZ_DRIVER_CACHE, else build/real-driver beside the build folder of this binary, else a
/// folder in /tmp.
std::string driver_cache_dir();

/// conform FILE|DIR... [--cpython PREFIX]... [--runs N] [--timeout S] [--compile]: exit 0 when every cell
/// agrees (or is real-flaky as its seed says, or n/a), 1 on any disagreement, 2 on bad input.
int cmd_conform(const Flags& f);

}  // namespace ifz::harness::cli
