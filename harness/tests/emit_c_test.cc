// SPDX-License-Identifier: Apache-2.0
// emit_c_test.cc — emit-c end to end against Debian's CPython 3.11 (libpython3.11-dev and
// python3.11-dbg, installed by ci/bootstrap; never a pyenv): every seed's reproducer compiles
// with -Wall -Werror; an op without a counterpart is refused with a message naming it and the
// version; and a few seeds run for real and agree with the model (conform).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness/tests/ifz_files.h"
#include "harness/conform/conform.h"
#include "harness/conform/cpython_install.h"
#include "harness/conform/real_runner.h"
#include "harness/emit/emit_c.h"
#include "harness/outcome/model_run.h"
#include "harness/outcome/real_run.h"
#include "harness/program/text_format.h"
#include "harness/real/real_executor.h"
#include "harness/schedule/schedule.h"

namespace ifz::harness {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> seeds() {
  return ifz::harness::testing::ifz_files(IFZ_SOURCE_DIR "/corpus/seeds");
}

std::string work_dir() {
  static const std::string dir = fs::temp_directory_path() / ("ifz_emit_test_" + std::to_string(getpid()));
  fs::create_directories(dir);
  return dir;
}

conform::CPythonInstall debian(bool debug) {
  std::string err;
  const auto installs = conform::find_installs({}, &err);
  EXPECT_EQ(installs.size(), 2u);
  const conform::CPythonInstall& in = installs[debug ? 1 : 0];
  EXPECT_EQ(in.missing, "") << "ci/bootstrap installs libpython3.11-dev and python3.11-dbg";
  EXPECT_EQ(in.minor, 11);
  return in;
}

Program program(const std::string& text) {
  auto p = parse_program(text, "t.ifz");
  EXPECT_TRUE(std::holds_alternative<Program>(p));
  return std::get<Program>(p);
}

TEST(EmitC, EverySeedCompilesWithWallWerrorAgainstDebians311) {
  const conform::CPythonInstall in = debian(/*debug=*/false);
  int emitted = 0;
  for (const std::string& seed : seeds()) {
    auto p = read_program_file(seed);
    ASSERT_TRUE(std::holds_alternative<Program>(p)) << seed;
    emit::EmitOptions o;
    o.profile = "3.11";
    const emit::Emitted e = emit::emit_c(std::get<Program>(p), Schedule{}, o);
    if (!e.ok) {
      // Only a documented refusal: it names the op and the version.
      EXPECT_NE(e.error.find("no faithful counterpart on CPython 3.11"), std::string::npos) << seed;
      continue;
    }
    const std::string c = work_dir() + "/" + fs::path(seed).stem().string() + ".c";
    std::ofstream(c) << e.c;
    EXPECT_EQ(conform::compile_repro(in, c, c + ".bin"), "") << seed;
    ++emitted;
  }
  EXPECT_GE(emitted, static_cast<int>(seeds().size()) - 2);
}

TEST(EmitC, AnOpWithoutACounterpartFailsNamingTheOpAndTheVersion) {
  emit::EmitOptions o;
  o.profile = "3.11";
  const emit::Emitted own_gil = emit::emit_c(
      program("interpfuzz-program 1\nprofile 3.11\nthread T0:\n  init\n  new_interp own_gil\n"),
      Schedule{}, o);
  EXPECT_FALSE(own_gil.ok);
  EXPECT_EQ(own_gil.error,
            "emit-c: 'new_interp own_gil' has no faithful counterpart on CPython 3.11: a "
            "per-interpreter GIL exists from 3.12 (PEP 684)");
  o.profile = "3.9";
  const emit::Emitted sig = emit::emit_c(
      program("interpfuzz-program 1\nprofile 3.9\nthread T0:\n  init\n  signal 15\n"), Schedule{}, o);
  EXPECT_FALSE(sig.ok);
  EXPECT_NE(sig.error.find("'signal 15' has no faithful counterpart on CPython 3.9"), std::string::npos);
  // Never reached by the model: no counterpart needed, the op is emitted as a parked thread.
  o.profile = "3.11";
  const emit::Emitted parked = emit::emit_c(
      program("interpfuzz-program 1\nprofile 3.11\nthread T0:\n  init\n  exit 0\n  new_interp own_gil\n"),
      Schedule{}, o);
  EXPECT_TRUE(parked.ok) << parked.error;
  EXPECT_NE(parked.c.find("never reached"), std::string::npos);
}

TEST(EmitC, TheHandshakeFollowsTheModelsOrderOfOpBoundaries) {
  emit::EmitOptions o;
  o.profile = "3.11";
  const emit::Emitted e = emit::emit_c(
      program("interpfuzz-program 1\nprofile 3.11\nthread T0:\n  init\n  start T1 threading\n"
              "  join T1\n  finalize\nthread T1:\n  run_bytecode 1\n"),
      Schedule{}, o);
  ASSERT_TRUE(e.ok) << e.error;
  // Thread.start() waits while T1 starts (and, scheduled so, runs): it passes its turn as it
  // starts and waits for its return turn.
  EXPECT_NE(e.c.find("/* 1: start T1 threading -- turn 1, returns at turn 3 */"), std::string::npos)
      << e.c;
  EXPECT_NE(e.c.find("/* 0: run_bytecode 1 -- turn 2 */"), std::string::npos);
  EXPECT_NE(e.c.find("/* 2: join T1 -- turn 4 */"), std::string::npos);
  EXPECT_NE(e.c.find("#error \"emitted for CPython 3.11"), std::string::npos);
}

// The model's thread holds the GIL between its ops (after init) and not after release_gil:
// its turn waits keep the GIL, then release it.
TEST(EmitC, TurnWaitsKeepTheGilWhereTheModelsThreadHeldIt) {
  emit::EmitOptions o;
  o.profile = "3.11";
  const emit::Emitted e = emit::emit_c(
      program("interpfuzz-program 1\nprofile 3.11\nthread T0:\n  init\n  release_gil\n"
              "  acquire_gil\n  finalize\n"),
      Schedule{}, o);
  ASSERT_TRUE(e.ok) << e.error;
  EXPECT_NE(e.c.find("/* 1: release_gil -- turn 1 */\n  ifz_wait_holding(1);"), std::string::npos) << e.c;
  EXPECT_NE(e.c.find("/* 2: acquire_gil -- turn 2 */\n  ifz_wait(2);"), std::string::npos) << e.c;
  EXPECT_NE(e.c.find("/* 3: finalize -- turn 3 */\n  ifz_wait_holding(3);"), std::string::npos) << e.c;
  // The same steps are what the driver receives.
  ASSERT_EQ(e.scripts.size(), 1u);
  EXPECT_EQ(e.scripts[0].steps[3].kind, emit::StepKind::kWaitHolding);
  EXPECT_EQ(e.scripts[0].steps[6].kind, emit::StepKind::kWait);
}

// A schedule under which T0 keeps the GIL between its ops while T1's PyGILState_Ensure waits
// for it (the ensure's turn passes as it blocks, its return comes after T0's ops): the C keeps
// T0 holding the GIL through those turns, and the real run agrees with the model.
TEST(EmitC, AThreadBlockedInTakeGilWhileAnotherHoldsItAgreesWithReal311) {
  const Program p = program(
      "interpfuzz-program 1\nprofile 3.11\nthread T0:\n  init\n  start T1 c\n  block\n"
      "  run_bytecode 3\n  release_gil\n  acquire_gil\n  join T1\n  finalize\n"
      "thread T1:\n  gilstate_ensure\n  run_bytecode 2\n  gilstate_release\n");
  emit::EmitOptions o;
  o.profile = "3.11";
  std::string found;
  emit::Emitted e;
  for (int n = 1; n < 80 && found.empty(); ++n) {
    std::string err;
    const auto s = Schedule::parse("IFZS1:0x" + std::to_string(n) + ".1x400", &err);
    ASSERT_TRUE(s.has_value()) << err;
    e = emit::emit_c(p, *s, o);
    ASSERT_TRUE(e.ok) << e.error;
    const auto& t1 = e.scripts[1].steps;
    // T1's ensure: wait, pass_blocking, op, wait(end), pass(end).
    if (t1.size() < 5 || t1[1].kind != emit::StepKind::kPassBlocking) continue;
    const int ensure_start = t1[0].turn, ensure_end = t1[3].turn;
    for (const emit::Step& st : e.scripts[0].steps) {
      if (st.kind == emit::StepKind::kWaitHolding && st.turn > ensure_start && st.turn < ensure_end) {
        found = s->to_string();
      }
    }
  }
  ASSERT_FALSE(found.empty()) << "no schedule has T0 holding the GIL while T1 waits for it";
  EXPECT_NE(e.c.find("ifz_pass_blocking("), std::string::npos);
  std::string err;
  auto driver = real::make_driver_executor(debian(false), work_dir() + "/driver-cache", &err);
  ASSERT_TRUE(driver) << err;
  const auto runs = driver->run(e, 3, 10000, &err);
  ASSERT_EQ(runs.size(), 3u) << err;
  const outcome::Outcome model = outcome::model_outcome(e.model, e.log);
  for (const outcome::RealRun& r : runs) {
    const outcome::Outcome real = outcome::classify_real_run(r);
    EXPECT_TRUE(outcome::agrees(model, real)) << found << "\n model: " << model.to_string()
                                              << "\n real:  " << real.to_string() << "\n" << r.out;
    EXPECT_EQ(r.out.find("IFZ note turn"), std::string::npos) << "a held wait fell back:\n" << r.out;
  }
}

// The observables of issue 18: the interpreter a signal handler ran in, what
// PyGILState_GetThisThreadState() returns after gilstate ops, and whether a fork child's
// forking thread is its main thread; the model predicts each and the real run agrees.
TEST(EmitC, SignalInterpGilstateTstateAndForkMainThreadAreObservedAndAgree) {
  const Program p = program(
      "interpfuzz-program 1\nprofile 3.11\nthread T0:\n  init\n  signal 2\n  run_bytecode 2\n"
      "  start T1 c\n  join T1\n  fork fork follow=child\n  finalize\n"
      "thread T1:\n  gilstate_ensure\n  gilstate_ensure\n  gilstate_release\n  gilstate_release\n");
  emit::EmitOptions o;
  o.profile = "3.11";
  const emit::Emitted e = emit::emit_c(p, Schedule{}, o);
  ASSERT_TRUE(e.ok) << e.error;
  const outcome::Outcome model = outcome::model_outcome(e.model, e.log);
  auto count = [&](const outcome::Outcome& out, const std::string& obs) {
    return std::count(out.observables.begin(), out.observables.end(), obs);
  };
  EXPECT_EQ(count(model, "signal_handled sig=2 interp=0"), 1) << model.to_string();
  EXPECT_EQ(count(model, "gilstate_tstate interp=0 current=1"), 3) << model.to_string();
  EXPECT_EQ(count(model, "gilstate_tstate none"), 1) << model.to_string();
  EXPECT_EQ(count(model, "fork_child main_thread=1"), 1) << model.to_string();
  std::string err;
  auto driver = real::make_driver_executor(debian(false), work_dir() + "/driver-cache", &err);
  ASSERT_TRUE(driver) << err;
  const auto runs = driver->run(e, 2, 10000, &err);
  ASSERT_EQ(runs.size(), 2u) << err;
  for (const outcome::RealRun& r : runs) {
    const outcome::Outcome real = outcome::classify_real_run(r);
    EXPECT_TRUE(outcome::agrees(model, real)) << "model: " << model.to_string()
                                              << "\nreal:  " << real.to_string();
  }
}

// gh-110052's finding needs the daemon preempted between two instructions of take_gil: the
// reproducer says it cannot force that, and the model's outcome names the window.
const char* const kWindowFinding =
    "interpfuzz-program 1\nprofile 3.11-fixed\ndefect gh110052_tstate_freed_after_must_exit_check\n"
    "schedule IFZS1:0x25.1x4.0x5.1\nthread T0:\n  init\n  start T1 daemon\n  finalize\n"
    "thread T1:\n  block\n";

TEST(EmitC, APreemptionInsideAnInstructionWindowIsNamedAsNotForced) {
  const Program p = program(kWindowFinding);
  std::string err;
  const Schedule s = *Schedule::parse(p.schedule, &err);
  emit::EmitOptions o;
  o.profile = "3.11";
  const emit::Emitted e = emit::emit_c(p, s, o);
  ASSERT_TRUE(e.ok) << e.error;
  EXPECT_EQ(e.model.outcome.window, "take_gil: between the must-exit check and tstate->interp");
  EXPECT_NE(e.unforceable.find("T1 preempted inside CPython"), std::string::npos) << e.unforceable;
  EXPECT_NE(e.c.find("NOT FORCED HERE"), std::string::npos);
  // Without the crash in the window, no instruction window decides the outcome; the schedule
  // still preempts T1 while it runs inside its `block` (at the window, in take_gil) as T0
  // finalizes, and the C cannot stop T1 there: that is named instead (OpLog::preempted_inside).
  o.profile = "3.13";
  const emit::Emitted e13 = emit::emit_c(p, s, o);
  EXPECT_TRUE(e13.model.outcome.window.empty());
  EXPECT_EQ(e13.unforceable.find("preempted inside CPython at"), std::string::npos) << e13.unforceable;
  EXPECT_NE(e13.unforceable.find("T1 inside `block`"), std::string::npos) << e13.unforceable;
}

// diff's finding (session 8): T0 preempted inside Py_MakePendingCalls (before it takes the
// pending lock) while a C thread adds two calls; the model runs them there, the C's
// make_pending has long returned. Named as not forced, and so n/a rather than a disagreement.
TEST(EmitC, APreemptionOfARunningThreadWhileOthersRunOpsIsNamed) {
  const Program p = program(
      "interpfuzz-program 1\nprofile 3.11\nschedule IFZS1:0x2.1x12\n"
      "thread T0:\n  init\n  start T1 c\n  make_pending\n"
      "thread T1:\n  add_pending noop\n  block\n  add_pending noop\n");
  std::string err;
  const Schedule s = *Schedule::parse(p.schedule, &err);
  emit::EmitOptions o;
  o.profile = "3.11";
  const emit::Emitted e = emit::emit_c(p, s, o);
  ASSERT_TRUE(e.ok) << e.error;
  EXPECT_NE(e.unforceable.find("T0 inside `make_pending` (op 3)"), std::string::npos) << e.unforceable;
  EXPECT_NE(e.c.find("NOT FORCED HERE"), std::string::npos);
}

// A schedule that switches between threads only where they wait (a GIL another holds, a
// join) is forceable: nothing is named.
TEST(EmitC, SwitchesOnlyAtWaitsAreForceable) {
  const Program p = program(
      "interpfuzz-program 1\nprofile 3.11\n"
      "thread T0:\n  init\n  start T1 threading\n  join T1\n  finalize\n"
      "thread T1:\n  run_bytecode 2\n  add_pending noop\n");
  emit::EmitOptions o;
  o.profile = "3.11";
  const emit::Emitted e = emit::emit_c(p, Schedule{}, o);
  ASSERT_TRUE(e.ok) << e.error;
  EXPECT_TRUE(e.unforceable.empty()) << e.unforceable;
}

// The real 3.11 runs of that finding end normally (the daemon waits in take_gil and exits):
// n/a with the reason, not a disagreement. A seed with an assertion mark agrees on the debug
// build through it.
TEST(Conform, AnUnforceableWindowIsNotApplicableAndAnAssertionMarkAgrees) {
  conform::ConformOptions o;
  o.runs = 2;
  o.timeout_ms = 5000;
  const std::string file = work_dir() + "/window_finding.ifz";
  {
    std::ofstream out(file);
    out << kWindowFinding;
  }
  const conform::Cell release =
      conform::conform_cell(file, *real::make_compiling_executor(debian(false), work_dir()), o);
  EXPECT_EQ(release.verdict, conform::Cell::Verdict::kNotApplicable) << release.short_text();
  EXPECT_NE(release.why.find("cannot force"), std::string::npos) << release.why;
  ASSERT_FALSE(release.real_counts.empty());
  EXPECT_EQ(release.real_counts.begin()->first.rfind("ok", 0), 0u) << release.real_counts.begin()->first;
  const conform::Cell debug = conform::conform_cell(
      IFZ_SOURCE_DIR "/corpus/seeds/new_tstate_after_initial_deleted.ifz",
      *real::make_compiling_executor(debian(true), work_dir()), o);
  EXPECT_EQ(debug.verdict, conform::Cell::Verdict::kAgree) << debug.short_text() << " " << debug.why;
}

// conform on a few seeds covering ok, an expected fatal, a 3.11 defect (a lost pending call)
// and a fork child hang (bpo-39958), on the release and the debug build.
TEST(Conform, SeedsAgreeWithDebians311ReleaseAndDebug) {
  conform::ConformOptions o;
  o.runs = 2;
  o.timeout_ms = 5000;
  for (bool debug : {false, true}) {
    const conform::CPythonInstall in = debian(debug);
    const std::unique_ptr<real::RealExecutor> ex = real::make_compiling_executor(in, work_dir());
    for (const char* seed : {"repeated_init_and_subinterpreters", "daemon_thread_at_end_interp",
                             "subinterp_pending_nonmain_thread", "fork_with_live_subinterp"}) {
      const conform::Cell c = conform::conform_cell(
          std::string(IFZ_SOURCE_DIR "/corpus/seeds/") + seed + ".ifz", *ex, o);
      EXPECT_EQ(c.verdict, conform::Cell::Verdict::kAgree)
          << seed << " on " << in.label << ": " << c.short_text() << " " << c.why
          << "\n model: " << c.model.to_string()
          << "\n real: " << (c.real_counts.empty() ? "" : c.real_counts.begin()->first);
    }
  }
}

}  // namespace
}  // namespace ifz::harness
