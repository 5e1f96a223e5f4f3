// SPDX-License-Identifier: Apache-2.0
// contract_property.cc — one contract test case, its report, and the RapidCheck driver.
#include "properties/contract_property.h"
#include "properties/property_case.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/atomic_file.h"
#include "harness/exec/checked_run.h"
#include "harness/program/text_format.h"
#include "harness/tests/rc_property.h"
#include "runtime/defects.h"
#include "runtime/profile.h"

#ifndef IFZ_PROPERTY_ARTIFACTS_DIR
#define IFZ_PROPERTY_ARTIFACTS_DIR "property-failures"
#endif

namespace ifz::properties {

namespace {

std::vector<std::string> split(const char* text) {
  std::vector<std::string> out;
  std::string cur;
  for (const char* c = text; *c; ++c) {
    if (*c == ',' || *c == ' ') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += *c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// Defects in defects.def order, as Program::defects requires.
std::vector<std::string> in_table_order(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const rt::DefectInfo& d : rt::all_defects()) {
    if (std::find(names.begin(), names.end(), d.name) != names.end()) out.emplace_back(d.name);
  }
  return out;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// The last failing case of the property being checked. RapidCheck re-runs the shrunk case
// last (shrinkTestCase, then value() of the best shrink), so at the end of a failing check
// this is the final counterexample.
std::optional<CaseOutcome>& last_failure() {
  static std::optional<CaseOutcome> kLast;
  return kLast;
}

std::string artifacts_dir() {
  const char* env = std::getenv("IFZ_PROPERTY_ARTIFACTS");
  return env && *env ? env : IFZ_PROPERTY_ARTIFACTS_DIR;
}

std::string artifact_path(const Contract& c, const PropertyConfig& cfg) {
  return artifacts_dir() + "/" + c.id + "-" + cfg.tag + ".ifz";
}

// Returns true (and fills `o`) when the execution violates the contract.
bool judge(const Contract& c, const harness::Program& p, const harness::CheckedRun& run,
           CaseOutcome* o) {
  std::string v;
  if (run.result.found()) {
    const harness::Finding& f = run.result.findings[0];
    v = "finding " + f.kind + " [" + f.oracle + "] in phase " + f.phase + ": " + f.message;
    for (const std::string& t : f.threads) v += "\n  " + t;  // each live thread, once
    o->finding_signature = f.signature();
    o->triggered_defects = f.triggered_defects;
    if (!run.reproducible) v += "\nand the recorded schedule does not reproduce it: " + run.divergence;
  } else if (c.check != nullptr) {
    v = c.check(p, run.result);
  }
  if (v.empty()) return false;
  o->violation = v + "\noutcome: " + run.result.outcome_summary();
  o->schedule = run.schedule;
  o->program.schedule = run.schedule.to_string();
  return true;
}

}  // namespace

PropertyConfig PropertyConfig::from_env() {
  PropertyConfig cfg;
  if (const char* env = std::getenv("IFZ_PROPERTY_PROFILES"); env && *env) {
    cfg.profiles = split(env);
  } else {
    for (const rt::Profile& p : rt::all_profiles()) {
      if (p.fixed) cfg.profiles.push_back(p.name);
    }
  }
  if (const char* env = std::getenv("IFZ_PROPERTY_DEFECTS"); env && *env) {
    cfg.defects = in_table_order(split(env));
    cfg.tag = join(cfg.defects, "+");
  }
  return cfg;
}

PropertyConfig PropertyConfig::one_defect(const std::string& profile, const std::string& defect) {
  PropertyConfig cfg;
  cfg.profiles = {profile};
  cfg.defects = {defect};
  cfg.tag = defect;
  return cfg;
}

namespace {
ExecutionObserver g_observer = nullptr;
}  // namespace

void set_execution_observer(ExecutionObserver observer) { g_observer = observer; }

CaseOutcome run_case(const Contract& c, const harness::Program& p, const SchedSpec& spec) {
  CaseOutcome o;
  o.program = p;
  o.spec = spec;
  harness::ExecOptions opts;
  opts.trace = c.check != nullptr;
  int choice_points = 0;
  if (spec.kind == SchedSpec::Kind::kPct) {
    // PCT's bound holds for change points drawn within the real number of steps k: learn k
    // from the sequential schedule, which is a schedule worth judging in its own right.
    PreemptionChooser sequential(std::vector<Preemption>{});
    const harness::CheckedRun first = harness::run_checked(p, sequential, opts);
    if (g_observer) g_observer(first.result);
    if (judge(c, p, first, &o)) {
      note_failing_schedule(spec, {});
      return o;
    }
    choice_points = static_cast<int>(first.schedule.picks.size());
  }
  std::unique_ptr<harness::Strategy> strategy = make_strategy(spec, choice_points);
  PreemptionLog log(*strategy);
  const harness::CheckedRun run = harness::run_checked(p, log, opts);
  if (g_observer) g_observer(run.result);
  if (judge(c, p, run, &o)) {
    note_failing_schedule(spec, log.preemptions());
  }
  return o;
}

std::string failure_report(const Contract& c, const CaseOutcome& o, const std::string& saved_as) {
  std::ostringstream os;
  os << "contract " << c.id << " violated: " << c.sentence << "\n"
     << o.violation << "\n"
     << "schedule spec: " << describe(o.spec) << "\n"
     << "program (" << o.program.op_count() << " ops; after shrinking this is the shrunk one):\n"
     << harness::print_program(o.program) << "saved as: " << saved_as << "\n"
     << "replay: interpfuzz replay " << saved_as << " --schedule " << o.schedule.to_string()
     << "\n";
  return os.str();
}

void contract_property(const Contract& c, const PropertyConfig& cfg) {
  const std::string profile = *rc::gen::elementOf(cfg.profiles);
  const PropertyCase pc = *gen_property_case(c.shape, profile, cfg.defects, c.park);
  CaseOutcome o = run_case(c, pc.program, pc.spec);
  if (o.violation.empty()) return;
  const std::string report = failure_report(c, o, artifact_path(c, cfg));
  last_failure() = std::move(o);
  RC_FAIL(report);
}

std::string property_id(const Contract& c, const PropertyConfig& cfg) {
  return std::string(c.id) + ": " + c.sentence + " [" + cfg.tag + "]";
}

PropertyResult check_contract(const Contract& c, const PropertyConfig& cfg,
                              const rc::detail::TestParams* params) {
  ::setenv("RC_PARAMS", harness::testing::kDefaultRcParams, /*overwrite=*/0);
  rc::detail::TestMetadata metadata;
  metadata.id = property_id(c, cfg);
  metadata.description = metadata.id;
  last_failure().reset();
  const rc::detail::Property property =
      rc::detail::toProperty([&c, &cfg] { contract_property(c, cfg); });
  // Explicit parameters are a programmatic check (defect_detection_test): its failures are
  // expected and inspected, so RapidCheck's global "to reproduce, run with" report at exit is
  // not wanted for them; a plain property check keeps it.
  struct Silent final : rc::detail::TestListener {
    void onTestCaseFinished(const rc::detail::CaseDescription&) override {}
    void onShrinkTried(const rc::detail::CaseDescription&, bool) override {}
    void onTestFinished(const rc::detail::TestMetadata&, const rc::detail::TestResult&) override {}
  } silent;
  const rc::detail::TestResult result =
      params ? rc::detail::checkProperty(property, metadata, *params, silent)
             : rc::detail::checkProperty(property, metadata);
  PropertyResult out;
  std::ostringstream message;
  rc::detail::printResultMessage(result, message);
  out.message = message.str();
  if (result.is<rc::detail::SuccessResult>()) {
    out.passed = true;
    out.successes = result.get<rc::detail::SuccessResult>().numSuccess;
    return out;
  }
  if (result.is<rc::detail::FailureResult>()) {
    out.successes = result.get<rc::detail::FailureResult>().numSuccess;
  }
  out.shrunk = last_failure();
  if (out.shrunk) {
    out.saved_as = artifact_path(c, cfg);
    std::error_code ec;
    std::filesystem::create_directories(artifacts_dir(), ec);
    std::ostringstream f;
    f << "# " << metadata.id << "\n";
    std::istringstream v(out.shrunk->violation);
    for (std::string line; std::getline(v, line);) f << "# " << line << "\n";
    f << "# schedule spec: " << describe(out.shrunk->spec) << "\n"
      << "# replay: interpfuzz replay " << out.saved_as << " --schedule "
      << out.shrunk->schedule.to_string() << "\n"
      << harness::print_program(out.shrunk->program);
    std::string error;
    if (!base::write_file_atomic(out.saved_as, f.str(), &error)) {
      std::fprintf(stderr, "properties: %s\n", error.c_str());
    }
  }
  return out;
}

}  // namespace ifz::properties
