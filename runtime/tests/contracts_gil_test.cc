// SPDX-License-Identifier: Apache-2.0
// contracts_gil_test.cc — the GIL contracts of cpython-notes §4 (G1–G3), one named test per
// contract and scenario, on every profile they apply to (version profiles with their defects,
// and the -fixed twins). Interleavings are scripted (FnChooser / Director), never timed.
#include <gtest/gtest.h>

#include <map>

#include "runtime/tests/contract_test.h"

namespace ifz::rt::testing {
namespace {

using platform::Point;
using platform::ThreadId;

class GilContracts : public ProfileTest {};

// G1 read off the event stream: per GIL id, a take while someone holds it, or a drop by a
// thread that does not hold it, is a violation. Also counts how many GILs were held at once.
class GilEventOracle {
 public:
  void scan(const std::vector<Event>& events) {
    for (; next_ < events.size(); ++next_) {
      const Event& e = events[next_];
      if (e.kind == EventKind::kGilTaken) {
        auto it = holder_.find(e.a);
        if (it != holder_.end() && it->second != platform::kNoThread) {
          violations_ += "GIL " + std::to_string(e.a) + " taken by T" + std::to_string(e.thread) +
                         " while held by T" + std::to_string(it->second) + "; ";
        }
        holder_[e.a] = e.thread;
        takers_.insert(e.thread);
      } else if (e.kind == EventKind::kGilDropped) {
        if (holder_[e.a] != e.thread) {
          violations_ += "GIL " + std::to_string(e.a) + " dropped by T" + std::to_string(e.thread) +
                         " which does not hold it; ";
        }
        holder_[e.a] = platform::kNoThread;
      }
      size_t held = 0;
      for (const auto& [gil, who] : holder_) held += who != platform::kNoThread;
      max_held_at_once_ = std::max(max_held_at_once_, held);
    }
  }
  const std::string& violations() const { return violations_; }
  size_t max_held_at_once() const { return max_held_at_once_; }
  size_t distinct_takers() const { return takers_.size(); }

 private:
  size_t next_ = 0;
  std::map<int64_t, ThreadId> holder_;
  std::set<ThreadId> takers_;
  std::string violations_;
  size_t max_held_at_once_ = 0;
};

// Preempts at every choice, in turn: the schedule with the most GIL contention (timed waits
// in take_gil fire, drop requests and forced switches happen).
class RoundRobin : public platform::Chooser {
 public:
  std::function<void(ThreadId, const platform::PointInfo&)> on_point;
  size_t pick(std::span<const ThreadId> runnable, ThreadId current,
              const platform::PointInfo& where) override {
    if (on_point) on_point(current, where);
    return n_++ % runnable.size();
  }

 private:
  size_t n_ = 0;
};

// Main and two threading threads of the main interpreter, plus a thread that runs a
// subinterpreter created with own_gil (its own GIL from 3.12; the shared one before: the flag
// does not exist there). Everybody runs bytecode and blocks in turn.
void mixed_workload(Runtime& rt) {
  rt.initialize();
  auto worker = [&rt] {
    for (int i = 0; i < 3; ++i) {
      rt.run_bytecode(2);
      rt.block("io");
    }
  };
  const ThreadId t1 = rt.start_thread(ThreadKind::kThreading, false, worker).thread;
  const ThreadId t2 = rt.start_thread(ThreadKind::kThreading, false, worker).thread;
  const ThreadId t3 = rt.start_thread(ThreadKind::kThreading, false, [&rt, worker] {
    ThreadState* own = rt.current();
    InterpConfig cfg;
    cfg.own_gil = true;
    ThreadState* sub = rt.new_interpreter(cfg, nullptr);
    worker();
    rt.end_interpreter(sub);
    rt.swap(own);
  }).thread;
  worker();
  rt.join_thread(t1);
  rt.join_thread(t2);
  rt.join_thread(t3);
  rt.finalize();
}

// G1: at most one thread holds a given GIL; from 3.12 an own_gil interpreter's GIL is held
// independently of the main one (gh-99113), before that there is one GIL per process.
TEST_P(GilContracts, G1_AtMostOneHolderPerGil) {
  GilEventOracle oracle;
  std::string state_violations;
  Runtime* runtime = nullptr;
  RoundRobin chooser;
  chooser.on_point = [&](ThreadId, const platform::PointInfo&) {
    oracle.scan(*sim_events());
    if (runtime != nullptr) state_violations += runtime->check_gil_holder_unique();
  };
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    runtime = &rt;
    mixed_workload(rt);
  }, &chooser);
  oracle.scan(r.events);
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_EQ(oracle.violations(), "");
  EXPECT_EQ(state_violations, "");
  EXPECT_GE(oracle.distinct_takers(), 4u) << "every thread held a GIL at some point";
  if (profile().per_interp_gil) {
    EXPECT_EQ(oracle.max_held_at_once(), 2u) << "the own GIL is held alongside the main one";
  } else {
    EXPECT_EQ(oracle.max_held_at_once(), 1u) << "one GIL per process before 3.12";
  }
}

