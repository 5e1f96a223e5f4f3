// SPDX-License-Identifier: Apache-2.0
// diff_test.cc — `interpfuzz diff`'s pieces without a real CPython: the disagreement
// signature, the re-run policy of check_program and the keep-mode minimisation of a
// disagreement, against a fake RealExecutor whose "CPython" is the model's own outcome except
// where a rule of the test says otherwise (the end-to-end runs on Debian's 3.11 are in
// cli_test.cc).
#include <gtest/gtest.h>
#include <signal.h>

#include <functional>

#include "harness/diff/diff_check.h"
#include "harness/diff/diff_signature.h"
#include "harness/minimize/minimizer.h"
#include "harness/outcome/model_run.h"
#include "harness/program/text_format.h"

namespace ifz::harness::diff {
namespace {

using outcome::Outcome;

Outcome outcome_of(Outcome::Kind kind, std::vector<std::string> observables, int code = 0,
                   std::string message = "") {
  Outcome o;
  o.kind = kind;
  o.code = code;
  o.message = std::move(message);
  o.observables = std::move(observables);
  o.normalize();
  return o;
}

Program program(const std::string& text) {
  auto p = parse_program(text, "t.ifz");
  EXPECT_TRUE(std::holds_alternative<Program>(p)) << std::get<ParseError>(p).to_string();
  return std::get<Program>(p);
}

// A "CPython" that does what the model says, except that run i (counted over the executor's
// life) dies of SIGSEGV when `crashes(emitted C, i)`. A 3.9 by default: its model does not
// predict the crash of a signal tripped after Py_FinalizeEx (3.10–3.12's
// trip_signal_without_main_interp), which the tests' rule makes the fake's.
class FakeExecutor final : public real::RealExecutor {
 public:
  explicit FakeExecutor(std::function<bool(const std::string&, int)> crashes, int minor = 9)
      : crashes_(std::move(crashes)) {
    in_.label = "3." + std::to_string(minor) + ".0 (fake)";
    in_.config = "/nonexistent/python3." + std::to_string(minor) + "-config";
    in_.minor = minor;
  }
  const conform::CPythonInstall& install() const override { return in_; }
  std::vector<outcome::RealRun> run(const emit::Emitted& e, int runs, int, std::string*) override {
    ++calls;
    const Outcome model = outcome::model_outcome(e.model, e.log);
    std::vector<outcome::RealRun> out;
    for (int i = 0; i < runs; ++i, ++runs_made) {
      outcome::RealRun r;
      for (const std::string& o : model.observables) r.out += outcome::kObservablePrefix + o + "\n";
      if (crashes_(e.c, runs_made)) {
        r.wait_status = SIGSEGV;  // waitpid's encoding of "killed by SIGSEGV"
      } else if (model.kind == Outcome::Kind::kExit) {
        r.wait_status = model.code << 8;
      } else if (model.kind == Outcome::Kind::kFatal) {
        r.err = model.message + "\n";
        r.wait_status = 1 << 8;
      } else if (model.kind == Outcome::Kind::kHang) {
        r.timed_out = true;
      } else if (model.kind == Outcome::Kind::kSignal) {
        r.wait_status = model.code;
      }
      out.push_back(std::move(r));
    }
    return out;
  }
  int calls = 0;
  int runs_made = 0;

