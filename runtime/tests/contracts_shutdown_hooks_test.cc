// SPDX-License-Identifier: Apache-2.0
// contracts_shutdown_hooks_test.cc — shutdown hooks and signal.signal(), on every profile:
// atexit callbacks belong to the interpreter that registered them (bpo-31901, 3.7+),
// threading._register_atexit callbacks run in threading._shutdown before its joins
// (bpo-39812, 3.9+), and signal.signal()'s main-thread check per version (bpo-35724,
// bpo-37031). Each expectation is an embedding-program measurement ([EXP 3.7.16–3.13.0],
// conform 3.11.2, 3.13.18, 3.14.10, 3.15.2; docs/program-format.md).
#include <gtest/gtest.h>

#include "runtime/tests/contract_test.h"

namespace ifz::rt::testing {
namespace {

class ShutdownHooks : public ProfileTest {};
class ThreadingAtexitHooks : public ProfileTest {};  // 3.9+: the function exists

// Index of the first event of `kind` (for `interp` when >= 0), or events.size().
size_t first_of(const ScenarioResult& r, EventKind kind, int64_t interp = -1) {
  for (size_t i = 0; i < r.events.size(); ++i) {
    if (r.events[i].kind == kind && (interp < 0 || r.events[i].interp == interp)) return i;
  }
  return r.events.size();
}

// A subinterpreter's atexit callback runs inside its Py_EndInterpreter, in that interpreter,
// before it is deleted; the main interpreter's waits for Py_FinalizeEx.
TEST_P(ShutdownHooks, AtexitOfASubinterpreterRunsAtItsEnd) {
  int64_t sub_ran_in = -1, main_ran_in = -1;
  bool main_ran_before_end = false;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ThreadState* main = rt.current();
    ASSERT_TRUE(rt.atexit_register([&] { main_ran_in = rt.current()->interp->id; }).ok);
    ThreadState* sub = rt.new_interpreter(InterpConfig{}, nullptr);
    ASSERT_NE(sub, nullptr);
    ASSERT_TRUE(rt.atexit_register([&] { sub_ran_in = rt.current()->interp->id; }).ok);
    rt.end_interpreter(sub);
    main_ran_before_end = main_ran_in >= 0;
    rt.swap(main);
    rt.finalize();
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_EQ(sub_ran_in, 1);
  EXPECT_EQ(main_ran_in, 0);
  EXPECT_FALSE(main_ran_before_end);
  EXPECT_LT(first_of(r, EventKind::kAtexitCallback, 1), first_of(r, EventKind::kInterpDeleted, 1));
}

// _PyAtExit_Call counts the callbacks, runs them, then drops them all: one registered by a
// callback never runs (also 3.15's pre-finalisation loop does not run it).
TEST_P(ShutdownHooks, AtexitRegisteredByACallbackNeverRuns) {
  bool late_ran = false;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    rt.atexit_register([&] { rt.atexit_register([&] { late_ran = true; }); });
    rt.finalize();
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_EQ(r.count(EventKind::kAtexitCallback), 1u);
  EXPECT_FALSE(late_ran);
}

// threading._shutdown: _SHUTTING_DOWN, the callbacks newest first, then the joins; atexit
// after. A registration from a callback raises RuntimeError.
TEST_P(ThreadingAtexitHooks, RunBeforeTheJoinNewestFirst) {
  std::vector<int> order;
  ApiResult late;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    rt.start_thread(ThreadKind::kThreading, /*daemon=*/false, [&] { rt.block("io"); });
    ASSERT_TRUE(rt.threading_register_atexit([&] {
      order.push_back(1);
      late = rt.threading_register_atexit([] {});
    }).ok);
    ASSERT_TRUE(rt.threading_register_atexit([&] { order.push_back(2); }).ok);
    rt.atexit_register([&] { order.push_back(3); });
    rt.finalize();
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_EQ(order, (std::vector<int>{2, 1, 3}));
  EXPECT_EQ(late.error, "RuntimeError: can't register atexit after shutdown");
  EXPECT_LT(first_of(r, EventKind::kThreadingAtexitCallback), first_of(r, EventKind::kThreadsJoined, 0));
}

// signal.signal(): the main thread of (3.8+) the main interpreter; 3.7 the thread of the
// lifetime's first `import _signal`, any interpreter.
TEST_P(ShutdownHooks, SetSignalOnlyOnTheSignalModulesMainThread) {
  ApiResult main_main, main_sub, from_thread;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ThreadState* main = rt.current();
    main_main = rt.set_signal_handler();
    ThreadState* sub = rt.new_interpreter(InterpConfig{}, nullptr);
    main_sub = rt.set_signal_handler();
    rt.end_interpreter(sub);
    rt.swap(main);
    auto t = rt.start_thread(ThreadKind::kThreading, false, [&] { from_thread = rt.set_signal_handler(); });
    rt.join_thread(t.thread);
    rt.finalize();
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_TRUE(main_main.ok) << main_main.error;
  EXPECT_EQ(main_sub.ok, !profile().signals_in_main_interp_only) << main_sub.error;
  EXPECT_EQ(from_thread.error, "ValueError: signal only works in main thread");
}

TEST_P(ShutdownHooks, SetSignalFollowsTheFirstImporterOn37) {
  ApiResult from_thread, main_after;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    auto t = rt.start_thread(ThreadKind::kThreading, false, [&] { from_thread = rt.set_signal_handler(); });
    rt.join_thread(t.thread);
    main_after = rt.set_signal_handler();
    rt.finalize();
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  const bool importer = profile().signal_main_thread_is_first_importer;
  EXPECT_EQ(from_thread.ok, importer) << from_thread.error;
  EXPECT_EQ(main_after.ok, !importer) << main_after.error;
}

IFZ_INSTANTIATE_PROFILES(ShutdownHooks, true);
IFZ_INSTANTIATE_PROFILES(ThreadingAtexitHooks, p.has_threading_register_atexit);

}  // namespace
}  // namespace ifz::rt::testing
