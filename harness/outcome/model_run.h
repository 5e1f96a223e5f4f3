// SPDX-License-Identifier: Apache-2.0
// model_run.h — the model's execution result in the shared outcome vocabulary (outcome.h).
// Defines model_outcome() and observable_of().
#pragma once

#include <optional>
#include <string>

#include "harness/exec/executor.h"
#include "harness/exec/op_log.h"
#include "harness/outcome/outcome.h"

namespace ifz::harness::outcome {

/// The observable line a real program would print for this runtime event, if any. This is the
/// one mapping from model events to observables; the emitted C prints the same lines at the
/// matching C API calls (harness/emit/).
std::optional<std::string> observable_of(const rt::Event& e);

/// Converts a simulated execution recorded with ExecOptions::op_log. A use-after-free or NULL
/// dereference the model detects is what a real process dies of: signal(SIGSEGV).
Outcome model_outcome(const ExecResult& r, const OpLog& log);

}  // namespace ifz::harness::outcome