 private:
  conform::CPythonInstall in_;
  std::function<bool(const std::string&, int)> crashes_;
};

// The rule of the tests: tripping a signal after Py_FinalizeEx returned crashes (the emitted
// C's script runs the finalize op, then the signal op; each op's call is ifz_do_op, after a
// comment with its .ifz text).
bool signal_after_finalize(const std::string& c, int) {
  const size_t fin = c.find("ifz_do_op(self, &(ifz_op){.code = IFZ_OP_FINALIZE");
  return fin != std::string::npos && c.find("ifz_do_op(self, &(ifz_op){.code = IFZ_OP_SIGNAL", fin) != std::string::npos;
}

const char* kSignalAfterFinalize =
    "interpfuzz-program 1\nprofile 3.11\nthread T0:\n  init\n  finalize\n  signal 2\n";

TEST(DiffSignature, NamesBothClassesAndTheFirstDifferingObservable) {
  const Outcome ok = outcome_of(Outcome::Kind::kOk, {"interp_created id=0", "pending_added rc=0"});
  const Outcome ran = outcome_of(Outcome::Kind::kOk,
                                 {"interp_created id=0", "pending_added rc=0", "pending_ran interp=0"});
  const Outcome fatal = outcome_of(Outcome::Kind::kFatal, {}, 0,
                                   "Fatal Python error: Py_EndInterpreter: not the last thread");
  const Outcome segv = outcome_of(Outcome::Kind::kSignal, {"interp_created id=0"}, SIGSEGV);
  EXPECT_EQ(diff_signature(ok, ran).to_string(), "diff/ok-vs-ok/pending_ran");
  EXPECT_EQ(diff_signature(ran, ok).to_string(), "diff/ok-vs-ok/pending_ran");
  EXPECT_EQ(diff_signature(ok, fatal).to_string(),
            "diff/ok-vs-fatal(Py_EndInterpreter: not the last thread)/interp_created");
  EXPECT_EQ(diff_signature(ok, segv).to_string(), "diff/ok-vs-signal(11)/pending_added");
  EXPECT_EQ(diff_signature(segv, segv).observable, "-");
  // Ids and counts are not part of it: the class is the observable's name.
  EXPECT_EQ(first_differing_observable(ok, ran), "pending_ran interp=0");
}

TEST(DiffCheck, AnAgreeingProgramRunsOnceOnTheRealSide) {
  FakeExecutor real([](const std::string&, int) { return false; });
  CheckOptions o;
  o.runs = 5;
  const CheckResult r = check_program(program(kSignalAfterFinalize), Schedule{}, real, o);
  EXPECT_EQ(r.verdict, Verdict::kAgree) << r.why;
  EXPECT_EQ(real.calls, 1);
  EXPECT_EQ(real.runs_made, 1);
}

// Issue 20 item 7: an agreement on a program whose ops were partly skipped (by the model's
// preconditions, and by the C emitted from it) is counted apart, with each skipped op named.
TEST(DiffCheck, AnAgreementWithSkippedOpsIsNotAPlainAgree) {
  FakeExecutor real([](const std::string&, int) { return false; });
  const CheckResult r = check_program(
      program("interpfuzz-program 1\nprofile 3.11\nthread T0:\n  init\n  new_interp\n"
              "  gilstate_ensure\n  end_interp\n  finalize\n"),
      Schedule{}, real, CheckOptions{});
  EXPECT_EQ(r.verdict, Verdict::kAgreeSkips) << r.why;
  EXPECT_STREQ(verdict_name(r.verdict), "agree-skips");
  ASSERT_EQ(r.cell.skipped_ops.size(), 1u);
  EXPECT_EQ(r.cell.skipped_ops[0].rfind("T0 op 3 `gilstate_ensure`: PyGILState_Ensure while another", 0), 0u)
      << r.cell.skipped_ops[0];
  EXPECT_EQ(r.cell.short_text(), "agree (1 op skipped)");
  EXPECT_EQ(r.cell.total_key(), "agree-skips");
}

TEST(DiffCheck, AStandingDisagreementIsRerunAndNamedBySignature) {
  FakeExecutor real(signal_after_finalize);
  CheckOptions o;
  o.runs = 4;
  const CheckResult r = check_program(program(kSignalAfterFinalize), Schedule{}, real, o);
  EXPECT_EQ(r.verdict, Verdict::kDisagree);
  EXPECT_EQ(r.signature.to_string(), "diff/ok-vs-signal(11)/-");
  EXPECT_EQ(real.runs_made, 1 + 4);
  ASSERT_EQ(r.cell.real_counts.size(), 1u);
  EXPECT_EQ(r.cell.real_counts.begin()->second, 5);
  EXPECT_NE(r.c_source.find("IFZ_OP_SIGNAL, .count = 2"), std::string::npos);
}

TEST(DiffCheck, AnOutcomeThatVariesAcrossRerunsIsRealFlakyWithItsCounts) {
  FakeExecutor real([](const std::string& c, int i) { return i % 2 == 0 && signal_after_finalize(c, i); });
  CheckOptions o;
  o.runs = 5;
  const CheckResult r = check_program(program(kSignalAfterFinalize), Schedule{}, real, o);
  EXPECT_EQ(r.verdict, Verdict::kRealFlaky);
  EXPECT_EQ(r.signature.to_string(), "diff/ok-vs-signal(11)/-");
  ASSERT_EQ(r.cell.real_counts.size(), 2u);
  int total = 0;
  for (const auto& [k, n] : r.cell.real_counts) total += n;
  EXPECT_EQ(total, 6);
}

TEST(DiffCheck, AnOpTheVersionCannotExpressIsNeverRunNorAgreement) {
  FakeExecutor real([](const std::string&, int) { return false; }, 11);
  const CheckResult r = check_program(
      program("interpfuzz-program 1\nprofile 3.11\nthread T0:\n  init\n  new_interp own_gil\n"),
      Schedule{}, real, CheckOptions{});
  EXPECT_EQ(r.verdict, Verdict::kNotExpressible);
  EXPECT_NE(r.why.find("no faithful counterpart on CPython 3.11"), std::string::npos) << r.why;
  EXPECT_EQ(real.calls, 0);
}

// The minimiser keeps "model ok, real SIGSEGV, same observables" and nothing else: from a
// program where the crash needs 3 of its ops, it keeps exactly those, within its budget of
// real checks.
TEST(DiffMinimize, KeepsTheDisagreementSignatureWithBoundedRealRuns) {
  const Program p = program(
      "interpfuzz-program 1\nprofile 3.11\n"
      "thread T0:\n  init\n  add_pending noop\n  run_bytecode 2\n  start T1 threading\n"
      "  new_interp\n  end_interp\n  join T1\n  make_pending\n  finalize\n  yield\n  signal 2\n"
      "thread T1:\n  block\n  run_bytecode 1\n");
  FakeExecutor real(signal_after_finalize);
  CheckOptions o;
  o.runs = 2;
  const CheckResult found = check_program(p, Schedule{}, real, o);
  ASSERT_EQ(found.verdict, Verdict::kDisagree);
  const int budget = 60;
  DisagreementProperty prop(real, found.signature, o, budget);
  MinimizeOptions mo;
  mo.seconds = 600;  // the execution and real-check budgets decide, not the clock
  mo.tries_per_candidate = 2;
  mo.max_tries_per_candidate = 2;
  const MinimizeResult m = minimize_keeping(p, Schedule{}, prop.property(), mo);
  ASSERT_TRUE(m.ok) << m.error;
  ASSERT_EQ(m.program.threads.size(), 1u) << print_program(m.program);
  std::vector<OpCode> codes;
  for (const Op& op : m.program.threads[0].ops) codes.push_back(op.code);
  EXPECT_EQ(codes, (std::vector<OpCode>{OpCode::kInit, OpCode::kFinalize, OpCode::kSignal}))
      << print_program(m.program);
  EXPECT_EQ(m.finding.detail, "diff/ok-vs-signal(11)/-");
  EXPECT_GT(prop.real_checks(), 0);
  EXPECT_LE(prop.real_checks(), budget);
  // The minimised program still disagrees the same way under the full re-run policy.
  const CheckResult again = check_program(m.program, m.schedule, real, o);
  EXPECT_EQ(again.verdict, Verdict::kDisagree);
  EXPECT_EQ(again.signature, found.signature);
}

// A candidate that loses the disagreement, or keeps a different one, is not kept: with a
// budget of one real check nothing smaller than the input can be accepted.
TEST(DiffMinimize, AnExhaustedBudgetEndsTheSearchWithTheInputKept) {
  const Program p = program(
      "interpfuzz-program 1\nprofile 3.11\nthread T0:\n  init\n  yield\n  finalize\n  signal 2\n");
  FakeExecutor real(signal_after_finalize);
  CheckOptions o;
  o.runs = 1;
  const CheckResult found = check_program(p, Schedule{}, real, o);
  ASSERT_EQ(found.verdict, Verdict::kDisagree);
  DisagreementProperty prop(real, found.signature, o, /*budget=*/1);
  MinimizeOptions mo;
  mo.seconds = 600;
  mo.tries_per_candidate = 2;
  mo.max_tries_per_candidate = 2;
  const int calls_before = real.calls;
  const MinimizeResult m = minimize_keeping(p, Schedule{}, prop.property(), mo);
  ASSERT_TRUE(m.ok) << m.error;  // the input itself had it (its one check)
  EXPECT_EQ(prop.real_checks(), 1);
  EXPECT_EQ(real.calls - calls_before, 1);
  EXPECT_EQ(m.ops_after, m.ops_before);
}

}  // namespace
}  // namespace ifz::harness::diff
