// SPDX-License-Identifier: Apache-2.0
// contracts_subinterp_test.cc — the subinterpreter contracts of cpython-notes §4 (S1–S3), one
// named test per contract and scenario, on every profile.
#include <gtest/gtest.h>

#include "runtime/tests/contract_test.h"

namespace ifz::rt::testing {
namespace {

using platform::Point;
using platform::ThreadId;

class SubinterpContracts : public ProfileTest {};

const std::string kNotLast = "Fatal Python error: Py_EndInterpreter: not the last thread";

// The isolated configuration: 3.12+ Py_NewInterpreterFromConfig's isolated defaults
// (gh-98610); 3.9–3.11 only know `isolated` (_isolated_interpreter); ≤3.8 none of it.
InterpConfig isolated_config() {
  InterpConfig c;
  c.isolated = true;
  c.own_gil = true;
  c.allow_fork = false;
  c.allow_exec = false;
  c.allow_threads = true;
  c.allow_daemon_threads = false;
  return c;
}

// ---- S1 ---------------------------------------------------------------------------------------

// S1: Py_EndInterpreter(t) requires t to be the interpreter's only thread state once the
// non-daemon threads were joined: a daemon threading thread, a raw _thread thread and a
// foreign C thread's PyThreadState_New all make it fatal ([EXP] 3.7–3.13). 3.14.1+/3.15 shut
// the others down and return (PR gh-128640; [PROBE 3.14.10, 3.15.2] end_interp_daemon,
// end_interp_second_tstate); their threads hang at their next GIL take.
TEST_P(SubinterpContracts, S1_EndInterpreterWithAnotherThreadStateIsFatal) {
  for (const char* who : {"daemon", "raw", "foreign"}) {
    SCOPED_TRACE(who);
    Director d;
    d.order = {1};
    d.on_point = [&](ThreadId current, const platform::PointInfo& where) {
      if (current == 1 && where.kind == Point::kSyscall) d.hold(1);
    };
    bool returned = false;
    auto r = run_sim(GetParam(), [&](Runtime& rt) {
      rt.initialize();
      ThreadState* sub = rt.new_interpreter({}, nullptr);
      const std::string_view w = who;
      if (w == "foreign") {
        Interpreter* interp = sub->interp;
        const ThreadId c = rt.start_c_thread([&rt, interp] { rt.thread_state_new(interp); });
        rt.platform().join(c);
      } else {
        auto s = rt.start_thread(w == "raw" ? ThreadKind::kRaw : ThreadKind::kThreading,
                                 /*daemon=*/true, [&rt] { rt.block("sleep"); });
        ASSERT_TRUE(s.result.ok) << s.result.error;
        rt.block("let it reach its syscall");
      }
      rt.end_interpreter(sub);
      returned = true;
    }, &d);
    if (profile().end_interp_with_other_tstates == EndInterpOthers::kShutDownOthers) {
      EXPECT_TRUE(returned);
      EXPECT_TRUE(r.exited_normally()) << r.summary();
      continue;
    }
    EXPECT_FALSE(returned);
    EXPECT_TRUE(r.fatal(kNotLast)) << r.summary();
  }
}

// S1: the interpreter's finalizing flag is set before its non-daemon threads are joined, and
// Py_EndInterpreter returns only once they ended; then the interpreter is gone and the
// caller has no current thread state.
TEST_P(SubinterpContracts, S1_EndInterpreterJoinsNonDaemonThreadsFirst) {
  bool saw_finalizing = false, done = false;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ThreadState* main_t = rt.current();
    ThreadState* sub = rt.new_interpreter({}, nullptr);
    rt.start_thread(ThreadKind::kThreading, /*daemon=*/false, [&] {
      rt.block("sleep");
      saw_finalizing = rt.current()->interp->finalizing.load();
      rt.run_bytecode(2);
      done = true;
    });
    rt.end_interpreter(sub);
    EXPECT_TRUE(done) << "returned before the thread ended";
    EXPECT_EQ(rt.current(), nullptr);
    EXPECT_EQ(rt.interpreters().size(), 1u);
    rt.swap(main_t);
    rt.finalize();
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_TRUE(saw_finalizing) << "interp->finalizing is set before the join";
  EXPECT_TRUE(done);
}

// S1: the thread state passed must be the current one.
TEST_P(SubinterpContracts, S1_EndInterpreterOfANonCurrentThreadStateIsFatal) {
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ThreadState* main_t = rt.current();
    ThreadState* sub = rt.new_interpreter({}, nullptr);
    rt.swap(main_t);
    rt.end_interpreter(sub);
  });
  EXPECT_TRUE(r.fatal("Fatal Python error: Py_EndInterpreter: thread is not current"))
      << r.summary();
}

// ---- S2 ---------------------------------------------------------------------------------------

