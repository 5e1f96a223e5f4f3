// SPDX-License-Identifier: Apache-2.0
// flight_recorder.h — what a process running executions leaves behind for its parent when it
// dies: the op it was in, the program it ran and every scheduling choice so far, in a shared
// mapping that outlives it. Defines FlightRecorder, LoggingChooser and the active recorder.
//
// The parent makes the recorder before it forks the process that runs executions (a contained
// execution's child, a stress worker); that process writes, the parent reads once it ended,
// normally or by a signal. Nothing here allocates on the writing side: a crash may happen
// anywhere, and the record must be complete up to the last choice made.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "harness/program/op.h"
#include "harness/schedule/schedule.h"
#include "harness/schedule/strategy.h"
#include "runtime/platform/platform.h"

namespace ifz::harness {

class FlightRecorder {
 public:
  /// Reserves `log_bytes` for the choice log (MAP_NORESERVE: pages are touched as used).
  explicit FlightRecorder(size_t log_bytes = size_t{64} << 20);
  ~FlightRecorder();
  FlightRecorder(const FlightRecorder&) = delete;
  FlightRecorder& operator=(const FlightRecorder&) = delete;

  // ---- writing side (the process running the execution) ----------------------------------
  /// A new execution starts: forgets the previous one's ops and choices.
  void begin_execution();
  /// It ended (a death after this is not the execution's).
  void end_execution();
  /// Thread `thread` starts an op while the runtime is in `phase` (a string literal). The name
  /// is looked up only when read: this runs at every op of every recorded execution.
  void note_op(int thread, OpCode op, const char* phase);
  /// The program being run, as text (stress workers; truncated to the reserved size).
  void note_program(const std::string& text);
  /// One Chooser::pick call and its (reduced) answer.
  void log_pick(std::span<const platform::ThreadId> runnable, platform::ThreadId current,
                const platform::PointInfo& where, size_t answer);

  // ---- reading side (the parent, after the writer ended) ----------------------------------
  /// "new_interp (T1, phase finalize:atexit)": the op of the thread that was running when the
  /// process got a fatal signal (install_crash_recording), else the last op any thread started;
  /// "" if none. last_op_name(): the op's name alone.
  std::string last_op() const;
  std::string last_op_name() const;
  std::string program() const;
  /// The threads chosen so far: a replayable prefix of the execution's schedule.
  Schedule schedule() const;
  /// Feeds every logged call, in order, to `c`, so that a chooser object of the parent ends in
  /// the state its copy in the dead or finished child reached (harness strategies are
  /// deterministic functions of these calls; the logged PointInfo pointers are the child's,
  /// valid as identities only, and no harness strategy reads through them). Returns the number
  /// of calls whose answer differed from the child's (0 when deterministic).
  size_t replay_into(platform::Chooser& c) const;
  /// The log ran out of room: schedule() and replay_into() cover a prefix only.
  bool overflowed() const;
  /// Between begin_execution() and end_execution().
  bool in_execution() const;

  /// Signal handler side: `thread` was running when signal `sig` arrived.
  void note_crash(int thread, int sig);

 private:
  struct Header;
  Header* header_ = nullptr;
  uint8_t* log_ = nullptr;
  size_t log_capacity_ = 0;
  size_t mapped_bytes_ = 0;
};

/// The recorder the executor notes op starts into in this process (null: none, the default).
/// Setting one also installs handlers for the fatal signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL,
/// SIGABRT) that note which simulated thread was running, then hand the signal on to whoever
/// handled it before (a sanitizer, or the default action).
FlightRecorder* active_flight_recorder();
void set_active_flight_recorder(FlightRecorder* r);
/// The simulated platform executing now in this process (the executor sets it around a run),
/// asked by those handlers for the running thread. Null outside executions.
void set_running_platform(const platform::Platform* p);

/// Strategy wrapper: forwards each pick to `inner` and logs it into `recorder`; forwards
/// begin_execution and describe when `inner` is a Strategy.
class LoggingChooser final : public Strategy {
 public:
  LoggingChooser(platform::Chooser& inner, FlightRecorder& recorder)
      : inner_(inner), inner_strategy_(dynamic_cast<Strategy*>(&inner)), recorder_(recorder) {}
  size_t pick(std::span<const platform::ThreadId> runnable, platform::ThreadId current,
              const platform::PointInfo& where) override;
  void begin_execution() override {
    if (inner_strategy_ != nullptr) inner_strategy_->begin_execution();
  }
  std::string describe() const override {
    return inner_strategy_ != nullptr ? inner_strategy_->describe() : "chooser";
  }

 private:
  platform::Chooser& inner_;
  Strategy* inner_strategy_;
  FlightRecorder& recorder_;
};

}  // namespace ifz::harness