// G2: a thread runs bytecode of interpreter I only with I's GIL and its tstate current. The
// check runs at every eval-loop scheduling point of the workload above.
TEST_P(GilContracts, G2_BytecodeRunsOnlyWithItsInterpretersGilAndCurrentTstate) {
  Runtime* runtime = nullptr;
  std::string violations;
  int eval_points = 0;
  RoundRobin chooser;
  chooser.on_point = [&](ThreadId current, const platform::PointInfo& where) {
    if (runtime == nullptr || std::string_view(where.label) != "eval") return;
    ++eval_points;
    ThreadState* t = runtime->current();
    if (t == nullptr) {
      violations += "T" + std::to_string(current) + " evaluates without a current tstate; ";
      return;
    }
    if (t->thread != current) violations += "current tstate bound to another thread; ";
    const auto interps = runtime->interpreters();
    if (std::find(interps.begin(), interps.end(), t->interp) == interps.end()) {
      violations += "evaluates in an interpreter not in the runtime; ";
      return;
    }
    if (t->interp->gil->holder.load() != current) {
      violations += "T" + std::to_string(current) + " evaluates in interp " +
                    std::to_string(t->interp->id) + " without its GIL; ";
    }
  };
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    runtime = &rt;
    mixed_workload(rt);
  }, &chooser);
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_EQ(violations, "");
  EXPECT_GT(eval_points, 20);
}

// G2: PyThreadState_Swap between interpreters with different GILs releases one and takes the
// other (3.12+); a legacy subinterpreter shares the main GIL, and before 3.12 there is only
// the process GIL, so a swap never moves it.
TEST_P(GilContracts, G2_SwapBetweenInterpretersWithDifferentGilsMovesTheGil) {
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ThreadState* main_t = rt.current();
    Gil* main_gil = &rt.main_gil();
    ThreadState* legacy = rt.new_interpreter({}, nullptr);
    EXPECT_EQ(legacy->interp->gil, main_gil) << "a legacy subinterpreter shares the main GIL";
    EXPECT_EQ(main_gil->holder.load(), 0);
    rt.swap(main_t);
    InterpConfig cfg;
    cfg.own_gil = true;
    ThreadState* own = rt.new_interpreter(cfg, nullptr);
    Gil* own_gil = own->interp->gil;
    if (profile().per_interp_gil) {
      ASSERT_NE(own_gil, main_gil);
      EXPECT_EQ(own_gil->holder.load(), 0) << "swapped in: the own GIL is taken";
      EXPECT_EQ(main_gil->holder.load(), platform::kNoThread) << "... and the main GIL released";
      rt.swap(main_t);
      EXPECT_EQ(main_gil->holder.load(), 0);
      EXPECT_EQ(own_gil->holder.load(), platform::kNoThread);
      rt.swap(own);
      EXPECT_EQ(own_gil->holder.load(), 0);
      EXPECT_EQ(main_gil->holder.load(), platform::kNoThread);
    } else {
      EXPECT_EQ(own_gil, main_gil) << "own_gil does not exist before 3.12";
      EXPECT_EQ(main_gil->holder.load(), 0);
      rt.swap(main_t);
      EXPECT_EQ(main_gil->holder.load(), 0);
      rt.swap(own);
    }
    rt.end_interpreter(own);
    rt.swap(legacy);
    rt.end_interpreter(legacy);
    rt.swap(main_t);
    EXPECT_EQ(main_gil->holder.load(), 0);
    rt.finalize();
  });
  EXPECT_TRUE(r.exited_normally()) << r.summary();
}

