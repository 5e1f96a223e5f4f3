// SPDX-License-Identifier: Apache-2.0
// native_runtime_test.cc — the [EXP] rows and contracts that need no scripted interleaving,
// on the native platform: real pthreads, real locks, real fork(2), in a sandbox process per
// scenario (run_native). Under the tsan preset this is the race check of the runtime itself.
//
// Bodies run in the sandbox: they never use EXPECT_* (a forked gtest cannot report), they
// note() what they saw and the parent asserts on the notes, the runtime's events and how the
// sandbox ended. A process the body forks reports only through its exit status, which the body
// collects with waitpid() and notes.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <sstream>

#include "runtime/tests/contract_test.h"

#if defined(IFZ_TSAN)
// die_after_fork=0: sandboxes fork with threads alive and start threads in the child.
// halt_on_error=1: a race ends the sandbox with TSan's exit code (66) — a wrong outcome the
// test sees — instead of a report from a process that then _exits with a fine status.
// atexit_sleep_ms=0: TSan would otherwise sleep 1 s in every _exit that leaves threads behind.
extern "C" const char* __tsan_default_options() {
  return "die_after_fork=0:halt_on_error=1:atexit_sleep_ms=0";
}
#endif

namespace ifz::rt::testing {
namespace {

using platform::ForkFollow;
using platform::ThreadId;

// A grandchild orphaned by a sandbox the watchdog killed is re-parented to this process, so
// the test can kill and reap it (the child that deadlocked after fork, below).
const bool kSubreaper = prctl(PR_SET_CHILD_SUBREAPER, 1) == 0;

void note(Runtime& rt, const std::string& key, long value) {
  rt.platform().report("note " + key + " " + std::to_string(value) + "\n");
}

std::map<std::string, long> notes(const ScenarioResult& r) {
  std::map<std::string, long> out;
  std::istringstream in(r.run.report);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string tag, key;
    long value = 0;
    if (ls >> tag >> key >> value && tag == "note") out[key] = value;
  }
  return out;
}

// The exit status of a process the body forked: its exit code, or 128 + its signal.
long wait_status(pid_t pid) {
  int st = 0;
  if (waitpid(pid, &st, 0) != pid) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

bool hung(const ScenarioResult& r) { return r.run.kind == platform::RunResult::Kind::kHang; }

class NativeExp : public ProfileTest {};
// The fork-with-live-subinterpreter row costs a watchdog period per hanging profile: the
// ends of the hanging range (3.8, 3.12), the fatal one (3.13), 3.7 and a -fixed twin.
class NativeForkHang : public ProfileTest {};
class NativeContracts : public ProfileTest {};
// Scenarios whose version profiles are racy by design (a defect fires or not depending on
// real timing): the -fixed twins, and the versions without those defects.
class NativeRacy : public ProfileTest {};

const std::string kNotLast = "Fatal Python error: Py_EndInterpreter: not the last thread";
const std::string kRemaining =
    "Fatal Python error: PyInterpreterState_Delete: remaining subinterpreters";

// ---- [EXP] rows ---------------------------------------------------------------------------------

// os.fork in a legacy subinterpreter: 3.7 child runs | 3.8 RuntimeError | 3.9 child aborts |
// 3.10–3.13 child exits 1 ("not main interpreter").
TEST_P(NativeExp, ForkInLegacySubinterp) {
  auto r = run_native(GetParam(), [](Runtime& rt) {
    rt.initialize();
    rt.new_interpreter({}, nullptr);
    ForkOutcome f = rt.fork(ForkKind::kFork, ForkFollow::kChild);
    if (f.in_child) rt.exit_process(0);
    note(rt, "fork_ok", f.result.ok);
    if (f.result.ok) note(rt, "child_status", wait_status(f.child_pid));
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  auto n = notes(r);
  if (on({"3.8"})) {
    EXPECT_EQ(n["fork_ok"], 0);
    return;
  }
  ASSERT_EQ(n["fork_ok"], 1);
  EXPECT_EQ(n["child_status"], on({"3.7"}) ? 0 : on({"3.9"}) ? 134 : 1);
}

// subprocess in a legacy subinterpreter: without preexec_fn allowed everywhere; with it
// RuntimeError from 3.8.
TEST_P(NativeExp, SubprocessInSubinterp) {
  auto r = run_native(GetParam(), [](Runtime& rt) {
    rt.initialize();
    rt.new_interpreter({}, nullptr);
    ForkOutcome plain = rt.fork(ForkKind::kForkExec, ForkFollow::kParent);
    note(rt, "plain_ok", plain.result.ok);
    if (plain.result.ok) note(rt, "plain_child", wait_status(plain.child_pid));
    ForkOutcome pre = rt.fork(ForkKind::kForkPreexec, ForkFollow::kParent);
    if (pre.in_child) rt.exit_process(0);
    note(rt, "preexec_ok", pre.result.ok);
    if (pre.result.ok) note(rt, "preexec_child", wait_status(pre.child_pid));
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  auto n = notes(r);
  EXPECT_EQ(n["plain_ok"], 1);
  EXPECT_EQ(n["plain_child"], 0);
  EXPECT_EQ(n["preexec_ok"], on({"3.7"}) ? 1 : 0);
  if (on({"3.7"})) EXPECT_EQ(n["preexec_child"], 0);
}

// Fork from the main interpreter with a live subinterpreter: 3.8–3.12 the child deadlocks on
// HEAD_LOCK (bpo-39958) — natively a hang: the sandbox waits for its child, the watchdog
// (1500 ms) kills it; 3.13 the child dies in PyThreadState_Get (abort); -fixed and 3.7 the
// child carries on.
TEST_P(NativeForkHang, ForkFromMainWithLiveSubinterp) {
  auto r = run_native(GetParam(), [](Runtime& rt) {
    rt.initialize();
    ThreadState* main_t = rt.current();
    rt.new_interpreter({}, nullptr);
    rt.swap(main_t);
    ForkOutcome f = rt.fork(ForkKind::kFork, ForkFollow::kChild);
    if (f.in_child) {
      rt.run_bytecode(1);
      // 3.7 keeps every interpreter
      const size_t expected = rt.profile().fork_deletes_other_interps ? 1u : 2u;
      rt.exit_process(rt.interpreters().size() == expected ? 0 : 3);
    }
    note(rt, "child_pid", f.child_pid);
    note(rt, "child_status", wait_status(f.child_pid));
  }, {}, /*watchdog_ms=*/1500);
  auto n = notes(r);
  if (has(Defect::kBpo39958HeadLockReentry)) {
    EXPECT_TRUE(hung(r)) << r.summary();
    ASSERT_GT(n["child_pid"], 0);
    ASSERT_EQ(n.count("child_status"), 0u) << "the child never ended";
    kill(static_cast<pid_t>(n["child_pid"]), SIGKILL);
    if (kSubreaper) waitpid(static_cast<pid_t>(n["child_pid"]), nullptr, 0);
    return;
  }
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_EQ(n["child_status"], has(Defect::kGh101437ClearWithoutTstate) ? 134 : 0);
}

// Daemon / raw thread alive at end_interp: "not the last thread" up to 3.13.18; 3.14.10 and
// 3.15.2 return, the daemon hangs ([PROBE] end_interp_daemon).
TEST_P(NativeExp, DaemonOrRawThreadAliveAtEndInterp) {
  for (ThreadKind kind : {ThreadKind::kThreading, ThreadKind::kRaw}) {
    auto r = run_native(GetParam(), [kind](Runtime& rt) {
      rt.initialize();
      ThreadState* sub = rt.new_interpreter({}, nullptr);
      rt.start_thread(kind, /*daemon=*/true, [&rt] {
        for (;;) rt.block("sleep");
      });
      rt.end_interpreter(sub);
    });
    if (profile().end_interp_with_other_tstates == EndInterpOthers::kShutDownOthers) {
      EXPECT_TRUE(r.exited_normally()) << thread_kind_name(kind) << ": " << r.summary();
      continue;
    }
    EXPECT_TRUE(r.fatal(kNotLast)) << thread_kind_name(kind) << ": " << r.summary();
    EXPECT_EQ(r.run.kind, platform::RunResult::Kind::kAborted);
  }
}

// Non-daemon thread alive at end_interp: joined everywhere.
TEST_P(NativeExp, NonDaemonThreadAliveAtEndInterpIsJoined) {
  auto r = run_native(GetParam(), [](Runtime& rt) {
    rt.initialize();
    ThreadState* main_t = rt.current();
    ThreadState* sub = rt.new_interpreter({}, nullptr);
    std::atomic<bool> done{false};
    rt.start_thread(ThreadKind::kThreading, false, [&] {
      for (int i = 0; i < 20; ++i) rt.block("sleep");
      rt.run_bytecode(3);
      done = true;
    });
    rt.end_interpreter(sub);
    note(rt, "done_at_end_interp", done.load());
    rt.swap(main_t);
    rt.finalize();
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_EQ(notes(r)["done_at_end_interp"], 1);
}

// Pending-call capacity with a blocked main thread: 31 (3.7–3.12) | 32 (3.13), a C thread
// adding while the main thread holds the GIL; 300 for a 3.13 per-interpreter queue.
TEST_P(NativeExp, PendingCallCapacity) {
  auto r = run_native(GetParam(), [](Runtime& rt) {
    rt.initialize();
    std::atomic<int> accepted{0};
    const ThreadId c = rt.start_c_thread([&] {
      for (int i = 0; i < 400; ++i) accepted += rt.add_pending(PendingKind::kNoop) == 0;
    });
    rt.platform().join(c);
    note(rt, "accepted", accepted.load());
    ThreadState* main_t = rt.current();
    ThreadState* sub = rt.new_interpreter({}, nullptr);
    rt.swap(main_t);
    int per_interp = 0;
    for (int i = 0; i < 400; ++i) {
      per_interp += rt.add_pending(PendingKind::kNoop, sub->interp) == 0;
    }
    note(rt, "per_interp", per_interp);
    rt.exit_process(0);
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  auto n = notes(r);
  EXPECT_EQ(n["accepted"], on({"3.13", "3.14", "3.15"}) ? 32 : 31);
  // ≤3.8 have no per-interpreter queue: the target is ignored and the global one is full.
  EXPECT_EQ(n["per_interp"], on({"3.13", "3.14", "3.15"}) ? 300 : on({"3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15"}) ? 31 : 0);
}

// add_pending from a subinterpreter in a non-main thread, GIL held: 3.7/3.8 and 3.12/3.13 run
// it on the main thread in interp 0 | 3.9–3.11 lose it.
TEST_P(NativeExp, AddPendingFromSubinterpNonMainThread) {
  auto r = run_native(GetParam(), [](Runtime& rt) {
    rt.initialize();
    auto s = rt.start_thread(ThreadKind::kThreading, false, [&rt] {
      ThreadState* own = rt.current();
      ThreadState* sub = rt.new_interpreter({}, nullptr);
      rt.add_pending(PendingKind::kNoop);
      rt.run_bytecode(3);
      rt.end_interpreter(sub);
      rt.swap(own);
    });
    rt.join_thread(s.thread);
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
    EXPECT_EQ(r.all(EventKind::kPendingRun)[0]->thread, 0);
  }
}

// add_pending in a subinterpreter on the main thread, then end_interp: 3.7/3.8 run it in
// interp 0 | 3.9–3.11 lose it (3.11 runs it in interp 1 during end_interp only when the
// subinterpreter imported threading) | 3.12/3.13 run it in interp 0.
TEST_P(NativeExp, AddPendingInSubinterpOnMainThreadThenEndInterp) {
  auto r = run_native(GetParam(), [](Runtime& rt) {
    rt.initialize();
    ThreadState* main_t = rt.current();
    ThreadState* sub = rt.new_interpreter({}, nullptr);
    rt.add_pending(PendingKind::kNoop);
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

// add_pending after finalize: 3.7 / 3.13–3.15 return 0 | 3.8–3.12 segfault.
TEST_P(NativeExp, AddPendingAfterFinalize) {
  auto r = run_native(GetParam(), [](Runtime& rt) {
    rt.initialize();
    rt.finalize();
    note(rt, "rc", rt.add_pending(PendingKind::kNoop));
  });
  if (on({"3.7", "3.13", "3.14", "3.15"})) {
    ASSERT_TRUE(r.exited_normally()) << r.summary();
    EXPECT_EQ(notes(r)["rc"], 0);
  } else {
    EXPECT_TRUE(r.crashed()) << r.summary();
    EXPECT_EQ(r.run.kind, platform::RunResult::Kind::kAborted);
  }
}

// Finalize with a live subinterpreter: 3.7–3.12 fatal | 3.13 cleaned up.
TEST_P(NativeExp, FinalizeWithLiveSubinterp) {
  auto r = run_native(GetParam(), [](Runtime& rt) {
    rt.initialize();
    ThreadState* main_t = rt.current();
    rt.new_interpreter({}, nullptr);
    rt.swap(main_t);
    rt.finalize();
  });
  if (on({"3.7", "3.8", "3.9", "3.10", "3.11", "3.12"})) {
    EXPECT_TRUE(r.fatal(kRemaining)) << r.summary();
  } else {
    ASSERT_TRUE(r.exited_normally()) << r.summary();
    EXPECT_EQ(r.count(EventKind::kInterpDeleted), 2u);
  }
}

// The version columns of the matrix.
IFZ_INSTANTIATE_PROFILES(NativeExp, p.is_release());
IFZ_INSTANTIATE_PROFILES(NativeForkHang,
                         (p.is_release() && release_in(p.name, {"3.7", "3.8", "3.12", "3.13"})) ||
                             p.name == "3.10-fixed");

// ---- contracts on real threads --------------------------------------------------------------

// G1 on real threads: per GIL, the event stream (written by each thread as it takes and drops,
// the drop before the next take can happen) never shows two holders; every thread held it.
TEST_P(NativeContracts, G1_AtMostOneHolderPerGil) {
  auto r = run_native(GetParam(), [](Runtime& rt) {
    rt.initialize();
    auto worker = [&rt] {
      for (int i = 0; i < 30; ++i) {
        rt.run_bytecode(3);
        rt.block("io");
      }
    };
    std::vector<ThreadId> ts;
    for (int i = 0; i < 3; ++i) {
      ts.push_back(rt.start_thread(ThreadKind::kThreading, false, worker).thread);
    }
    ts.push_back(rt.start_thread(ThreadKind::kThreading, false, [&rt, worker] {
      ThreadState* own = rt.current();
      InterpConfig cfg;
      cfg.own_gil = true;
      ThreadState* sub = rt.new_interpreter(cfg, nullptr);
      worker();
      rt.end_interpreter(sub);
      rt.swap(own);
    }).thread);
    worker();
    for (ThreadId t : ts) rt.join_thread(t);
    rt.finalize();
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  std::map<int64_t, ThreadId> holder;
  std::set<ThreadId> takers;
  std::string violations;
  for (const Event& e : r.events) {
    if (e.kind == EventKind::kGilTaken) {
      if (holder.count(e.a) && holder[e.a] != platform::kNoThread) violations += "double take; ";
      holder[e.a] = e.thread;
      takers.insert(e.thread);
    } else if (e.kind == EventKind::kGilDropped) {
      if (holder[e.a] != e.thread) violations += "drop by non-holder; ";
      holder[e.a] = platform::kNoThread;
    }
  }
  EXPECT_EQ(violations, "");
  EXPECT_EQ(takers.size(), 5u);
}

// P1 on real threads: calls added by the main thread, by Python threads with and without the
// GIL and by C threads all run exactly once, with the GIL, in the main interpreter.
TEST_P(NativeContracts, P1_AcceptedCallRunsExactlyOnceInLiveInterpreter) {
  auto r = run_native(GetParam(), [](Runtime& rt) {
    rt.initialize();
    std::vector<ThreadId> ts;
    for (int i = 0; i < 2; ++i) {
      ts.push_back(rt.start_thread(ThreadKind::kThreading, false, [&rt] {
        for (int k = 0; k < 3; ++k) {
          rt.add_pending(PendingKind::kTouch);
          ThreadState* self = rt.save_thread();
          rt.add_pending(PendingKind::kNoop);
          rt.restore_thread(self);
          rt.run_bytecode(2);
        }
      }).thread);
      ts.push_back(rt.start_c_thread([&rt] {
        for (int k = 0; k < 3; ++k) rt.add_pending(PendingKind::kSlow);
      }));
    }
    for (int i = 0; i < 20; ++i) rt.run_bytecode(2);
    for (ThreadId t : ts) rt.join_thread(t);
    rt.run_bytecode(1);
    rt.finalize();
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  std::map<int64_t, int> runs;
  size_t accepted = 0;
  for (const Event& e : r.events) {
    if (e.kind == EventKind::kPendingAdded && e.c == 0) {
      ++accepted;
      runs[e.a];
    }
    if (e.kind == EventKind::kPendingRun) {
      EXPECT_EQ(e.c, 1) << "with the GIL";
      EXPECT_EQ(e.interp, 0);
      ++runs[e.a];
    }
  }
  EXPECT_EQ(accepted, 18u);
  for (const auto& [id, n] : runs) EXPECT_EQ(n, 1) << "call " << id;
}

// S1 on real threads: a daemon thread, a raw thread or a foreign C thread's tstate left in
// the subinterpreter makes Py_EndInterpreter fatal.
TEST_P(NativeContracts, S1_EndInterpreterWithAnotherThreadStateIsFatal) {
  auto r = run_native(GetParam(), [](Runtime& rt) {
    rt.initialize();
    ThreadState* sub = rt.new_interpreter({}, nullptr);
    Interpreter* interp = sub->interp;
    const ThreadId c = rt.start_c_thread([&rt, interp] { rt.thread_state_new(interp); });
    rt.platform().join(c);
    rt.end_interpreter(sub);
  });
  if (profile().end_interp_with_other_tstates == EndInterpOthers::kShutDownOthers) {
    EXPECT_TRUE(r.exited_normally()) << r.summary();  // 3.14.1+/3.15 (PR gh-128640)
  } else {
    EXPECT_TRUE(r.fatal(kNotLast)) << r.summary();
  }
}

// F1 + F2 on real threads: finalisation joins the non-daemon thread first; the daemon, which
// keeps going in and out of the GIL, is not waited for and never runs Python once
// finalisation started: from 3.9 it exits (the join returns), 3.7/3.8 it parks in take_gil.
TEST_P(NativeRacy, F1F2_FinalizeJoinsNonDaemonAndStopsDaemon) {
  auto r = run_native(GetParam(), [](Runtime& rt) {
    rt.initialize();
    std::atomic<long> daemon_laps{0};
    std::atomic<bool> joined_done{false}, started{false};
    const ThreadId d = rt.start_thread(ThreadKind::kThreading, true, [&] {
      started = true;
      for (;;) {
        rt.block("io");
        rt.run_bytecode(1);
        ++daemon_laps;
      }
    }).thread;
    rt.start_thread(ThreadKind::kThreading, false, [&] {
      for (int i = 0; i < 20; ++i) rt.block("io");
      joined_done = true;
    });
    while (!started) rt.block("let the daemon start");  // its bootstrap is not the subject here
    rt.finalize();
    note(rt, "joined_done", joined_done.load());
    const long laps = daemon_laps.load();
    // 3.13.8+/3.14+ hang it (gh-87135), except the -fixed twin of 3.13, which lacks
    // hang_without_tstate_refcount (design-notes §14, §15).
    const Profile& pr = rt.profile();
    const bool exits =
        pr.daemon_after_finalize == DaemonAfterFinalize::kExitBeforeAndDuring ||
        (pr.daemon_after_finalize == DaemonAfterFinalize::kHang && !pr.tstate_refcounted &&
         !pr.has(Defect::kHangWithoutTstateRefcount));
    if (exits) {
      rt.platform().join(d);
      note(rt, "daemon_exited", 1);
    } else {
      for (int i = 0; i < 1000; ++i) sched_yield();
    }
    note(rt, "laps_after_finalize", daemon_laps.load() - laps);
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  auto n = notes(r);
  EXPECT_EQ(n["joined_done"], 1);
  EXPECT_EQ(n["laps_after_finalize"], 0);
  const bool exits = profile().daemon_after_finalize == DaemonAfterFinalize::kExitBeforeAndDuring ||
                     (profile().daemon_after_finalize == DaemonAfterFinalize::kHang &&
                      !profile().tstate_refcounted &&
                      !has(Defect::kHangWithoutTstateRefcount));
  if (exits) EXPECT_EQ(n["daemon_exited"], 1);
}

// K1 on real threads: fork from a non-main thread while others run; the child has only the
// forking thread, which is now the main thread, runs a pending call and finalizes.
TEST_P(NativeContracts, K1_OnlyTheForkingThreadSurvivesInTheChild) {
  auto r = run_native(GetParam(), [](Runtime& rt) {
    rt.initialize();
    std::atomic<bool> stop{false};
    const ThreadId busy = rt.start_thread(ThreadKind::kThreading, true, [&] {
      while (!stop) rt.block("io");
    }).thread;
    (void)busy;
    long child_status = -1;
    const ThreadId t = rt.start_thread(ThreadKind::kThreading, false, [&] {
      ThreadState* self = rt.current();
      ForkOutcome f = rt.fork(ForkKind::kFork, ForkFollow::kChild);
      if (f.in_child) {
        const auto ts = rt.thread_states(rt.main_interp());
        bool ok = rt.main_thread() == rt.platform().current() && ts.size() == 1 && ts[0] == self;
        ok = ok && rt.add_pending(PendingKind::kTouch) == 0;
        rt.run_bytecode(1);
        rt.finalize();
        rt.exit_process(ok ? 0 : 3);
      }
      ThreadState* me = rt.save_thread();
      child_status = wait_status(f.child_pid);
      rt.restore_thread(me);
    }).thread;
    rt.join_thread(t);
    stop = true;
    note(rt, "child_status", child_status);
    rt.exit_process(0);
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  if (has(Defect::kForkChildStaleMainTstate)) {
    // 3.13–3.15: the child's Py_FinalizeEx swaps to the stale runtime->main_tstate and crashes.
    EXPECT_NE(notes(r)["child_status"], 0);
  } else {
    EXPECT_EQ(notes(r)["child_status"], 0);
  }
}

// K4 on real fork(2): the refusal matrix from the parent's side (the child of an allowed
// fork exits at once).
TEST_P(NativeContracts, K4_ForkRefusalMatrix) {
  auto r = run_native(GetParam(), [](Runtime& rt) {
    rt.initialize();
    ThreadState* main_t = rt.current();
    InterpConfig iso;
    iso.isolated = true;
    iso.own_gil = true;
    iso.allow_fork = iso.allow_exec = iso.allow_daemon_threads = false;
    const std::pair<const char*, InterpConfig> subs[] = {{"legacy", {}}, {"isolated", iso}};
    for (const auto& [name, cfg] : subs) {
      ThreadState* sub = rt.new_interpreter(cfg, nullptr);
      for (ForkKind k : {ForkKind::kFork, ForkKind::kForkExec, ForkKind::kForkPreexec}) {
        ForkOutcome f = rt.fork(k, ForkFollow::kParent);
        if (f.in_child) rt.exit_process(0);
        if (f.result.ok) wait_status(f.child_pid);
        note(rt, std::string(name) + "_" + fork_kind_name(k), f.result.ok);
      }
      rt.end_interpreter(sub);
      rt.swap(main_t);
    }
    rt.exit_process(0);
  });
  auto n = notes(r);
  if (!r.exited_normally()) {
    // 3.9+ releases: the legacy os.fork child dies, but it is the parent that is sandboxed.
    FAIL() << r.summary();
  }
  const bool legacy_fork = on({"3.7"}) || has(Defect::kBpo40453ForkSubinterpChildFatal);
  EXPECT_EQ(n["legacy_fork"], legacy_fork);
  EXPECT_EQ(n["legacy_exec"], 1);
  EXPECT_EQ(n["legacy_preexec"], on({"3.7"}));
  EXPECT_EQ(n["isolated_fork"], on({"3.7", "3.8"}) ? legacy_fork : false);
  EXPECT_EQ(n["isolated_exec"], on({"3.7", "3.8"}) || on({"3.12", "3.13", "3.14", "3.15"}));
  EXPECT_EQ(n["isolated_preexec"], on({"3.7"}));
}

// F4 on real threads, with a non-daemon thread of the subinterpreter joined first (the
// subinterpreter is ended by finalisation in 3.13, fatal before).
TEST_P(NativeContracts, F4_FinalizeWithALiveSubinterpreter) {
  auto r = run_native(GetParam(), [](Runtime& rt) {
    rt.initialize();
    ThreadState* main_t = rt.current();
    rt.new_interpreter({}, nullptr);
    rt.swap(main_t);
    rt.finalize();
  });
  if (profile().finalize_with_subinterps == FinalizeWithSubinterps::kFatal) {
    EXPECT_TRUE(r.fatal(kRemaining)) << r.summary();
  } else {
    EXPECT_TRUE(r.exited_normally()) << r.summary();
  }
}

// P6 on real threads: a C thread adds after Py_FinalizeEx returned. -fixed: refused; version
// profiles as the [EXP] row (crash 3.8–3.12, accepted 3.7/3.13).
TEST_P(NativeContracts, P6_AddAfterFinalizeFromACThread) {
  auto r = run_native(GetParam(), [](Runtime& rt) {
    rt.initialize();
    rt.finalize();
    std::atomic<int> rc{-2};
    const ThreadId c = rt.start_c_thread([&] { rc = rt.add_pending(PendingKind::kTouch); });
    rt.platform().join(c);
    note(rt, "rc", rc.load());
  });
  if (!profile().is_release()) {
    ASSERT_TRUE(r.exited_normally()) << r.summary();
    EXPECT_EQ(notes(r)["rc"], -1);
  } else if (on({"3.7", "3.13", "3.14", "3.15"})) {
    ASSERT_TRUE(r.exited_normally()) << r.summary();
    EXPECT_EQ(notes(r)["rc"], 0);
  } else {
    EXPECT_TRUE(r.crashed()) << r.summary();
  }
}

// F5 on real threads: a thread and a fork requested from an atexit callback. 3.12: both
// refused; otherwise allowed, and neither the late thread (it may run before SetFinalizing,
// then exits or, 3.7/3.8, parks) nor the forked child (it carries on with finalisation)
// crashes.
TEST_P(NativeRacy, F5_ThreadAndForkFromAtexit) {
  auto r = run_native(GetParam(), [](Runtime& rt) {
    rt.initialize();
    pid_t child = 0;
    rt.atexit_register([&] {
      auto s = rt.start_thread(ThreadKind::kThreading, false, [&rt] { rt.run_bytecode(2); });
      note(rt, "thread_ok", s.result.ok);
      ForkOutcome f = rt.fork(ForkKind::kFork, ForkFollow::kParent);
      if (!f.in_child) {
        note(rt, "fork_ok", f.result.ok);
        child = f.child_pid;
      }
    });
    rt.finalize();
    if (child > 0) note(rt, "child_status", wait_status(child));  // the child ends here too
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  auto n = notes(r);
  const bool allowed = !on({"3.12"});
  EXPECT_EQ(n["thread_ok"], allowed);
  EXPECT_EQ(n["fork_ok"], allowed);
  if (allowed) EXPECT_EQ(n["child_status"], 0);
}

// F6 on real threads (the version profiles crash intermittently, as CPython does [EXP]):
// daemons of the previous runtime never resume in the re-initialised one.
TEST_P(NativeRacy, F6_ReinitWithDaemonsOfThePreviousRuntime) {
  auto r = run_native(GetParam(), [](Runtime& rt) {
    rt.initialize();
    std::atomic<long> laps{0};
    std::atomic<bool> second{false};
    std::atomic<long> laps_in_second{0};
    for (int i = 0; i < 3; ++i) {
      rt.start_thread(ThreadKind::kThreading, true, [&] {
        for (;;) {
          rt.block("io");
          rt.run_bytecode(1);
          ++laps;
          if (second) ++laps_in_second;
        }
      });
    }
    rt.finalize();
    rt.initialize();
    second = true;
    for (int i = 0; i < 50; ++i) {
      rt.block("io");
      rt.run_bytecode(2);
    }
    rt.finalize();
    note(rt, "laps_in_second", laps_in_second.load());
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_EQ(notes(r)["laps_in_second"], 0);
  EXPECT_EQ(r.count(EventKind::kFinalizeReturned), 2u);
}

IFZ_INSTANTIATE_PROFILES(NativeContracts, true);
// -fixed only: on the version profiles a daemon's take_gil races finalisation into gh-110052 /
// gh-96387 / gh-108987, and every version has reinit_with_stale_daemons; the simulated
// contract tests pin those down with scripted schedules.
IFZ_INSTANTIATE_PROFILES(NativeRacy, !p.is_release());

}  // namespace
}  // namespace ifz::rt::testing
