// SPDX-License-Identifier: Apache-2.0
// contracts.h — the contracts of cpython-notes §4 (G1–G3, P1–P6, F0–F6, S1–S3, K1–K4) as
// RapidCheck properties: per contract, the sentence that names the property, the program shape
// that exercises it, and the contract-specific check beyond the oracles (if any).
// Defines Contract, all_contracts and find_contract.
//
// Every property states "for every profile, program of this shape and schedule, the execution
// yields no finding and [the specific check] holds". The oracles (harness/oracles) already
// decide every contract they can observe, so a finding of *any* oracle falsifies the property:
// a bug in one contract's mechanism often shows up through another's oracle (a lost pending
// call through the finalisation order, a fork deadlock through K1's shape). What makes the
// properties differ is the shape: each one drives its contract's mechanism hard. The specific
// checks cover what no oracle looks at: P2's capacity and F0's phase order.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "harness/exec/executor.h"
#include "harness/program/program.h"
#include "properties/program_shapes.h"
#include "properties/schedule_spec.h"

namespace ifz::properties {

struct Contract {
  const char* id;        // "P1" (cpython-notes §4)
  const char* sentence;  // the property's name, a sentence that says what must hold
  Shape shape;
  /// The contract-specific check on a finished execution: "" when it holds, else why not.
  /// Reads the execution's trace, so it needs ExecOptions::trace.
  std::string (*check)(const harness::Program& p, const harness::ExecResult& r) = nullptr;
  ParkBias park;
};

/// Every contract, in cpython-notes §4 order.
std::span<const Contract> all_contracts();
/// By id ("K3"); nullptr if unknown.
const Contract* find_contract(std::string_view id);

/// P2: along T0's adds, the queue accepts while it holds fewer calls than the profile's
/// capacity (31 ≤3.12, 32 in 3.13's main-thread queue) and refuses when it is full.
std::string check_pending_capacity(const harness::Program& p, const harness::ExecResult& r);
/// F0: each Py_FinalizeEx passes its phases in the order of cpython-notes F0 for the profile's
/// version (a prefix of it, if the process ends inside finalisation).
std::string check_finalize_phase_order(const harness::Program& p, const harness::ExecResult& r);

}  // namespace ifz::properties
