// SPDX-License-Identifier: Apache-2.0
// strategies_test.cc — the scheduler strategies: determinism, bounds, replay and a depth-2 canary.
// Defines GoogleTest cases over scripted runnable sets and small SimulatedPlatform workloads.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "harness/schedule/input_driven.h"
#include "harness/schedule/pct_strategy.h"
#include "harness/schedule/random_strategy.h"
#include "harness/schedule/strategy.h"
#include "harness/tests/rc_property.h"
#include "runtime/platform/simulated.h"

namespace ifz::harness {
namespace {

using platform::Chooser;
using platform::CondVar;
using platform::Mutex;
using platform::Point;
using platform::PointInfo;
using platform::RunResult;
using platform::SimulatedPlatform;
using platform::ThreadId;
using testing::check_property;

// ---- scripted questions -------------------------------------------------------------------------

struct Question {
  std::vector<ThreadId> runnable;  // sorted, >= 2 entries
  ThreadId current;
};

// A fixed, varied sequence of questions over threads 0..5 (an LCG, so it is the same everywhere).
std::vector<Question> script(size_t n = 300) {
  std::vector<Question> out;
  uint64_t state = 12345;
  auto next = [&] { return (state = state * 6364136223846793005ull + 1442695040888963407ull) >> 33; };
  while (out.size() < n) {
    Question q;
    for (ThreadId t = 0; t < 6; ++t) {
      if (next() % 3 != 0) q.runnable.push_back(t);
    }
    q.current = static_cast<ThreadId>(next() % 7) - 1;  // kNoThread sometimes
    if (q.runnable.size() >= 2) out.push_back(q);
  }
  return out;
}

std::vector<size_t> ask(Chooser& chooser, const std::vector<Question>& questions) {
  std::vector<size_t> answers;
  for (const Question& q : questions) {
    answers.push_back(chooser.pick(q.runnable, q.current, PointInfo{}));
  }
  return answers;
}

// ---- determinism and bounds ---------------------------------------------------------------------

TEST(Strategies, SameSeedGivesSamePicks) {
  auto questions = script();
  RandomStrategy r1(7), r2(7), r3(8);
  EXPECT_EQ(ask(r1, questions), ask(r2, questions));
  EXPECT_NE(ask(r1, questions), ask(r3, questions)) << "different seeds should differ";
  PctStrategy p1(3, 7), p2(3, 7);
  EXPECT_EQ(ask(p1, questions), ask(p2, questions));
  const std::vector<uint8_t> bytes = {3, 1, 4, 1, 5, 9, 2, 6};
  InputDrivenStrategy i1(bytes), i2(bytes);
  EXPECT_EQ(ask(i1, questions), ask(i2, questions));
}

// begin_execution() before the first execution changes nothing; later ones start new streams,
// each a function of (seed, execution index) only.
TEST(Strategies, EachExecutionHasItsOwnReproducibleStream) {
  auto questions = script(100);
  RandomStrategy fresh(11), driven(11);
  auto first = ask(fresh, questions);
  driven.begin_execution();
  EXPECT_EQ(ask(driven, questions), first);
  driven.begin_execution();
  auto second = ask(driven, questions);
  EXPECT_NE(first, second);
  RandomStrategy again(11);
  again.begin_execution();
  again.begin_execution();
  EXPECT_EQ(ask(again, questions), second) << "execution 1 does not depend on execution 0";

  PctStrategy pct_a(2, 11), pct_b(2, 11);
  pct_b.begin_execution();
  EXPECT_EQ(ask(pct_a, questions), ask(pct_b, questions));
}

TEST(Strategies, DescribeNamesParameters) {
  EXPECT_EQ(PctStrategy(2, 7).describe(), "pct(depth=2,seed=7)");
  EXPECT_EQ(RandomStrategy(7, 0.25).describe(), "random(seed=7,stickiness=0.25)");
  const uint8_t bytes[3] = {};
  InputDrivenStrategy input(bytes);
  EXPECT_EQ(input.describe(), "input(bytes=3)");
  RecordingChooser rec(input);
  EXPECT_EQ(rec.describe(), "record(input(bytes=3))");
  EXPECT_EQ(ReplayStrategy(Schedule{{0, 1, 1}}).describe(), "replay(picks=3)");
}

TEST(StrategyProperties, EveryAnswerIsAnIndexIntoTheRunnableSet) {
  check_property("every strategy answers an index into the runnable set", [] {
    auto sets = *rc::gen::container<std::vector<std::vector<ThreadId>>>(
        rc::gen::container<std::vector<ThreadId>>(rc::gen::inRange<ThreadId>(0, 40)));
    auto bytes = *rc::gen::arbitrary<std::vector<uint8_t>>();
    auto replayed = *rc::gen::container<std::vector<ThreadId>>(rc::gen::inRange<ThreadId>(0, 40));
    std::vector<std::unique_ptr<Strategy>> all;
    all.push_back(std::make_unique<RandomStrategy>(*rc::gen::arbitrary<uint64_t>(),
                                                   *rc::gen::inRange(0, 101) / 100.0));
    all.push_back(std::make_unique<PctStrategy>(*rc::gen::inRange(1, 6),
                                                *rc::gen::arbitrary<uint64_t>(),
                                                *rc::gen::inRange(1, 300)));
    all.push_back(std::make_unique<InputDrivenStrategy>(bytes));
    all.push_back(std::make_unique<ReplayStrategy>(Schedule{replayed}));
    for (auto& s : all) {
      for (int execution = 0; execution < 2; ++execution) {
        s->begin_execution();
        for (std::vector<ThreadId> runnable : sets) {
          std::sort(runnable.begin(), runnable.end());  // as the backend's runnable lists
          runnable.erase(std::unique(runnable.begin(), runnable.end()), runnable.end());
          if (runnable.size() < 2) continue;
          ThreadId current = *rc::gen::inRange<ThreadId>(-1, 41);
          RC_ASSERT(s->pick(runnable, current, PointInfo{}) < runnable.size());
        }
      }
    }
  });
}

// ---- InputDrivenStrategy ------------------------------------------------------------------------

TEST(InputDriven, ConsumesOneBytePerChoiceThenFallsBackToSequential) {
  const std::vector<uint8_t> bytes = {5, 0, 7};
  InputDrivenStrategy s(bytes);
  const std::vector<ThreadId> three = {0, 2, 4};
  EXPECT_EQ(s.pick(three, 0, {}), 2u);  // 5 % 3
  EXPECT_EQ(s.consumed(), 1u);
  EXPECT_EQ(s.pick(three, 4, {}), 0u);  // 0 % 3
  EXPECT_EQ(s.consumed(), 2u);
  EXPECT_EQ(s.pick(std::vector<ThreadId>{1, 3}, 1, {}), 1u);  // 7 % 2
  EXPECT_EQ(s.consumed(), 3u);
  // Input exhausted: keep the current thread if runnable, else the lowest.
  EXPECT_EQ(s.pick(three, 4, {}), 2u);
  EXPECT_EQ(s.pick(three, 3, {}), 0u);
  EXPECT_EQ(s.pick(three, platform::kNoThread, {}), 0u);
  EXPECT_EQ(s.consumed(), 3u) << "never reads past the span";
  s.begin_execution();
  EXPECT_EQ(s.consumed(), 0u);
  EXPECT_EQ(s.pick(three, 0, {}), 2u);
}

TEST(RandomStrategy, StickinessOneKeepsTheCurrentThreadAndZeroSpreadsPicks) {
  auto questions = script();
  RandomStrategy sticky(3, /*stickiness=*/1.0);
  std::vector<size_t> seen(6, 0);
  RandomStrategy uniform(3, /*stickiness=*/0.0);
  for (const Question& q : questions) {
    size_t i = sticky.pick(q.runnable, q.current, {});
    auto it = std::find(q.runnable.begin(), q.runnable.end(), q.current);
    if (it != q.runnable.end()) EXPECT_EQ(q.runnable[i], q.current);
    ++seen[q.runnable[uniform.pick(q.runnable, q.current, {})]];
  }
  for (ThreadId t = 0; t < 6; ++t) EXPECT_GT(seen[t], 10u) << "thread " << t;
}

// ---- RecordingChooser and ReplayStrategy --------------------------------------------------------

TEST(RecordingChooser, RecordsThreadIdsNotIndexes) {
  const std::vector<uint8_t> bytes = {1, 0, 3};
  InputDrivenStrategy input(bytes);
  RecordingChooser rec(input);
  rec.pick(std::vector<ThreadId>{2, 5}, 2, {});     // index 1 → T5
  rec.pick(std::vector<ThreadId>{0, 2, 5}, 5, {});  // index 0 → T0
  rec.pick(std::vector<ThreadId>{1, 4}, 1, {});     // index 1 → T4
  EXPECT_EQ(rec.schedule().to_string(), "IFZS1:5.0.4");
  rec.begin_execution();  // clears and rewinds the inner strategy
  EXPECT_TRUE(rec.schedule().picks.empty());
  rec.pick(std::vector<ThreadId>{2, 5}, 2, {});
  EXPECT_EQ(rec.schedule().to_string(), "IFZS1:5");
  rec.reset();
  EXPECT_EQ(rec.schedule(), Schedule{});
}

TEST(ReplayStrategy, ReportsTheFirstDivergenceButNotExhaustion) {
  ReplayStrategy replay(*Schedule::parse("IFZS1:1.2.0", nullptr));
  EXPECT_EQ(replay.pick(std::vector<ThreadId>{0, 1}, 0, {}), 1u);
  EXPECT_EQ(replay.pick(std::vector<ThreadId>{0, 1}, 1, {}), 1u);  // T2 absent: keep current
  EXPECT_TRUE(replay.diverged());
  EXPECT_EQ(replay.divergence_message(), "choice 1: recorded T2 is not runnable (runnable: T0 T1)");
  EXPECT_EQ(replay.pick(std::vector<ThreadId>{0, 3}, 3, {}), 0u);  // back on track by position
  EXPECT_EQ(replay.divergence_message(), "choice 1: recorded T2 is not runnable (runnable: T0 T1)");
  EXPECT_EQ(replay.remaining(), 0u);

  replay.begin_execution();
  EXPECT_FALSE(replay.diverged());
  EXPECT_EQ(replay.remaining(), 3u);
  EXPECT_EQ(replay.pick(std::vector<ThreadId>{1, 2}, 2, {}), 0u);
  EXPECT_EQ(replay.pick(std::vector<ThreadId>{1, 2}, 1, {}), 1u);
  EXPECT_EQ(replay.pick(std::vector<ThreadId>{0, 2}, 2, {}), 0u);
  EXPECT_EQ(replay.pick(std::vector<ThreadId>{0, 2}, 2, {}), 1u);  // exhausted: keep current
  EXPECT_EQ(replay.pick(std::vector<ThreadId>{1, 2}, 0, {}), 0u);  // exhausted: lowest
  EXPECT_FALSE(replay.diverged()) << replay.divergence_message();
  EXPECT_EQ(replay.choices(), 5u);
}

// ---- PctStrategy --------------------------------------------------------------------------------

TEST(Pct, ChangePointsAreDistinctAndDrawnInOneToK) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    PctStrategy pct(/*depth=*/4, seed, /*expected_steps=*/50);
    for (int execution = 0; execution < 3; ++execution) {
      pct.begin_execution();
      std::vector<int> points = pct.change_points();
      ASSERT_EQ(points.size(), 3u);
      std::sort(points.begin(), points.end());
      EXPECT_EQ(std::unique(points.begin(), points.end()), points.end());
      EXPECT_GE(points.front(), 1);
      EXPECT_LE(points.back(), 50);
    }
  }
}

