// SPDX-License-Identifier: Apache-2.0
// oracles_test.cc — each oracle fires on a hand-built violation and stays silent on its fixed
// counterpart. Where a historical defect produces the violation, the violating program is a
// seed run on the version that has the defect and the counterpart is the same program on the
// -fixed twin; where no defect does (G1, K2, S3), the violation is built directly in the
// runtime state or the event stream the oracle sees.
#include <gtest/gtest.h>

#include <optional>

#include "harness/exec/checked_run.h"
#include "harness/exec/program_deadlock.h"
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

// ---- event-stream oracles: a crafted stream that violates the contract, then its fixed twin --

rt::Event event(rt::EventKind k, platform::ThreadId thread, int64_t a = 0, int64_t b = 0,
                std::string text = {}, int64_t interp = -1) {
  rt::Event e;
  e.kind = k;
  e.thread = thread;
  e.a = a;
  e.b = b;
  e.text = std::move(text);
  e.interp = interp;
  return e;
}

// Feeds `events` to a fresh oracle `name` on `profile` (simulated platform, no runtime run);
// returns the signatures it reported.
std::vector<std::string> feed(const std::string& name, const std::vector<rt::Event>& events,
                              const char* profile = "3.12-fixed") {
  const rt::Profile& prof = *rt::find_profile(profile);
  platform::SimulatedPlatform plat;
  rt::Runtime rt(plat, prof);
  CollectingSink sink(rt, plat);
  auto o = oracle_named(prof, name);
  for (const rt::Event& e : events) o->on_event(e, sink);
  std::vector<std::string> out;
  for (const Finding& f : sink.findings) out.push_back(f.signature());
  return out;
}

using K = rt::EventKind;

TEST(PendingReentryOracle, FiresWhenACallStartsInsideARunningCallOfTheSameQueue) {
  // The violation: the eval breaker inside call #1 (Python code) started #2 from the same
  // queue on the same thread before #1 returned — what busy / handling_thread forbid.
  const std::vector<std::string> bad =
      feed("pending_reentry", {event(K::kPendingRun, 0, 1, 0), event(K::kPendingRun, 0, 2, 0)});
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0], "pending-reentry/pending_reentry/main queue run recursively from inside one of its calls");
  // Fixed: #1 returns first; a call of *another* queue inside a call is not P4's business
  // (3.12+ run the main-thread queue and then the interpreter's from one breaker check).
  EXPECT_TRUE(feed("pending_reentry", {event(K::kPendingRun, 0, 1, 0), event(K::kPendingRunEnd, 0, 1),
                                       event(K::kPendingRun, 0, 2, 0), event(K::kPendingRun, 0, 3, -1)})
                  .empty());
  // A thread made to exit inside a call leaves nothing open behind.
  EXPECT_TRUE(feed("pending_reentry", {event(K::kPendingRun, 1, 1, 0), event(K::kThreadExitForced, 1),
                                       event(K::kPendingRun, 1, 2, 0)})
                  .empty());
}

TEST(PendingReentryOracle, IsSilentOnTheRuntimesPythonCallbacks) {
  // A `slow` callback runs Python code (eval breaker checks) while more calls wait in its
  // queue: the runtime's busy flag / handling_thread keep them for after it returns.
  for (const char* v : {"3.8", "3.11", "3.12", "3.13"}) {
    EXPECT_EQ(first_signature(seed("pending_python_call_no_reentry", v), 5), "") << v;
    EXPECT_EQ(first_signature(seed("pendingcalls_threaded", std::string(v) + "-fixed"), 5), "") << v;
  }
}

TEST(ForcedExitOracle, FiresOnAForcedExitOutsideFinalisationAndReinitialisation) {
  const rt::Event init = event(K::kPhase, 0, 0, 0, "init");
  const rt::Event started = event(K::kThreadStarted, 0, /*a=new thread*/ 1);
  const rt::Event running = event(K::kPhase, 0, 0, 0, "running");
  const rt::Event exit1 = event(K::kThreadExitForced, 1, 0, 0, "running");
  const std::vector<std::string> bad = feed("forced_exit", {init, started, running, exit1});
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0], "forced-exit/forced_exit/thread forced to exit outside finalisation");
  EXPECT_EQ(feed("forced_exit", {init, started, event(K::kThreadHang, 1)}).size(), 1u);
  // Fixed: once finalisation set `finalizing` (F2) ...
  EXPECT_TRUE(feed("forced_exit", {init, started, event(K::kPhase, 0, 0, 0, "finalize:SetFinalizing"),
                                   exit1, event(K::kPhase, 0, 0, 0, "finalized"), event(K::kThreadHang, 1)})
                  .empty());
  // ... or for a thread of an earlier runtime lifetime after re-initialisation (F6) — but
  // not for a thread of the new lifetime.
  const rt::Event reinit = event(K::kPhase, 0, 0, 0, "reinit");
  EXPECT_TRUE(feed("forced_exit", {init, started, event(K::kPhase, 0, 0, 0, "finalize:SetFinalizing"),
                                   reinit, exit1})
                  .empty());
  EXPECT_EQ(feed("forced_exit", {init, reinit, started, exit1}).size(), 1u);
}

