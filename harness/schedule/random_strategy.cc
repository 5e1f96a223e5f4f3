// SPDX-License-Identifier: Apache-2.0
// random_strategy.cc — seeded random picks with stickiness, one PRNG stream per execution.
// Defines RandomStrategy's members (interface in random_strategy.h).
#include "harness/schedule/random_strategy.h"

#include <cstdio>

#include "base/check.h"

namespace ifz::harness {

RandomStrategy::RandomStrategy(uint64_t seed, double stickiness)
    : seed_(seed), stickiness_(stickiness), rng_(Rng::stream(seed, 0)) {
  IFZ_PRECONDITION(stickiness >= 0.0 && stickiness <= 1.0, "stickiness must lie in [0, 1]");
}

size_t RandomStrategy::pick(std::span<const platform::ThreadId> runnable,
                            platform::ThreadId current, const platform::PointInfo& where) {
  IFZ_PRECONDITION(!runnable.empty(), "Chooser::pick is only asked with runnable threads");
  for (size_t i = 0; i < runnable.size(); ++i) {
    // The coin is drawn only when keeping is possible, so a blocked current thread costs one
    // draw, not two; either way the draws are a function of the questions asked.
    if (runnable[i] == current && rng_.unit() < stickiness_) return i;
  }
  return rng_.below(runnable.size());
}

void RandomStrategy::begin_execution() { rng_ = Rng::stream(seed_, executions_begun_++); }

std::string RandomStrategy::describe() const {
  char p[32];
  std::snprintf(p, sizeof p, "%g", stickiness_);
  return "random(seed=" + std::to_string(seed_) + ",stickiness=" + p + ")";
}

}  // namespace ifz::harness