TEST(Pct, KIsTheChoiceCountOfThePreviousExecution) {
  PctStrategy pct(/*depth=*/2, /*seed=*/1, /*expected_steps=*/200);
  EXPECT_EQ(pct.steps_bound(), 200);
  ask(pct, script(37));
  EXPECT_EQ(pct.steps(), 37);
  pct.begin_execution();
  EXPECT_EQ(pct.steps_bound(), 37);
  EXPECT_EQ(pct.steps(), 0);
  pct.begin_execution();  // an execution without choices says nothing about k
  EXPECT_EQ(pct.steps_bound(), 37);
}

// Depth 1 has no change point: every answer is the runnable thread ranked highest by one fixed
// order, whoever is current, so a thread is switched away from only when it stops being
// runnable or a higher-ranked thread becomes runnable.
TEST(Pct, DepthOneIsAFixedPriorityOrder) {
  std::vector<Question> questions = script();
  questions.insert(questions.begin(), Question{{0, 1, 2, 3, 4, 5}, 0});  // everybody seen first
  PctStrategy pct(/*depth=*/1, /*seed=*/5);
  EXPECT_TRUE(pct.change_points().empty());
  pct.pick(questions[0].runnable, 0, {});
  std::vector<int64_t> rank;
  for (ThreadId t = 0; t < 6; ++t) rank.push_back(pct.priority(t));
  EXPECT_EQ(std::set<int64_t>(rank.begin(), rank.end()).size(), 6u) << "distinct priorities";
  for (int64_t r : rank) EXPECT_GE(r, 1) << "initial priorities are >= depth";
  for (const Question& q : questions) {
    ThreadId top = *std::max_element(q.runnable.begin(), q.runnable.end(),
                                     [&](ThreadId a, ThreadId b) { return rank[a] < rank[b]; });
    for (ThreadId current : {q.current, q.runnable[0], platform::kNoThread}) {
      EXPECT_EQ(q.runnable[pct.pick(q.runnable, current, {})], top);
    }
  }
  for (ThreadId t = 0; t < 6; ++t) EXPECT_EQ(pct.priority(t), rank[t]) << "order never changes";
}