TEST(ForcedExitOracle, IsSilentOnDaemonsEndedByFinalisationAndReinitialisation) {
  for (const char* s : {"daemon_wakes_after_finalize", "reinit_with_daemons", "reinit_with_parked_daemons",
                        "daemon_in_take_gil_at_finalize"}) {
    for (const char* v : {"3.8-fixed", "3.10-fixed", "3.12-fixed", "3.13-fixed"}) {
      EXPECT_EQ(first_signature(seed(s, v), 10), "") << s << " on " << v;
    }
  }
}

TEST(AtexitOrderOracle, FiresWhenACallbackStartsBeforeANonDaemonThreadWasJoined) {
  const rt::Event init = event(K::kPhase, 0, 0, 0, "init");
  const rt::Event started = event(K::kThreadStarted, 0, /*a=*/1, 0, {}, /*interp=*/0);
  const rt::Event callback = event(K::kAtexitCallback, 0, 0, 0, {}, 0);
  // The oracle learns that T1 is a non-daemon threading thread from the op that starts it.
  auto run = [&](const std::vector<rt::Event>& events, bool t1_ends_before_callback) {
    const rt::Profile& prof = *rt::find_profile("3.11-fixed");
    platform::SimulatedPlatform plat;
    rt::Runtime rt(plat, prof);
    CollectingSink sink(rt, plat);
    auto o = oracle_named(prof, "atexit_order");
    plat.run("main", [&] {
      // T1 must be alive in the platform's eyes while it has not finished.
      const platform::ThreadId t1 = plat.spawn("T1", [&] { plat.hang_thread("running"); });
      EXPECT_EQ(t1, 1);
      OpContext op;
      op.thread = 0;
      op.op.code = OpCode::kStart;
      op.op.variant = static_cast<uint8_t>(StartKind::kThreading);
      o->on_op(op, sink);
      for (const rt::Event& e : events) {
        if (e.kind == K::kAtexitCallback && t1_ends_before_callback) {
          o->on_event(event(K::kThreadFinished, 1), sink);
        }
        o->on_event(e, sink);
      }
      plat.exit_process(0);
    });
    return sink.findings;
  };
  const auto bad = run({init, started, event(K::kPhase, 0, 0, 0, "finalize:atexit"), callback}, false);
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0].signature(), "finalize-order/atexit_order/atexit callback ran before a non-daemon thread was joined");
  // Fixed: the join ended T1 first.
  EXPECT_TRUE(run({init, started, event(K::kPhase, 0, 0, 0, "finalize:atexit"), callback}, true).empty());
  // A thread started after the join (from an atexit callback) is nobody's to join.
  EXPECT_TRUE(run({init, event(K::kPhase, 0, 0, 0, "finalize:FinishPendingCalls"), started, callback}, false).empty());
}

TEST(AtexitOrderOracle, JudgesASubinterpretersCallbacksAgainstItsOwnJoin) {
  // Py_EndInterpreter of I1: its non-daemon T1 must be joined before I1's atexit callback; a
  // thread started there after I1's join ended (kThreadsJoined) is nobody's to join.
  const rt::Event init = event(K::kPhase, 0, 0, 0, "init");
  const rt::Event started = event(K::kThreadStarted, 0, /*a=*/1, 0, {}, /*interp=*/1);
  const rt::Event joined = event(K::kThreadsJoined, 0, 0, 0, {}, 1);
  const rt::Event callback = event(K::kAtexitCallback, 0, 0, 0, {}, 1);
  auto run = [&](const std::vector<rt::Event>& events) {
    const rt::Profile& prof = *rt::find_profile("3.11-fixed");
    platform::SimulatedPlatform plat;
    rt::Runtime rt(plat, prof);
    CollectingSink sink(rt, plat);
    auto o = oracle_named(prof, "atexit_order");
    plat.run("main", [&] {
      const platform::ThreadId t1 = plat.spawn("T1", [&] { plat.hang_thread("running"); });
      EXPECT_EQ(t1, 1);
      OpContext op;
      op.thread = 0;
      op.op.code = OpCode::kStart;
      op.op.variant = static_cast<uint8_t>(StartKind::kThreading);
      o->on_op(op, sink);
      for (const rt::Event& e : events) o->on_event(e, sink);
      plat.exit_process(0);
    });
    return sink.findings;
  };
  EXPECT_EQ(run({init, started, joined, callback}).size(), 1u);
  EXPECT_TRUE(run({init, joined, started, callback}).empty());
  // Another interpreter's callback is not judged against I1's thread.
  EXPECT_TRUE(run({init, started, event(K::kAtexitCallback, 0, 0, 0, {}, 0)}).empty());
}

