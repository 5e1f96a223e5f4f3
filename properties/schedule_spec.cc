// SPDX-License-Identifier: Apache-2.0
// schedule_spec.cc — generation, shrinking and instantiation of schedule specs.
#include "properties/schedule_spec.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

#include "base/check.h"
#include "harness/schedule/pct_strategy.h"
#include "harness/schedule/random_strategy.h"
#include "properties/program_shapes.h"

namespace ifz::properties {

using platform::ThreadId;

namespace {

using rt::Phase;

// The order one runtime lifetime passes these phases (phases.def, runtime/finalize.cc,
// runtime.cc), then the next lifetime's start: a window may span a re-initialisation (F6).
// Not listed (yet): Phase::kFinalizeSubinterpretersEarly (after kFinalizeAtexit, issue 19):
// adding it renumbers the choices every fixed-seed property makes (defect_detection_test's
// budgets).
constexpr Phase kWindowPhaseIds[] = {
    Phase::kFinalizeWaitForThreadShutdown,
    Phase::kFinalizeFinishPendingCalls,
    Phase::kFinalizeAtexit,
    Phase::kFinalizeStopTheWorld,
    Phase::kFinalizeSetFinalizing,
    Phase::kFinalizeStartTheWorld,
    Phase::kFinalizeDeleteExcept,
    Phase::kFinalizeFlushStdFiles,
    Phase::kFinalizeSignalsFini,
    Phase::kFinalizeModules,
    Phase::kFinalizeSubinterpreters,
    Phase::kFinalizeImportFini,
    Phase::kFinalizeInterpClear,
    Phase::kFinalizeInterpDelete,
    Phase::kFinalizeRuntimeFini,
    Phase::kFinalized,
    Phase::kReinit,
    Phase::kRunning,
};
constexpr int kPhaseCount = static_cast<int>(std::size(kWindowPhaseIds));
// Their labels, as the runtime's scheduling points carry them.
constexpr std::array<const char*, kPhaseCount> kWindowPhases = [] {
  std::array<const char*, kPhaseCount> out{};
  for (int i = 0; i < kPhaseCount; ++i) out[i] = rt::phase_name(kWindowPhaseIds[i]);
  return out;
}();

constexpr int window_position(Phase p) {
  for (int i = 0; i < kPhaseCount; ++i) {
    if (kWindowPhaseIds[i] == p) return i;
  }
  return -1;
}

int phase_index(const char* label) {
  for (int i = 0; i < kPhaseCount; ++i) {
    if (std::strcmp(label, kWindowPhases[i]) == 0) return i;
  }
  return -1;
}

// Windows that matter: a thread kept out from a shutdown step until a later one. The starts
// are where a parked daemon would otherwise wake and exit (F2); the ends are where memory it
// points to has been freed or the runtime re-initialised.
constexpr int kFromChoices[] = {
    window_position(Phase::kFinalizeWaitForThreadShutdown), window_position(Phase::kFinalizeAtexit),
    window_position(Phase::kFinalizeSetFinalizing), window_position(Phase::kFinalizeDeleteExcept)};
constexpr int kUntilChoices[] = {
    window_position(Phase::kFinalizeDeleteExcept), window_position(Phase::kFinalizeFlushStdFiles),
    window_position(Phase::kFinalizeInterpDelete), window_position(Phase::kFinalizeRuntimeFini),
    window_position(Phase::kFinalized), window_position(Phase::kRunning) /* after a reinit */};

SchedSpec draw_spec(int threads, const ParkBias& bias) {
  SchedSpec s;
  const int kind = uniform<int>(0, 100);
  s.kind = kind < 10   ? SchedSpec::Kind::kSequential
           : kind < 25 ? SchedSpec::Kind::kPreempt
           : kind < 70 ? SchedSpec::Kind::kPct
                       : SchedSpec::Kind::kRandom;
  switch (s.kind) {
    case SchedSpec::Kind::kSequential:
      break;
    case SchedSpec::Kind::kPreempt: {
      const int n = uniform<int>(1, 5);
      for (int i = 0; i < n; ++i) {
        Preemption p;
        p.offset = uniform<int>(0, 24);
        p.thread = uniform<int>(0, threads + 1);
        s.preemptions.push_back(p);
      }
      break;
    }
    case SchedSpec::Kind::kPct:
      s.depth = uniform<int>(1, 4);
      s.seed = uniform<uint64_t>(0, 1u << 30);
      break;
    case SchedSpec::Kind::kRandom:
      s.seed = uniform<uint64_t>(0, 1u << 30);
      s.stickiness_pct = *rc::gen::elementOf(std::vector<int>{0, 50, 80});
      break;
  }
  if (threads > 1 && uniform<int>(0, 100) < bias.percent) {
    s.park_thread = uniform<int>(1, threads);
    s.park_from = *rc::gen::elementOf(std::vector<int>(std::begin(kFromChoices), std::end(kFromChoices)));
    std::vector<int> untils;
    for (int u : bias.untils.empty() ? std::vector<int>(std::begin(kUntilChoices), std::end(kUntilChoices))
                                     : bias.untils) {
      if (u > s.park_from) untils.push_back(u);
    }
    s.park_until = untils.empty() ? kPhaseCount - 1 : *rc::gen::elementOf(untils);
    s.park_enter = uniform<int>(0, 2) == 1;
  }
  return s;
}

// Earlier positions for preemption `p`, nearest first: fewer choices after its anchor, then
// the same choice anchored at an earlier phase (window_phases() order, offset 0), at the
// phase's previous occurrence, and at the execution's start. A preemption is anchored at the
// latest phase before it, so one that is anchored at a phase only a removable op produces
// (`reinit`'s) pins that op: a program without it never reaches the anchor and never
// preempts. Moved to an earlier phase where the same switch still makes the execution fail,
// it lets the op go. Every candidate is smaller in (anchor, occurrence, offset), so shrinking
// terminates.
std::vector<Preemption> earlier_positions(const Preemption& p) {
  std::vector<Preemption> out;
  auto add = [&](int anchor, int occurrence, int offset) {
    Preemption q = p;
    q.anchor = anchor;
    q.occurrence = occurrence;
    q.offset = offset;
    if (!(q == p) && std::find(out.begin(), out.end(), q) == out.end()) out.push_back(q);
  };
  if (p.offset > 0) {
    add(p.anchor, p.occurrence, p.offset - 1);
    add(p.anchor, p.occurrence, p.offset / 2);
    add(p.anchor, p.occurrence, 0);
  }
  if (p.anchor >= 0) {
    for (int a = p.anchor - 1; a >= 0; --a) add(a, p.occurrence, 0);
    if (p.occurrence > 1) add(p.anchor, p.occurrence - 1, 0);
    add(-1, 1, p.offset);
    add(-1, 1, 0);
  }
  return out;
}

struct FailingSchedule {
  SchedSpec spec;
  std::vector<Preemption> preemptions;
};

std::optional<FailingSchedule>& last_failing_schedule() {
  static std::optional<FailingSchedule> kLast;
  return kLast;
}

}  // namespace

void note_failing_schedule(const SchedSpec& spec, std::vector<Preemption> preemptions) {
  last_failing_schedule() = FailingSchedule{spec, std::move(preemptions)};
}

std::span<const char* const> window_phases() { return kWindowPhases; }

int window_index(rt::Phase p) {
  const int i = window_position(p);
  IFZ_PRECONDITION(i >= 0, "not a window phase");
  return i;
}

rc::Gen<SchedSpec> gen_sched_spec(int threads, ParkBias bias) {
  auto raw = rc::gen::exec([threads, bias] { return draw_spec(threads, bias); });
  return rc::Gen<SchedSpec>([raw](const rc::Random& random, int size) {
    return rc::shrinkable::shrinkRecur(raw(random, size).value(), &sched_shrinks);
  });
}

rc::Seq<SchedSpec> sched_shrinks(const SchedSpec& s) {
  std::vector<SchedSpec> out;
  if (s.kind != SchedSpec::Kind::kSequential || s.park_thread >= 0) {
    out.push_back(SchedSpec{});  // no preemption at all
  }
  if (const auto& f = last_failing_schedule(); f && f->spec == s && !f->preemptions.empty()) {
    SchedSpec t;  // the failing execution itself, as explicit preemptions
    t.kind = SchedSpec::Kind::kPreempt;
    t.preemptions = f->preemptions;
    out.push_back(t);
  }
  if (s.park_thread >= 0) {
    SchedSpec t = s;
    t.park_thread = -1;
    t.park_from = t.park_until = 0;
    t.park_enter = false;
    out.push_back(t);
    if (s.park_enter) {
      t = s;
      t.park_enter = false;
      out.push_back(t);
    }
  }
  if (s.kind == SchedSpec::Kind::kPct && s.depth > 1) {
    SchedSpec t = s;
    --t.depth;
    out.push_back(t);
  }
  if (s.kind == SchedSpec::Kind::kRandom && s.stickiness_pct < 80) {
    SchedSpec t = s;
    t.stickiness_pct = s.stickiness_pct < 50 ? 50 : 80;
    out.push_back(t);
  }
  if (s.kind == SchedSpec::Kind::kPreempt) {
    // Fewer preemptions first (removeChunks), then earlier ones.
    rc::seq::forEach(rc::shrink::removeChunks(s.preemptions), [&](std::vector<Preemption> v) {
      if (v.empty()) return;
      SchedSpec t = s;
      t.preemptions = std::move(v);
      out.push_back(t);
    });
    for (size_t i = 0; i < s.preemptions.size(); ++i) {
      for (const Preemption& p : earlier_positions(s.preemptions[i])) {
        SchedSpec t = s;
        t.preemptions[i] = p;
        out.push_back(t);
      }
    }
  }
  out.erase(std::remove(out.begin(), out.end(), s), out.end());
  return rc::seq::fromContainer(std::move(out));
}

std::string describe(const SchedSpec& s) {
  std::string out;
  switch (s.kind) {
    case SchedSpec::Kind::kSequential: out = "sequential"; break;
    case SchedSpec::Kind::kPreempt: {
      out = "preempt(";
      for (size_t i = 0; i < s.preemptions.size(); ++i) {
        const Preemption& p = s.preemptions[i];
        out += i ? "," : "";
        if (p.anchor >= 0) {
          out += std::string(kWindowPhases[p.anchor]) + "#" + std::to_string(p.occurrence) + "+";
        }
        out += std::to_string(p.offset) + ":T" + std::to_string(p.thread);
      }
      out += ")";
      break;
    }
    case SchedSpec::Kind::kPct:
      out = "pct(depth=" + std::to_string(s.depth) + ",seed=" + std::to_string(s.seed) + ")";
      break;
    case SchedSpec::Kind::kRandom:
      out = "random(seed=" + std::to_string(s.seed) + ",stickiness=0." +
            std::to_string(s.stickiness_pct / 10) + ")";
      break;
  }
  if (s.park_thread >= 0) {
    out += std::string("+park(T") + std::to_string(s.park_thread) + (s.park_enter ? " entered," : ",") +
           kWindowPhases[s.park_from] + ".." + kWindowPhases[s.park_until] + ")";
  }
  return out;
}

void showValue(const SchedSpec& s, std::ostream& os) { os << describe(s); }

// ---- AnchorClock ------------------------------------------------------------------------------

Preemption AnchorClock::tick(const platform::PointInfo& where) {
  if (seen_.empty()) seen_.assign(kPhaseCount, 0);
  const int at = where.kind == platform::Point::kPhase ? phase_index(where.label) : -1;
  if (at >= 0) {
    anchor_ = at;
    occurrence_ = ++seen_[at];
    offset_ = 0;
  } else {
    ++offset_;
  }
  Preemption p;
  p.anchor = anchor_;
  p.occurrence = occurrence_;
  p.offset = offset_;
  return p;
}

void AnchorClock::reset() {
  anchor_ = -1;
  occurrence_ = 1;
  offset_ = -1;
  seen_.clear();
}

// ---- PreemptionLog ----------------------------------------------------------------------------

size_t PreemptionLog::pick(std::span<const ThreadId> runnable, ThreadId current,
                           const platform::PointInfo& where) {
  Preemption here = clock_.tick(where);
  const size_t i = inner_.pick(runnable, current, where) % runnable.size();
  if (i != harness::sequential_pick(runnable, current)) {
    here.thread = runnable[i];
    preemptions_.push_back(here);
  }
  return i;
}

void PreemptionLog::begin_execution() {
  clock_.reset();
  preemptions_.clear();
  inner_.begin_execution();
}

// ---- PreemptionChooser ------------------------------------------------------------------------

PreemptionChooser::PreemptionChooser(std::vector<Preemption> preemptions)
    : preemptions_(std::move(preemptions)) {}

size_t PreemptionChooser::pick(std::span<const ThreadId> runnable, ThreadId current,
                               const platform::PointInfo& where) {
  const Preemption here = clock_.tick(where);
  for (const Preemption& p : preemptions_) {
    if (p.anchor != here.anchor || p.occurrence != here.occurrence || p.offset != here.offset) {
      continue;
    }
    for (size_t i = 0; i < runnable.size(); ++i) {
      if (runnable[i] == p.thread) return i;
    }
  }
  return harness::sequential_pick(runnable, current);
}

std::string PreemptionChooser::describe() const {
  SchedSpec s;
  s.kind = SchedSpec::Kind::kPreempt;
  s.preemptions = preemptions_;
  return properties::describe(s);
}

// ---- PhaseWindowChooser -----------------------------------------------------------------------

PhaseWindowChooser::PhaseWindowChooser(std::unique_ptr<harness::Strategy> inner, ThreadId parked,
                                       int from, int until, bool enter)
    : inner_(std::move(inner)), parked_(parked), from_(from), until_(until), enter_(enter) {}

void PhaseWindowChooser::begin_execution() {
  open_ = kick_ = entered_ = false;
  inner_->begin_execution();
}

size_t PhaseWindowChooser::pick(std::span<const ThreadId> runnable, ThreadId current,
                                const platform::PointInfo& where) {
  if (where.kind == platform::Point::kPhase) {
    const int at = phase_index(where.label);
    if (!open_ && at >= from_ && at < until_) open_ = true;
    else if (open_ && at >= until_) open_ = false, kick_ = true;
  }
  if (kick_) {
    // After the window the parked thread runs first whenever it can, as if it had just been
    // woken: each choice it gets is another chance to act on what the window freed (a timed
    // wait in take_gil times out, a syscall returns).
    for (size_t i = 0; i < runnable.size(); ++i) {
      if (runnable[i] == parked_) return i;
    }
  }
  if (enter_ && !open_ && !entered_ && !kick_) {
    // Before the window the parked thread runs at its first chance, so that it is inside its
    // syscall or its wait for the GIL (where the window keeps it) when the window opens.
    for (size_t i = 0; i < runnable.size(); ++i) {
      if (runnable[i] == parked_) {
        entered_ = true;
        return i;
      }
    }
  }
  if (!open_) return inner_->pick(runnable, current, where);
  others_.clear();
  for (ThreadId t : runnable) {
    if (t != parked_) others_.push_back(t);
  }
  if (others_.size() == runnable.size()) return inner_->pick(runnable, current, where);
  if (others_.empty()) return 0;
  if (others_.size() == 1) {
    return static_cast<size_t>(std::find(runnable.begin(), runnable.end(), others_[0]) - runnable.begin());
  }
  const size_t j = inner_->pick(others_, current, where) % others_.size();
  return static_cast<size_t>(std::find(runnable.begin(), runnable.end(), others_[j]) - runnable.begin());
}

std::string PhaseWindowChooser::describe() const {
  return inner_->describe() + "+park(T" + std::to_string(parked_) + (enter_ ? " entered," : ",") +
         kWindowPhases[from_] + ".." + kWindowPhases[until_] + ")";
}

// ---- make_strategy ------------------------------------------------------------------------------

std::unique_ptr<harness::Strategy> make_strategy(const SchedSpec& s, int choice_points) {
  std::unique_ptr<harness::Strategy> base;
  switch (s.kind) {
    case SchedSpec::Kind::kSequential:
      base = std::make_unique<PreemptionChooser>(std::vector<Preemption>{});
      break;
    case SchedSpec::Kind::kPreempt:
      base = std::make_unique<PreemptionChooser>(s.preemptions);
      break;
    case SchedSpec::Kind::kPct:
      base = std::make_unique<harness::PctStrategy>(s.depth, s.seed,
                                                    choice_points > 0 ? choice_points : 200);
      break;
    case SchedSpec::Kind::kRandom:
      base = std::make_unique<harness::RandomStrategy>(s.seed, s.stickiness_pct / 100.0);
      break;
  }
  if (s.park_thread < 0) return base;
  return std::make_unique<PhaseWindowChooser>(std::move(base), s.park_thread, s.park_from,
                                              s.park_until, s.park_enter);
}

}  // namespace ifz::properties
