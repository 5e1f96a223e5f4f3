// SPDX-License-Identifier: Apache-2.0
// exp_matrix_test.cc — every row of the [EXP] matrix of cpython-notes §4, one test per row,
// checked for each version column 3.7 … 3.13 on that version's profile (with its defects):
// the model must reproduce what real CPython releases did, bugs included. Native-platform
// twins live in native_runtime_test.cc.
#include <gtest/gtest.h>

#include "runtime/tests/scenario.h"

namespace ifz::rt::testing {
namespace {

using platform::ForkFollow;

class ExpMatrix : public ::testing::TestWithParam<std::string> {
 protected:
  // The matrix's columns are CPython releases ([EXP] observations), deliberately not the
  // profile's knobs: it is the reference the knob table (runtime/profiles.def) is checked against.
  bool on(std::initializer_list<std::string_view> releases) const {
    return release_in(GetParam(), releases);
  }
};

const std::string kNotMain =
    "Fatal Python error: _PyInterpreterState_DeleteExceptMain: not main interpreter";
const std::string kNotLast = "Fatal Python error: Py_EndInterpreter: not the last thread";
const std::string kRemaining =
    "Fatal Python error: PyInterpreterState_Delete: remaining subinterpreters";

// Row: os.fork in legacy subinterp.
// 3.7 ok | 3.8 RuntimeError | 3.9 child fatal (abort) | 3.10–3.13 child fatal (exit 1).
TEST_P(ExpMatrix, ForkInLegacySubinterp) {
  bool refused = false;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ThreadState* sub = rt.new_interpreter({}, nullptr);
    ASSERT_NE(sub, nullptr);
    {  // no heap-owning local may outlive the coroutine's abandonment at exit_process
      ForkOutcome f = rt.fork(ForkKind::kFork, ForkFollow::kChild);
      refused = !f.result.ok;
      if (refused) {
        EXPECT_EQ(f.result.error, "RuntimeError: fork not supported for subinterpreters");
      }
    }
    rt.exit_process(0);
  });
  if (on({"3.7"})) {
    EXPECT_FALSE(refused);
    EXPECT_TRUE(r.exited_normally()) << r.summary();
  } else if (on({"3.8"})) {
    EXPECT_TRUE(refused);
    EXPECT_TRUE(r.exited_normally()) << r.summary();
  } else {
    EXPECT_TRUE(r.fatal(kNotMain)) << r.summary();
    EXPECT_EQ(r.outcome.exit_code, on({"3.9"}) ? 134 : 1);
  }
}

// Row: subprocess without preexec_fn in subinterp: ok everywhere (fork + exec, no Python in
// the child).
TEST_P(ExpMatrix, SubprocessWithoutPreexecInSubinterp) {
  for (ForkFollow follow : {ForkFollow::kParent, ForkFollow::kChild}) {
    bool ok = false;
    auto r = run_sim(GetParam(), [&](Runtime& rt) {
      rt.initialize();
      rt.new_interpreter({}, nullptr);
      ok = rt.fork(ForkKind::kForkExec, follow).result.ok;
    });
    if (follow == ForkFollow::kParent) EXPECT_TRUE(ok);  // the child execs inside fork()
    EXPECT_TRUE(r.exited_normally()) << r.summary();
  }
}

// Row: subprocess with preexec_fn in subinterp: 3.7 ok | 3.8+ RuntimeError.
TEST_P(ExpMatrix, SubprocessWithPreexecInSubinterp) {
  ForkOutcome f;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    rt.new_interpreter({}, nullptr);
    f = rt.fork(ForkKind::kForkPreexec, ForkFollow::kParent);
  });
  EXPECT_TRUE(r.exited_normally()) << r.summary();
  if (on({"3.7"})) {
    EXPECT_TRUE(f.result.ok);
  } else {
    EXPECT_EQ(f.result.error, "RuntimeError: preexec_fn not supported within subinterpreters");
  }
}

