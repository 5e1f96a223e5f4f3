// SPDX-License-Identifier: Apache-2.0
// strategy.cc — the schedule-defined strategies: the sequential fallback, recording and replay.
// Defines sequential_pick, RecordingChooser and ReplayStrategy (interfaces in strategy.h).
#include "harness/schedule/strategy.h"

#include <utility>

#include "base/check.h"

namespace ifz::harness {

using platform::ThreadId;

size_t sequential_pick(std::span<const ThreadId> runnable, ThreadId current) {
  IFZ_PRECONDITION(!runnable.empty(), "sequential_pick needs a runnable thread");
  size_t lowest = 0;
  for (size_t i = 0; i < runnable.size(); ++i) {
    if (runnable[i] == current) return i;
    if (runnable[i] < runnable[lowest]) lowest = i;
  }
  return lowest;
}

// ---- RecordingChooser ---------------------------------------------------------------------------

RecordingChooser::RecordingChooser(platform::Chooser& inner)
    : inner_(inner), inner_strategy_(dynamic_cast<Strategy*>(&inner)) {}

size_t RecordingChooser::pick(std::span<const ThreadId> runnable, ThreadId current,
                              const platform::PointInfo& where) {
  IFZ_PRECONDITION(!runnable.empty(), "Chooser::pick is only asked with runnable threads");
  // Reduce as the backend does, so the record is the thread that actually ran.
  size_t index = inner_.pick(runnable, current, where) % runnable.size();
  schedule_.picks.push_back(runnable[index]);
  return index;
}

void RecordingChooser::begin_execution() {
  reset();
  if (inner_strategy_ != nullptr) inner_strategy_->begin_execution();
}

std::string RecordingChooser::describe() const {
  return "record(" + (inner_strategy_ != nullptr ? inner_strategy_->describe() : "chooser") + ")";
}

// ---- ReplayStrategy -----------------------------------------------------------------------------

ReplayStrategy::ReplayStrategy(Schedule schedule) : schedule_(std::move(schedule)) {}

size_t ReplayStrategy::pick(std::span<const ThreadId> runnable, ThreadId current,
                            const platform::PointInfo& where) {
  size_t choice = next_++;
  if (choice >= schedule_.picks.size()) return sequential_pick(runnable, current);
  ThreadId want = schedule_.picks[choice];
  for (size_t i = 0; i < runnable.size(); ++i) {
    if (runnable[i] == want) return i;
  }
  if (divergences_++ == 0) {
    divergence_message_ = "choice " + std::to_string(choice) + ": recorded T" +
                          std::to_string(want) + " is not runnable (runnable:";
    for (ThreadId t : runnable) divergence_message_ += " T" + std::to_string(t);
    divergence_message_ += ")";
  }
  return sequential_pick(runnable, current);
}

void ReplayStrategy::begin_execution() {
  next_ = 0;
  divergences_ = 0;
  divergence_message_.clear();
}

std::string ReplayStrategy::describe() const {
  return "replay(picks=" + std::to_string(schedule_.picks.size()) + ")";
}

size_t ReplayStrategy::remaining() const {
  return next_ < schedule_.picks.size() ? schedule_.picks.size() - next_ : 0;
}

}  // namespace ifz::harness