// F2/F6: "must exit" is about finalisation (and, in the fixed design, about a thread state of
// an earlier runtime lifetime). A thread state of *this* lifetime freed while its thread still
// holds it is no reason to exit: no CPython 3.7–3.13 does, so a thread resuming with it reads
// freed memory, and the model reports that use-after-free instead of ending the thread quietly.
TEST_P(GilContracts, F2_ResumingWithAFreedThreadStateOfThisLifetimeIsAUseAfterFreeNotAnExit) {
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    // A second thread state (3.11+ keep the first one in static storage: never freed).
    ThreadState* t = rt.thread_state_new(rt.main_interp());
    rt.save_thread();
    rt.restore_thread(t);
    rt.save_thread();
    RuntimeTestPeer::free_thread_state(rt, t);
    rt.restore_thread(t);
  });
  EXPECT_TRUE(r.crashed()) << r.summary();
  EXPECT_EQ(r.outcome.message.rfind("use-after-free: ", 0), 0u) << r.summary();
  EXPECT_EQ(r.count(EventKind::kThreadExitForced), 0u) << r.summary();
}

// G3: drop_gil on a GIL nobody holds is CPython's fatal error. No C-API call of the model can
// release an unheld GIL (save_thread without a tstate is its own fatal error), so the test
// calls the runtime's drop_gil directly after the GIL was released.
TEST_P(GilContracts, G3_DropGilOfAnUnlockedGilIsFatal) {
  bool returned = false;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    rt.save_thread();
    RuntimeTestPeer::drop_gil(rt, rt.main_gil());
    returned = true;
  });
  EXPECT_FALSE(returned);
  EXPECT_TRUE(r.fatal("Fatal Python error: drop_gil: GIL is not locked")) << r.summary();
}

// G3 (gh-96387): a thread that asked for a GIL drop and then exits because the runtime is
// finalizing must withdraw its request, or the holder's next drop_gil waits (FORCE_SWITCHING)
// for a switch that never comes. Schedule: daemon T waits in take_gil while the main thread
// finalizes; T's wait times out once just before SetFinalizing (T asks for a drop) and once
// right after (T must exit); then finalisation flushes stdout, releasing the GIL.
// 3.9/3.10 (defect gh96387_stale_drop_request) leave the request: the main thread hangs in
// drop_gil. 3.7/3.8 check "must exit" only after winning the GIL, so T takes the GIL the main
// thread hands over and exits then: no hang either.
TEST_P(GilContracts, G3_ExitingThreadWithdrawsItsDropRequest) {
  Director d;
  const ThreadId kT = 1;
  d.order = {kT};
  bool after_set_finalizing = false;
  d.on_point = [&](ThreadId current, const platform::PointInfo& where) {
    if (current == kT && where.kind == Point::kWait) d.hold(kT);  // parked in take_gil
    if (where.kind != Point::kPhase) return;
    const std::string_view label = where.label;
    if (label == phase_name(Phase::kFinalizeSetFinalizing)) {
      d.kick(kT);  // timeout #1: T asks for the GIL
      after_set_finalizing = true;
    } else if (after_set_finalizing) {
      d.release(kT);  // timeout #2, finalizing: T must exit (and may run to its end)
      d.kick(kT);
      after_set_finalizing = false;
    }
  };
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    // T's bootstrap waits in take_gil: the main thread keeps the GIL from here on.
    rt.start_thread(ThreadKind::kThreading, /*daemon=*/true, [&rt] { rt.run_bytecode(1); });
    rt.finalize();
  }, &d);
  if (has(Defect::kGh96387StaleDropRequest)) {
    ASSERT_TRUE(r.deadlocked()) << r.summary();
    ASSERT_EQ(r.run.blocked.size(), 1u);
    EXPECT_EQ(r.run.blocked[0].thread, 0);
    EXPECT_EQ(r.run.blocked[0].waits_on, "cond gil.switch_cond (lock gil.switch_mutex)");
    EXPECT_GT(r.triggered(Defect::kGh96387StaleDropRequest), 0u);
    return;
  }
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_EQ(r.count(EventKind::kFinalizeReturned), 1u);
  EXPECT_EQ(stopped_threads(r), 1u) << "T exited (or hung), during finalisation";
  EXPECT_EQ(r.count(EventKind::kThreadFinished), 0u) << "T never ran its body";
}

