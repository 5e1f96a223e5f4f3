// SPDX-License-Identifier: Apache-2.0
// simulated_test.cc — the simulated platform's scheduling, lock, fork and ending semantics.
// Defines deterministic GoogleTest cases; every schedule is scripted or seeded.
#include "runtime/platform/simulated.h"

#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/platform/fiber_stack_pool.h"

namespace ifz::platform {
namespace {

using Kind = RunResult::Kind;

// Picks the first id of `order` that is runnable, else the lowest runnable id.
class PreferChooser : public Chooser {
 public:
  explicit PreferChooser(std::vector<ThreadId> order) : order_(std::move(order)) {}
  size_t pick(std::span<const ThreadId> runnable, ThreadId, const PointInfo&) override {
    ++calls;
    for (ThreadId want : order_) {
      for (size_t i = 0; i < runnable.size(); ++i) {
        if (runnable[i] == want) return i;
      }
    }
    return 0;
  }
  int calls = 0;

 private:
  std::vector<ThreadId> order_;
};

// Round robin: the first runnable id after `current`.
class RoundRobinChooser : public Chooser {
 public:
  size_t pick(std::span<const ThreadId> runnable, ThreadId current, const PointInfo&) override {
    for (size_t i = 0; i < runnable.size(); ++i) {
      if (runnable[i] > current) return i;
    }
    return 0;
  }
};

// Seeded pseudo-random picks; records every question it was asked.
class RecordingRandomChooser : public Chooser {
 public:
  explicit RecordingRandomChooser(uint64_t seed) : state_(seed) {}
  size_t pick(std::span<const ThreadId> runnable, ThreadId current,
              const PointInfo& where) override {
    std::string line = std::string(point_name(where.kind)) + ":" + where.label + " cur=" +
                       std::to_string(current) + " run=";
    for (ThreadId t : runnable) line += std::to_string(t) + ",";
    state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
    size_t answer = static_cast<size_t>(state_ >> 33);
    trace.push_back(line + " -> " + std::to_string(answer % runnable.size()));
    return answer;  // deliberately out of range: the platform reduces it modulo size
  }
  std::vector<std::string> trace;

