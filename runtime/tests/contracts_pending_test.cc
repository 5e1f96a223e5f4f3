// SPDX-License-Identifier: Apache-2.0
// contracts_pending_test.cc — the pending-call and signal contracts of cpython-notes §4
// (P1–P6), one named test per contract and scenario, on every profile. Where a version's
// known defect breaks a contract, the version profile asserts the real (buggy) behaviour and
// the -fixed twin the contract; the comment names the defect.
#include <gtest/gtest.h>

#include <map>

#include "runtime/tests/contract_test.h"

namespace ifz::rt::testing {
namespace {

using platform::Point;
using platform::ThreadId;

class PendingContracts : public ProfileTest {};

size_t count_of(const std::vector<Event>& events, EventKind k) {
  size_t n = 0;
  for (const Event& e : events) n += e.kind == k;
  return n;
}

// What happened to each accepted call, read off the events.
struct CallFate {
  int64_t id = -1;
  std::string kind;
  ThreadId added_by = platform::kNoThread;
  std::vector<const Event*> runs;
  bool dropped = false;
};

std::map<int64_t, CallFate> accepted_calls(const ScenarioResult& r) {
  std::map<int64_t, CallFate> out;
  for (const Event& e : r.events) {
    if (e.kind == EventKind::kPendingAdded && e.c == 0) {
      out[e.a] = CallFate{e.a, e.text, e.thread, {}, false};
    } else if (e.kind == EventKind::kPendingRun && out.count(e.a)) {
      out[e.a].runs.push_back(&e);
    } else if (e.kind == EventKind::kPendingDropped && out.count(e.a)) {
      out[e.a].dropped = true;
    }
  }
  return out;
}

// P1's three conditions for one run: exactly once, with the GIL, in an interpreter that was
// alive at that moment (created and not yet deleted in the event stream).
std::string check_ran_exactly_once_alive(const ScenarioResult& r, const CallFate& c) {
  if (c.runs.size() != 1) {
    return "call " + std::to_string(c.id) + " (" + c.kind + ") ran " +
           std::to_string(c.runs.size()) + " times; ";
  }
  const Event* run = c.runs[0];
  if (run->c != 1) return "call " + std::to_string(c.id) + " ran without the GIL; ";
  bool alive = false;
  for (const Event& e : r.events) {
    if (&e == run) break;
    if (e.kind == EventKind::kInterpCreated && e.interp == run->interp) alive = true;
    if (e.kind == EventKind::kInterpDeleted && e.interp == run->interp) alive = false;
  }
  if (!alive) return "call " + std::to_string(c.id) + " ran in a dead interpreter; ";
  return "";
}

// ---- P1 ---------------------------------------------------------------------------------------

// P1: every call Py_AddPendingCall accepted runs exactly once, with the GIL, in a live
// interpreter: adds from the main thread, from another Python thread with and without the
// GIL, and from a C thread, while the main thread keeps evaluating; preempted at every choice.
TEST_P(PendingContracts, P1_AcceptedCallRunsExactlyOnceInLiveInterpreter) {
  size_t n = 0;
  FnChooser rr([&](auto runnable, ThreadId, const auto&) { return n++ % runnable.size(); });
  int refused = 0;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    auto add = [&](PendingKind k) { refused += rt.add_pending(k) != 0; };
    const ThreadId t = rt.start_thread(ThreadKind::kThreading, false, [&] {
      add(PendingKind::kNoop);
      add(PendingKind::kTouch);
      ThreadState* self = rt.save_thread();  // Py_BEGIN_ALLOW_THREADS: no GIL while adding
      add(PendingKind::kNoop);
      add(PendingKind::kSlow);
      rt.restore_thread(self);
      rt.run_bytecode(2);
    }).thread;
    const ThreadId c = rt.start_c_thread([&] {
      add(PendingKind::kNoop);
      add(PendingKind::kTouch);
    });
    add(PendingKind::kTouch);
    add(PendingKind::kSlow);
    for (int i = 0; i < 6; ++i) rt.run_bytecode(2);
    rt.join_thread(t);
    rt.join_thread(c);
    rt.run_bytecode(2);
    rt.finalize();
  }, &rr);
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_EQ(refused, 0);
  const auto calls = accepted_calls(r);
  ASSERT_EQ(calls.size(), 8u);
  for (const auto& [id, c] : calls) EXPECT_EQ(check_ran_exactly_once_alive(r, c), "");
}