// Depth 2, three always-runnable threads, the running one always current: exactly one switch,
// at the change point, where the running thread drops below the others.
TEST(Pct, TheChangePointPreemptsTheRunningThread) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    PctStrategy pct(/*depth=*/2, seed, /*expected_steps=*/10);
    const std::vector<ThreadId> all = {0, 1, 2};
    ThreadId running = platform::kNoThread;  // nobody runs before the first choice
    std::vector<int> switches;
    for (int step = 1; step <= 10; ++step) {
      ThreadId next = all[pct.pick(all, running, {})];
      if (step > 1 && next != running) switches.push_back(step);
      running = next;
    }
    int point = pct.change_points()[0];  // at step 1 it lowers nobody: nothing runs yet
    EXPECT_EQ(switches, point > 1 ? std::vector<int>{point} : std::vector<int>{}) << seed;
    EXPECT_EQ(pct.priority(running) >= 2, true) << "the new runner keeps an initial priority";
  }
}

// ---- workloads on the simulated platform --------------------------------------------------------

using Trace = std::vector<std::string>;

RunResult simulate(Chooser* chooser, const std::function<void(SimulatedPlatform&)>& body) {
  SimulatedPlatform p(chooser);
  return p.run("main", [&] { body(p); });
}

// A producer and two consumers (one using timed waits) on a bounded buffer guarded by a Mutex
// and a CondVar. Deadlock-free under every schedule; appends to `trace`, owned by the caller.
void buffer_workload(SimulatedPlatform& p, Trace& trace) {
  Mutex m(p, "buf.mutex");
  CondVar cv(p, "buf.cond");
  std::deque<int> buf;
  bool done = false;
  auto producer = [&] {
    for (int i = 0; i < 6; ++i) {
      m.lock();
      while (buf.size() >= 2) cv.wait(m);
      buf.push_back(i);
      trace.push_back("P put " + std::to_string(i));
      cv.notify_all();
      m.unlock();
      p.point({Point::kYield, "producer", nullptr});
    }
    m.lock();
    done = true;
    cv.notify_all();
    m.unlock();
  };
  auto consumer = [&](std::string name, bool timed) {
    while (true) {
      m.lock();
      while (buf.empty() && !done) {
        if (!timed) {
          cv.wait(m);
        } else if (cv.wait_for(m, /*micros=*/1000)) {
          trace.push_back(name + " timeout");
        }
      }
      if (buf.empty()) break;
      trace.push_back(name + " got " + std::to_string(buf.front()));
      buf.pop_front();
      cv.notify_all();
      m.unlock();
    }
    m.unlock();
    trace.push_back(name + " exit");
  };
  ThreadId a = p.spawn("producer", producer);
  ThreadId b = p.spawn("c1", [&] { consumer("C1", false); });
  ThreadId c = p.spawn("c2", [&] { consumer("C2", true); });
  p.join(a);
  p.join(b);
  p.join(c);
  trace.push_back("main exit");
}