// GILState [EXP 3.7–3.13]: PyGILState_Ensure on a thread with its own thread state nests in
// the tstate the GILState key names; which one that is inside a subinterpreter differs by
// version (3.12+ tstate_activate rebinds it on every attach, ≤3.11 the first one keeps it), and
// PyGILState_Check answers 1 once Py_NewInterpreter turned the check off.
TEST_P(GilContracts, GilStateKeyAndCheckFollowEachVersionsBinding) {
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    // ≤3.14 no key before Py_Initialize (1); 3.15's thread-local key always exists and
    // nothing is attached (0) [conform 3.15.2 gilstate_ensure_nested_main_thread].
    EXPECT_EQ(rt.gilstate_check(), profile().gilstate_key_thread_local ? 0 : 1)
        << "before Py_Initialize";
    rt.initialize();
    ThreadState* main_t = rt.current();
    EXPECT_EQ(rt.gilstate_tstate(), main_t);
    EXPECT_EQ(rt.gilstate_check(), 1);
    EXPECT_EQ(rt.gilstate_ensure(), 0) << "nested in the current tstate: LOCKED";
    EXPECT_EQ(rt.current(), main_t);
    rt.gilstate_release(0);
    EXPECT_EQ(rt.current(), main_t) << "a LOCKED release keeps the tstate and the GIL";
    rt.save_thread();
    EXPECT_EQ(rt.gilstate_check(), 0) << "nothing attached";
    EXPECT_EQ(rt.gilstate_ensure(), 1) << "its own tstate re-attached: UNLOCKED";
    EXPECT_EQ(rt.current(), main_t);
    rt.gilstate_release(1);
    EXPECT_EQ(rt.current(), nullptr) << "an UNLOCKED release detaches it again";
    rt.restore_thread(main_t);
    ThreadState* sub = rt.new_interpreter({}, nullptr);
    EXPECT_EQ(rt.gilstate_tstate(), profile().gilstate_follows_attach ? sub : main_t);
    rt.save_thread();
    EXPECT_EQ(rt.gilstate_check(), 1) << "Py_NewInterpreter turns the check off";
    EXPECT_EQ(rt.gilstate_ensure(), 1);
    EXPECT_EQ(rt.current(), profile().gilstate_follows_attach ? sub : main_t);
    rt.gilstate_release(1);
    rt.restore_thread(sub);
    rt.end_interpreter(sub);
    rt.swap(main_t);
    EXPECT_EQ(rt.gilstate_tstate(), main_t);
    rt.finalize();
    EXPECT_EQ(rt.gilstate_check(), 1)
        << "the check stays off after Py_NewInterpreter (and ≤3.14's key is gone)";
    rt.initialize();
    rt.save_thread();
    EXPECT_EQ(rt.gilstate_check(), profile().gilstate_check_reenabled_by_init ? 0 : 1);
  });
  EXPECT_TRUE(r.exited_normally()) << r.summary();
}

IFZ_INSTANTIATE_PROFILES(GilContracts, true);

}  // namespace
}  // namespace ifz::rt::testing