// P1, the gh-104812 class: a call queued to a subinterpreter that never runs bytecode on the
// main thread. A non-main thread T creates I1, adds with the GIL held (Py_AddPendingCall) and
// through the internal per-interpreter add, evaluates, and ends I1.
// 3.9–3.11 (defect gh104812_lost_subinterp_pending): only the runtime main thread handles
// per-interpreter calls and Py_EndInterpreter frees the queue unrun: both are lost ([EXP]).
// Elsewhere both run once: T runs I1's queue, or (≤3.8 / 3.12+ Py_AddPendingCall) the main
// thread runs the runtime queue.
TEST_P(PendingContracts, P1_CallQueuedToASubinterpreterRunsExactlyOnce) {
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    const ThreadId t = rt.start_thread(ThreadKind::kThreading, false, [&] {
      ThreadState* own = rt.current();
      ThreadState* sub = rt.new_interpreter({}, nullptr);
      EXPECT_EQ(rt.add_pending(PendingKind::kTouch), 0);
      EXPECT_EQ(rt.add_pending(PendingKind::kTouch, sub->interp), 0);
      rt.run_bytecode(3);
      rt.end_interpreter(sub);
      rt.swap(own);
    }).thread;
    rt.join_thread(t);
    rt.run_bytecode(3);
    rt.finalize();
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  const auto calls = accepted_calls(r);
  ASSERT_EQ(calls.size(), 2u);
  if (has(Defect::kGh104812LostSubinterpPending)) {
    for (const auto& [id, c] : calls) {
      EXPECT_TRUE(c.runs.empty()) << "3.9–3.11 lose call " << id;
      EXPECT_TRUE(c.dropped) << "its queue was freed with it";
    }
    EXPECT_GT(r.triggered(Defect::kGh104812LostSubinterpPending), 0u);
    return;
  }
  for (const auto& [id, c] : calls) EXPECT_EQ(check_ran_exactly_once_alive(r, c), "");
}

// P1 at finalisation (gh-118297): calls queued behind a failing one must still run.
// Queue [fail, noop, noop] on the main thread, then Py_FinalizeEx with no bytecode between.
// 3.8–3.12 (defect gh118297_finish_pending_single_pass): _Py_FinishPendingCalls stops at the
// failing call and the noops are dropped ([EXP] 3.8–3.12.1). 3.7 (defect
// no_finish_pending_at_finalize): nothing drains the queue, all three are dropped.
TEST_P(PendingContracts, P1_CallsBehindAFailingOneStillRunAtFinalize) {
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ASSERT_EQ(rt.add_pending(PendingKind::kFail), 0);
    ASSERT_EQ(rt.add_pending(PendingKind::kNoop), 0);
    ASSERT_EQ(rt.add_pending(PendingKind::kNoop), 0);
    rt.finalize();
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  const auto calls = accepted_calls(r);
  ASSERT_EQ(calls.size(), 3u);
  size_t ran = 0;
  for (const auto& [id, c] : calls) {
    EXPECT_LE(c.runs.size(), 1u) << "never twice";
    ran += c.runs.size();
  }
  if (has(Defect::kNoFinishPendingAtFinalize)) {
    EXPECT_EQ(ran, 0u);
    EXPECT_GT(r.triggered(Defect::kNoFinishPendingAtFinalize), 0u);
  } else if (has(Defect::kGh118297FinishPendingSinglePass)) {
    EXPECT_EQ(ran, 1u) << "only the failing call";
    EXPECT_GT(r.triggered(Defect::kGh118297FinishPendingSinglePass), 0u);
  } else {
    for (const auto& [id, c] : calls) EXPECT_EQ(check_ran_exactly_once_alive(r, c), "");
  }
}

// ---- P2 ---------------------------------------------------------------------------------------

