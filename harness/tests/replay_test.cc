// SPDX-License-Identifier: Apache-2.0
// replay_test.cc — exact replay (DESIGN D5): every seed program, on every version profile and
// its -fixed twin, explored with PCT, then replayed 3 times from the recorded schedule: the
// traces, outcomes and finding signatures must be identical. Also the regression corpus:
// each corpus/regressions entry still yields its recorded signature, and nothing at all once
// its defects are removed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "harness/tests/ifz_files.h"
#include "harness/exec/checked_run.h"
#include "harness/program/text_format.h"
#include "harness/schedule/pct_strategy.h"
#include "runtime/profile.h"

namespace ifz::harness {
namespace {

namespace fs = std::filesystem;

using ifz::harness::testing::ifz_files;

Program load(const std::string& path) {
  auto parsed = read_program_file(path);
  if (auto* err = std::get_if<ParseError>(&parsed)) {
    ADD_FAILURE() << err->to_string();
    return Program{};
  }
  return std::get<Program>(std::move(parsed));
}

std::string fingerprint(const ExecResult& r) {
  std::string out;
  for (const std::string& l : r.trace) out += l + "\n";
  out += "outcome: " + r.outcome_summary() + "\n";
  for (const Finding& f : r.findings) out += "finding: " + f.signature() + "\n";
  return out;
}

TEST(Replay, EverySeedReplaysIdenticallyThreeTimesOnEveryProfile) {
  const auto seeds = ifz_files(IFZ_SOURCE_DIR "/corpus/seeds");
  ASSERT_GE(seeds.size(), 20u);
  for (const std::string& path : seeds) {
    const Program base = load(path);
    for (const rt::Profile& prof : rt::all_profiles()) {
      Program p = base;
      p.profile = prof.name;
      PctStrategy pct(/*depth=*/2, /*seed=*/7);
      ExecOptions opts;
      const CheckedRun cr = run_checked(p, pct, opts);
      EXPECT_TRUE(cr.reproducible) << path << " on " << prof.name << ": " << cr.divergence;
      const std::string first = fingerprint(cr.result);
      for (int run = 0; run < 3; ++run) {
        std::string divergence;
        const ExecResult again = replay_schedule(p, cr.schedule, opts, &divergence);
        EXPECT_EQ(divergence, "") << path << " on " << prof.name;
        ASSERT_EQ(fingerprint(again), first)
            << path << " on " << prof.name << ", replay " << run << " of "
            << cr.schedule.to_string();
      }
    }
  }
}

// corpus/regressions/NNNN-<kind>.ifz carry "# expect: <signature>" (written by
// `interpfuzz minimize`): replaying must still find exactly that; an entry without one is a
// fixed bug and must replay clean.
TEST(Replay, RegressionCorpusStillFindsItsSignatureAndNothingWithoutItsDefects) {
  for (const std::string& path : ifz_files(IFZ_SOURCE_DIR "/corpus/regressions")) {
    std::ifstream in(path);
    std::string line, expect;
    while (std::getline(in, line)) {
      if (line.rfind("# expect: ", 0) == 0) expect = line.substr(10);
    }
    Program p = load(path);
    std::string err;
    auto schedule = Schedule::parse(p.schedule, &err);
    ASSERT_TRUE(schedule.has_value()) << path << ": " << err;
    ExecOptions opts;
    const ExecResult r = replay_schedule(p, *schedule, opts, &err);
    if (expect.empty()) {
      // A fixed bug (corpus/regressions/README.md): the same program and schedule find nothing.
      EXPECT_FALSE(r.found()) << path << ": " << (r.found() ? r.findings[0].signature() : "");
      continue;
    }
    ASSERT_TRUE(r.found()) << path;
    EXPECT_EQ(r.findings[0].signature(), expect) << path;
    // Without the defects, on the profile's -fixed twin: no finding.
    Program fixed = p;
    fixed.defects.clear();
    const rt::Profile* prof = rt::find_profile(p.profile);
    ASSERT_NE(prof, nullptr);
    fixed.profile = "3." + std::to_string(prof->minor) + "-fixed";
    const ExecResult rf = replay_schedule(fixed, *schedule, opts, &err);
    EXPECT_FALSE(rf.found()) << path << " on " << fixed.profile << ": "
                             << (rf.found() ? rf.findings[0].signature() : "");
  }
}

// Deadlock reports (D6): each live thread once, with what it waits on and that lock's owner.
TEST(Report, EachBlockedThreadIsOneLineWithItsLockAndOwner) {
  using platform::BlockedThread;
  EXPECT_EQ(describe_blocked_thread(BlockedThread{0, "T0", "lock HEAD_LOCK", 0}),
            "T0 waits on lock HEAD_LOCK, owned by itself");
  EXPECT_EQ(describe_blocked_thread(BlockedThread{2, "threading-daemon-t2", "lock HEAD_LOCK", 0}),
            "T2 (threading-daemon-t2) waits on lock HEAD_LOCK, owned by T0");
  EXPECT_EQ(describe_blocked_thread(BlockedThread{0, "T0", "join T1", 1}), "T0 waits on join T1");
  EXPECT_EQ(describe_blocked_thread(BlockedThread{1, "c-thread", "cond gil.cond (lock gil.mutex)",
                                                  platform::kNoThread}),
            "T1 (c-thread) waits on cond gil.cond (lock gil.mutex)");
  EXPECT_EQ(describe_blocked_thread(BlockedThread{3, "T3", "runnable", platform::kNoThread}), "T3 runnable");
}

// The one report shape (format_finding): every front end prints exactly these lines.
TEST(Report, FormatFindingHasTheSameShapeForSimulatedAndNativeFindings) {
  Finding f;
  f.kind = "deadlock";
  f.oracle = "deadlock";
  f.phase = "fork-child:DeleteExceptMain";
  f.message = "deadlock: nothing can run, 1 thread blocked";
  f.detail = "lock HEAD_LOCK (self)";
  f.threads = {"T0 waits on lock HEAD_LOCK, owned by itself"};
  f.classification = "known: bpo-39958 (gh-84139)";
  Schedule s;
  const std::string simulated = format_report(f, "a.ifz", s);
  EXPECT_EQ(simulated,
            "==ifz== FINDING: deadlock [deadlock]\n"
            "    deadlock: nothing can run, 1 thread blocked\n"
            "    phase: fork-child:DeleteExceptMain\n"
            "    T0 waits on lock HEAD_LOCK, owned by itself\n"
            "    known: bpo-39958 (gh-84139)\n"
            "    reproduce: interpfuzz replay a.ifz --schedule " + s.to_string() + "\n"
            "SUMMARY: interpfuzz: deadlock/deadlock/lock HEAD_LOCK (self)\n");
  const std::string native = format_finding(f, native_reproduce_command("a.ifz"));
  EXPECT_EQ(native.substr(0, native.find("    reproduce: ")),
            simulated.substr(0, simulated.find("    reproduce: ")));
  EXPECT_NE(native.find("    reproduce: interpfuzz replay a.ifz --native"), std::string::npos);
}

}  // namespace
}  // namespace ifz::harness
