// SPDX-License-Identifier: Apache-2.0
// schedule_spec.h — what a property quantifies over on the scheduling side: a strategy with its
// parameters (PCT, random), an explicit list of preemptions, or the sequential schedule, plus
// an optional "park a thread across lifecycle phases" window; and how it shrinks.
// Defines Preemption, SchedSpec, ParkBias, gen_sched_spec, sched_shrinks, describe,
// PreemptionLog, note_failing_schedule, PreemptionChooser, PhaseWindowChooser, make_strategy.
//
// Shrinking goes towards fewer preemptions: first the sequential schedule (no preemption at
// all), then the failing execution's own schedule as explicit preemptions, then without the
// phase window, a lower PCT depth (d−1 change points), a stickier random strategy, fewer
// explicit preemptions, earlier ones (fewer choices after their anchor, or anchored at an
// earlier phase, so that a program shrink can then remove the op whose phase anchored them).
// The explicit form matters: a seed's schedule changes completely when
// the program loses an op, so shrinking the program under a PCT or random seed gets stuck;
// under explicit preemptions it goes on. A preemption is anchored at the latest lifecycle
// phase ("3 choices after the 2nd `running`: switch to T1"), so removing ops before that phase
// does not move it. Every execution is also recorded (harness::RecordingChooser): whatever the
// spec, a failure prints an exact IFZS1 schedule.
//
// The phase window is cpython-notes §7's "park a thread in a syscall until phase X" primitive,
// the cheapest way into the daemon/finalisation class (bpo-39877, gh-110052, F6): between the
// lifecycle phases `from` and `until` the parked thread is never chosen when another thread can
// run, after `until` it is chosen first whenever it can run, and optionally ("enter") it runs
// at its first chance before the window, so that the window finds it inside its syscall or its
// wait for the GIL rather than not started yet. A depth-2 bug whose two ordering constraints
// are phase boundaries is then hit by one spec, not by 1/(n·k) of PCT runs.
#pragma once

#include <rapidcheck.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "harness/schedule/strategy.h"
#include "runtime/phases.h"

namespace ifz::properties {

/// Lifecycle phase labels (runtime kPhase points) windows and preemptions are anchored at, in
/// the order one runtime lifetime passes them. Windows compare positions in this list.
std::span<const char* const> window_phases();
/// The position of `p` in window_phases() (a precondition: it is one of them).
int window_index(rt::Phase p);

/// "At the `offset`-th choice point after the `occurrence`-th choice point at phase `anchor`
/// (or after the start when anchor < 0), run `thread` if it can run."
struct Preemption {
  int anchor = -1;     // index into window_phases(), or -1: the execution's start
  int occurrence = 1;  // which time that phase was seen (a phase recurs per lifetime)
  int offset = 0;      // choice points since then (0: at the phase point itself)
  int thread = 0;      // platform thread id
  bool operator==(const Preemption&) const = default;
};

struct SchedSpec {
  enum class Kind : uint8_t { kSequential, kPreempt, kPct, kRandom };
  Kind kind = Kind::kSequential;
  int depth = 1;               // kPct: the d of Burckhardt et al. (d−1 change points)
  uint64_t seed = 0;           // kPct, kRandom
  int stickiness_pct = 50;     // kRandom: percent chance to keep the running thread
  std::vector<Preemption> preemptions;  // kPreempt
  // Phase window (any kind): park_thread < 0 means none. Indexes into window_phases().
  int park_thread = -1;
  int park_from = 0;
  int park_until = 0;
  bool park_enter = false;  // the parked thread runs at its first chance before the window
  bool operator==(const SchedSpec&) const = default;
};

/// How often a contract's schedules park a thread, and until which phases (indexes into
/// window_phases(); empty = every useful end). Contracts about finalisation windows ask for
/// more: their bugs need a thread kept out of a shutdown step and woken after a later one.
struct ParkBias {
  int percent = 30;
  std::vector<int> untils;
};

/// A spec for programs of `threads` scripts (thread ids 0…threads, a fork may add one).
rc::Gen<SchedSpec> gen_sched_spec(int threads, ParkBias bias = {});
/// The shrinks of `s`, simplest first (see the file comment).
rc::Seq<SchedSpec> sched_shrinks(const SchedSpec& s);
/// "pct(depth=2,seed=7)+park(T1,finalize:SetFinalizing..finalize:interp_delete)".
std::string describe(const SchedSpec& s);
/// How RapidCheck prints a spec in a counterexample (found by argument-dependent lookup).
void showValue(const SchedSpec& s, std::ostream& os);

/// Follows the phase anchors of one execution (shared by PreemptionChooser and PreemptionLog).
class AnchorClock {
 public:
  /// Called at every choice point; returns the point's position (anchor, occurrence, offset).
  Preemption tick(const platform::PointInfo& where);
  void reset();

 private:
  int anchor_ = -1, occurrence_ = 1, offset_ = -1;
  std::vector<int> seen_;  // occurrences per window phase
};

/// Wrapper: forwards to `inner` and keeps the decisions that differ from
/// harness::sequential_pick: the execution's schedule as preemptions (PreemptionChooser replays
/// it exactly).
class PreemptionLog final : public harness::Strategy {
 public:
  explicit PreemptionLog(harness::Strategy& inner) : inner_(inner) {}
  size_t pick(std::span<const platform::ThreadId> runnable, platform::ThreadId current,
              const platform::PointInfo& where) override;
  void begin_execution() override;
  std::string describe() const override { return inner_.describe(); }
  const std::vector<Preemption>& preemptions() const { return preemptions_; }

 private:
  harness::Strategy& inner_;
  AnchorClock clock_;
  std::vector<Preemption> preemptions_;
};

/// Remembers the preemptions of the latest failing execution of `spec`: sched_shrinks(spec)
/// then offers them as an explicit spec.
void note_failing_schedule(const SchedSpec& spec, std::vector<Preemption> preemptions);

/// Explicit preemptions (see Preemption), else harness::sequential_pick.
class PreemptionChooser final : public harness::Strategy {
 public:
  explicit PreemptionChooser(std::vector<Preemption> preemptions);
  size_t pick(std::span<const platform::ThreadId> runnable, platform::ThreadId current,
              const platform::PointInfo& where) override;
  void begin_execution() override { clock_.reset(); }
  std::string describe() const override;

 private:
  std::vector<Preemption> preemptions_;
  AnchorClock clock_;
};

/// Wraps `inner` (owned) with a phase window (see the file comment).
class PhaseWindowChooser final : public harness::Strategy {
 public:
  PhaseWindowChooser(std::unique_ptr<harness::Strategy> inner, platform::ThreadId parked,
                     int from, int until, bool enter);
  size_t pick(std::span<const platform::ThreadId> runnable, platform::ThreadId current,
              const platform::PointInfo& where) override;
  void begin_execution() override;
  std::string describe() const override;

 private:
  std::unique_ptr<harness::Strategy> inner_;
  platform::ThreadId parked_;
  int from_, until_;
  bool enter_;
  bool open_ = false;     // inside [from, until)
  bool entered_ = false;  // the parked thread had its first turn
  bool kick_ = false;     // the window closed: the parked thread runs first from now on
  std::vector<platform::ThreadId> others_;  // scratch
};

/// The strategy a spec stands for. `choice_points` is the number of choice points of a
/// previous execution of the same program (PCT draws its change points in [1, k]); 0 = unknown.
std::unique_ptr<harness::Strategy> make_strategy(const SchedSpec& s, int choice_points);

}  // namespace ifz::properties