// P2: Py_AddPendingCall never blocks and refuses (-1, no exception) beyond capacity: a C
// thread adds while the main thread holds the GIL and never evaluates. 3.7–3.12: ring of 32
// with one slot empty → 31; 3.13: 32 for the main-thread queue ([EXP] all). Once run, the
// slots are free again.
TEST_P(PendingContracts, P2_AddNeverBlocksAndRefusesBeyondCapacity) {
  int accepted = 0, refused = 0, accepted_again = 0;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    const ThreadId c = rt.start_c_thread([&] {
      for (int i = 0; i < 40; ++i) (rt.add_pending(PendingKind::kNoop) == 0 ? accepted : refused)++;
    });
    rt.platform().join(c);  // the GIL stays held: an add that waited for it would deadlock
    // 3.9–3.12 (breaker_not_set_off_main_thread): the C thread's adds left the main thread's
    // eval breaker unset; it notices them once it takes the GIL again ([EXP]).
    rt.restore_thread(rt.save_thread());
    rt.run_bytecode(1);
    for (int i = 0; i < 40; ++i) accepted_again += rt.add_pending(PendingKind::kNoop) == 0;
    rt.exit_process(0);
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  const int capacity = profile().pending_capacity == PendingCapacity::kMax32And300 ? 32 : 31;
  EXPECT_EQ(accepted, capacity);
  EXPECT_EQ(refused, 40 - capacity);
  EXPECT_EQ(accepted_again, capacity);
  EXPECT_TRUE(r.errors().empty()) << "a refusal sets no exception";
  EXPECT_EQ(r.count(EventKind::kPendingRun), static_cast<size_t>(capacity));
}

// P2: 3.13 per-interpreter queues hold 300 (PENDINGCALLSARRAYSIZE); 3.9–3.12 per-interpreter
// queues are the same 31-call ring; ≤3.8 has no per-interpreter queue (the global one).
TEST_P(PendingContracts, P2_PerInterpreterQueueCapacity) {
  int accepted = 0;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ThreadState* main_t = rt.current();
    ThreadState* sub = rt.new_interpreter({}, nullptr);
    rt.swap(main_t);
    for (int i = 0; i < 400; ++i) accepted += rt.add_pending(PendingKind::kNoop, sub->interp) == 0;
    rt.exit_process(0);
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_EQ(accepted, profile().pending_capacity == PendingCapacity::kMax32And300 ? 300 : 31);
}

// ---- P3 ---------------------------------------------------------------------------------------

// P3: which thread runs Py_AddPendingCall calls. The main thread starts T, adds three calls and
// blocks;
// meanwhile a non-main thread T of the main interpreter evaluates. ≤3.8 (global queue) and
// 3.12+ (main-thread queue): only the main thread runs them. 3.9–3.11: per-interpreter queue
// that only the runtime main thread may handle (_Py_ThreadCanHandlePendingCalls) — on the
// -fixed twins that restriction is the gh104812_lost_subinterp_pending defect, switched off,
// so any thread of the interpreter handles its queue and T runs them.
TEST_P(PendingContracts, P3_WhichThreadRunsPyAddPendingCallCalls) {
  Director d;
  const ThreadId kT = 1;
  d.order = {kT};
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    // T first: threading.Thread(...) is Python code, so calls already queued would run in the
    // main thread right there. T needs the GIL to begin, which the main thread keeps until
    // its join.
    const ThreadId t = rt.start_thread(ThreadKind::kThreading, false, [&] {
      rt.run_bytecode(5);
    }).thread;
    for (int i = 0; i < 3; ++i) ASSERT_EQ(rt.add_pending(PendingKind::kTouch), 0);
    rt.join_thread(t);  // the main thread waits outside the GIL; T evaluates
    rt.run_bytecode(2);
    rt.finalize();
  }, &d);
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  const bool any_thread_of_interp =
      profile().pending_routing == PendingRouting::kCurrentInterp &&
      !has(Defect::kGh104812LostSubinterpPending);
  const auto runs = r.all(EventKind::kPendingRun);
  ASSERT_EQ(runs.size(), 3u);
  for (const Event* e : runs) {
    EXPECT_EQ(e->thread, any_thread_of_interp ? kT : 0) << "call " << e->a;
    EXPECT_EQ(e->interp, 0);
  }
}

