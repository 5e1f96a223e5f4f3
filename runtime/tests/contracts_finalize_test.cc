// SPDX-License-Identifier: Apache-2.0
// contracts_finalize_test.cc — the finalisation and daemon-thread contracts of cpython-notes
// §4 (F0–F6), one named test per contract and scenario, on every profile. Threads are parked
// and woken at chosen finalisation phases by a Director, never by timing.
#include <gtest/gtest.h>

#include "runtime/tests/contract_test.h"

namespace ifz::rt::testing {
namespace {

using platform::Point;
using platform::ThreadId;

class FinalizeContracts : public ProfileTest {
 protected:
  // 3.13.8+/3.14+ (gh-87135) park a thread that must stop during finalisation for good; the
  // profile without refcounted thread states does so only with hang_without_tstate_refcount
  // (3.13; its -fixed twin lets the thread end, design-notes §14, §15).
  bool hangs() const {
    return profile().daemon_after_finalize == DaemonAfterFinalize::kHang &&
           (profile().tstate_refcounted || has(Defect::kHangWithoutTstateRefcount));
  }
};

// Py_FinalizeEx's phases for a profile (cpython-notes F0; pylifecycle.c 3.9.2 / 3.11.2 /
// 3.13.5), as the runtime names them.
std::vector<std::string> expected_finalize_phases(const Profile& p) {
  std::vector<std::string> out = {phase_name(Phase::kFinalizeWaitForThreadShutdown),
                                  phase_name(Phase::kFinalizeFinishPendingCalls), phase_name(Phase::kFinalizeAtexit),
                                  phase_name(Phase::kFinalizeSubinterpretersEarly)};
  if (p.finalize_stop_the_world) out.push_back(phase_name(Phase::kFinalizeStopTheWorld));
  out.push_back(phase_name(Phase::kFinalizeSetFinalizing));
  if (p.finalize_stop_the_world) out.push_back(phase_name(Phase::kFinalizeStartTheWorld));
  if (p.finalize_deletes_other_tstates) out.push_back(phase_name(Phase::kFinalizeDeleteExcept));
  for (const char* s : {phase_name(Phase::kFinalizeFlushStdFiles), phase_name(Phase::kFinalizeSignalsFini),
                        phase_name(Phase::kFinalizeModules)}) {
    out.push_back(s);
  }
  if (p.finalize_with_subinterps == FinalizeWithSubinterps::kAutoEnd) {
    out.push_back(phase_name(Phase::kFinalizeSubinterpreters));
  }
  for (const char* s : {phase_name(Phase::kFinalizeImportFini), phase_name(Phase::kFinalizeInterpClear), phase_name(Phase::kFinalizeInterpDelete),
                        phase_name(Phase::kFinalizeRuntimeFini), phase_name(Phase::kFinalized)}) {
    out.push_back(s);
  }
  return out;
}

std::vector<std::string> finalize_phases_of(const std::vector<std::string>& all) {
  std::vector<std::string> out;
  for (const std::string& p : all) {
    if (p.rfind("finalize", 0) == 0) out.push_back(p);
  }
  return out;
}

// Index of the first event matching `pred`, or events.size().
template <typename Pred>
size_t first_event(const ScenarioResult& r, Pred pred) {
  for (size_t i = 0; i < r.events.size(); ++i) {
    if (pred(r.events[i])) return i;
  }
  return r.events.size();
}

size_t phase_index(const ScenarioResult& r, const std::string& phase) {
  return first_event(r, [&](const Event& e) {
    return e.kind == EventKind::kPhase && e.text == phase;
  });
}

// A Director that lets thread `t` run until it sits in a blocking syscall, then holds it
// there (runnable: "the syscall has not returned yet").
void park_in_syscall(Director& d, ThreadId t) {
  auto prev = d.on_point;
  d.on_point = [&d, t, prev](ThreadId current, const platform::PointInfo& where) {
    if (current == t && where.kind == Point::kSyscall) d.hold(t);
    if (prev) prev(current, where);
  };
}

// The daemon body used below: sleeps in a syscall (GIL released), then would run Python.
std::function<void()> sleeper(Runtime& rt, bool* resumed) {
  return [&rt, resumed] {
    rt.block("sleep");
    *resumed = true;  // past END_ALLOW_THREADS: the thread runs with its tstate again
    rt.run_bytecode(1);
  };
}

// ---- F0 ---------------------------------------------------------------------------------------

// F0: Py_FinalizeEx runs its phases in the version's order, and every boundary is a
// preemption point (a daemon parked in a syscall is runnable at each). "finalizing" is set
// and "initialized" cleared at SetFinalizing, not before; the daemon's tstate is deleted at
// DeleteExcept from 3.9 (bpo-19466), with the interpreter before that.
TEST_P(FinalizeContracts, F0_FinalizeRunsItsPhasesInOrder) {
  Director d;
  const ThreadId kD = 1;
  d.order = {kD};
  park_in_syscall(d, kD);
  Runtime* runtime = nullptr;
  std::string flag_errors;
  bool set_finalizing_seen = false;
  auto prev = d.on_point;
  d.on_point = [&](ThreadId current, const platform::PointInfo& where) {
    prev(current, where);
    if (where.kind != Point::kPhase || runtime == nullptr) return;
    const std::string_view label = where.label;
    if (label == phase_name(Phase::kFinalizeSetFinalizing)) {
      set_finalizing_seen = true;
      if (runtime->finalizing()) flag_errors += "finalizing before SetFinalizing; ";
      if (!runtime->initialized()) flag_errors += "uninitialized before SetFinalizing; ";
    } else if (set_finalizing_seen && label.rfind("finalize", 0) == 0) {
      if (!runtime->finalizing()) flag_errors += std::string(label) + ": not finalizing; ";
      if (runtime->initialized()) flag_errors += std::string(label) + ": still initialized; ";
    }
  };
  bool resumed = false;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    runtime = &rt;
    rt.initialize();
    rt.start_thread(ThreadKind::kThreading, /*daemon=*/true, sleeper(rt, &resumed));
    rt.block("let the daemon reach its syscall");
    rt.finalize();
  }, &d);
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_FALSE(resumed);
  const auto expected = expected_finalize_phases(profile());
  EXPECT_EQ(finalize_phases_of(r.phases()), expected);
  EXPECT_EQ(finalize_phases_of(d.phases()), expected) << "each boundary is a choice point";
  EXPECT_EQ(flag_errors, "");
  // The daemon's thread state (id 1: the second one created) is freed at DeleteExcept (3.9+)
  // or with its interpreter.
  const size_t deleted = first_event(r, [](const Event& e) {
    return e.kind == EventKind::kTstateDeleted && e.tstate == 1;
  });
  ASSERT_LT(deleted, r.events.size());
  if (profile().finalize_deletes_other_tstates) {
    EXPECT_GT(deleted, phase_index(r, phase_name(Phase::kFinalizeDeleteExcept)));
    EXPECT_LT(deleted, phase_index(r, phase_name(Phase::kFinalizeFlushStdFiles)));
  } else {
    EXPECT_GT(deleted, phase_index(r, phase_name(Phase::kFinalizeInterpDelete)));
  }
}