TEST(Replay, ReplayOfARecordedScheduleIsExact) {
  std::set<Trace> distinct;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    RandomStrategy random(seed);
    RecordingChooser recorder(random);
    Trace recorded;
    RunResult first = simulate(&recorder, [&](SimulatedPlatform& p) { buffer_workload(p, recorded); });
    ASSERT_EQ(first.kind, RunResult::Kind::kExited) << "seed " << seed << ": " << first.message;
    Schedule schedule = recorder.schedule();

    auto reparsed = Schedule::parse(schedule.to_string(), nullptr);
    ASSERT_TRUE(reparsed.has_value());
    ReplayStrategy replay(*reparsed);
    RecordingChooser rerecorder(replay);
    rerecorder.begin_execution();
    Trace replayed;
    RunResult second =
        simulate(&rerecorder, [&](SimulatedPlatform& p) { buffer_workload(p, replayed); });

    EXPECT_EQ(replayed, recorded) << "seed " << seed << " schedule " << schedule.to_string();
    EXPECT_FALSE(replay.diverged()) << replay.divergence_message();
    EXPECT_EQ(replay.remaining(), 0u);
    EXPECT_EQ(rerecorder.schedule(), schedule);
    EXPECT_EQ(second.kind, first.kind);
    EXPECT_EQ(second.steps, first.steps);
    EXPECT_EQ(second.switches, first.switches);
    distinct.insert(recorded);
  }
  EXPECT_GE(distinct.size(), 10u) << "the random strategy should produce varied interleavings";
}