// P3: in which interpreter. The main thread adds a call in I0, swaps into a subinterpreter
// I1 and evaluates there, then swaps back. ≤3.8: the main thread runs the global queue in
// whatever interpreter it is in (I1). 3.9–3.11: the call sits in I0's queue, handled only
// when the main thread is back in I0. 3.12+: the main-thread queue is handled only by the
// main thread *of the main interpreter* (I0).
TEST_P(PendingContracts, P3_WhichInterpreterRunsThem) {
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ThreadState* main_t = rt.current();
    ASSERT_EQ(rt.add_pending(PendingKind::kTouch), 0);
    ThreadState* sub = rt.new_interpreter({}, nullptr);
    rt.run_bytecode(2);
    rt.swap(main_t);
    rt.run_bytecode(2);
    rt.swap(sub);
    rt.end_interpreter(sub);
    rt.swap(main_t);
    rt.finalize();
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  const auto ran = r.pending_ran_in(0);
  ASSERT_EQ(ran.size(), 1u);
  EXPECT_EQ(ran[0], profile().pending_routing == PendingRouting::kGlobal ? 1 : 0);
}

// P3 routing from inside a call (issue 20, kind `adds`): a call queued for I1 with the
// per-interpreter add runs in I1 and calls Py_AddPendingCall(no-op) there. The no-op takes the
// public route: ≤3.11 the caller's interpreter or the global queue, so it runs in I1 in the
// same pass; 3.12+
// the main thread's queue, so it runs only back in I0 (measured: seed
// pending_call_adds_a_call agrees with 3.10.13, 3.11.2 (+dbg), 3.12.1 and 3.13.0).
TEST_P(PendingContracts, P3_ACallAddingACallUsesThePublicRoute) {
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ThreadState* main_t = rt.current();
    ThreadState* sub = rt.new_interpreter({}, nullptr);
    // ≤3.8 has no per-interpreter add: Py_AddPendingCall's global queue, which the main
    // thread runs in whatever interpreter it is in (I1 here).
    ASSERT_EQ(rt.add_pending(PendingKind::kAdds, profile().has_interp_pending_queue ? sub->interp : nullptr), 0);
    rt.run_bytecode(1);
    rt.end_interpreter(sub);
    rt.swap(main_t);
    rt.run_bytecode(1);
    rt.finalize();
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  const auto runs = r.all(EventKind::kPendingRun);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0]->text, "adds");
  EXPECT_EQ(runs[0]->interp, 1);
  EXPECT_EQ(runs[1]->text, "noop");
  EXPECT_EQ(runs[1]->interp, profile().pending_routing == PendingRouting::kMainThreadOnly ? 0 : 1);
  EXPECT_EQ(count_of(r.events, EventKind::kPendingDropped), 0u);
}

// P4's per-pass bound (issue 20, kind `forever`): a call that re-adds itself every time it
// runs. Each Py_MakePendingCalls runs it 32 times (≤3.12 NPENDINGCALLS; 3.13 the main
// thread's queue) and returns with it still queued [EXP 3.8.18, 3.11.2, 3.12.1, 3.13.0].
// At Py_FinalizeEx the -fixed twins refuse the re-add once the queues are closed, so
// finalisation ends; 3.13 loops until the queue is empty, which never happens (a hang: the
// real 3.13.0 too), the other versions stop after a bounded pass.
TEST_P(PendingContracts, P4_AForeverCallRunsItsBoundPerPass) {
  std::vector<size_t> per_pass;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ASSERT_EQ(rt.add_pending(PendingKind::kForever), 0);
    for (int pass = 0; pass < 2; ++pass) {
      const size_t before = count_of(*sim_events(), EventKind::kPendingRun);
      rt.make_pending_calls();
      per_pass.push_back(count_of(*sim_events(), EventKind::kPendingRun) - before);
    }
    rt.finalize();
  });
  EXPECT_EQ(per_pass, (std::vector<size_t>{32, 32}));
  // [EXP 3.13.0, 3.13.18] the release accepts the re-add after the queues closed, and 3.13+
  // drain until empty (no gh-118297 single pass): finalisation never returns. The twins
  // refuse a call that feeds finalisation's own drain (3.15's loop drains with open queues).
  if (has(Defect::kPendingAddAfterFinalize) && !has(Defect::kGh118297FinishPendingSinglePass) &&
      profile().pending_capacity == PendingCapacity::kMax32And300) {
    EXPECT_EQ(r.run.kind, platform::RunResult::Kind::kStepLimit) << r.summary();
  } else {
    EXPECT_TRUE(r.exited_normally()) << r.summary();
  }
}

