// SPDX-License-Identifier: Apache-2.0
// diff_check.h — one generated program judged on the model and on one real CPython
// (DESIGN D10), and the property the minimiser keeps for a standing disagreement.
// Defines CheckOptions, Verdict, CheckResult, check_program and DisagreementProperty.
//
// The judging is conform's (conform.h: begin_cell / add_runs / finish_cell), so a cell means
// the same in both commands. What diff adds is the re-run policy: a program runs once on the
// real CPython; when that run disagrees with the model it runs `runs` more times. If the real
// outcomes differ among themselves the cell is real-flaky (with the counts), whatever the
// model said: timing the C cannot force decides it, so it is no evidence against the model.
// Only a disagreement every run repeats identically is a disagreement.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "harness/conform/conform.h"
#include "harness/diff/diff_signature.h"
#include "harness/minimize/minimizer.h"
#include "harness/program/program.h"
#include "harness/real/real_executor.h"
#include "harness/schedule/schedule.h"

namespace ifz::harness::diff {

struct CheckOptions {
  int runs = 5;                           // re-runs of a program whose first run disagreed
  int timeout_ms = 10000;                 // per real run
  std::vector<std::string> extra_defects; // what-if defects of the model (--defects)
};

enum class Verdict : uint8_t {
  kAgree,
  kAgreeSkips,      // agree, but the model skipped ops (and the C with it): not a plain agree
  kNotExpressible,  // emit-c refused an op on this version (never counted as agree)
  kNotApplicable,   // conform's n/a rules (an unforceable window, a release build's UAF, ...)
  kRealFlaky,       // the real outcome varied across the runs
  kDisagree,        // every real run had the same outcome, not the model's
  kError,           // the real side could not run it (the C did not compile, ...)
};
const char* verdict_name(Verdict v);

struct CheckResult {
  Verdict verdict = Verdict::kError;
  std::string why;
  conform::Cell cell;       // the model's outcome and the real counts, examples and stderr
  DiffSignature signature;  // kDisagree / kRealFlaky: model vs the (most frequent) other real outcome
  std::string c_source;     // the emitted C (for repro.c)
};

/// Judges (p, s) on `ex`'s install. `marks_file`: a program file whose `# real` flaky and
/// assertion marks apply (an unmutated seed), or "".
CheckResult check_program(const Program& p, const Schedule& s, real::RealExecutor& ex,
                          const CheckOptions& o, const std::string& marks_file = "");

/// "the model's outcome differs from the real one with signature `sig`", as a property of a
/// candidate for minimize_keeping(): a candidate has it when the model's outcome class is
/// sig.model_class and `confirm_runs` real runs all have one outcome that gives `sig`. Real
/// runs are bounded by `budget` checks (then `exhausted()` ends the minimisation); a candidate
/// whose emitted C was already checked is answered from a cache.
class DisagreementProperty {
 public:
  DisagreementProperty(real::RealExecutor& ex, DiffSignature sig, CheckOptions o, int budget,
                       int confirm_runs = 2);
  KeepProperty property();
  int real_checks() const { return used_; }

 private:
  bool holds(const Program& p, const Schedule& s);

  real::RealExecutor& ex_;
  DiffSignature sig_;
  CheckOptions o_;
  int budget_;
  int confirm_runs_;
  int used_ = 0;
  std::map<uint64_t, bool> cache_;  // hash of the emitted C's body -> holds
};

}  // namespace ifz::harness::diff