// Row: fork from main with a live subinterp: 3.7 n/a (child fine) | 3.8–3.12 child hangs
// (bpo-39958 self-deadlock on HEAD_LOCK) | 3.13 child fatal (gh-101437) | 3.14.10, 3.15.2 child
// SIGSEGV ([PROBE] fork_with_live_subinterp, docs/versions-3.13-3.15.md §2.10).
TEST_P(ExpMatrix, ForkFromMainWithLiveSubinterp) {
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ThreadState* main_t = rt.current();
    rt.new_interpreter({}, nullptr);
    rt.swap(main_t);
    ForkOutcome f = rt.fork(ForkKind::kFork, ForkFollow::kChild);
    ASSERT_TRUE(f.in_child);
    rt.exit_process(0);
  });
  if (on({"3.7"})) {
    EXPECT_TRUE(r.exited_normally()) << r.summary();
  } else if (on({"3.7", "3.8", "3.9", "3.10", "3.11", "3.12"})) {
    ASSERT_TRUE(r.deadlocked()) << r.summary();
    ASSERT_EQ(r.run.blocked.size(), 1u);
    EXPECT_EQ(r.run.blocked[0].waits_on, "lock HEAD_LOCK");
    EXPECT_EQ(r.run.blocked[0].owner, r.run.blocked[0].thread) << "self-deadlock";
  } else if (on({"3.14", "3.15"})) {
    EXPECT_TRUE(r.crashed()) << r.summary();
  } else {
    EXPECT_EQ(r.outcome.kind, Outcome::Kind::kFatal) << r.summary();
    EXPECT_NE(r.outcome.message.find("PyThreadState_Get"), std::string::npos);
    EXPECT_NE(r.outcome.message.find("the current Python thread state is NULL"),
              std::string::npos);
  }
}

// Row: daemon / raw thread alive at end_interp: fatal "not the last thread" up to 3.13.18 |
// 3.14.10, 3.15.2 Py_EndInterpreter returns, the daemon parks for good ([PROBE]
// end_interp_daemon; gh-128639, PR gh-128640).
TEST_P(ExpMatrix, DaemonOrRawThreadAliveAtEndInterp) {
  for (ThreadKind kind : {ThreadKind::kThreading, ThreadKind::kRaw}) {
    bool returned = false;
    auto r = run_sim(GetParam(), [&](Runtime& rt) {
      rt.initialize();
      ThreadState* main_t = rt.current();
      ThreadState* sub = rt.new_interpreter({}, nullptr);
      auto s = rt.start_thread(kind, /*daemon=*/true, [&] { rt.block("sleep"); });
      ASSERT_TRUE(s.result.ok) << s.result.error;
      rt.end_interpreter(sub);
      returned = true;
      rt.swap(main_t);
      rt.run_bytecode(5);  // the daemon gets the GIL's chances to wake
    });
    if (on({"3.14", "3.15"})) {
      EXPECT_TRUE(returned) << thread_kind_name(kind) << ": " << r.summary();
      EXPECT_TRUE(r.exited_normally()) << thread_kind_name(kind) << ": " << r.summary();
      EXPECT_EQ(r.count(EventKind::kTstateShutDown), 1u) << r.summary();
    } else {
      EXPECT_TRUE(r.fatal(kNotLast)) << thread_kind_name(kind) << ": " << r.summary();
    }
  }
}

// Row: Py_EndInterpreter with a second, unattached thread state of the interpreter: fatal "not
// the last thread" up to 3.13.18 | 3.14.10, 3.15.2 returns ([PROBE] end_interp_second_tstate).
TEST_P(ExpMatrix, EndInterpWithSecondTstate) {
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ThreadState* sub = rt.new_interpreter({}, nullptr);
    ASSERT_NE(rt.thread_state_new(sub->interp), nullptr);
    rt.end_interpreter(sub);
  });
  if (on({"3.14", "3.15"})) {
    EXPECT_TRUE(r.exited_normally()) << r.summary();
  } else {
    EXPECT_TRUE(r.fatal(kNotLast)) << r.summary();
  }
}

// Row: finalize with a leftover subinterpreter whose non-daemon thread is blocked: 3.13.0,
// 3.13.18 hang (its thread hangs or exits at the GIL after SetFinalizing, and
// Py_EndInterpreter joins it) | 3.14.10, 3.15.2: the thread finishes first, finalize returns
// ([PROBE] finalize_subinterp_nondaemon; gh-128639). 3.7–3.12: fatal "remaining
// subinterpreters" (F4).
TEST_P(ExpMatrix, FinalizeWithSubinterpNonDaemonThread) {
  bool finished = false;
  auto r = finalize_with_subinterp_nondaemon_thread(GetParam(), {}, &finished);
  if (on({"3.7", "3.8", "3.9", "3.10", "3.11", "3.12"})) {
    EXPECT_TRUE(r.fatal(kRemaining)) << r.summary();
  } else if (on({"3.13"})) {
    EXPECT_TRUE(r.deadlocked()) << r.summary();
    EXPECT_FALSE(finished);
  } else {
    EXPECT_TRUE(r.exited_normally()) << r.summary();
    EXPECT_TRUE(finished);
    EXPECT_EQ(r.count(EventKind::kWarning), 1u) << "RuntimeWarning: remaining subinterpreters";
  }
}