// ---- F1 ---------------------------------------------------------------------------------------

// F1: Py_FinalizeEx joins non-daemon threading threads before anything else; daemon threads
// and raw _thread threads (daemon or not: they count as daemon) are not waited for.
TEST_P(FinalizeContracts, F1_FinalizeJoinsNonDaemonThreadsButNotDaemonOrRaw) {
  Director d;
  const ThreadId kRaw = 1, kDaemon = 2;
  d.order = {kRaw, kDaemon};
  park_in_syscall(d, kRaw);
  park_in_syscall(d, kDaemon);
  bool raw_resumed = false, daemon_resumed = false, joined_done = false;
  bool raw_alive = false, daemon_alive = false;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    rt.start_thread(ThreadKind::kRaw, /*daemon=*/false, sleeper(rt, &raw_resumed));
    rt.start_thread(ThreadKind::kThreading, /*daemon=*/true, sleeper(rt, &daemon_resumed));
    rt.block("let them reach their syscalls");
    rt.start_thread(ThreadKind::kThreading, /*daemon=*/false, [&] {
      rt.block("io");
      rt.run_bytecode(2);
      rt.block("io");
      joined_done = true;
    });
    rt.finalize();
    raw_alive = rt.platform().alive(kRaw);
    daemon_alive = rt.platform().alive(kDaemon);
  }, &d);
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_TRUE(joined_done);
  const size_t finished =
      first_event(r, [](const Event& e) { return e.kind == EventKind::kThreadFinished; });
  EXPECT_LT(finished, phase_index(r, phase_name(Phase::kFinalizeFinishPendingCalls))) << "joined first";
  EXPECT_TRUE(raw_alive) << "raw threads are not waited for";
  EXPECT_TRUE(daemon_alive) << "daemon threads are not waited for";
  EXPECT_FALSE(raw_resumed);
  EXPECT_FALSE(daemon_resumed);
}

