// SPDX-License-Identifier: Apache-2.0
// contracts_fork_test.cc — the fork contracts of cpython-notes §4 (K1–K4), one named test per
// contract and scenario, on every profile they apply to. Simulated fork follows the child
// (DESIGN D2): the other coroutines vanish un-unwound, the locks they hold stay held.
#include <gtest/gtest.h>

#include "runtime/tests/contract_test.h"

namespace ifz::rt::testing {
namespace {

using platform::ForkFollow;
using platform::Point;
using platform::ThreadId;

class ForkContracts : public ProfileTest {};
// K3: only the main interpreter survives a fork from 3.8 (_PyInterpreterState_DeleteExceptMain;
// 3.7's child keeps every interpreter).
class ForkContractsFrom38 : public ProfileTest {};

const std::string kNotMain =
    "Fatal Python error: _PyInterpreterState_DeleteExceptMain: not main interpreter";

// "Every runtime lock is free or held by the forking thread" (K2), over the runtime's own
// list of its locks.
std::string locks_not_free(const Runtime& rt) {
  std::string out;
  const ThreadId self = rt.platform().current();
  for (const platform::Mutex* m : rt.runtime_locks()) {
    if (m->locked() && m->owner() != self) {
      out += std::string(m->name()) + " held by T" + std::to_string(m->owner()) + "; ";
    }
  }
  return out;
}

// ---- K1 ---------------------------------------------------------------------------------------

// K1: only the forking thread survives in the child; every other thread state of its
// interpreter is deleted and the child's main thread is the forking thread, which therefore
// runs Py_AddPendingCall calls and can finalize. Fork from a non-main thread T2 while the main
// thread waits in join and T1 sleeps in a syscall.
TEST_P(ForkContracts, K1_OnlyTheForkingThreadSurvivesInTheChild) {
  Director d;
  const ThreadId kT1 = 1, kT2 = 2;
  d.order = {kT1, kT2};
  d.on_point = [&](ThreadId current, const platform::PointInfo& where) {
    if (current == kT1 && where.kind == Point::kSyscall) d.hold(kT1);
  };
  bool in_child = false;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    rt.start_thread(ThreadKind::kThreading, /*daemon=*/true, [&rt] { rt.block("sleep"); });
    const ThreadId t2 = rt.start_thread(ThreadKind::kThreading, false, [&] {
      ThreadState* self = rt.current();
      ForkOutcome f = rt.fork(ForkKind::kFork, ForkFollow::kChild);
      ASSERT_TRUE(f.in_child);
      in_child = true;
      EXPECT_EQ(rt.main_thread(), kT2);
      {  // not alive across exit_process (the abandoned coroutine would leak it)
        const auto tstates = rt.thread_states(rt.main_interp());
        ASSERT_EQ(tstates.size(), 1u);
        EXPECT_EQ(tstates[0], self);
      }
      EXPECT_FALSE(rt.platform().alive(0));
      EXPECT_FALSE(rt.platform().alive(kT1));
      ASSERT_EQ(rt.add_pending(PendingKind::kTouch), 0);
      rt.run_bytecode(2);
      rt.finalize();
      rt.exit_process(0);
    }).thread;
    rt.join_thread(t2);
  }, &d);
  ASSERT_TRUE(in_child);
  if (has(Defect::kForkChildStaleMainTstate)) {
    // 3.13–3.15: runtime->main_tstate still names the deleted main tstate; Py_FinalizeEx's
    // resolve_final_tstate swaps to it on the child's main thread (conform 3.13.18, 3.14.10,
    // 3.15.2, seed c_thread_fork_child_finalizes).
    ASSERT_EQ(r.outcome.kind, Outcome::Kind::kCrash) << r.summary();
    EXPECT_NE(r.outcome.message.find("resolve_final_tstate"), std::string::npos) << r.summary();
    return;
  }
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  const auto runs = r.all(EventKind::kPendingRun);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]->thread, kT2) << "the child's main thread runs the pending call";
  EXPECT_EQ(r.count(EventKind::kFinalizeReturned), 1u);
}

// ---- K2 ---------------------------------------------------------------------------------------