// S2: daemon threads in subinterpreters. Legacy subinterpreters allow them in every version
// (the 3.9.0a1–a5 ban was reverted, bpo-40234). 3.12+ isolated interpreters refuse them
// (allow_daemon_threads=0, gh-98610) and refuse threads altogether with allow_threads=0;
// before 3.12 these flags do not exist, and 3.9–3.11 isolated subinterpreters refuse every
// thread (bpo-40453's _isolated_interpreter check in _thread; conform on Debian 3.11.2).
TEST_P(SubinterpContracts, S2_DaemonThreadsInSubinterpreters) {
  ApiResult legacy_daemon, isolated_daemon, isolated_thread, no_threads;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    rt.initialize();
    ThreadState* main_t = rt.current();
    ThreadState* legacy = rt.new_interpreter({}, nullptr);
    auto s = rt.start_thread(ThreadKind::kThreading, /*daemon=*/true, [] {});
    legacy_daemon = s.result;
    if (s.result.ok) rt.join_thread(s.thread);
    rt.end_interpreter(legacy);
    rt.swap(main_t);

    ThreadState* iso = rt.new_interpreter(isolated_config(), nullptr);
    s = rt.start_thread(ThreadKind::kThreading, /*daemon=*/true, [] {});
    isolated_daemon = s.result;
    if (s.result.ok) rt.join_thread(s.thread);
    s = rt.start_thread(ThreadKind::kThreading, /*daemon=*/false, [] {});
    isolated_thread = s.result;
    if (s.result.ok) rt.join_thread(s.thread);
    rt.end_interpreter(iso);
    rt.swap(main_t);

    InterpConfig cfg = isolated_config();
    cfg.allow_threads = false;
    ThreadState* none = rt.new_interpreter(cfg, nullptr);
    s = rt.start_thread(ThreadKind::kThreading, /*daemon=*/false, [] {});
    no_threads = s.result;
    if (s.result.ok) rt.join_thread(s.thread);
    rt.end_interpreter(none);
    rt.swap(main_t);
    rt.finalize();
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  EXPECT_TRUE(legacy_daemon.ok) << legacy_daemon.error;
  const std::string kNoThreads = "RuntimeError: thread is not supported for isolated subinterpreters";
  const SubinterpThreadCheck check = profile().subinterp_thread_check;
  if (profile().has_isolated_interps && check == SubinterpThreadCheck::kIsolatedFlag) {
    EXPECT_EQ(isolated_thread.error, kNoThreads);
    EXPECT_EQ(isolated_daemon.error, kNoThreads);
    EXPECT_EQ(no_threads.error, kNoThreads);
    return;
  }
  EXPECT_TRUE(isolated_thread.ok) << isolated_thread.error;
  if (check == SubinterpThreadCheck::kConfigFlags) {
    EXPECT_EQ(isolated_daemon.error,
              "RuntimeError: daemon threads are disabled in this (sub)interpreter");
    EXPECT_EQ(no_threads.error,
              "RuntimeError: thread is not supported for isolated subinterpreters");
  } else {
    EXPECT_TRUE(isolated_daemon.ok) << isolated_daemon.error;
    EXPECT_TRUE(no_threads.ok) << no_threads.error;
  }
}

// ---- S3 ---------------------------------------------------------------------------------------

// S3: interpreter ids are never reused within one runtime lifetime (next_id only grows, also
// across Py_EndInterpreter); after Py_FinalizeEx + Py_Initialize the counter restarts: the
// new main interpreter is 0 and the first subinterpreter 1 again ([EXP] 3.7–3.13).
TEST_P(SubinterpContracts, S3_InterpreterIdsAreNeverReusedWithinALifetime) {
  std::vector<int64_t> first, second;
  auto r = run_sim(GetParam(), [&](Runtime& rt) {
    for (auto* ids : {&first, &second}) {
      rt.initialize();
      ThreadState* main_t = rt.current();
      ids->push_back(main_t->interp->id);
      ThreadState* kept = rt.new_interpreter({}, nullptr);
      ids->push_back(kept->interp->id);
      for (int i = 0; i < 3; ++i) {
        ThreadState* sub = rt.new_interpreter({}, nullptr);
        ids->push_back(sub->interp->id);
        rt.end_interpreter(sub);
        rt.swap(main_t);
      }
      rt.swap(kept);
      rt.end_interpreter(kept);
      rt.swap(main_t);
      ThreadState* last = rt.new_interpreter({}, nullptr);
      ids->push_back(last->interp->id);
      rt.end_interpreter(last);
      rt.swap(main_t);
      rt.finalize();
    }
  });
  ASSERT_TRUE(r.exited_normally()) << r.summary();
  const std::vector<int64_t> expected = {0, 1, 2, 3, 4, 5};
  EXPECT_EQ(first, expected);
  EXPECT_EQ(second, expected) << "a new runtime lifetime restarts the counter";
}

IFZ_INSTANTIATE_PROFILES(SubinterpContracts, true);

}  // namespace
}  // namespace ifz::rt::testing