// P3 routing (bpo-39984): a subinterpreter thread calls Py_AddPendingCall *without* the GIL.
// 3.9–3.11 find the interpreter with PyGILState_GetThisThreadState(), which is not
// subinterpreter-aware (defect bpo39984_gilstate_wrong_interp): the call lands in I0 and the
// main thread runs it there ([EXP]). The -fixed twins route it to the caller's I1 (where T
// runs it). ≤3.8 and 3.12+ always target the main thread (global / main-thread queue).
TEST_P(PendingContracts, P3_AddWithoutTheGilIsRoutedToTheCallersInterpreter) {
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    const ThreadId t = rt.start_thread(ThreadKind::kThreading, false, [&] {
      ThreadState* own = rt.current();
      ThreadState* sub = rt.new_interpreter({}, nullptr);
      rt.save_thread();
      EXPECT_EQ(rt.add_pending(PendingKind::kTouch), 0);
      rt.restore_thread(sub);
      rt.run_bytecode(3);
      rt.end_interpreter(sub);
      rt.swap(own);
    }).thread;
    rt.join_thread(t);
    rt.run_bytecode(3);
    rt.finalize();
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  const auto ran = r.pending_ran_in(0);
  ASSERT_EQ(ran.size(), 1u);
  const bool per_interp = profile().pending_routing == PendingRouting::kCurrentInterp;
  if (per_interp && has(Defect::kBpo39984GilstateWrongInterp)) {
    EXPECT_EQ(ran[0], 0) << "routed to the main interpreter";
    EXPECT_GT(r.triggered(Defect::kBpo39984GilstateWrongInterp), 0u);
  } else if (per_interp) {
    EXPECT_EQ(ran[0], 1) << "the caller's interpreter";
  } else {
    EXPECT_EQ(ran[0], 0);
    EXPECT_EQ(r.all(EventKind::kPendingRun)[0]->thread, 0);
  }
}

// ---- P4 ---------------------------------------------------------------------------------------

// P4: a pass over the queue is never re-entered. The main thread queues [slow, noop, noop];
// the slow call runs Python code (it checks the eval breaker), and another thread T of the
// interpreter asks for the GIL meanwhile, so the GIL changes hands mid-call. Neither the main
// thread's own eval breaker inside the call nor T may run the queue before the slow call is
// over: 3.9–3.11 the process-wide `busy`, 3.12 the per-queue busy flag, 3.13 handling_thread,
// ≤3.8 the global busy — or, where T may not handle the queue at all, eligibility (P3).
TEST_P(PendingContracts, P4_NoRecursionIntoARunningPass) {
  Director d;
  const ThreadId kMain = 0, kT = 1;
  int slow_points = 0;
  bool done = false;
  std::string violations;
  d.on_point = [&](ThreadId current, const platform::PointInfo& where) {
    const std::string_view label = where.label;
    if (current == kT && label == "eval") d.kick(kMain);  // T evaluates: the main thread asks back
    if (label != "slow pending call") return;
    ++slow_points;
    for (const Event& e : *sim_events()) {
      if (e.kind == EventKind::kPendingRun && e.text == "noop") {
        violations += "a noop ran while the slow call was running; ";
      }
    }
    d.kick(kT);  // T's wait in take_gil times out: it asks for the GIL
  };
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    const ThreadId t = rt.start_thread(ThreadKind::kThreading, false, [&] {
      while (!done) rt.run_bytecode(1);
    }).thread;
    ASSERT_EQ(rt.add_pending(PendingKind::kSlow), 0);
    ASSERT_EQ(rt.add_pending(PendingKind::kNoop), 0);
    ASSERT_EQ(rt.add_pending(PendingKind::kNoop), 0);
    rt.make_pending_calls();
    done = true;
    rt.join_thread(t);
    rt.finalize();
  }, &d);
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_EQ(slow_points, 3) << "T was alive at every point of the slow call";
  EXPECT_EQ(violations, "");
  const auto runs = r.all(EventKind::kPendingRun);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0]->text, "slow");
  for (const Event* e : runs) EXPECT_EQ(e->thread, kMain) << "one pass, by its handler";
  size_t t_took_gil_during_slow = 0;
  bool in_slow = false;
  for (const Event& e : r.events) {
    if (e.kind == EventKind::kPendingRun) in_slow = e.text == "slow";
    if (in_slow && e.kind == EventKind::kGilTaken && e.thread == kT) ++t_took_gil_during_slow;
  }
  EXPECT_GT(t_took_gil_during_slow, 0u) << "the GIL changed hands during the slow call";
}

