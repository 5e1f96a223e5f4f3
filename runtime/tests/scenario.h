// SPDX-License-Identifier: Apache-2.0
// scenario.h — test support: run a C-API scenario on a fresh Runtime, on the simulated or
// the native platform, and collect what happened (events, outcome, canaries).
// Defines Recorder, PreferChooser, FnChooser, Director, RuntimeTestPeer, ScenarioResult,
// run_sim and run_native, and the profile lists tests are instantiated over.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/platform/native.h"
#include "runtime/platform/simulated.h"
#include "runtime/runtime.h"

namespace ifz::rt {

/// Reaches Runtime internals a contract cannot reach through the C API (runtime.h makes it a
/// friend). Used sparingly, each use says why.
class RuntimeTestPeer {
 public:
  /// drop_gil() on `g` by the calling thread (G3: by a thread that does not hold it).
  static void drop_gil(Runtime& rt, Gil& g) { rt.drop_gil(g, nullptr); }
  /// Unlinks and frees `t` while its OS thread still holds it, outside any finalisation: no
  /// C-API path of the model does that (it is the mechanism slip the lifetime checks exist
  /// for), so the test does it by hand.
  static void free_thread_state(Runtime& rt, ThreadState* t) {
    rt.unlink_tstate(t);
    rt.free_tstate(t);
  }
};

}  // namespace ifz::rt

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

/// A scripted schedule for contract tests: which threads may run, decided as the run goes.
/// At each choice it picks, in this order:
///   0. a thread `kick`ed since the last choice, if runnable (a thread in a timed wait that is
///      picked fires its timeout);
///   1. the first thread of `order` that is runnable and not held;
///   2. the current thread if it is runnable and not held, else the lowest such;
///   3. whatever is runnable (a held thread runs only when nothing else can).
/// Rules 1–2 never pick the current thread at its own wait point (it would time out at once;
/// a timed waiter stays runnable, DESIGN D1): a thread that just started to wait yields.
/// `on_point(current, where)` runs first at every choice, so a test holds or releases threads
/// as the scenario reaches its points ("hold T once it sits in its syscall", "release T at
/// finalize:SetFinalizing").
class Director : public platform::Chooser {
 public:
  using ThreadId = platform::ThreadId;
  struct Seen {
    ThreadId thread;
    platform::Point kind;
    std::string label;
  };
  size_t pick(std::span<const ThreadId> runnable, ThreadId current,
              const platform::PointInfo& where) override;
  void hold(ThreadId t) { held_.insert(t); }
  /// Hold `t` once it reaches its first point of `kind` ("park the daemon in take_gil's wait",
  /// "stop it in the window"), checked before on_point; a later release() is for good.
  void hold_at_first(ThreadId t, platform::Point kind) { hold_at_.push_back({t, kind}); }
  /// Run `t` at the next choice where it is runnable, held or waiting or not.
  void kick(ThreadId t) { kicks_.push_back(t); }
  void release(ThreadId t) { held_.erase(t); }
  bool held(ThreadId t) const { return held_.count(t) != 0; }
  /// Labels of the lifecycle phase points (Point::kPhase) seen at choices, in order.
  std::vector<std::string> phases() const;

  std::vector<ThreadId> order;
  std::function<void(ThreadId current, const platform::PointInfo& where)> on_point;
  std::vector<Seen> seen;  // every choice point, in order

 private:
  std::set<ThreadId> held_;
  std::vector<std::pair<ThreadId, platform::Point>> hold_at_;  // hold_at_first, not yet reached
  std::vector<ThreadId> kicks_;
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
  /// Phase labels (EventKind::kPhase), in order.
  std::vector<std::string> phases() const;
  uint32_t reached(Defect d) const { return canaries.reached_of(d); }
  uint32_t triggered(Defect d) const { return canaries.triggered_of(d); }
};

using Body = std::function<void(Runtime&)>;

/// During run_sim: the events recorded so far (a body or a chooser may inspect them live);
/// null outside run_sim.
const std::vector<Event>* sim_events();

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
/// Every profile (versions, then -fixed twins) for which `keep` holds.
std::vector<std::string> profiles_where(const std::function<bool(const Profile&)>& keep);
/// The release a profile follows: "3.9" for "3.9" and "3.9-fixed".
std::string release_of(const std::string& profile);
/// Whether `profile` is (the -fixed twin of) one of `releases`.
bool release_in(const std::string& profile, std::initializer_list<std::string_view> releases);

/// A shared scenario (an [EXP] row and a defect's test): finalize with a leftover
/// subinterpreter whose non-daemon thread sits in a blocking call, woken only once the main
/// thread swapped back to its own tstate and finalize began. `*finished` (when given) says
/// whether the thread ran to its end.
ScenarioResult finalize_with_subinterp_nondaemon_thread(const std::string& profile,
                                                        DefectSet extra = {},
                                                        bool* finished = nullptr);

}  // namespace ifz::rt::testing
