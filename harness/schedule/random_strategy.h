// SPDX-License-Identifier: Apache-2.0
// random_strategy.h — seeded random scheduling with a tunable tendency to keep the running thread.
// Defines RandomStrategy (DESIGN D5: "random (seed)").
//
// At each choice point, with probability `stickiness` the current thread keeps running (if it
// is runnable); otherwise the next thread is drawn uniformly among the runnable ones (the current
// one included). Pure uniform choice (stickiness 0) switches at almost every point, which makes
// long critical sections and "thread A runs a whole phase alone" interleavings rare; stickiness
// trades that back, as shuttle's and loom's random schedulers do with their preemption bounds.
// The same (seed, stickiness) and the same sequence of questions give the same answers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "harness/schedule/rng.h"
#include "harness/schedule/strategy.h"

namespace ifz::harness {

class RandomStrategy final : public Strategy {
 public:
  /// `stickiness` is a probability in [0, 1].
  explicit RandomStrategy(uint64_t seed, double stickiness = 0.5);

  size_t pick(std::span<const platform::ThreadId> runnable, platform::ThreadId current,
              const platform::PointInfo& where) override;
  /// Switches to the stream of the next execution, Rng::stream(seed, i) for the i-th call
  /// (counted from 0). Before the first call the strategy already uses stream 0, so calling it
  /// before every execution, or never for a single execution, gives the same first execution.
  void begin_execution() override;
  /// "random(seed=<s>,stickiness=<p>)".
  std::string describe() const override;

 private:
  uint64_t seed_;
  double stickiness_;
  uint64_t executions_begun_ = 0;
  Rng rng_;
};

}  // namespace ifz::harness
