// SPDX-License-Identifier: Apache-2.0
// oracles_test.cc — each oracle fires on a hand-built violation and stays silent on its fixed
// counterpart. Where a historical defect produces the violation, the violating program is a
// seed run on the version that has the defect and the counterpart is the same program on the
// -fixed twin; where no defect does (G1, K2, S3), the violation is built directly in the
// runtime state or the event stream the oracle sees.
#include <gtest/gtest.h>

#include "harness/exec/checked_run.h"
#include "harness/oracles/oracle.h"
#include "harness/program/text_format.h"
#include "harness/schedule/pct_strategy.h"
#include "runtime/platform/simulated.h"

namespace ifz::harness {
namespace {

Program seed(const std::string& name, const std::string& profile) {
  auto parsed = read_program_file(IFZ_SOURCE_DIR "/corpus/seeds/" + name + ".ifz");
  EXPECT_TRUE(std::holds_alternative<Program>(parsed)) << name;
  Program p = std::get<Program>(std::move(parsed));
  p.profile = profile;
  return p;
}

// The first finding over a few PCT schedules, or "" — PCT(2) with fixed seeds.
std::string first_signature(const Program& p, int iterations = 40) {
  PctStrategy pct(2, 11);
  for (int i = 0; i < iterations; ++i) {
    const CheckedRun cr = run_checked(p, pct, ExecOptions{});
    if (cr.result.found()) return cr.result.findings[0].signature();
  }
  return "";
}

struct Case {
  const char* oracle;
  const char* seed;
  const char* version;
  const char* expect_prefix;  // signature prefix on the version profile
};

class SeedOracle : public ::testing::TestWithParam<Case> {};

TEST_P(SeedOracle, FiresOnTheVersionAndIsSilentOnItsFixedTwin) {
  const Case& c = GetParam();
  const std::string bad = first_signature(seed(c.seed, c.version));
  EXPECT_EQ(bad.rfind(c.expect_prefix, 0), 0u) << c.seed << " on " << c.version << ": " << bad;
  EXPECT_NE(bad.find(std::string("/") + c.oracle + "/"), std::string::npos) << bad;
  const std::string good = first_signature(seed(c.seed, std::string(c.version) + "-fixed"));
  EXPECT_EQ(good, "") << c.seed << " on " << c.version << "-fixed";
}

INSTANTIATE_TEST_SUITE_P(
    Oracles, SeedOracle,
    ::testing::Values(
        Case{"lifetime", "add_pending_after_finalize", "3.10", "null-deref/lifetime/"},
        Case{"lifetime", "reinit_with_daemons", "3.12", "uaf/lifetime/"},
        Case{"deadlock", "fork_with_live_subinterp", "3.9", "deadlock/deadlock/lock HEAD_LOCK (self)"},
        Case{"fatal", "fork_from_legacy_subinterp", "3.11", "unexpected-fatal/fatal/"},
        Case{"pending_calls", "subinterp_pending_main_thread", "3.9", "lost-pending/pending_calls/"},
        Case{"pending_calls", "pending_wrong_interp_gilstate", "3.10", "pending-wrong-interp/pending_calls/"},
        Case{"pending_calls", "pending_fail_then_drain", "3.12", "lost-pending/pending_calls/"}),
    [](const auto& info) {
      std::string n = std::string(info.param.oracle) + "_" + info.param.seed;
      for (char& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
      return n;
    });

TEST(FatalOracle, DocumentedFatalErrorsAreExpectedOutcomesNotFindings) {
  for (const char* v : {"3.7", "3.10", "3.13"}) {
    const Program p = seed("daemon_thread_at_end_interp", v);
    // execute() ignores Program::schedule (it runs the default scheduler, under which
    // Thread.start() lets the daemon finish before end_interp); follow the seed's schedule,
    // which keeps the daemon in its first `block` as in test_daemon_threads_fatal_error.
    std::string err;
    const auto schedule = Schedule::parse(p.schedule, &err);
    ASSERT_TRUE(schedule.has_value()) << err;
    ASSERT_FALSE(schedule->picks.empty()) << "the seed must carry its schedule";
    std::string divergence;
    const ExecResult r = replay_schedule(p, *schedule, ExecOptions{}, &divergence);
    EXPECT_EQ(divergence, "") << v;
    EXPECT_EQ(r.outcome.kind, rt::Outcome::Kind::kFatal) << v;
    EXPECT_FALSE(r.found()) << v << ": " << r.findings[0].signature();
  }
}

TEST(FinalizeOracle, FiresWhenTheFinalizingThreadExits) {
  // gh-109793 on 3.13: the finalizing thread swaps into a leftover subinterpreter and exits.
  Program p = seed("finalize_with_live_subinterp", "3.13-fixed");
  p.defects = {"gh109793_swap_exits_finalizer"};
  EXPECT_EQ(first_signature(p), "finalize/finalize/finalizing thread exited");
  p.defects.clear();
  EXPECT_EQ(first_signature(p), "");
}

// ---- hand-built violations: oracles fed a runtime state no defect produces --------------------

struct CollectingSink : OracleSink {
  using OracleSink::OracleSink;
  void report(Finding f) override { findings.push_back(std::move(f)); }
  std::vector<Finding> findings;
};

std::unique_ptr<Oracle> oracle_named(const rt::Profile& p, const std::string& name) {
  for (auto& o : make_oracles(p)) {
    if (o->name() == name) return std::move(o);
  }
  ADD_FAILURE() << "no oracle " << name;
  return nullptr;
}

TEST(GilOracle, FiresWhenTheHolderDisagreesWithTheLockedFlag) {
  const rt::Profile& prof = *rt::find_profile("3.11-fixed");
  platform::SimulatedPlatform plat;
  rt::Runtime rt(plat, prof);
  CollectingSink sink(rt, plat);
  auto gil = oracle_named(prof, "gil");
  plat.run("main", [&] {
    rt.initialize();
    {  // scoped: exit_process abandons this coroutine without unwinding it
      rt::Event e;
      e.kind = rt::EventKind::kGilTaken;
      gil->on_event(e, sink);
      EXPECT_TRUE(sink.findings.empty()) << "consistent state";
      rt.main_gil().holder = platform::kNoThread;  // G1 broken: locked, no holder
      gil->on_event(e, sink);
      rt.main_gil().holder = plat.current();
    }
    rt.exit_process(0);
  });
  ASSERT_EQ(sink.findings.size(), 1u);
  EXPECT_EQ(sink.findings[0].kind, "gil");
}

// Runs the newest runnable thread first (so a freshly spawned thread runs at once).
struct NewestFirst : platform::Chooser {
  size_t pick(std::span<const platform::ThreadId> runnable, platform::ThreadId,
              const platform::PointInfo&) override {
    return runnable.size() - 1;
  }
};

TEST(ForkOracle, FiresWhenARuntimeLockIsHeldByAVanishedThreadAfterAfterForkChild) {
  const rt::Profile& prof = *rt::find_profile("3.11-fixed");
  NewestFirst newest;
  platform::SimulatedPlatform plat(&newest);
  rt::Runtime rt(plat, prof);
  CollectingSink sink(rt, plat);
  auto fork = oracle_named(prof, "fork");
  plat.run("main", [&] {
    rt.initialize();
    rt::ThreadState* t = rt.save_thread();
    // T1 takes the xidregistry lock and never lets go; the main thread then forks by hand
    // (no PyOS_AfterFork_Child re-initialisation): the lock is inherited held.
    plat.spawn("T1", [&] {
      const_cast<platform::Mutex&>(rt.lock(rt::RuntimeLock::kXidRegistry)).lock();
      plat.hang_thread("holding the lock");
    });
    ASSERT_TRUE(rt.lock(rt::RuntimeLock::kXidRegistry).locked()) << "T1 ran first";
    rt.restore_thread(t);
    plat.fork(platform::ForkFollow::kChild);
    {  // scoped: exit_process abandons this coroutine without unwinding it
      rt::Event e;
      e.kind = rt::EventKind::kPhase;
      e.text = "fork-child:running";
      e.thread = plat.current();
      fork->on_event(e, sink);
    }
    rt.exit_process(0);
  });
  ASSERT_EQ(sink.findings.size(), 1u);
  EXPECT_EQ(sink.findings[0].signature(), "fork/fork/lock xidregistry.mutex held by a vanished thread");
  // The fixed counterpart: the runtime's own fork re-initialises the lock in the child.
  Program p = seed("fork_while_thread_holds_headlock", "3.11-fixed");
  EXPECT_EQ(first_signature(p), "");
}

TEST(InterpIdOracle, FiresOnAReusedIdWithinALifetimeOnly) {
  const rt::Profile& prof = *rt::find_profile("3.12-fixed");
  platform::SimulatedPlatform plat;
  rt::Runtime rt(plat, prof);
  CollectingSink sink(rt, plat);
  auto ids = oracle_named(prof, "interp_ids");
  rt::Event created;
  created.kind = rt::EventKind::kInterpCreated;
  created.interp = 1;
  ids->on_event(created, sink);
  rt::Event reinit;
  reinit.kind = rt::EventKind::kPhase;
  reinit.text = "reinit";
  ids->on_event(reinit, sink);
  ids->on_event(created, sink);  // S3: ids restart with a new runtime lifetime
  EXPECT_TRUE(sink.findings.empty());
  ids->on_event(created, sink);  // reused within the lifetime
  ASSERT_EQ(sink.findings.size(), 1u);
  EXPECT_EQ(sink.findings[0].kind, "interp-ids");
}

}  // namespace
}  // namespace ifz::harness