// K2: a runtime lock another thread holds at fork time is either held by the forking thread
// across fork (import lock all versions, HEAD_LOCK 3.13) or re-initialised in the child before
// first use. A thread T sits inside a critical section of each lock in turn while the main
// thread forks; the child checks every runtime lock and then uses the runtime (HEAD_LOCK:
// interpreters, threads). 3.8–3.11 (defect gh112275_afterfork_order): the child deletes the
// other thread states under HEAD_LOCK before re-initialising it → deadlock on the lock T held.
TEST_P(ForkContracts, K2_RuntimeLocksAreFreeOrOursInTheChild) {
  for (const RuntimeLockInfo& row : all_runtime_locks()) {
    const RuntimeLock lock = row.id;
    SCOPED_TRACE(runtime_lock_name(lock));
    Director d;
    const ThreadId kT = 1;
    d.order = {kT};
    d.on_point = [&](ThreadId current, const platform::PointInfo& where) {
      if (current == kT && std::string_view(where.label) == "critical section") d.hold(kT);
    };
    std::string child_locks = "not reached";
    auto r = run_sim(GetParam(), [&](Runtime& rt) {
      rt.initialize();
      rt.start_thread(ThreadKind::kThreading, /*daemon=*/true, [&rt, lock] {
        rt.hold_lock(lock, /*points=*/20);
      });
      rt.block("let T enter its critical section");
      ForkOutcome f = rt.fork(ForkKind::kFork, ForkFollow::kChild);
      ASSERT_TRUE(f.in_child);
      child_locks = locks_not_free(rt);
      ThreadState* main_t = rt.current();
      ThreadState* sub = rt.new_interpreter({}, nullptr);
      rt.end_interpreter(sub);
      rt.swap(main_t);
      auto s = rt.start_thread(ThreadKind::kThreading, false, [&rt] { rt.run_bytecode(1); });
      rt.join_thread(s.thread);
      rt.finalize();
      rt.exit_process(0);
    }, &d);
    if (lock == RuntimeLock::kHead && has(Defect::kGh112275AfterForkOrder)) {
      ASSERT_TRUE(r.deadlocked()) << r.summary();
      ASSERT_EQ(r.run.blocked.size(), 1u);
      EXPECT_EQ(r.run.blocked[0].waits_on, "lock HEAD_LOCK");
      EXPECT_EQ(r.run.blocked[0].owner, kT) << "held by a thread that vanished in the fork";
      EXPECT_GT(r.triggered(Defect::kGh112275AfterForkOrder), 0u);
      continue;
    }
    ASSERT_TRUE(r.exited_normally()) << r.summary();
    EXPECT_EQ(child_locks, "");
  }
}

// ---- K3 ---------------------------------------------------------------------------------------

// K3: after a fork only the main interpreter survives, and deleting the others neither
// deadlocks nor needs a current thread state. Fork from the main interpreter with a live
// subinterpreter. 3.8–3.12 (defect bpo39958_headlock_reentry): the child self-deadlocks on
// HEAD_LOCK ([EXP] child hangs). 3.13 (defect gh101437_clear_without_tstate): the child dies
// in PyThreadState_Get ([EXP] child fatal).
TEST_P(ForkContractsFrom38, K3_OnlyTheMainInterpreterSurvivesInTheChild) {
  std::vector<Interpreter*> child_interps;
  Interpreter* main_interp = nullptr;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ThreadState* main_t = rt.current();
    main_interp = main_t->interp;
    rt.new_interpreter({}, nullptr);
    rt.swap(main_t);
    ForkOutcome f = rt.fork(ForkKind::kFork, ForkFollow::kChild);
    ASSERT_TRUE(f.in_child);
    child_interps = rt.interpreters();
    rt.run_bytecode(1);
    rt.finalize();
    rt.exit_process(0);
  });
  if (has(Defect::kBpo39958HeadLockReentry)) {
    ASSERT_TRUE(r.deadlocked()) << r.summary();
    EXPECT_EQ(r.run.blocked[0].waits_on, "lock HEAD_LOCK");
    EXPECT_EQ(r.run.blocked[0].owner, r.run.blocked[0].thread) << "self-deadlock";
    return;
  }
  if (has(Defect::kGh101437ClearWithoutTstate)) {
    if (profile().fork_child_clear_null_tstate_segv) {  // 3.14.10, 3.15.2 [PROBE]
      EXPECT_TRUE(r.crashed()) << r.summary();
      return;
    }
    ASSERT_EQ(r.outcome.kind, Outcome::Kind::kFatal) << r.summary();
    EXPECT_NE(r.outcome.message.find("PyThreadState_Get"), std::string::npos);
    return;
  }
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  ASSERT_EQ(child_interps.size(), 1u);
  EXPECT_EQ(child_interps[0], main_interp);
  const auto deleted = r.all(EventKind::kInterpDeleted);
  ASSERT_GE(deleted.size(), 1u);
  EXPECT_EQ(deleted[0]->interp, 1) << "the subinterpreter, deleted in the child";
}