 private:
  uint64_t state_;
};

TEST(SimulatedPlatform, MainReturningExitsZeroWithoutAskingTheChooser) {
  PreferChooser chooser({});
  SimulatedPlatform p(&chooser);
  RunResult r = p.run("main", [&] {
    EXPECT_EQ(p.current(), 0);
    for (int i = 0; i < 10; ++i) p.point({Point::kYield, "op", nullptr});
    p.report("hello ");
    p.report("world");
  });
  EXPECT_EQ(r.kind, Kind::kExited);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.steps, 10u);
  EXPECT_EQ(r.switches, 0u);
  EXPECT_EQ(r.report, "hello world");
  EXPECT_EQ(chooser.calls, 0);  // one runnable thread: no choice to make
}

TEST(SimulatedPlatform, ContendedLockKeepsMutualExclusion) {
  RecordingRandomChooser chooser(7);
  SimulatedPlatform p(&chooser);
  Mutex m(p, "m");
  int counter = 0;
  bool inside = false;
  RunResult r = p.run("main", [&] {
    auto work = [&] {
      for (int i = 0; i < 100; ++i) {
        m.lock();
        EXPECT_FALSE(inside);
        inside = true;
        EXPECT_EQ(m.owner(), p.current());
        p.point({Point::kYield, "critical", nullptr});
        ++counter;
        inside = false;
        m.unlock();
      }
    };
    ThreadId a = p.spawn("a", work);
    ThreadId b = p.spawn("b", work);
    work();
    p.join(a);
    p.join(b);
  });
  EXPECT_EQ(r.kind, Kind::kExited);
  EXPECT_EQ(counter, 300);
  EXPECT_GT(r.switches, 10u);
  EXPECT_FALSE(m.locked());
}

TEST(SimulatedPlatform, AnyThreadMayReleaseALockAndTryLockNeverBlocks) {
  SimulatedPlatform p;
  Mutex m(p, "m");
  RunResult r = p.run("main", [&] {
    m.lock();
    EXPECT_FALSE(m.try_lock());
    ThreadId t = p.spawn("releaser", [&] { m.unlock(); });
    p.join(t);
    EXPECT_FALSE(m.locked());
    EXPECT_TRUE(m.try_lock());
    EXPECT_EQ(m.owner(), 0);
    m.unlock();
  });
  EXPECT_EQ(r.kind, Kind::kExited);
}

TEST(SimulatedPlatform, CondVarWaitReturnsAfterNotifyHoldingTheLock) {
  RoundRobinChooser chooser;
  SimulatedPlatform p(&chooser);
  Mutex m(p, "m");
  CondVar cv(p, "cv");
  int ready = 0;
  int woke = 0;
  RunResult r = p.run("main", [&] {
    auto waiter = [&] {
      m.lock();
      while (ready == 0) cv.wait(m);
      EXPECT_EQ(m.owner(), p.current());
      ++woke;
      m.unlock();
    };
    ThreadId a = p.spawn("a", waiter);
    ThreadId b = p.spawn("b", waiter);
    for (int i = 0; i < 5; ++i) p.point({Point::kYield, "let them wait", nullptr});
    m.lock();
    ready = 1;
    cv.notify_all();
    m.unlock();
    p.join(a);
    p.join(b);
  });
  EXPECT_EQ(r.kind, Kind::kExited) << r.message;
  EXPECT_EQ(woke, 2);
}

TEST(SimulatedPlatform, TimedWaitTimesOutWhenTheChooserPicksTheWaiter) {
  PreferChooser chooser({0});  // thread 0 whenever it is runnable: its timeout fires first
  SimulatedPlatform p(&chooser);
  Mutex m(p, "m");
  CondVar cv(p, "cv");
  bool timed_out = false;
  RunResult r = p.run("main", [&] {
    ThreadId t = p.spawn("notifier", [&] {
      m.lock();
      cv.notify_one();
      m.unlock();
    });
    m.lock();
    timed_out = cv.wait_for(m, 1000);
    EXPECT_EQ(m.owner(), 0);
    m.unlock();
    p.join(t);
  });
  EXPECT_EQ(r.kind, Kind::kExited);
  EXPECT_TRUE(timed_out);
}

TEST(SimulatedPlatform, TimedWaitReturnsFalseWhenNotifiedFirst) {
  PreferChooser chooser({1});  // the notifier whenever it is runnable
  SimulatedPlatform p(&chooser);
  Mutex m(p, "m");
  CondVar cv(p, "cv");
  bool timed_out = true;
  RunResult r = p.run("main", [&] {
    m.lock();
    ThreadId t = p.spawn("notifier", [&] {
      m.lock();
      cv.notify_one();
      m.unlock();
    });
    timed_out = cv.wait_for(m, 1000);
    m.unlock();
    p.join(t);
  });
  EXPECT_EQ(r.kind, Kind::kExited);
  EXPECT_FALSE(timed_out);
}

// Fair timeouts: a waiter that timed out is offered again only after another thread made
// progress, so a lone thread re-waiting forever is stuck after its first timeout.
TEST(SimulatedPlatform, TimeoutsWithoutOtherProgressAreADeadlock) {
  SimulatedPlatform p;
  Mutex m(p, "gil.mutex");
  CondVar cv(p, "gil.cond");
  int timeouts = 0;
  RunResult r = p.run("main", [&] {
    m.lock();
    while (true) timeouts += cv.wait_for(m, 5000) ? 1 : 0;
  });
  EXPECT_EQ(r.kind, Kind::kDeadlock);
  EXPECT_EQ(timeouts, 1);
  ASSERT_EQ(r.blocked.size(), 1u);
  EXPECT_EQ(r.blocked[0].waits_on, "cond gil.cond (lock gil.mutex), timed");
}

TEST(SimulatedPlatform, RelockingByTheOwnerIsADeadlockNamingTheOwner) {
  SimulatedPlatform p;
  Mutex m(p, "HEAD_LOCK");
  RunResult r = p.run("main", [&] {
    m.lock();
    m.lock();
    ADD_FAILURE() << "a self-deadlocked thread ran on";
  });
  EXPECT_EQ(r.kind, Kind::kDeadlock);
  ASSERT_EQ(r.blocked.size(), 1u);
  EXPECT_EQ(r.blocked[0].thread, 0);
  EXPECT_EQ(r.blocked[0].name, "main");
  EXPECT_EQ(r.blocked[0].waits_on, "lock HEAD_LOCK");
  EXPECT_EQ(r.blocked[0].owner, 0);
}

TEST(SimulatedPlatform, AbbaDeadlockReportsTheWaitsForCycle) {
  RoundRobinChooser chooser;
  SimulatedPlatform p(&chooser);
  Mutex a(p, "A");
  Mutex b(p, "B");
  RunResult r = p.run("main", [&] {
    ThreadId t1 = p.spawn("t1", [&] {
      a.lock();
      while (!b.locked()) p.point({Point::kYield, "spin", nullptr});
      b.lock();
    });
    p.spawn("t2", [&] {
      b.lock();
      while (!a.locked()) p.point({Point::kYield, "spin", nullptr});
      a.lock();
    });
    p.join(t1);
  });
  EXPECT_EQ(r.kind, Kind::kDeadlock);
  ASSERT_EQ(r.blocked.size(), 3u);
  EXPECT_EQ(r.blocked[0].waits_on, "join T1");
  EXPECT_EQ(r.blocked[0].owner, 1);
  EXPECT_EQ(r.blocked[1].waits_on, "lock B");
  EXPECT_EQ(r.blocked[1].owner, 2);
  EXPECT_EQ(r.blocked[2].waits_on, "lock A");
  EXPECT_EQ(r.blocked[2].owner, 1);
}

TEST(SimulatedPlatform, JoinWaitsForTheThreadToFinish) {
  PreferChooser chooser({0});
  SimulatedPlatform p(&chooser);
  int value = 0;
  RunResult r = p.run("main", [&] {
    ThreadId t = p.spawn("worker", [&] {
      for (int i = 0; i < 3; ++i) p.point({Point::kYield, "w", nullptr});
      value = 42;
    });
    EXPECT_TRUE(p.alive(t));
    p.join(t);
    EXPECT_FALSE(p.alive(t));
    EXPECT_EQ(value, 42);
    p.join(t);  // joining a finished thread returns at once
  });
  EXPECT_EQ(r.kind, Kind::kExited);
}

struct SetOnDestroy {
  bool* flag;
  ~SetOnDestroy() { *flag = true; }
};

TEST(SimulatedPlatform, ExitThreadUnwindsTheThread) {
  SimulatedPlatform p;
  Mutex m(p, "m");
  bool destroyed = false;
  bool after = false;
  RunResult r = p.run("main", [&] {
    ThreadId t = p.spawn("exiter", [&] {
      SetOnDestroy guard{&destroyed};
      p.exit_thread();
      after = true;
    });
    p.join(t);
    EXPECT_FALSE(p.alive(t));
  });
  EXPECT_EQ(r.kind, Kind::kExited);
  EXPECT_TRUE(destroyed);
  EXPECT_FALSE(after);
}

// A lock guard releasing during unwinding switches threads with an exception in flight; another
// thread's throw/catch in between must not disturb it (the per-coroutine exception record).
TEST(SimulatedPlatform, ExceptionsInFlightSurviveSwitches) {
  RoundRobinChooser chooser;
  SimulatedPlatform p(&chooser);
  Mutex m(p, "m");
  std::string seen_a, seen_b;
  RunResult r = p.run("main", [&] {
    auto body = [&](const char* what, std::string* seen) {
      try {
        try {
          throw std::runtime_error(what);
        } catch (...) {
          m.lock();  // switches inside the handler
          p.point({Point::kYield, "in handler", nullptr});
          m.unlock();
          throw;  // must rethrow *this* thread's exception
        }
      } catch (const std::runtime_error& e) {
        *seen = e.what();
      }
    };
    ThreadId a = p.spawn("a", [&] { body("from a", &seen_a); });
    ThreadId b = p.spawn("b", [&] { body("from b", &seen_b); });
    p.join(a);
    p.join(b);
  });
  EXPECT_EQ(r.kind, Kind::kExited);
  EXPECT_EQ(seen_a, "from a");
  EXPECT_EQ(seen_b, "from b");
}

TEST(SimulatedPlatform, ExitThreadInMainLetsTheOtherThreadsFinish) {
  SimulatedPlatform p;
  bool worker_done = false;
  RunResult r = p.run("main", [&] {
    p.spawn("worker", [&] {
      p.point({Point::kYield, "w", nullptr});
      worker_done = true;
    });
    p.exit_thread();
  });
  EXPECT_EQ(r.kind, Kind::kExited);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(worker_done);
}

TEST(SimulatedPlatform, HungThreadIsNotADeadlock) {
  PreferChooser chooser({1});
  SimulatedPlatform p(&chooser);
  RunResult r = p.run("main", [&] {
    p.spawn("daemon", [&] { p.hang_thread("daemon after finalize"); });
    for (int i = 0; i < 3; ++i) p.point({Point::kYield, "main", nullptr});
  });
  EXPECT_EQ(r.kind, Kind::kExited);
}

TEST(SimulatedPlatform, JoiningAHungThreadIsADeadlockAndOnlyHungIsAHang) {
  SimulatedPlatform p1;
  RunResult r = p1.run("main", [&] {
    ThreadId t = p1.spawn("daemon", [&] { p1.hang_thread("parked in take_gil"); });
    p1.join(t);
  });
  EXPECT_EQ(r.kind, Kind::kDeadlock);
  ASSERT_EQ(r.blocked.size(), 2u);
  EXPECT_EQ(r.blocked[0].waits_on, "join T1");
  EXPECT_EQ(r.blocked[1].waits_on, "hang: parked in take_gil");

  SimulatedPlatform p2;
  r = p2.run("main", [&] { p2.hang_thread("forever"); });
  EXPECT_EQ(r.kind, Kind::kHang);
  ASSERT_EQ(r.blocked.size(), 1u);
}

TEST(SimulatedPlatform, ForkFollowingTheChildDropsOtherThreadsAndKeepsTheirLocks) {
  PreferChooser chooser({1});
  SimulatedPlatform p(&chooser);
  Mutex m(p, "HEAD_LOCK");
  Mutex other(p, "other");
  CondVar never(p, "never");
  bool worker_resumed = false;
  ForkResult f;
  RunResult r = p.run("main", [&] {
    ThreadId w = p.spawn("holder", [&] {
      m.lock();
      other.lock();
      never.wait(other);  // parked while holding m
      worker_resumed = true;
    });
    f = p.fork(ForkFollow::kChild);
    EXPECT_FALSE(p.alive(w));
    EXPECT_EQ(m.owner(), w);
    p.join(w);  // a vanished thread counts as finished
    m.lock();   // held by a thread that no longer exists
  });
  EXPECT_TRUE(f.in_child);
  EXPECT_EQ(f.child_pid, 0);
  EXPECT_FALSE(worker_resumed);
  EXPECT_EQ(r.kind, Kind::kDeadlock);
  ASSERT_EQ(r.blocked.size(), 1u);  // vanished threads are not listed
  EXPECT_EQ(r.blocked[0].waits_on, "lock HEAD_LOCK");
  EXPECT_EQ(r.blocked[0].owner, 1);
}

TEST(SimulatedPlatform, ForkChildReinitFreesTheLockAndTheForkerCarriesOn) {
  PreferChooser chooser({1});
  SimulatedPlatform p(&chooser);
  Mutex m(p, "m");
  bool child_done = false;
  RunResult r = p.run("main", [&] {
    p.spawn("forker", [&] {
      m.lock();
      ForkResult f = p.fork(ForkFollow::kChild);  // thread 0 vanishes here
      EXPECT_TRUE(f.in_child);
      EXPECT_FALSE(p.alive(0));
      m.reinit();
      m.lock();
      m.unlock();
      child_done = true;
    });
    m.lock();  // thread 0 vanishes wherever the fork finds it
    ADD_FAILURE() << "thread 0 vanished and must never resume";
  });
  EXPECT_EQ(r.kind, Kind::kExited);  // the last non-vanished thread finished
  EXPECT_TRUE(child_done);
}

TEST(SimulatedPlatform, ForkFollowingTheParentChangesNothing) {
  SimulatedPlatform p;
  RunResult r = p.run("main", [&] {
    ThreadId w = p.spawn("worker", [&] { p.point({Point::kYield, "w", nullptr}); });
    ForkResult f1 = p.fork(ForkFollow::kParent);
    ForkResult f2 = p.fork(ForkFollow::kParent);
    EXPECT_FALSE(f1.in_child);
    EXPECT_EQ(f1.child_pid, 1001);
    EXPECT_EQ(f2.child_pid, 1002);
    EXPECT_TRUE(p.alive(w));
    p.join(w);
  });
  EXPECT_EQ(r.kind, Kind::kExited);
}

TEST(SimulatedPlatform, StepLimitStopsASpinLoop) {
  PreferChooser chooser({1});
  SimulatedPlatform p(&chooser, SimOptions{.max_steps = 1000});
  RunResult r = p.run("main", [&] {
    p.spawn("idle", [&] { p.hang_thread("idle"); });
    for (;;) p.point({Point::kYield, "spin", nullptr});
  });
  EXPECT_EQ(r.kind, Kind::kStepLimit);
  EXPECT_EQ(r.steps, 1001u);
  ASSERT_EQ(r.blocked.size(), 2u);
  EXPECT_EQ(r.blocked[0].waits_on, "runnable");
  EXPECT_EQ(r.blocked[1].waits_on, "hang: idle");
}

TEST(SimulatedPlatform, ExitAndAbortFromANonMainThreadEndTheProcess) {
  SimulatedPlatform p1;
  RunResult r = p1.run("main", [&] {
    ThreadId t = p1.spawn("exiter", [&] { p1.exit_process(3); });
    p1.join(t);
    ADD_FAILURE() << "the process exited";
  });
  EXPECT_EQ(r.kind, Kind::kExited);
  EXPECT_EQ(r.exit_code, 3);

  SimulatedPlatform p2;
  r = p2.run("main", [&] {
    ThreadId t = p2.spawn("fatal", [&] {
      // The temporary message is moved out before the coroutine is abandoned: nothing leaks.
      p2.abort_process(std::string("Fatal Python error: ") + "remaining threads");
    });
    p2.join(t);
  });
  EXPECT_EQ(r.kind, Kind::kAborted);
  EXPECT_EQ(r.message, "Fatal Python error: remaining threads");
}

// Same program, same answers ⇒ same (point, current, runnable) sequence and same result.
TEST(SimulatedPlatform, SameChoicesGiveTheSameTrace) {
  auto execute = [](uint64_t seed) {
    RecordingRandomChooser chooser(seed);
    SimulatedPlatform p(&chooser);
    Mutex m(p, "m");
    CondVar cv(p, "cv");
    int tokens = 0;
    std::vector<ThreadId> ts;  // outside the coroutine: an abandoned one must not own heap
    RunResult r = p.run("main", [&] {
      for (int k = 0; k < 3; ++k) {
        ts.push_back(p.spawn("w" + std::to_string(k), [&] {
          for (int i = 0; i < 20; ++i) {
            m.lock();
            if (tokens == 0) cv.wait_for(m, 10);
            if (tokens > 0) --tokens;
            m.unlock();
            p.syscall("io");
          }
        }));
      }
      for (int i = 0; i < 30; ++i) {
        m.lock();
        ++tokens;
        cv.notify_one();
        m.unlock();
      }
      for (ThreadId t : ts) p.join(t);
    });
    chooser.trace.push_back(std::string(run_result_kind_name(r.kind)) + " steps=" +
                            std::to_string(r.steps) + " switches=" + std::to_string(r.switches));
    return chooser.trace;
  };
  std::vector<std::string> first = execute(12345);
  std::vector<std::string> second = execute(12345);
  EXPECT_GT(first.size(), 50u);
  EXPECT_EQ(first, second);
  EXPECT_NE(first, execute(54321));
}

// Stacks come from the per-OS-thread pool: after the first execution no stack is ever mapped
// again, whether coroutines finished, blocked at a deadlock, or were abandoned at exit.
TEST(SimulatedPlatform, ThousandExecutionsReuseTheirStacks) {
  auto execute = [](int i) {
    RoundRobinChooser chooser;
    SimulatedPlatform p(&chooser);
    Mutex m(p, "m");
    RunResult r = p.run("main", [&] {
      for (int k = 0; k < 3; ++k) {
        p.spawn("w", [&, k] {
          char frame[2048];  // poisoned redzones left on the stack if abandoned
          std::memset(frame, k, sizeof frame);
          m.lock();
          p.point({Point::kYield, frame[0] == 0 ? "zero" : "nonzero", nullptr});
          if (i % 3 == 1) m.lock();  // self-deadlock: abandoned, blocked
          m.unlock();
        });
      }
      p.point({Point::kYield, "main", nullptr});
      if (i % 3 == 2) p.exit_process(1);  // abandon everybody mid-flight
      for (ThreadId t = 1; t <= 3; ++t) p.join(t);
    });
    return r.kind;
  };
  execute(0);
  execute(1);
  execute(2);
  FiberStackPool& pool = FiberStackPool::for_this_thread(0);
  const uint64_t mapped = pool.stats().mapped;
  int deadlocks = 0;
  for (int i = 0; i < 1000; ++i) deadlocks += execute(i) == Kind::kDeadlock ? 1 : 0;
  EXPECT_EQ(pool.stats().mapped, mapped);
  EXPECT_EQ(deadlocks, 333);
}

TEST(FiberStackPool, StacksAreGuardedAndReused) {
  FiberStackPool pool(10000);
  EXPECT_EQ(pool.stack_size() % 4096, 0u);
  EXPECT_GE(pool.stack_size(), 10000u);
  FiberStack a = pool.acquire();
  EXPECT_EQ(a.size(), pool.stack_size());
  EXPECT_EQ(a.bottom() + a.size(), a.top());
  pool.release(a);
  FiberStack b = pool.acquire();
  EXPECT_EQ(b.mapping, a.mapping);
  EXPECT_EQ(pool.stats().mapped, 1u);
  pool.release(b);
  EXPECT_EQ(pool.stats().free, 1u);
}

}  // namespace
}  // namespace ifz::platform