TEST(InputDriven, EmptyInputIsTheSequentialSchedule) {
  Trace sequential, driven;
  simulate(nullptr, [&](SimulatedPlatform& p) { buffer_workload(p, sequential); });
  InputDrivenStrategy empty(std::span<const uint8_t>{});
  simulate(&empty, [&](SimulatedPlatform& p) { buffer_workload(p, driven); });
  EXPECT_EQ(driven, sequential);
}

// Two threads that never block, each taking 4 steps with a scheduling point between them.
void yielding_workload(SimulatedPlatform& p, Trace& trace) {
  auto worker = [&](std::string name) {
    for (int i = 0; i < 4; ++i) {
      trace.push_back(name);
      p.point({Point::kYield, "step", nullptr});
    }
  };
  ThreadId a = p.spawn("a", [&] { worker("A"); });
  ThreadId b = p.spawn("b", [&] { worker("B"); });
  p.join(a);
  p.join(b);
}

TEST(Pct, DepthOneNeverInterleavesThreadsThatDoNotBlock) {
  PctStrategy pct(/*depth=*/1, /*seed=*/3);
  std::set<std::string> orders;
  for (int execution = 0; execution < 30; ++execution) {
    pct.begin_execution();
    Trace trace;
    simulate(&pct, [&](SimulatedPlatform& p) { yielding_workload(p, trace); });
    std::string order;
    for (const auto& s : trace) order += s;
    EXPECT_TRUE(order == "AAAABBBB" || order == "BBBBAAAA") << order;
    orders.insert(order);
  }
  EXPECT_EQ(orders.size(), 2u) << "both priority orders are drawn";
}

// ---- known-buggy canary (shuttle style) ---------------------------------------------------------

// An ordering bug of depth 2: B sees A's half-done update (y still 0 but x already 1) only if
// A's `x = 1` runs before B's read of x AND B's read of y runs before A's `y = 1`.
bool canary_hits(Chooser* chooser) {
  bool hit = false;
  simulate(chooser, [&](SimulatedPlatform& p) {
    int x = 0, y = 0;
    ThreadId a = p.spawn("A", [&] {
      x = 1;
      p.point({Point::kYield, "A:between", nullptr});
      y = 1;
    });
    ThreadId b = p.spawn("B", [&] {
      int seen_y = y;
      p.point({Point::kYield, "B:between", nullptr});
      int seen_x = x;
      hit = seen_y == 0 && seen_x == 1;
    });
    p.join(a);
    p.join(b);
  });
  return hit;
}

TEST(Canary, PctDepthTwoFindsTheDepthTwoBugAndReplaysIt) {
  InputDrivenStrategy sequential(std::span<const uint8_t>{});
  EXPECT_FALSE(canary_hits(&sequential)) << "the sequential schedule must not hit it";
  EXPECT_FALSE(canary_hits(nullptr));

  PctStrategy depth1(/*depth=*/1, /*seed=*/42);
  for (int execution = 0; execution < 200; ++execution) {
    depth1.begin_execution();
    ASSERT_FALSE(canary_hits(&depth1)) << "a fixed priority order cannot interleave A and B";
  }

  PctStrategy pct(/*depth=*/2, /*seed=*/42);
  RecordingChooser recorder(pct);
  int found_at = -1;
  for (int execution = 0; execution < 200 && found_at < 0; ++execution) {
    recorder.begin_execution();
    if (canary_hits(&recorder)) found_at = execution;
  }
  ASSERT_GE(found_at, 0) << "PCT(depth=2) missed a depth-2 bug in 200 executions";
  ReplayStrategy replay(recorder.schedule());
  EXPECT_TRUE(canary_hits(&replay)) << recorder.schedule().to_string();
  EXPECT_FALSE(replay.diverged());
}

TEST(Canary, RandomStrategyFindsTheDepthTwoBug) {
  RandomStrategy random(/*seed=*/42);
  int hits = 0;
  for (int execution = 0; execution < 200; ++execution) {
    random.begin_execution();
    hits += canary_hits(&random) ? 1 : 0;
  }
  EXPECT_GT(hits, 0);
}

}  // namespace
}  // namespace ifz::harness