// ---- F2 ---------------------------------------------------------------------------------------

// F2, entry by Py_END_ALLOW_THREADS: a daemon parked in a syscall wakes after SetFinalizing —
// just before finalisation's stdout flush (3.9+: its tstate already freed by DeleteExcept),
// or after Py_FinalizeEx returned. It must never touch its tstate or interpreter, nor run
// Python again. 3.9–3.13 exit before take_gil (bpo-39877). 3.7/3.8 check only once they hold
// the GIL: woken before the flush, the daemon wins the GIL the flush hands over and exits;
// woken after finalisation, it parks in take_gil for good ([EXP] alive 300 ms later).
TEST_P(FinalizeContracts, F2_DaemonWakingAfterSetFinalizingExitsOrParksUntouched) {
  for (const std::string& wake_at :
       {std::string(phase_name(Phase::kFinalizeFlushStdFiles)), std::string("returned")}) {
    SCOPED_TRACE("woken at " + wake_at);
    Director d;
    const ThreadId kD = 1;
    d.order = {kD};
    park_in_syscall(d, kD);
    auto prev = d.on_point;
    d.on_point = [&](ThreadId current, const platform::PointInfo& where) {
      prev(current, where);
      if (where.kind == Point::kPhase && wake_at == where.label) d.release(kD);
    };
    bool resumed = false, alive_at_end = true;
    auto r = run_sim(GetParam(), [&](Runtime& rt) {
      rt.initialize();
      rt.start_thread(ThreadKind::kThreading, /*daemon=*/true, sleeper(rt, &resumed));
      rt.block("let the daemon reach its syscall");
      rt.finalize();
      if (wake_at == "returned") d.release(kD);
      for (int i = 0; i < 30; ++i) rt.platform().point({Point::kYield, "after finalize", nullptr});
      alive_at_end = rt.platform().alive(kD);
    }, &d);
    ASSERT_TRUE(r.exited_normally()) << r.summary();
    EXPECT_FALSE(resumed) << "never runs Python after SetFinalizing";
    const bool parks = profile().daemon_after_finalize == DaemonAfterFinalize::kCheckAfterTakeGil &&
                       wake_at == "returned";
    EXPECT_EQ(alive_at_end, parks || hangs());
    EXPECT_EQ(r.count(EventKind::kThreadExitForced), parks || hangs() ? 0u : 1u);
    EXPECT_EQ(r.count(EventKind::kThreadHang), hangs() ? 1u : 0u);
  }
}

// F2, entry while already inside take_gil: a daemon's bootstrap waits for the GIL while the
// main thread finalizes; its timed wait fires after Py_FinalizeEx returned (thread state
// freed). 3.9+: the must-exit check comes before any use of the tstate or interpreter in the
// timed-out branch, so it exits untouched ([EXP] 3.11.2 and its debug build, session 4).
// 3.7/3.8: keeps waiting. (gh-110052 is the window *before* the wait: defects_test.)
TEST_P(FinalizeContracts, F2_DaemonWaitingInTakeGilWhenFinalizationEnds) {
  Director d;
  const ThreadId kD = 1;
  d.order = {kD};
  d.hold_at_first(kD, Point::kWait);  // parked in take_gil until finalisation is over
  bool alive_at_end = true;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    rt.start_thread(ThreadKind::kThreading, /*daemon=*/true, [&rt] { rt.run_bytecode(1); });
    rt.finalize();
    d.release(kD);  // preferred from now on: its timed waits fire
    for (int i = 0; i < 30; ++i) rt.platform().point({Point::kYield, "after finalize", nullptr});
    alive_at_end = rt.platform().alive(kD);
  }, &d);
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_EQ(r.count(EventKind::kThreadFinished), 0u);
  const bool parks = profile().daemon_after_finalize == DaemonAfterFinalize::kCheckAfterTakeGil;
  EXPECT_EQ(alive_at_end, parks || hangs());
  EXPECT_EQ(r.count(EventKind::kThreadExitForced), parks || hangs() ? 0u : 1u);
}

