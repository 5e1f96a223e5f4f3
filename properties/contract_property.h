// SPDX-License-Identifier: Apache-2.0
// contract_property.h — running a contract as a RapidCheck property: one test case (program +
// schedule spec → recorded execution → verdict), the failure report (shrunk .ifz, schedule,
// replay line) and the check itself, with its configuration.
// Defines PropertyConfig, CaseOutcome, run_case, contract_property, PropertyResult and
// check_contract.
//
// A property fails iff the execution yields a finding, the contract-specific check fails, or
// the recorded schedule does not replay to the same finding (a determinism bug). Memory errors
// are findings too: the runtime's heap quarantines and poisons freed objects and touch()
// turns a stale access into the modelled process's crash, which the lifetime oracle reports.
// No ASan abort happens first, so RapidCheck can shrink and print its reproduce string.
#pragma once

#include <rapidcheck.h>

#include <optional>
#include <string>
#include <vector>

#include "harness/exec/executor.h"
#include "harness/program/program.h"
#include "harness/schedule/schedule.h"
#include "properties/contracts.h"
#include "properties/schedule_spec.h"

namespace ifz::properties {

/// What the properties quantify over. The defaults come from the environment so that a long
/// local run (ci/properties-long) can narrow or widen them without rebuilding:
///   IFZ_PROPERTY_PROFILES  comma-separated profile names (default: every "-fixed" profile)
///   IFZ_PROPERTY_DEFECTS   comma-separated defects enabled in every program (default: none)
///   IFZ_PROPERTY_ARTIFACTS folder for the shrunk counterexamples (default: the build tree's
///                          property-failures/)
struct PropertyConfig {
  std::vector<std::string> profiles;
  std::vector<std::string> defects;  // in defects.def order (Program::defects)
  std::string tag = "fixed";         // names this configuration in test ids and artifacts
  static PropertyConfig from_env();
  /// `defect` alone, on `profile`.
  static PropertyConfig one_defect(const std::string& profile, const std::string& defect);
};

struct CaseOutcome {
  harness::Program program;    // the program run; `schedule` is the failing run's, if any
  SchedSpec spec;
  harness::Schedule schedule;  // recorded: replays the failing execution exactly
  std::string violation;       // "" = the contract held
  std::string finding_signature;
  // The defects whose bug condition held in the failing execution (their canaries). Only the
  // defect-detection test reads them, to check a failure is the enabled defect's doing;
  // properties never do (oracles decide from mechanism, DESIGN D6).
  std::vector<std::string> triggered_defects;
};

/// Runs `p` under the schedule `spec` stands for and judges the contract. PCT specs first run
/// the sequential schedule (also judged) to learn the number of choice points k.
CaseOutcome run_case(const Contract& c, const harness::Program& p, const SchedSpec& spec);

/// Benchmarks only (properties/property_bench.cc): called with the result of every execution
/// run_case makes, to timestamp the canaries. Null (the default) = nothing is called.
using ExecutionObserver = void (*)(const harness::ExecResult&);
void set_execution_observer(ExecutionObserver observer);

/// The failure message: contract, verdict, the program as .ifz with its schedule, the schedule
/// spec, where the program was saved and the `interpfuzz replay` line.
std::string failure_report(const Contract& c, const CaseOutcome& o, const std::string& saved_as);

/// The property body (call inside a RapidCheck property): draws a profile of `cfg`, a program
/// of the contract's shape and a schedule spec, runs the case and RC_FAILs with the report.
void contract_property(const Contract& c, const PropertyConfig& cfg);

struct PropertyResult {
  bool passed = false;
  int successes = 0;              // test cases that passed before the failure (or in all)
  std::string message;            // RapidCheck's own result message (with RC_PARAMS reproduce=)
  std::optional<CaseOutcome> shrunk;  // the final (shrunk) counterexample
  std::string saved_as;           // its .ifz file
};

/// The RapidCheck test id of a contract property under a configuration (RC_PARAMS
/// "reproduce=" names it).
std::string property_id(const Contract& c, const PropertyConfig& cfg);

/// Checks one contract property. With `params` null the parameters come from RC_PARAMS (a
/// fixed seed when unset, harness/tests/rc_property.h); a reproduce string in RC_PARAMS for
/// this property's id replays its failure. The shrunk counterexample is saved as .ifz.
PropertyResult check_contract(const Contract& c, const PropertyConfig& cfg,
                              const rc::detail::TestParams* params = nullptr);

}  // namespace ifz::properties
