// SPDX-License-Identifier: Apache-2.0
// pct_strategy.cc — PCT (Burckhardt et al., ASPLOS 2010) over dynamically created threads.
// Defines PctStrategy's members (algorithm, bound and adaptations in pct_strategy.h).
#include "harness/schedule/pct_strategy.h"

#include <algorithm>

#include "base/check.h"

namespace ifz::harness {

using platform::ThreadId;

PctStrategy::PctStrategy(int depth, uint64_t seed, int expected_steps)
    : depth_(depth), seed_(seed), k_(expected_steps), rng_(Rng::stream(seed, 0)) {
  IFZ_PRECONDITION(depth >= 1, "PCT depth must be at least 1");
  IFZ_PRECONDITION(expected_steps >= 1, "PCT expected_steps must be at least 1");
  start_stream();
}

void PctStrategy::begin_execution() {
  if (step_ > 0) k_ = step_;
  rng_ = Rng::stream(seed_, executions_begun_++);
  start_stream();
}

// Forgets this execution's priorities and draws the change points. Distinct points when there
// is room for them: two change points on one step would lower one thread twice and waste one.
void PctStrategy::start_stream() {
  priority_.clear();
  initial_count_ = 0;
  step_ = 0;
  change_points_.clear();
  bool distinct = k_ >= depth_ - 1;
  while (static_cast<int>(change_points_.size()) < depth_ - 1) {
    int point = 1 + static_cast<int>(rng_.below(static_cast<size_t>(k_)));
    bool taken = std::find(change_points_.begin(), change_points_.end(), point) !=
                 change_points_.end();
    if (!distinct || !taken) change_points_.push_back(point);
  }
}

// Gives a newly seen thread a uniformly random rank among the initial priorities: the threads
// at or above the new rank move up one, so initial priorities stay distinct and >= depth_.
void PctStrategy::see(ThreadId t) {
  if (t < 0) return;
  if (static_cast<size_t>(t) >= priority_.size()) priority_.resize(static_cast<size_t>(t) + 1, -1);
  if (priority_[t] >= 0) return;
  int64_t rank = static_cast<int64_t>(rng_.below(static_cast<size_t>(initial_count_) + 1));
  for (int64_t& p : priority_) {
    if (p >= depth_ + rank) ++p;
  }
  priority_[t] = depth_ + rank;
  ++initial_count_;
}

size_t PctStrategy::pick(std::span<const ThreadId> runnable, ThreadId current,
                         const platform::PointInfo& where) {
  IFZ_PRECONDITION(!runnable.empty(), "Chooser::pick is only asked with runnable threads");
  ++step_;
  for (ThreadId t : runnable) see(t);
  see(current);
  for (size_t i = 0; i < change_points_.size(); ++i) {
    // Change point number i+1 drops the running thread to priority i, below every initial one.
    if (change_points_[i] == step_ && current >= 0) priority_[current] = static_cast<int64_t>(i);
  }
  size_t best = 0;
  for (size_t i = 1; i < runnable.size(); ++i) {
    if (priority_[runnable[i]] > priority_[runnable[best]]) best = i;
  }
  return best;
}

int64_t PctStrategy::priority(ThreadId t) const {
  if (t < 0 || static_cast<size_t>(t) >= priority_.size()) return -1;
  return priority_[t];
}

std::string PctStrategy::describe() const {
  return "pct(depth=" + std::to_string(depth_) + ",seed=" + std::to_string(seed_) + ")";
}

}  // namespace ifz::harness