// Row: non-daemon thread alive at end_interp: joined everywhere.
TEST_P(ExpMatrix, NonDaemonThreadAliveAtEndInterpIsJoined) {
  bool thread_done = false;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ThreadState* main_t = rt.current();
    ThreadState* sub = rt.new_interpreter({}, nullptr);
    rt.start_thread(ThreadKind::kThreading, /*daemon=*/false, [&] {
      rt.block("sleep");
      rt.run_bytecode(2);
      thread_done = true;
    });
    rt.end_interpreter(sub);
    EXPECT_TRUE(thread_done) << "end_interp returned before joining the thread";
    rt.swap(main_t);
    rt.finalize();
  });
  EXPECT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_TRUE(thread_done);
}

// Row: pending-call capacity with a blocked main thread: 31 (3.7–3.12) | 32 (3.13–3.15); and 300
// for a 3.13 per-interpreter queue.
TEST_P(ExpMatrix, PendingCallCapacity) {
  int accepted = 0;
  int accepted_interp = 0;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    for (int i = 0; i < 400; ++i) accepted += rt.add_pending(PendingKind::kNoop) == 0;
    if (on({"3.13", "3.14", "3.15"})) {
      ThreadState* main_t = rt.current();
      ThreadState* sub = rt.new_interpreter({}, nullptr);
      rt.swap(main_t);
      for (int i = 0; i < 400; ++i) {
        accepted_interp += rt.add_pending(PendingKind::kNoop, sub->interp) == 0;
      }
    }
    rt.exit_process(0);
  });
  EXPECT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_EQ(accepted, on({"3.13", "3.14", "3.15"}) ? 32 : 31);
  if (on({"3.13", "3.14", "3.15"})) EXPECT_EQ(accepted_interp, 300);
}

// Row: add_pending from a subinterp in a non-main thread, GIL held:
// 3.7/3.8 runs in main thread, interp 0 | 3.9–3.11 lost | 3.12/3.13 runs main thread, interp 0.
TEST_P(ExpMatrix, AddPendingFromSubinterpNonMainThread) {
  int rc = -2;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    auto s = rt.start_thread(ThreadKind::kThreading, false, [&] {
      ThreadState* own = rt.current();
      ThreadState* sub = rt.new_interpreter({}, nullptr);
      rc = rt.add_pending(PendingKind::kNoop);
      rt.run_bytecode(3);
      rt.end_interpreter(sub);
      rt.swap(own);
    });
    rt.join_thread(s.thread);
    rt.run_bytecode(3);
    rt.finalize();
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  ASSERT_EQ(rc, 0);
  const auto ran = r.pending_ran_in(0);
  if (on({"3.9", "3.10", "3.11"})) {
    EXPECT_TRUE(ran.empty()) << "3.9–3.11 lose it";
  } else {
    ASSERT_EQ(ran.size(), 1u);
    EXPECT_EQ(ran[0], 0);
    EXPECT_EQ(r.all(EventKind::kPendingRun)[0]->thread, 0) << "on the main thread";
  }
}

// Row: add_pending in a subinterp on the main thread, then end_interp:
// 3.7/3.8 runs interp 0 | 3.9–3.11 lost | 3.12/3.13 runs interp 0. (3.11 runs it in interp 1
// during end_interp only when the subinterpreter imported threading: threading._shutdown() is
// the Python code Py_EndInterpreter runs; conform on Debian 3.11.2, seed
// end_interp_runs_threading_shutdown.ifz.)
TEST_P(ExpMatrix, AddPendingInSubinterpOnMainThreadThenEndInterp) {
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ThreadState* main_t = rt.current();
    ThreadState* sub = rt.new_interpreter({}, nullptr);
    ASSERT_EQ(rt.add_pending(PendingKind::kNoop), 0);
    rt.end_interpreter(sub);
    rt.swap(main_t);
    rt.run_bytecode(3);
    rt.finalize();
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  const auto ran = r.pending_ran_in(0);
  if (on({"3.9", "3.10", "3.11"})) {
    EXPECT_TRUE(ran.empty());
  } else {
    ASSERT_EQ(ran.size(), 1u);
    EXPECT_EQ(ran[0], 0);
  }
}

