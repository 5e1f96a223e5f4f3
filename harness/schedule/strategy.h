// SPDX-License-Identifier: Apache-2.0
// strategy.h — the scheduler-strategy interface and the strategies that wrap or follow a Schedule.
// Defines Strategy, sequential_pick, RecordingChooser and ReplayStrategy (DESIGN D5).
//
// A Strategy is a platform::Chooser (the simulated backend asks it at every choice point: a
// scheduling point with two or more runnable threads) that can also be told an execution starts
// and can name itself. Strategies drawing from a seed derive one independent stream per
// execution, so that "execution i of strategy S" is reproducible on its own. The strategies
// proper live one per file (input_driven.h, random_strategy.h, pct_strategy.h); this file holds
// the ones defined by a Schedule. Behaviour is added by wrapping (RecordingChooser), as in
// shuttle's scheduler wrappers (STYLE §4, §8.2).
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "harness/schedule/schedule.h"
#include "runtime/platform/platform.h"

namespace ifz::harness {

class Strategy : public platform::Chooser {
 public:
  /// Called before each execution (including the first). Seeded strategies move to the stream
  /// of the next execution; schedule-driven ones rewind.
  virtual void begin_execution() {}
  /// One line naming the strategy and its parameters, e.g. "pct(depth=2,seed=7)".
  virtual std::string describe() const = 0;
};

/// The sequential choice, identical to SimulatedPlatform's behaviour without a Chooser: keep
/// `current` while it is runnable, else the lowest runnable id. Every strategy falls back to
/// it when it has nothing to say (input exhausted, schedule exhausted), so a shorter input or
/// schedule means "fewer preemptions", which is what minimisation wants.
size_t sequential_pick(std::span<const platform::ThreadId> runnable, platform::ThreadId current);

/// Wrapper: forwards every pick to `inner` and records the thread chosen, so that any strategy's
/// execution can be replayed (D5: "every execution records its schedule"). Records the thread
/// id, not the index, because the index depends on the runnable set and the id is what a human
/// reads in a trace.
class RecordingChooser final : public Strategy {
 public:
  /// `inner` is not owned and must outlive this object.
  explicit RecordingChooser(platform::Chooser& inner);

  size_t pick(std::span<const platform::ThreadId> runnable, platform::ThreadId current,
              const platform::PointInfo& where) override;
  /// Clears the record (one schedule per execution) and forwards to `inner` if it is a Strategy.
  void begin_execution() override;
  /// "record(<inner>)".
  std::string describe() const override;

  const Schedule& schedule() const { return schedule_; }
  void reset() { schedule_.picks.clear(); }

 private:
  platform::Chooser& inner_;
  Strategy* inner_strategy_;  // inner_ as a Strategy, or null
  Schedule schedule_;
};

/// Follows a recorded Schedule: at choice i it picks schedule.picks[i] if that thread is
/// runnable. Otherwise the execution has *diverged* (the program, the runtime or the platform is
/// not the one that recorded it; or the schedule was edited): it picks sequential_pick() and
/// remembers the first divergence, then keeps following picks[i+1], picks[i+2], … by position.
/// Past the end of the schedule it picks sequential_pick() without diverging: that is the
/// documented way a shortened schedule continues (D7 minimisation truncates schedules).
class ReplayStrategy final : public Strategy {
 public:
  explicit ReplayStrategy(Schedule schedule);

  size_t pick(std::span<const platform::ThreadId> runnable, platform::ThreadId current,
              const platform::PointInfo& where) override;
  /// Rewinds to choice 0 and forgets divergences: each execution replays from the start.
  void begin_execution() override;
  /// "replay(picks=<n>)".
  std::string describe() const override;

  /// True if some choice of this execution could not follow the schedule.
  bool diverged() const { return divergences_ > 0; }
  /// The first divergence, e.g. "choice 17: recorded T2 is not runnable (runnable: T0 T1)"
  /// (choices counted from 0, as indexes into Schedule::picks); empty if none.
  const std::string& divergence_message() const { return divergence_message_; }
  /// Choice points seen in this execution so far.
  size_t choices() const { return next_; }
  /// Recorded picks not reached yet. Non-zero after an execution ended means it ended earlier
  /// than the recorded one did; the caller decides whether that matters.
  size_t remaining() const;
  const Schedule& schedule() const { return schedule_; }

 private:
  Schedule schedule_;
  size_t next_ = 0;  // index of the next choice; invariant: counts pick() calls this execution
  size_t divergences_ = 0;
  std::string divergence_message_;
};

}  // namespace ifz::harness