TEST(AtexitOrderOracle, IsSilentWhenFinalisationJoinsThreadsFirst) {
  for (const char* s : {"thread_from_atexit", "threads_join_2", "pendingcalls_threaded"}) {
    for (const char* v : {"3.7-fixed", "3.11-fixed", "3.12-fixed", "3.13-fixed"}) {
      EXPECT_EQ(first_signature(seed(s, v), 10), "") << s << " on " << v;
    }
  }
}

Program inline_program(const std::string& text) {
  auto parsed = parse_program(text);
  EXPECT_TRUE(std::holds_alternative<Program>(parsed))
      << std::get<ParseError>(parsed).to_string();
  return std::get<Program>(std::move(parsed));
}

TEST(PendingCallOracle, FiresWhenAnAcceptedCallVanishesBeforeAProcessEndWithoutFinalize) {
  // The violation: call #7 was accepted, never ran, was not reported dropped, and is neither
  // queued nor held by a live thread when the process ends (exit, no Py_FinalizeEx).
  const rt::Profile& prof = *rt::find_profile("3.12-fixed");
  platform::SimulatedPlatform plat;
  rt::Runtime rt(plat, prof);  // never initialised: every queue is empty
  CollectingSink sink(rt, plat);
  auto o = oracle_named(prof, "pending_calls");
  o->on_event(event(K::kPhase, 0, 0, 0, "init"), sink);
  o->on_event(event(K::kPendingAdded, 0, /*a=call*/ 7, /*b=queue*/ -1), sink);
  platform::RunResult run;
  rt::Outcome outcome;
  o->on_end(EndContext{run, outcome, /*process_ended_normally=*/true}, sink);
  ASSERT_EQ(sink.findings.size(), 1u);
  EXPECT_EQ(sink.findings[0].kind, "lost-pending");
  EXPECT_NE(sink.findings[0].detail.find("neither run, nor dropped, nor still queued"), std::string::npos)
      << sink.findings[0].detail;
}

TEST(PendingCallOracle, CallsLeftQueuedByAProcessEndWithoutFinalizeAreCPythonsOwnLoss) {
  // No CPython runs pending calls in exit() / os._exit() / a fork child that ends without
  // Py_FinalizeEx: what is still queued then is not a finding, on any profile. Here the main
  // thread is busy in a join while T1 queues calls only it may run (3.12+), then exits; and a
  // fork child made by T1 (its main thread from then on, K1) inherits the queue and ends.
  const Program exit_program = inline_program(R"(interpfuzz-program 1
profile 3.12-fixed

thread T0:
  init
  start T1 threading
  join T1

thread T1:
  add_pending noop
  add_pending touch
  exit 3
)");
  const Program fork_program = inline_program(R"(interpfuzz-program 1
profile 3.12-fixed

thread T0:
  init
  start T1 threading
  join T1

thread T1:
  add_pending noop
  add_pending touch
  fork fork follow=child child=T2

thread T2:
  yield
)");
  for (const char* v : {"3.8-fixed", "3.10-fixed", "3.12-fixed", "3.13-fixed"}) {
    Program p = exit_program;
    p.profile = v;
    EXPECT_EQ(first_signature(p, 10), "") << v;
    p = fork_program;
    p.profile = v;
    EXPECT_EQ(first_signature(p, 10), "") << v;
  }
}

