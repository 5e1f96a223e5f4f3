// SPDX-License-Identifier: Apache-2.0
// minimize_cmd.h — `interpfuzz minimize FILE`: minimise an `.ifz` program or a raw libFuzzer
// crash file, write the minimal `.ifz` (+ schedule), its readable trace, and a regression
// entry under corpus/regressions/.
// Defines cmd_minimize and minimize_artifact.
#pragma once

#include <string>

#include "harness/cli/flags.h"

namespace ifz::harness::cli {

int cmd_minimize(const Flags& f);

/// Minimises an artifact written by the stress runner: writes `<stem>.min.ifz` and
/// `<stem>.min.trace.txt` next to it. Returns the `.min.ifz` path, or "" on failure.
std::string minimize_artifact(const std::string& path);

}  // namespace ifz::harness::cli