// K3: a fork whose forking thread is not in the main interpreter cannot leave a child that
// runs on: the -fixed profiles (and 3.8) refuse the fork (K4); 3.9–3.13 (defect
// bpo40453_fork_subinterp_child_fatal) let it happen and the child dies in
// _PyInterpreterState_DeleteExceptMain ([EXP]: abort on 3.9, exit status 1 from 3.10).
TEST_P(ForkContractsFrom38, K3_ForkFromASubinterpreterNeverLeavesAChildRunning) {
  bool child_ran = false;
  ForkOutcome f;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    rt.new_interpreter({}, nullptr);
    f = rt.fork(ForkKind::kFork, ForkFollow::kChild);
    if (f.in_child) child_ran = true;
    rt.exit_process(0);
  });
  EXPECT_FALSE(child_ran);
  if (has(Defect::kBpo40453ForkSubinterpChildFatal)) {
    EXPECT_TRUE(r.fatal(kNotMain)) << r.summary();
    EXPECT_EQ(r.outcome.exit_code, profile().fork_child_exit_status);
    EXPECT_GT(r.triggered(Defect::kBpo40453ForkSubinterpChildFatal), 0u);
    return;
  }
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_EQ(f.result.error, "RuntimeError: fork not supported for subinterpreters");
}

// ---- K4 ---------------------------------------------------------------------------------------

// K4: the refusal matrix. In a legacy subinterpreter: os.fork allowed in 3.7, RuntimeError
// from 3.8 (bpo-34651) — 3.9–3.13 releases accept it (defect bpo40453, child dies, K3);
// subprocess without preexec_fn always allowed (bpo-37951); with preexec_fn RuntimeError from
// 3.8. In an isolated subinterpreter (3.9+): os.fork RuntimeError; subprocess RuntimeError in
// 3.9–3.11 (_isolated_interpreter), allowed from 3.12 (allow_exec only governs os.exec*)
// [checked on CPython 3.9.18–3.13.0]. In the main interpreter everything is allowed.
TEST_P(ForkContracts, K4_ForkRefusalMatrix) {
  auto attempt = [&](bool in_sub, bool isolated, ForkKind kind) {
    ApiResult res;
    auto r = run_sim(GetParam(), [&](Runtime& rt) {
      rt.initialize();
      if (in_sub) {
        InterpConfig cfg;
        if (isolated) {
          cfg.isolated = true;
          cfg.own_gil = true;
          cfg.allow_fork = cfg.allow_exec = cfg.allow_daemon_threads = false;
        }
        rt.new_interpreter(cfg, nullptr);
      }
      res = rt.fork(kind, ForkFollow::kParent).result;
    });
    EXPECT_TRUE(r.exited_normally()) << r.summary();
    return res;
  };
  for (ForkKind kind : {ForkKind::kFork, ForkKind::kForkExec, ForkKind::kForkPreexec}) {
    EXPECT_TRUE(attempt(false, false, kind).ok) << "main interpreter, " << fork_kind_name(kind);
  }
  // Legacy subinterpreter.
  const ApiResult fork = attempt(true, false, ForkKind::kFork);
  const bool allowed = profile().fork_in_subinterp == ForkInSubinterp::kAllow;
  if (allowed || has(Defect::kBpo40453ForkSubinterpChildFatal)) {
    EXPECT_TRUE(fork.ok) << fork.error;
  } else {
    EXPECT_EQ(fork.error, "RuntimeError: fork not supported for subinterpreters");
  }
  EXPECT_TRUE(attempt(true, false, ForkKind::kForkExec).ok);
  const ApiResult preexec = attempt(true, false, ForkKind::kForkPreexec);
  if (!profile().preexec_refused_in_subinterp) {
    EXPECT_TRUE(preexec.ok) << preexec.error;
  } else {
    EXPECT_EQ(preexec.error, "RuntimeError: preexec_fn not supported within subinterpreters");
  }
  // Isolated subinterpreter.
  if (!profile().has_isolated_interps) return;  // 3.7/3.8
  EXPECT_EQ(attempt(true, true, ForkKind::kFork).error,
            "RuntimeError: fork not supported for isolated subinterpreters");
  const ApiResult sub = attempt(true, true, ForkKind::kForkExec);
  if (profile().subprocess_refused_in_isolated) {
    EXPECT_EQ(sub.error, "RuntimeError: subprocess not supported for isolated subinterpreters");
  } else {
    EXPECT_TRUE(sub.ok) << sub.error;
  }
  EXPECT_EQ(attempt(true, true, ForkKind::kForkPreexec).error,
            "RuntimeError: preexec_fn not supported within subinterpreters");
}

IFZ_INSTANTIATE_PROFILES(ForkContracts, true);
IFZ_INSTANTIATE_PROFILES(ForkContractsFrom38, p.fork_deletes_other_interps);

}  // namespace
}  // namespace ifz::rt::testing