// A runtime lock used after the interpreter (or GIL) it lives in was freed: the runtime's lock
// guard ends the modelled process with a use-after-free named after the lock — a signature the
// minimiser can keep — instead of the backend reading freed memory (a real crash of the tool).
TEST(LifetimeOracle, ALockUsedAfterItsInterpreterWasFreedIsAUseAfterFreeNamedAfterTheLock) {
  auto run = [](bool end_it_first) {
    const rt::Profile& prof = *rt::find_profile("3.12-fixed");
    platform::SimulatedPlatform plat;
    rt::Runtime rt(plat, prof);
    bool returned = false;
    const platform::RunResult r = plat.run("main", [&] {
      rt.initialize();
      rt::ThreadState* main_t = rt.current();
      std::string error;
      rt::ThreadState* sub = rt.new_interpreter(rt::InterpConfig{}, &error);
      ASSERT_NE(sub, nullptr) << error;
      platform::Mutex* queue_lock = &sub->interp->pending.lock;
      if (end_it_first) {
        rt.end_interpreter(sub);  // frees the interpreter, its queue and the queue's lock
        rt.swap(main_t);
      }
      queue_lock->lock();
      queue_lock->unlock();
      returned = true;
    });
    CollectingSink sink(rt, plat);
    auto lifetime = oracle_named(prof, "lifetime");
    lifetime->on_end(EndContext{r, rt.outcome(), /*process_ended_normally=*/false}, sink);
    std::vector<std::string> out;
    for (const Finding& f : sink.findings) out.push_back(f.signature());
    if (!returned) out.push_back("message: " + rt.outcome().message);
    return out;
  };
  const std::vector<std::string> bad = run(true);
  ASSERT_EQ(bad.size(), 2u);
  EXPECT_EQ(bad[0], "uaf/lifetime/lock interp->ceval.pending.lock");
  EXPECT_EQ(bad[1], "message: use-after-free: lock interp->ceval.pending.lock (freed PyInterpreterState)");
  EXPECT_TRUE(run(false).empty()) << "the same lock while its interpreter lives";
}

