// SPDX-License-Identifier: Apache-2.0
// pct_strategy.h — Probabilistic Concurrency Testing: random priorities plus d−1 change points.
// Defines PctStrategy (DESIGN D5: "PCT (depth d, seed)").
//
// Burckhardt, Kothari, Musuvathi, Nagarakatte, "A Randomized Scheduler with Probabilistic
// Guarantees of Finding Bugs", ASPLOS 2010. Guarantee: a bug of depth d (one that shows up as
// soon as d particular ordering constraints between events hold) among n threads and k steps is
// found with probability >= 1/(n·k^(d−1)) per run. Algorithm, as in the paper's §3:
//   1. every thread gets a distinct random initial priority >= d;
//   2. d−1 change points k_1 … k_{d−1} are drawn uniformly in [1, k];
//   3. at every step the highest-priority runnable thread runs;
//   4. at step k_i the running thread's priority drops to i−1, below every initial priority
//      (the paper uses i; only the order matters, and 0-based values keep initial ones >= d).
// Adaptations to this platform, each weakening the bound only as stated:
//   * Steps are choice points (scheduling points with two or more runnable threads), not
//     instructions: only there can the schedule differ, so k counts them.
//   * Threads are created dynamically: a thread gets its priority when PCT first sees it (in a
//     runnable set, or as the current thread), inserted at a uniformly random rank among the
//     initial priorities given so far, so the initial order is still a uniform permutation.
//   * k is not known in advance: it starts as `expected_steps` and, at each begin_execution(),
//     becomes the number of choice points of the previous execution (if it had any). Change
//     points past the real end are wasted; a real run longer than k cannot place a change point
//     after step k, so the bound holds for bugs whose constraints fall within the first k steps.
//   * At a change point the thread that reached the point is lowered even if it just blocked or
//     finished (then the change point is spent on it, as the paper's step counting implies).
// With depth 1 there is no change point: a fixed priority order, where the running thread is
// switched away from only when it blocks, finishes or a higher-priority thread appears.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "harness/schedule/rng.h"
#include "harness/schedule/strategy.h"

namespace ifz::harness {

class PctStrategy final : public Strategy {
 public:
  /// `depth` >= 1 (the d of the paper); `expected_steps` >= 1 (the initial k).
  PctStrategy(int depth, uint64_t seed, int expected_steps = 200);

  size_t pick(std::span<const platform::ThreadId> runnable, platform::ThreadId current,
              const platform::PointInfo& where) override;
  /// Adapts k to the previous execution's choice points, then re-draws priorities (lazily) and
  /// change points from Rng::stream(seed, i) for the i-th call. Before the first call stream 0
  /// is already in use, as for RandomStrategy.
  void begin_execution() override;
  /// "pct(depth=<d>,seed=<s>)".
  std::string describe() const override;

  /// The current k: the range [1, k] change points are drawn from.
  int steps_bound() const { return k_; }
  /// Choice points seen in this execution so far.
  int steps() const { return step_; }
  /// Steps (1-based) of the change points: change_points()[i−1] is k_i.
  const std::vector<int>& change_points() const { return change_points_; }
  /// Priority of `t` (higher runs first), or -1 if not seen yet in this execution.
  int64_t priority(platform::ThreadId t) const;

 private:
  void start_stream();
  void see(platform::ThreadId t);

  int depth_;
  uint64_t seed_;
  int k_;
  uint64_t executions_begun_ = 0;
  Rng rng_;
  // invariant: priorities >= depth_ (initial ones) are pairwise distinct; priorities < depth_
  // were set at change points, and the i-th change point's value i−1 is held by at most one.
  std::vector<int64_t> priority_;  // by ThreadId; -1 = not seen yet
  int64_t initial_count_ = 0;
  std::vector<int> change_points_;  // size depth_ − 1; distinct when k_ >= depth_ − 1
  int step_ = 0;
};

}  // namespace ifz::harness