// P4: a failing call (returns -1 with an exception) stops the pass; the rest stay queued and
// signalled, so the next eval-breaker check runs them.
TEST_P(PendingContracts, P4_FailingCallStopsThePassAndResignals) {
  int rc = 0;
  size_t runs_after_first_pass = 0;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ASSERT_EQ(rt.add_pending(PendingKind::kFail), 0);
    ASSERT_EQ(rt.add_pending(PendingKind::kNoop), 0);
    rc = rt.make_pending_calls();
    for (const Event& e : *sim_events()) runs_after_first_pass += e.kind == EventKind::kPendingRun;
    rt.run_bytecode(1);
    rt.finalize();
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_EQ(rc, -1);
  EXPECT_EQ(runs_after_first_pass, 1u) << "the pass stopped at the failing call";
  const auto runs = r.all(EventKind::kPendingRun);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1]->text, "noop");
}

// ---- P5 ---------------------------------------------------------------------------------------

// P5: signals are their own channel (bpo-30703: the C handler only sets flags, never queues a
// pending call, so a full pending queue does not lose them), handled only by the main thread
// of the main interpreter (bpo-40010/40082; 3.7 already ignored them in subinterpreters).
// A non-main thread fills the pending queue, then a C thread trips SIGINT; the non-main thread
// evaluates; the main thread evaluates in a subinterpreter; only back in I0 is the signal
// handled, once. (The thread is started first: threading.Thread.start() is Python code, so the
// main thread would handle a signal already tripped right there.)
TEST_P(PendingContracts, P5_SignalsAreHandledOnlyByTheMainThreadOfTheMainInterpreter) {  // (3.7: any interpreter)
  size_t handled_before_main_interp = 0;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ThreadState* main_t = rt.current();
    const ThreadId t = rt.start_thread(ThreadKind::kThreading, false, [&] {
      while (rt.add_pending(PendingKind::kNoop) == 0) {
      }
      const ThreadId c = rt.start_c_thread([&] { rt.trip_signal(2); });
      rt.platform().join(c);
      rt.run_bytecode(3);
    }).thread;
    rt.join_thread(t);
    ThreadState* sub = rt.new_interpreter({}, nullptr);
    rt.run_bytecode(3);
    rt.end_interpreter(sub);
    rt.swap(main_t);
    handled_before_main_interp = count_of(*sim_events(), EventKind::kSignalHandled);
    rt.run_bytecode(1);
    rt.finalize();
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  // 3.8+ (bpo-35724): only in the main interpreter; 3.7 checks the thread only, so the
  // subinterpreter running on the main thread handles it [EXP 3.7.16 vs 3.8.18].
  const bool main_interp_only = find_profile(GetParam())->signals_in_main_interp_only;
  EXPECT_EQ(handled_before_main_interp, main_interp_only ? 0u : 1u);
  const auto handled = r.all(EventKind::kSignalHandled);
  ASSERT_EQ(handled.size(), 1u);
  EXPECT_EQ(handled[0]->a, 2);
  EXPECT_EQ(handled[0]->thread, 0);
  EXPECT_EQ(handled[0]->interp, main_interp_only ? 0 : 1);
  const auto added = r.all(EventKind::kPendingAdded);
  ASSERT_FALSE(added.empty());
  for (const Event* e : added) {
    EXPECT_EQ(e->thread, added[0]->thread) << "the signal queued no pending call";
  }
}

// ---- P6 ---------------------------------------------------------------------------------------