TEST(ForkOracle, FiresWhenTheForkChildsMainThreadIsNotTheForkingThread) {
  // T1 forks by hand (no PyOS_AfterFork_Child): the runtime's main thread stays T0, which
  // vanished — the child would never run its pending calls or handle a signal (K1).
  const rt::Profile& prof = *rt::find_profile("3.11-fixed");
  NewestFirst newest;
  platform::SimulatedPlatform plat(&newest);
  rt::Runtime rt(plat, prof);
  CollectingSink sink(rt, plat);
  auto fork = oracle_named(prof, "fork");
  plat.run("main", [&] {
    rt.initialize();
    rt.save_thread();
    plat.spawn("T1", [&] {
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
    plat.join(1);
  });
  ASSERT_EQ(sink.findings.size(), 1u);
  EXPECT_EQ(sink.findings[0].signature(), "fork/fork/the fork child's main thread is not the forking thread");
  // The fixed counterpart: the runtime's own fork from a thread makes it the child's main thread.
  EXPECT_EQ(first_signature(seed("fork_from_thread_child_runs", "3.12-fixed")), "");
  // ... and the embedding may finalise the child from it (a C thread).
  for (const char* v : {"3.7-fixed", "3.9-fixed", "3.11-fixed", "3.13-fixed"}) {
    EXPECT_EQ(first_signature(seed("c_thread_fork_child_finalizes", v), 10), "") << v;
  }
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


// ---- P5: signals --------------------------------------------------------------------------

// The signals oracle fed ops and events on a bare simulated platform: `steps` are either an
// event or an op issued by a thread (op.code set).
struct Step {
  std::optional<rt::Event> ev;
  std::optional<OpContext> op;
};
Step ev(rt::Event e) { return {std::move(e), std::nullopt}; }
Step op_by(platform::ThreadId thread, OpCode code, int count = 1, int64_t interp = 0) {
  OpContext oc;
  oc.thread = thread;
  oc.op.code = code;
  oc.op.count = count;
  oc.current_interp = interp;
  oc.attached = true;
  return {std::nullopt, oc};
}

std::vector<std::string> feed_steps(const std::string& name, const std::vector<Step>& steps,
                                    const char* profile = "3.12-fixed") {
  const rt::Profile& prof = *rt::find_profile(profile);
  platform::SimulatedPlatform plat;
  rt::Runtime rt(plat, prof);
  CollectingSink sink(rt, plat);
  auto o = oracle_named(prof, name);
  for (const Step& s : steps) {
    if (s.ev) o->on_event(*s.ev, sink);
    if (s.op) o->on_op(*s.op, sink);
  }
  std::vector<std::string> out;
  for (const Finding& f : sink.findings) out.push_back(f.signature());
  return out;
}

TEST(SignalOracle, FiresWhenASignalIsHandledOffTheMainThreadOrInASubinterpreter) {
  const Step init = ev(event(K::kPhase, 0, 0, 0, "init"));
  const Step trip = ev(event(K::kSignalTripped, 1, 2));
  const Step on_t1 = ev(event(K::kSignalHandled, 1, 2, 0, {}, 0));
  const Step on_main = ev(event(K::kSignalHandled, 0, 2, 0, {}, 0));
  const Step in_sub = ev(event(K::kSignalHandled, 0, 2, 0, {}, 1));
  EXPECT_EQ(feed_steps("signals", {init, trip, on_t1}),
            std::vector<std::string>{"signal/signals/signal handled off the main thread"});
  EXPECT_EQ(feed_steps("signals", {init, trip, in_sub}),
            std::vector<std::string>{"signal/signals/signal handled in a subinterpreter"});
  // Fixed: the main thread in the main interpreter; 3.7 handles them in a subinterpreter too
  // (bpo-35724 came with 3.8: the profile's signals_in_main_interp_only).
  EXPECT_TRUE(feed_steps("signals", {init, trip, on_main}).empty());
  EXPECT_TRUE(feed_steps("signals", {init, trip, in_sub}, "3.7-fixed").empty());
  // K1: in a fork child the forking thread is the main thread.
  EXPECT_TRUE(feed_steps("signals", {init, ev(event(K::kForkChild, 1)), trip, on_t1}).empty());
}

TEST(SignalOracle, FiresWhenATripIsHandledTwiceOrAcrossAFork) {
  const Step init = ev(event(K::kPhase, 0, 0, 0, "init"));
  const Step trip = ev(event(K::kSignalTripped, 0, 2));
  const Step handled = ev(event(K::kSignalHandled, 0, 2, 0, {}, 0));
  const std::string twice = "signal/signals/signal handled without an outstanding trip";
  EXPECT_EQ(feed_steps("signals", {init, trip, handled, handled}), std::vector<std::string>{twice});
  // issue9535: what was tripped before the fork is the parent's to handle, not the child's.
  EXPECT_EQ(feed_steps("signals", {init, trip, ev(event(K::kForkChild, 0)), handled}),
            std::vector<std::string>{twice});
  // Fixed: two trips coalesced into one handling, then a new trip handled again.
  EXPECT_TRUE(feed_steps("signals", {init, trip, trip, handled, trip, handled}).empty());
}

TEST(SignalOracle, FiresWhenATrippedSignalIsLostWhileTheMainThreadRunsBytecode) {
  const Step init = ev(event(K::kPhase, 0, 0, 0, "init"));
  const Step trip = ev(event(K::kSignalTripped, 1, 15));
  const Step handled = ev(event(K::kSignalHandled, 0, 15, 0, {}, 0));
  const Step bytecode = op_by(0, OpCode::kRunBytecode, 3);
  const Step next = op_by(0, OpCode::kYield);
  EXPECT_EQ(feed_steps("signals", {init, trip, bytecode, next}),
            std::vector<std::string>{"signal/signals/tripped signal lost"});
  // Fixed: handled during the op; or tripped after the op began (its next check may be later);
  // or the op ran where signals are not handled (another thread, a subinterpreter from 3.8).
  EXPECT_TRUE(feed_steps("signals", {init, trip, bytecode, handled, next}).empty());
  EXPECT_TRUE(feed_steps("signals", {init, bytecode, trip, next}).empty());
  EXPECT_TRUE(feed_steps("signals", {init, trip, op_by(1, OpCode::kRunBytecode, 3), op_by(1, OpCode::kYield)}).empty());
  EXPECT_TRUE(feed_steps("signals", {init, trip, op_by(0, OpCode::kRunBytecode, 3, 1), next}).empty());
  EXPECT_EQ(feed_steps("signals", {init, trip, op_by(0, OpCode::kRunBytecode, 3, 1), next}, "3.7-fixed").size(), 1u);
}

TEST(SignalOracle, IsSilentOnTheRuntimesSignalHandling) {
  // A signal tripped by a thread that then forks is handled by the parent only: the fork
  // child (whose main thread is the forking thread, K1) starts with no signal outstanding
  // (_PySignal_AfterFork) [EXP 3.7.16, 3.8.18, 3.11.7, 3.13.0].
  const Program fork_program = inline_program(R"(interpfuzz-program 1
profile 3.12-fixed

thread T0:
  init
  start T1 threading
  join T1
  run_bytecode 2
  finalize

thread T1:
  signal 2
  fork fork follow=child child=T2

thread T2:
  run_bytecode 3
  make_pending
)");
  for (const char* v : {"3.7-fixed", "3.8-fixed", "3.11-fixed", "3.12-fixed", "3.13-fixed"}) {
    Program p = fork_program;
    p.profile = v;
    EXPECT_EQ(first_signature(p, 20), "") << v;
    for (const char* s : {"signal_from_c_thread", "signal_handled_at_threading_shutdown",
                          "signal_handled_by_make_pending"}) {
      EXPECT_EQ(first_signature(seed(s, v), 10), "") << s << " on " << v;
    }
  }
}

// ---- fatal errors explained by the mechanism ------------------------------------------------

TEST(FatalOracle, ThreadStillHasAFrameIsExpectedOnlyInsideAPythonFrame) {
  const std::string fatal = rt::fatal_text("Py_EndInterpreter", "thread still has a frame");
  auto run = [&](bool in_frame) {
    Step end = op_by(0, OpCode::kEndInterp, 1, 1);
    end.op->in_python_frame = in_frame;
    return feed_steps("fatal", {ev(event(K::kPhase, 0, 0, 0, "init")), end,
                                ev(event(K::kFatal, 0, 134, 0, fatal))});
  };
  EXPECT_EQ(run(false), std::vector<std::string>{
                            "unexplained-fatal/fatal/Fatal Python error: Py_EndInterpreter: thread "
                            "still has a frame with no Python frame on the ending thread"});
  EXPECT_TRUE(run(true).empty());
  // A real one: a threading thread ends the subinterpreter its target function runs in.
  const Program p = inline_program(R"(interpfuzz-program 1
profile 3.12-fixed

thread T0:
  init
  new_interp
  start T1 threading
  join T1

thread T1:
  new_interp
  swap I1
  end_interp
)");
  for (const char* v : {"3.8-fixed", "3.11-fixed", "3.12-fixed", "3.13-fixed"}) {
    Program q = p;
    q.profile = v;
    PctStrategy pct(2, 11);
    const CheckedRun cr = run_checked(q, pct, ExecOptions{});
    EXPECT_EQ(cr.result.outcome.message, fatal) << v;
    EXPECT_FALSE(cr.result.found()) << v << ": " << cr.result.findings[0].signature();
  }
}

// "Py_EndInterpreter: not the last thread" with the runtime's state set up by hand: T0 ends
// interpreter 1, whose thread T1 (started by T0 in it) is still alive.
std::vector<std::string> not_last_thread(bool daemon, bool joined_before_start, bool other_tstate) {
  const rt::Profile& prof = *rt::find_profile("3.12-fixed");
  platform::SimulatedPlatform plat;
  rt::Runtime rt(plat, prof);
  CollectingSink sink(rt, plat);
  auto o = oracle_named(prof, "fatal");
  plat.run("main", [&] {
    rt.initialize();
    std::string err;
    rt.new_interpreter(rt::InterpConfig{}, &err);  // T0 now runs in interpreter 1
    plat.spawn("T1", [&] { plat.hang_thread("running"); });
    {  // scoped: exit_process abandons this coroutine without unwinding it
      auto send = [&](rt::Event e) { o->on_event(e, sink); };
      send(event(K::kPhase, 0, 0, 0, "init"));
      rt::Event created = event(K::kTstateCreated, 0, 0, 0, "interp", 1);
      created.tstate = 1;
      send(created);
      if (joined_before_start) send(event(K::kThreadsJoined, 0, 0, 0, {}, 1));
      OpContext start;
      start.thread = 0;
      start.op.code = OpCode::kStart;
      start.op.variant = static_cast<uint8_t>(daemon ? StartKind::kDaemon : StartKind::kThreading);
      o->on_op(start, sink);
      send(event(K::kThreadStarted, 0, /*a=*/1, 0, {}, 1));
      if (other_tstate) {
        created.tstate = 2;
        created.thread = 1;
        send(created);
      }
      send(event(K::kFatal, 0, 134, 0, rt::fatal_text("Py_EndInterpreter", "not the last thread")));
    }
    plat.exit_process(0);
  });
  std::vector<std::string> out;
  for (const Finding& f : sink.findings) out.push_back(f.signature());
  return out;
}

TEST(FatalOracle, NotTheLastThreadIsExpectedOnlyWithAnotherThreadStateNobodyHadToJoin) {
  const std::string prefix = "unexplained-fatal/fatal/Fatal Python error: Py_EndInterpreter: not the last thread ";
  // A non-daemon threading thread started before (or without) threading._shutdown's join.
  EXPECT_EQ(not_last_thread(false, false, true),
            std::vector<std::string>{prefix + "while a non-daemon thread that had to be joined still ran"});
  // No other thread state at all.
  EXPECT_EQ(not_last_thread(true, false, false),
            std::vector<std::string>{prefix + "with no other thread state alive"});
  // Fixed: a daemon thread's tstate (the documented case, test_daemon_threads_fatal_error) ...
  EXPECT_TRUE(not_last_thread(true, false, true).empty());
  // ... or a non-daemon thread started after the join returned.
  EXPECT_TRUE(not_last_thread(false, true, true).empty());
}


// ---- F2: who may run once the runtime is finalizing -----------------------------------------

TEST(FinalizingGilOracle, FiresWhenAThreadTakesAGilAfterSetFinalizingAndGoesOnRunning) {
  const Step init = ev(event(K::kPhase, 0, 0, 0, "init"));
  const Step set_finalizing = ev(event(K::kPhase, 0, 0, 0, "finalize:SetFinalizing"));
  const Step next_phase = ev(event(K::kPhase, 0, 0, 0, "finalize:DeleteExcept"));
  const Step t1_takes = ev(event(K::kGilTaken, 1, /*gil=*/1));
  const Step t1_drops = ev(event(K::kGilDropped, 1, 1));
  const Step t1_exits = ev(event(K::kThreadExitForced, 1, 0, 0, "finalize:DeleteExcept"));
  const std::string went_on =
      "finalizing-gil/finalizing_gil/a thread took a GIL during finalisation and went on running";
  // The violation: T1 (say, in an own-GIL subinterpreter) takes its GIL while the finalizing
  // thread T0 deletes thread states, and runs its next op — or reports any other event.
  EXPECT_EQ(feed_steps("finalizing_gil", {init, set_finalizing, next_phase, t1_takes,
                                          op_by(1, OpCode::kRunBytecode, 1, 1)}),
            std::vector<std::string>{went_on});
  EXPECT_EQ(feed_steps("finalizing_gil", {init, set_finalizing, next_phase, t1_takes,
                                          ev(event(K::kPendingRun, 1, 7, 1))}),
            std::vector<std::string>{went_on});
  // Fixed: the thread gives the GIL back and exits (bpo-36475) or hangs; the finalizing thread
  // itself runs on (finalize_subinterpreters swaps it into each subinterpreter, F3).
  EXPECT_TRUE(feed_steps("finalizing_gil", {init, set_finalizing, next_phase, t1_takes, t1_drops,
                                            t1_exits, op_by(0, OpCode::kYield)})
                  .empty());
  EXPECT_TRUE(feed_steps("finalizing_gil", {init, set_finalizing, next_phase, t1_takes,
                                            ev(event(K::kThreadHang, 1))})
                  .empty());
  EXPECT_TRUE(feed_steps("finalizing_gil", {init, set_finalizing, next_phase,
                                            ev(event(K::kGilTaken, 0, 1)), op_by(0, OpCode::kYield)})
                  .empty());
  // Not yet: a take at the SetFinalizing phase boundary itself (a scheduling point before the
  // flag's store); no longer: a new runtime lifetime.
  EXPECT_TRUE(feed_steps("finalizing_gil", {init, set_finalizing, t1_takes,
                                            op_by(1, OpCode::kRunBytecode, 1, 1)})
                  .empty());
  EXPECT_TRUE(feed_steps("finalizing_gil", {init, set_finalizing, next_phase,
                                            ev(event(K::kPhase, 0, 0, 0, "reinit")), t1_takes,
                                            op_by(1, OpCode::kRunBytecode, 1, 1)})
                  .empty());
}

TEST(FinalizingGilOracle, IsSilentOnThreadsTheRuntimeEndsAtFinalisation) {
  for (const char* s : {"daemon_in_take_gil_at_finalize", "daemon_waits_for_gil_during_finalize",
                        "daemon_wakes_after_finalize", "daemon_ends_own_gil_subinterp_at_finalize",
                        "finalize_with_subinterp_daemon", "c_thread_gilstate_ensure_at_finalize",
                        "reinit_with_released_daemon"}) {
    for (const char* v : {"3.8-fixed", "3.10-fixed", "3.12-fixed", "3.13-fixed"}) {
      EXPECT_EQ(first_signature(seed(s, v), 20), "") << s << " on " << v;
    }
  }
}

}  // namespace
}  // namespace ifz::harness

namespace ifz::harness {
namespace {

Op sync_op(OpCode c, int index) {
  Op op = make_op(c);
  op.variant = static_cast<uint8_t>(index);
  return op;
}

TEST(ProgramDeadlock, AWaitNoRunnableReleaserCanEndIsTheProgramsAndAStuckReleaserIsTheRuntimes) {
  const std::vector<Op> releases_l0 = {make_op(OpCode::kRunBytecode), sync_op(OpCode::kLockRelease, 0)};
  const std::vector<Op> sets_e1 = {sync_op(OpCode::kEventSet, 1)};
  const StuckThread waiter{"cond user L0 (lock user L0)", true, {}};
  // The thread that would release L0 is stuck inside the runtime: the runtime's deadlock.
  EXPECT_FALSE(is_program_deadlock({waiter, {"cond gil.cond (lock gil.mutex)", true, releases_l0}}));
  EXPECT_FALSE(is_program_deadlock({waiter, {"lock HEAD_LOCK", true, releases_l0}}));
  // Nobody has a release of L0 ahead (another object's set does not count): the program's.
  EXPECT_TRUE(is_program_deadlock({waiter, {"cond gil.cond (lock gil.mutex)", true, sets_e1}}));
  EXPECT_TRUE(is_program_deadlock({waiter}));
  // The releaser itself waits for the program (a join, another object, hung) or belongs to an
  // earlier runtime lifetime: the program's.
  EXPECT_TRUE(is_program_deadlock({waiter, {"join T1", true, releases_l0}}));
  EXPECT_TRUE(is_program_deadlock({waiter, {"hang: PyThread_hang_thread", true, releases_l0}}));
  EXPECT_TRUE(is_program_deadlock({waiter, {"cond gil.cond (lock gil.mutex)", false, releases_l0}}));
  // ABBA over two program locks.
  const std::vector<Op> releases_l1 = {sync_op(OpCode::kLockRelease, 1)};
  EXPECT_TRUE(is_program_deadlock({{"cond user L0 (lock user L0)", true, releases_l1},
                                   {"cond user L1 (lock user L1)", true, releases_l0}}));
  // No wait on a program object at all: never the program's.
  EXPECT_FALSE(is_program_deadlock({{"cond gil.cond (lock gil.mutex)", true, releases_l0},
                                    {"join T1", true, {}}}));
}

ExecResult run_sequential(const std::string& text) {
  std::string divergence;
  return replay_schedule(inline_program(text), Schedule{}, ExecOptions{}, &divergence);
}

TEST(ProgramDeadlock, TheDeadlockOracleLeavesTheProgramsOwnDeadlocksAlone) {
  // A thread waits for an event nobody sets; Py_FinalizeEx waits for that thread.
  const ExecResult nobody_sets = run_sequential(R"(interpfuzz-program 1
profile 3.12-fixed
thread T0:
  init
  start T1 threading
  finalize
thread T1:
  event_wait E0
)");
  EXPECT_EQ(nobody_sets.run.kind, platform::RunResult::Kind::kDeadlock);
  EXPECT_FALSE(nobody_sets.found()) << nobody_sets.findings[0].signature();
  // The main thread joins the thread waiting for the lock it would release after the join.
  const ExecResult join_first = run_sequential(R"(interpfuzz-program 1
profile 3.9-fixed
thread T0:
  init
  lock_acquire L2
  start T1 threading
  join T1
  lock_release L2
thread T1:
  lock_acquire L2
)");
  EXPECT_EQ(join_first.run.kind, platform::RunResult::Kind::kDeadlock);
  EXPECT_FALSE(join_first.found()) << join_first.findings[0].signature();
  // Without the join the release comes, and the timed wait of the other lock expires.
  const ExecResult ends = run_sequential(R"(interpfuzz-program 1
profile 3.9-fixed
thread T0:
  init
  lock_acquire L2
  lock_acquire L1
  start T1 threading
  lock_release L2
  join T1
  finalize
thread T1:
  lock_acquire L2
  lock_acquire L1 timeout
)");
  EXPECT_EQ(ends.run.kind, platform::RunResult::Kind::kExited);
  EXPECT_FALSE(ends.found());
}

}  // namespace
}  // namespace ifz::harness