// Row: add_pending after finalize: 3.7 returns 0 | 3.8–3.12 segfault | 3.13 returns 0 (never
// runs).
TEST_P(ExpMatrix, AddPendingAfterFinalize) {
  int rc = -2;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    rt.finalize();
    rc = rt.add_pending(PendingKind::kNoop);
  });
  // 3.13.18, 3.14.10, 3.15.2 as 3.13.0 ([PROBE] add_pending_after_finalize rc 0).
  if (on({"3.7", "3.13", "3.14", "3.15"})) {
    EXPECT_TRUE(r.exited_normally()) << r.summary();
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(r.count(EventKind::kPendingRun), 0u);
  } else {
    EXPECT_TRUE(r.crashed()) << r.summary();
  }
}

// Row: a C thread calling add_pending while the main thread finalizes (its adds land after
// finalize, the schedule the 6/6 crashing runs had): 3.7 ok, 31 accepted, never run |
// 3.8–3.12 segfault | 3.13 ok, calls dropped.
TEST_P(ExpMatrix, CThreadAddPendingRacingFinalize) {
  int accepted = 0;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    platform::ThreadId c = rt.start_c_thread([&] {
      for (int i = 0; i < 40; ++i) accepted += rt.add_pending(PendingKind::kNoop) == 0;
    });
    rt.finalize();
    rt.platform().join(c);
  });
  // 3.13.18, 3.14.10, 3.15.2: no crash in 8 runs each ([PROBE] add_pending_racing_finalize).
  if (on({"3.7", "3.13", "3.14", "3.15"})) {
    EXPECT_TRUE(r.exited_normally()) << r.summary();
    EXPECT_EQ(r.count(EventKind::kPendingRun), 0u);
    EXPECT_EQ(accepted, on({"3.7"}) ? 31 : 32);
  } else {
    EXPECT_TRUE(r.crashed()) << r.summary();
  }
}

// Row: daemon wakes after finalize: 3.7/3.8 stays parked (in take_gil) | 3.9–3.13.7 exits |
// 3.13.8+ (3.13.18), 3.14, 3.15 hang for good in PyThread_hang_thread ([PROBE]
// daemon_after_finalize: alive 300 ms later; gh-87135).
// Schedule: the daemon (thread 1) runs until it sits in its "sleep" syscall, the main thread
// finalizes, then the daemon's syscall returns.
TEST_P(ExpMatrix, DaemonWakesAfterFinalize) {
  bool resumed = false, parked = false, released = false;
  FnChooser chooser([&](auto runnable, platform::ThreadId current, const auto& where) {
    if (current == 1 && where.kind == platform::Point::kSyscall) parked = true;
    const bool daemon_may_run = !parked || released;
    const bool daemon_waits = current == 1 && where.kind == platform::Point::kWait;
    return index_of(runnable, daemon_may_run && !daemon_waits ? 1 : 0);
  });
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    platform::ThreadId t = rt.start_thread(ThreadKind::kThreading, true, [&] {
      rt.block("sleep");  // parked in a syscall, GIL released, until after finalize
      resumed = true;
    }).thread;
    rt.block("let the daemon reach its syscall");
    ASSERT_TRUE(parked);
    rt.finalize();
    released = true;
    for (int i = 0; i < 50; ++i) rt.platform().point({platform::Point::kYield, "after", nullptr});
    if (on({"3.7", "3.8"})) {
      EXPECT_TRUE(rt.platform().alive(t)) << "3.7/3.8: still parked in take_gil";
    } else if (on({"3.13", "3.14", "3.15"})) {
      EXPECT_TRUE(rt.platform().alive(t)) << "3.13.18+: hung in PyThread_hang_thread";
    } else {
      EXPECT_FALSE(rt.platform().alive(t)) << "3.9+: exited";
    }
  }, &chooser);
  EXPECT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_FALSE(resumed) << "the daemon must never run Python after finalize";
  EXPECT_EQ(r.count(EventKind::kThreadExitForced), on({"3.7", "3.8", "3.13", "3.14", "3.15"}) ? 0u : 1u);
  EXPECT_EQ(r.count(EventKind::kThreadHang), on({"3.13", "3.14", "3.15"}) ? 1u : 0u);
}