// F2, entry by PyGILState_Ensure: a C thread with no thread state calls it during
// finalisation (after SetFinalizing, before the interpreter is freed). It gets a new tstate
// in the main interpreter but must not run: 3.9+ exit it in take_gil; 3.7/3.8 let it win the
// GIL the stdout flush hands over and exit it then.
TEST_P(FinalizeContracts, F2_GilStateEnsureDuringFinalizationNeverRuns) {
  Director d;
  const ThreadId kC = 1;
  d.order = {kC};
  d.hold(kC);
  d.on_point = [&](ThreadId, const platform::PointInfo& where) {
    if (where.kind == Point::kPhase &&
        std::string_view(where.label) == phase_name(Phase::kFinalizeFlushStdFiles)) {
      d.release(kC);
    }
  };
  bool ran = false;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    rt.start_c_thread([&] {
      rt.gilstate_ensure();
      ran = true;
    });
    rt.finalize();
  }, &d);
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_FALSE(ran);
  EXPECT_EQ(stopped_threads(r), 1u);
  EXPECT_EQ(r.count(EventKind::kFinalizeReturned), 1u);
}

// ---- F3 ---------------------------------------------------------------------------------------

// F3 (gh-109793): the finalizing thread keeps running when, after SetFinalizing, it hands the
// GIL over and takes it back (the stdout flush, with a daemon waiting for the GIL that wins
// it and exits), and in 3.13 when it swaps into each remaining subinterpreter to end it.
TEST_P(FinalizeContracts, F3_FinalizingThreadKeepsRunningThroughGilHandoffsAndSwaps) {
  Director d;
  const ThreadId kD = 1;
  d.order = {kD};
  d.hold_at_first(kD, Point::kWait);  // its bootstrap waits in take_gil ...
  d.on_point = [&](ThreadId current, const platform::PointInfo& where) {
    if (where.kind == Point::kPhase &&
        std::string_view(where.label) == phase_name(Phase::kFinalizeFlushStdFiles)) {
      d.release(kD);  // ... until the flush hands the GIL over
    }
  };
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ThreadState* main_t = rt.current();
    rt.start_thread(ThreadKind::kThreading, /*daemon=*/true, [&rt] { rt.run_bytecode(5); });
    if (profile().finalize_with_subinterps == FinalizeWithSubinterps::kAutoEnd) {
      rt.new_interpreter({}, nullptr);
      rt.swap(main_t);
    }
    rt.finalize();
  }, &d);
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_EQ(r.count(EventKind::kFinalizeReturned), 1u);
  ASSERT_EQ(stopped_threads(r), 1u) << "only the daemon exited (or hung)";
  const EventKind stop = hangs() ? EventKind::kThreadHang : EventKind::kThreadExitForced;
  ASSERT_EQ(r.count(stop), 1u);
  EXPECT_EQ(r.all(stop)[0]->thread, kD);
  EXPECT_EQ(r.count(EventKind::kThreadFinished), 0u);
  if (profile().finalize_with_subinterps == FinalizeWithSubinterps::kAutoEnd) {
    EXPECT_EQ(r.count(EventKind::kInterpDeleted), 2u);
  }
}

// ---- F4 ---------------------------------------------------------------------------------------

