// SPDX-License-Identifier: Apache-2.0
// outcome_test.cc — the shared outcome vocabulary: a real process's wait status, stderr and
// "IFZ" lines classify as the model's result of the same program does, so that "agree" means
// the same on both sides.
#include <gtest/gtest.h>
#include <signal.h>

#include "harness/exec/checked_run.h"
#include "harness/outcome/model_run.h"
#include "harness/outcome/real_run.h"
#include "harness/program/text_format.h"

namespace ifz::harness::outcome {
namespace {

RealRun exited(int status, std::string out = "", std::string err = "") {
  RealRun r;
  r.wait_status = status << 8;  // WIFEXITED encoding
  r.out = std::move(out);
  r.err = std::move(err);
  return r;
}

RealRun signaled(int sig, std::string err = "") {
  RealRun r;
  r.wait_status = sig;  // WIFSIGNALED encoding
  r.err = std::move(err);
  return r;
}

TEST(Outcome, ObservableLinesAreTheIfzLinesOtherThanNotes) {
  const Outcome o = classify_real_run(exited(
      0, "hello\nIFZ pending_ran interp=0\nIFZ note run_bytecode raised\nIFZ interp_created id=0\n"));
  EXPECT_EQ(o.kind, Outcome::Kind::kOk);
  EXPECT_EQ(o.observables, (std::vector<std::string>{"interp_created id=0", "pending_ran interp=0"}));
  EXPECT_EQ(o.to_string(), "ok [interp_created id=0, pending_ran interp=0]");
}

TEST(Outcome, AbortWithACPythonFatalMessageIsFatalAndAnyOtherSignalIsASignal) {
  const std::string err = "Fatal Python error: Py_EndInterpreter: not the last thread\n"
                          "Python runtime state: initialized\n";
  const Outcome fatal = classify_real_run(signaled(SIGABRT, err));
  EXPECT_EQ(fatal.kind_text(), "fatal(Fatal Python error: Py_EndInterpreter: not the last thread)");
  EXPECT_EQ(classify_real_run(signaled(SIGABRT)).kind_text(), "signal(6)");
  EXPECT_EQ(classify_real_run(signaled(SIGSEGV, err)).kind_text(), "signal(11)");
}

TEST(Outcome, ADebugBuildsFreedMemoryAssertionIsTheCrashOfAUseAfterFree) {
  // What Debian's python3.11-dbg prints when take_gil meets a freed thread state.
  const std::string err =
      "repro: ../Python/ceval.c:228: is_tstate_valid: Assertion "
      "`!_PyMem_IsPtrFreed(tstate->interp)' failed.\n";
  EXPECT_TRUE(freed_memory_assert(err));
  EXPECT_EQ(classify_real_run(signaled(SIGABRT, err)).kind_text(), "signal(11)");
  // Any other assertion stays an abort.
  const std::string other = "repro: ../Python/pystate.c:1: f: Assertion `x != NULL' failed.\n";
  EXPECT_FALSE(freed_memory_assert(other));
  EXPECT_EQ(classify_real_run(signaled(SIGABRT, other)).kind_text(), "signal(6)");
}

TEST(Outcome, ExitOneWithAFatalMessageIsFatalOtherStatusesAreExits) {
  // 3.10+: the fork child's "not main interpreter" goes through Py_ExitStatusException.
  const std::string err = "Fatal Python error: _PyInterpreterState_DeleteExceptMain: not main interpreter\n";
  EXPECT_EQ(classify_real_run(exited(1, "", err)).kind, Outcome::Kind::kFatal);
  EXPECT_EQ(classify_real_run(exited(1)).kind_text(), "exit(1)");
  EXPECT_EQ(classify_real_run(exited(3, "", err)).kind_text(), "exit(3)");
  RealRun hung;
  hung.timed_out = true;
  EXPECT_EQ(classify_real_run(hung).kind_text(), "hang");
}

TEST(Outcome, AgreementComparesObservablesAsMultisets) {
  Outcome a, b;
  a.observables = {"pending_ran interp=0", "pending_added rc=0", "pending_ran interp=0"};
  b.observables = {"pending_ran interp=0", "pending_ran interp=0", "pending_added rc=0"};
  EXPECT_TRUE(agrees(a, b));
  b.observables.pop_back();
  EXPECT_FALSE(agrees(a, b));
  b = a;
  b.kind = Outcome::Kind::kHang;
  EXPECT_FALSE(agrees(a, b));
}

Program parse(const std::string& text) {
  auto p = parse_program(text, "t.ifz");
  EXPECT_TRUE(std::holds_alternative<Program>(p));
  return std::get<Program>(p);
}

Outcome model_of(const std::string& text) {
  OpLog log;
  ExecOptions o;
  o.op_log = &log;
  std::string div;
  const ExecResult r = replay_schedule(parse(text), Schedule{}, o, &div);
  return model_outcome(r, log);
}

TEST(Outcome, TheModelsResultUsesTheSameVocabulary) {
  EXPECT_EQ(model_of("interpfuzz-program 1\nprofile 3.11\nthread T0:\n  init\n  add_pending noop\n"
                     "  run_bytecode 1\n  finalize\n")
                .to_string(),
            "ok [finalize_returned, interp_created id=0, pending_added rc=0, pending_ran interp=0]");
  EXPECT_EQ(model_of("interpfuzz-program 1\nprofile 3.11\nthread T0:\n  init\n  new_interp\n"
                     "  start T1 raw\n  end_interp\nthread T1:\n  block\n")
                .kind_text(),
            "fatal(Fatal Python error: Py_EndInterpreter: not the last thread)");
  EXPECT_EQ(model_of("interpfuzz-program 1\nprofile 3.11\nthread T0:\n  init\n  exit 3\n").kind_text(),
            "exit(3)");
  // bpo-39958: the fork child deadlocks in the model, hangs for real.
  EXPECT_EQ(model_of("interpfuzz-program 1\nprofile 3.11\nthread T0:\n  init\n  new_interp\n"
                     "  swap I0\n  fork fork follow=child\n")
                .kind_text(),
            "hang");
}

}  // namespace
}  // namespace ifz::harness::outcome