// P6: wait_for_thread_shutdown < _Py_FinishPendingCalls < atexit. A non-daemon thread adds a
// call at its end; the main thread queues one more right before Py_FinalizeEx. Both run
// before the atexit callbacks, with the thread finished first. 3.7 (defect
// no_finish_pending_at_finalize) has no _Py_FinishPendingCalls: the call only the final drain
// would run is dropped; the thread's call still runs from threading._shutdown's bytecode.
TEST_P(PendingContracts, P6_FinalizeJoinsThenRunsPendingCallsThenAtexit) {
  size_t atexit_at = 0;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    rt.atexit_register([&] { atexit_at = sim_events()->size(); });
    rt.start_thread(ThreadKind::kThreading, /*daemon=*/false, [&] {
      rt.block("io");
      EXPECT_EQ(rt.add_pending(PendingKind::kNoop), 0);
    });
    rt.finalize();
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  auto index_of_event = [&](auto pred) {
    for (size_t i = 0; i < r.events.size(); ++i) {
      if (pred(r.events[i])) return i;
    }
    return r.events.size();
  };
  const size_t finished =
      index_of_event([](const Event& e) { return e.kind == EventKind::kThreadFinished; });
  const size_t ran =
      index_of_event([](const Event& e) { return e.kind == EventKind::kPendingRun; });
  const size_t atexit_phase = index_of_event([](const Event& e) {
    return e.kind == EventKind::kPhase && e.text == phase_name(Phase::kFinalizeAtexit);
  });
  ASSERT_LT(finished, r.events.size());
  ASSERT_LT(ran, r.events.size()) << "the thread's call ran";
  EXPECT_LT(finished, ran);
  EXPECT_LT(ran, atexit_phase);
  EXPECT_LT(atexit_phase, atexit_at);

  // The final drain: a call queued just before Py_FinalizeEx, no threads, no bytecode.
  auto drain = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ASSERT_EQ(rt.add_pending(PendingKind::kNoop), 0);
    rt.finalize();
  });
  ASSERT_TRUE(drain.exited_normally()) << drain.summary();
  const auto phases_before_run = [&] {
    std::string last;
    for (const Event& e : drain.events) {
      if (e.kind == EventKind::kPhase) last = e.text;
      if (e.kind == EventKind::kPendingRun) return last;
    }
    return std::string("never");
  }();
  if (has(Defect::kNoFinishPendingAtFinalize)) {
    EXPECT_EQ(phases_before_run, "never");
  } else {
    EXPECT_EQ(phases_before_run, phase_name(Phase::kFinalizeFinishPendingCalls));
  }
}

// P6: after Py_FinalizeEx returned, Py_AddPendingCall must be refused or be a no-op — never
// touch freed state. Adds from the (tstate-less) main thread and from a C thread.
// 3.8 (defect bpo37127_finishing_null_tstate): `finishing` builds a SystemError through the
// NULL tstate → crash. 3.9–3.12 (defect pending_add_after_finalize): routing reaches the
// freed / NULL main interpreter → crash ([EXP] segfault). 3.7 and 3.13 (same defect, other
// routing): accepted (0) and never run ([EXP]). -fixed: refused (-1).
TEST_P(PendingContracts, P6_AddAfterFinalizeIsRefusedNeverACrash) {
  std::vector<int> rcs;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    rt.finalize();
    rcs.push_back(rt.add_pending(PendingKind::kNoop));
    const ThreadId c =
        rt.start_c_thread([&] { rcs.push_back(rt.add_pending(PendingKind::kTouch)); });
    rt.platform().join(c);
  });
  // 3.9–3.11 route through the caller's interpreter, 3.12 signals through the main one: both
  // read freed memory; 3.7's global queue and 3.13's static main tstate accept a call that
  // never runs.
  const bool routes_through_interp = profile().pending_routing == PendingRouting::kCurrentInterp ||
                                     profile().pending_signal_via_main_interp;
  const bool crashes =
      (profile().pending_finishing_flag && has(Defect::kBpo37127FinishingNullTstate)) ||
      (routes_through_interp && has(Defect::kPendingAddAfterFinalize));
  if (crashes) {
    EXPECT_TRUE(r.crashed()) << r.summary();
    EXPECT_GT(r.triggered(profile().pending_finishing_flag ? Defect::kBpo37127FinishingNullTstate
                                       : Defect::kPendingAddAfterFinalize),
              0u);
    return;
  }
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  ASSERT_EQ(rcs.size(), 2u);
  EXPECT_EQ(r.count(EventKind::kPendingRun), 0u);
  const int expected = has(Defect::kPendingAddAfterFinalize) ? 0 : -1;
  EXPECT_EQ(rcs[0], expected);
  EXPECT_EQ(rcs[1], expected);
}

IFZ_INSTANTIATE_PROFILES(PendingContracts, true);

}  // namespace
}  // namespace ifz::rt::testing