// F4: finalising with a live subinterpreter. ≤3.12: fatal "PyInterpreterState_Delete:
// remaining subinterpreters" ([EXP] 3.7–3.12.1). 3.13 (gh-113433): finalize_subinterpreters()
// ends it after SetFinalizing; the main interpreter is deleted last.
TEST_P(FinalizeContracts, F4_FinalizeWithALiveSubinterpreter) {
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ThreadState* main_t = rt.current();
    rt.new_interpreter({}, nullptr);
    rt.swap(main_t);
    rt.finalize();
  });
  if (profile().finalize_with_subinterps == FinalizeWithSubinterps::kFatal) {
    EXPECT_TRUE(r.fatal("Fatal Python error: PyInterpreterState_Delete: remaining subinterpreters"))
        << r.summary();
    return;
  }
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  const auto deleted = r.all(EventKind::kInterpDeleted);
  ASSERT_EQ(deleted.size(), 2u);
  EXPECT_EQ(deleted[0]->interp, 1) << "the subinterpreter first";
  EXPECT_EQ(deleted[1]->interp, 0) << "the main interpreter outlives it";
  const size_t sub_deleted = first_event(r, [](const Event& e) {
    return e.kind == EventKind::kInterpDeleted && e.interp == 1;
  });
  // 3.14.1+ (PR gh-128640): before SetFinalizing; ≤3.13 after finalize_modules.
  if (profile().finalize_subinterps_early) {
    EXPECT_LT(sub_deleted, phase_index(r, phase_name(Phase::kFinalizeSetFinalizing)));
  } else {
    EXPECT_GT(sub_deleted, phase_index(r, phase_name(Phase::kFinalizeSetFinalizing)));
  }
}

// F4: the same with a daemon thread still in the subinterpreter. ≤3.12: the same fatal error;
// 3.13 only ends subinterpreters with a single thread state: "Py_EndInterpreter: not the last
// thread" ([EXP] 3.13.0).
TEST_P(FinalizeContracts, F4_FinalizeWithASubinterpreterThatHasADaemon) {
  Director d;
  const ThreadId kD = 1;
  d.order = {kD};
  park_in_syscall(d, kD);
  bool resumed = false;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ThreadState* main_t = rt.current();
    ThreadState* sub = rt.new_interpreter({}, nullptr);
    rt.start_thread(ThreadKind::kThreading, /*daemon=*/true, sleeper(rt, &resumed));
    rt.block("let the daemon reach its syscall");
    EXPECT_EQ(rt.current(), sub);
    rt.swap(main_t);
    rt.finalize();
  }, &d);
  EXPECT_FALSE(resumed);
  if (profile().finalize_with_subinterps == FinalizeWithSubinterps::kFatal) {
    EXPECT_TRUE(r.fatal("Fatal Python error: PyInterpreterState_Delete: remaining subinterpreters"))
        << r.summary();
  } else if (has(Defect::kFinalizeFreesForeignTstate)) {
    // 3.13.0 deletes the daemon's (head) tstate and ends the interpreter with a fresh one: the
    // original tstate is still there.
    EXPECT_TRUE(r.fatal("Fatal Python error: Py_EndInterpreter: not the last thread"))
        << r.summary();
  } else {
    // 3.14.1+/3.15 too (PR gh-128640, [PROBE 3.14.10, 3.15.2] finalize_subinterp_daemon: ok).
    // The fixed design (the direction of gh-128640): the finalizing thread deletes the leftover
    // subinterpreter's daemon tstates as it does its own interpreter's, and ends it.
    EXPECT_TRUE(r.exited_normally()) << r.summary();
  }
}

// ---- F5 ---------------------------------------------------------------------------------------

// F5: threads and fork requested at shutdown, from an atexit callback. ≤3.11 allowed (racy),
// 3.12 refused with RuntimeError (gh-104690), 3.13 allowed again until non-daemon threads are
// joined and SetFinalizing ran (gh-113964) — atexit runs before that ([EXP] all).
// An allowed thread must never run Python after finalisation: it starts running only after
// Py_FinalizeEx returned (its tstate freed). ≤3.11 (defect gh108987_thread_run_after_finalize):
// t_bootstrap writes to the freed tstate before any check → crash. -fixed and 3.13: it exits
// (or, 3.7/3.8, parks) untouched.
TEST_P(FinalizeContracts, F5_ThreadsAndForkRequestedFromAtexit) {
  Director d;
  ApiResult thread_result, fork_result;
  ThreadId late = platform::kNoThread;
  bool late_ran = false;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    rt.atexit_register([&] {
      auto s = rt.start_thread(ThreadKind::kThreading, false, [&] { late_ran = true; });
      thread_result = s.result;
      late = s.thread;
      if (late != platform::kNoThread) d.hold(late);
      fork_result = rt.fork(ForkKind::kFork, platform::ForkFollow::kParent).result;
    });
    rt.finalize();
    if (late != platform::kNoThread) {
      d.release(late);
      d.order = {late};
    }
    for (int i = 0; i < 30; ++i) rt.platform().point({Point::kYield, "after finalize", nullptr});
  }, &d);
  if (profile().threads_at_shutdown == ThreadsAtShutdown::kRefuseInAtexit) {
    EXPECT_EQ(thread_result.error, "RuntimeError: can't create new thread at interpreter shutdown");
    EXPECT_EQ(fork_result.error, "RuntimeError: can't fork at interpreter shutdown");
    EXPECT_TRUE(r.exited_normally()) << r.summary();
    return;
  }
  EXPECT_TRUE(thread_result.ok) << thread_result.error;
  EXPECT_TRUE(fork_result.ok) << fork_result.error;
  if (has(Defect::kGh108987ThreadRunAfterFinalize)) {
    EXPECT_TRUE(r.crashed()) << r.summary();
    EXPECT_GT(r.triggered(Defect::kGh108987ThreadRunAfterFinalize), 0u);
    return;
  }
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  // 3.15 (gh-136003): the pre-finalisation loop joins the thread an atexit callback started.
  EXPECT_EQ(late_ran, profile().prefinalize_loop);
}