// Row: re-initialisation with daemon threads of the old runtime. [EXP]: 3.7 fatal/hang,
// 3.8 6/6 segv, 3.9–3.13 intermittent segv. The crashing schedule: the daemon's syscall
// returns after Py_Initialize ran again and the new main thread released the GIL.
TEST_P(ExpMatrix, ReinitWithDaemonsOfOldRuntime) {
  bool parked = false, released = false;
  FnChooser chooser([&](auto runnable, platform::ThreadId current, const auto& where) {
    if (current == 1 && where.kind == platform::Point::kSyscall) parked = true;
    const bool daemon_may_run = !parked || released;
    const bool daemon_waits = current == 1 && where.kind == platform::Point::kWait;
    return index_of(runnable, daemon_may_run && !daemon_waits ? 1 : 0);
  });
  auto scenario = [&](Runtime& rt) {
    rt.initialize();
    rt.start_thread(ThreadKind::kThreading, true, [&] { rt.block("sleep"); rt.run_bytecode(1); });
    rt.block("let the daemon reach its syscall");
    rt.finalize();
    rt.initialize();
    released = true;
    rt.block("new runtime does I/O");
    rt.run_bytecode(5);
    rt.finalize();
  };
  auto r = run_sim(GetParam(), scenario, &chooser);
  if (on({"3.14", "3.15"})) {
    // 3.14.10, 3.15.2: 0/8 crashes ([PROBE] reinit_with_daemon): the daemon's own, still
    // allocated tstate says "shutting down" (gh-124878), so it hangs.
    EXPECT_TRUE(r.exited_normally()) << r.summary();
  } else {
    EXPECT_FALSE(r.exited_normally()) << r.summary();
    if (!on({"3.7"})) EXPECT_TRUE(r.crashed()) << r.summary();
  }
  // The same schedule on the -fixed twin: the stale daemon never resumes.
  parked = released = false;
  auto fixed = run_sim(GetParam() + "-fixed", scenario, &chooser);
  EXPECT_TRUE(fixed.exited_normally()) << fixed.summary();
  EXPECT_EQ(fixed.count(EventKind::kFinalizeReturned), 2u) << "the new runtime finalized too";
}

// Row: finalize with a live subinterp (C API): 3.7–3.12 fatal | 3.13 cleaned up.
TEST_P(ExpMatrix, FinalizeWithLiveSubinterp) {
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ThreadState* main_t = rt.current();
    rt.new_interpreter({}, nullptr);
    rt.swap(main_t);
    rt.finalize();
  });
  if (on({"3.7", "3.8", "3.9", "3.10", "3.11", "3.12"})) {
    EXPECT_TRUE(r.fatal(kRemaining)) << r.summary();
  } else {
    EXPECT_TRUE(r.exited_normally()) << r.summary();
    EXPECT_EQ(r.count(EventKind::kInterpDeleted), 2u);
  }
}

// Row: thread / fork from atexit: ok ≤3.11 | RuntimeError both 3.12 | ok 3.13.
TEST_P(ExpMatrix, ThreadAndForkFromAtexit) {
  ApiResult thread_result, fork_result;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    rt.atexit_register([&] {
      thread_result = rt.start_thread(ThreadKind::kThreading, false, [] {}).result;
      fork_result = rt.fork(ForkKind::kFork, ForkFollow::kParent).result;
    });
    rt.finalize();
  });
  EXPECT_TRUE(r.exited_normally()) << r.summary();
  if (on({"3.12"})) {
    EXPECT_EQ(thread_result.error, "RuntimeError: can't create new thread at interpreter shutdown");
    EXPECT_EQ(fork_result.error, "RuntimeError: can't fork at interpreter shutdown");
  } else {
    EXPECT_TRUE(thread_result.ok) << thread_result.error;
    EXPECT_TRUE(fork_result.ok) << fork_result.error;
  }
}

INSTANTIATE_TEST_SUITE_P(Versions, ExpMatrix, ::testing::ValuesIn(version_profiles()),
                         [](const auto& info) {
                           std::string n = "v" + info.param;
                           for (char& c : n) c = (c == '.' || c == '-') ? '_' : c;
                           return n;
                         });

}  // namespace
}  // namespace ifz::rt::testing
