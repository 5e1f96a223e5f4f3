// SPDX-License-Identifier: Apache-2.0
// scenario.h — test support: run a C-API scenario on a fresh Runtime, on the simulated or
// the native platform, and collect what happened (events, outcome, canaries).
// Defines Recorder, ScriptedChooser, ScenarioResult, run_sim and run_native.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "runtime/platform/native.h"
#include "runtime/platform/simulated.h"
#include "runtime/runtime.h"

namespace ifz::rt::testing {

/// Records every runtime event (simulated) — the test reads them after the run.
class Recorder : public RuntimeObserver {
 public:
  void on_event(const Event& e) override { events.push_back(e); }
  std::vector<Event> events;
};

/// Follows a fixed preference list: at each choice, the first listed thread that is runnable
/// wins, else the lowest runnable id. Lets a test say "T runs before M" without timing.
class PreferChooser : public platform::Chooser {
 public:
  explicit PreferChooser(std::vector<platform::ThreadId> order) : order_(std::move(order)) {}
  size_t pick(std::span<const platform::ThreadId> runnable, platform::ThreadId current,
              const platform::PointInfo& where) override;
  std::vector<platform::ThreadId> order_;
};

/// A chooser given as a function (tests script interleavings with it).
class FnChooser : public platform::Chooser {
 public:
  using Fn = std::function<size_t(std::span<const platform::ThreadId>, platform::ThreadId,
                                  const platform::PointInfo&)>;
  explicit FnChooser(Fn fn) : fn_(std::move(fn)) {}
  size_t pick(std::span<const platform::ThreadId> runnable, platform::ThreadId current,
              const platform::PointInfo& where) override {
    return fn_(runnable, current, where);
  }

 private:
  Fn fn_;
};

/// Index of `t` in `runnable`, or `fallback`'s index, or 0.
size_t index_of(std::span<const platform::ThreadId> runnable, platform::ThreadId t,
                platform::ThreadId fallback = 0);

struct ScenarioResult {
  platform::RunResult run;
  Outcome outcome;  // kRunning => the process ended normally (see run.kind)
  std::vector<Event> events;
  Canaries canaries;
  size_t count(EventKind k) const;
  std::vector<const Event*> all(EventKind k) const;
  /// "fatal" message, crash description, "deadlock", "exit <code>".
  std::string summary() const;
  bool fatal(const std::string& message) const;
  bool crashed() const { return outcome.kind == Outcome::Kind::kCrash; }
  bool deadlocked() const { return run.kind == platform::RunResult::Kind::kDeadlock; }
  bool exited_normally() const;
  /// Interpreter ids in which pending call `id` ran, in order.
  std::vector<int64_t> pending_ran_in(int64_t call_id) const;
  /// Every error text raised by an API (RuntimeError ...).
  std::vector<std::string> errors() const;
};

using Body = std::function<void(Runtime&)>;

/// Runs `body` as the process's main thread on a fresh simulated runtime.
ScenarioResult run_sim(const std::string& profile, const Body& body,
                       platform::Chooser* chooser = nullptr, DefectSet extra = {});
/// Same on the native platform, in a sandbox process; events come back over the report pipe.
ScenarioResult run_native(const std::string& profile, const Body& body, DefectSet extra = {},
                          int watchdog_ms = 5000);

/// The profiles 3.7 … 3.13 (version profiles, with their defects).
std::vector<std::string> version_profiles();
/// Their -fixed twins.
std::vector<std::string> fixed_profiles();
int minor_of(const std::string& profile);

}  // namespace ifz::rt::testing