// F5: a thread started while Py_EndInterpreter joins the subinterpreter's non-daemon threads
// (interp->finalizing set). ≤3.11 allowed; 3.12 refused (the interpreter is finalizing);
// 3.13 allowed (refusal only once SetFinalizing ran). Checked against CPython 3.7.16–3.13.0
// with _testcapi.run_in_subinterp.
TEST_P(FinalizeContracts, F5_ThreadStartedWhileEndInterpreterJoins) {
  ApiResult started;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ThreadState* main_t = rt.current();
    ThreadState* sub = rt.new_interpreter({}, nullptr);
    rt.start_thread(ThreadKind::kThreading, false, [&] {
      rt.block("sleep");
      auto s = rt.start_thread(ThreadKind::kThreading, false, [&rt] { rt.run_bytecode(1); });
      started = s.result;
      if (s.result.ok) rt.join_thread(s.thread);
    });
    rt.end_interpreter(sub);
    rt.swap(main_t);
    rt.finalize();
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  if (profile().threads_at_shutdown == ThreadsAtShutdown::kRefuseInAtexit) {
    EXPECT_EQ(started.error, "RuntimeError: can't create new thread at interpreter shutdown");
  } else {
    EXPECT_TRUE(started.ok) << started.error;
  }
}

// ---- F6 ---------------------------------------------------------------------------------------

// F6: a re-initialised runtime must not be reachable by threads of the previous one. A daemon
// sleeps across Py_FinalizeEx + Py_Initialize and wakes once the new main thread released the
// GIL. Version profiles (defect reinit_with_stale_daemons): re-initialisation cleared
// `finalizing`, the daemon passes the must-exit check and resumes with its freed tstate
// ([EXP] 3.7 fatal/hang, 3.8 6/6 segv, 3.9–3.13 intermittent segv). -fixed: it never resumes.
TEST_P(FinalizeContracts, F6_ReinitIsNotReachableByThreadsOfThePreviousRuntime) {
  Director d;
  const ThreadId kD = 1;
  d.order = {kD};
  park_in_syscall(d, kD);
  bool resumed = false;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    rt.start_thread(ThreadKind::kThreading, /*daemon=*/true, sleeper(rt, &resumed));
    rt.block("let the daemon reach its syscall");
    rt.finalize();
    rt.initialize();
    d.release(kD);
    rt.block("the new runtime does I/O");
    rt.run_bytecode(5);
    rt.finalize();
  }, &d);
  if (has(Defect::kReinitWithStaleDaemons)) {
    EXPECT_FALSE(r.exited_normally()) << r.summary();
    EXPECT_GT(r.triggered(Defect::kReinitWithStaleDaemons), 0u);
    if (on({"3.8", "3.9", "3.10", "3.11", "3.12", "3.13"})) EXPECT_TRUE(r.crashed()) << r.summary();
    return;
  }
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_FALSE(resumed);
  EXPECT_EQ(r.count(EventKind::kFinalizeReturned), 2u);
  EXPECT_EQ(stopped_threads(r), 1u);
}

IFZ_INSTANTIATE_PROFILES(FinalizeContracts, true);

}  // namespace
}  // namespace ifz::rt::testing
