// SPDX-License-Identifier: Apache-2.0
// signal_oracle.cc — P5: tripped signals are a channel of their own (bpo-30703), handled only
// by the runtime's main thread — from 3.8 only while it runs the main interpreter (bpo-35724,
// the profile's signals_in_main_interp_only) — once per trip, and never lost:
//   - who: a kSignalHandled on another thread than the runtime's main thread (the thread that
//     ran Py_Initialize, or in a fork child the forking thread, K1), or in a subinterpreter
//     where the profile says only the main interpreter handles them;
//   - at most once per trip: a handling with no trip of that signal outstanding (the C
//     handler's per-signal flag coalesces trips until the next handling; a fork child starts
//     with no signal outstanding, _PySignal_AfterFork / issue9535);
//   - not lost: a signal tripped before the main thread began an eval-loop op that checks the
//     eval breaker where signals may be handled (run_bytecode with at least one iteration,
//     Py_MakePendingCalls) must have been handled when that op is over.
//
// The main thread and the trips come from events (init / reinit phases, kForkChild,
// kSignalTripped), the eval-loop ops from the op stream: nothing is read back from the
// runtime's own flags, so a flag the runtime clears at the wrong moment shows as a lost or
// doubled signal.
#include <array>

#include "harness/oracles/oracle_factories.h"

namespace ifz::harness::oracles {
namespace {

// Signal numbers a C handler can trip (1 ≤ signum < NSIG, 65 on Linux): PyErr_SetInterruptEx
// refuses the others, and trip_signal is only ever installed for them.
constexpr int kNsig = 65;
constexpr uint64_t kNotTripped = ~uint64_t{0};

class SignalOracle final : public Oracle {
 public:
  explicit SignalOracle(const rt::Profile& p) : main_interp_only_(p.signals_in_main_interp_only) {
    outstanding_since_.fill(kNotTripped);
  }
  const char* name() const override { return "signals"; }

  void on_op(const OpContext& op, OracleSink& sink) override {
    ++seq_;
    if (op.thread == checked_thread_) {
      judge_lost(sink);
      checked_thread_ = platform::kNoThread;
    }
    const bool eval_op = (op.op.code == OpCode::kRunBytecode && op.op.count > 0) ||
                         op.op.code == OpCode::kMakePending;
    const bool may_handle = op.attached && op.thread == main_thread_ &&
                            (op.current_interp == 0 || !main_interp_only_);
    if (eval_op && may_handle) {
      checked_thread_ = op.thread;
      checked_from_ = seq_;
    }
  }

  void on_event(const rt::Event& e, OracleSink& sink) override {
    ++seq_;
    switch (e.kind) {
      case rt::EventKind::kPhase:
        phase_ = e.text;
        if (is_phase(e, rt::Phase::kInit) || is_phase(e, rt::Phase::kReinit)) main_thread_ = e.thread;
        break;
      case rt::EventKind::kForkChild:
        // K1: the forking thread is the child's main thread; the child starts with no signal
        // outstanding (the parent handles what was tripped before the fork).
        main_thread_ = e.thread;
        outstanding_since_.fill(kNotTripped);
        checked_thread_ = platform::kNoThread;
        break;
      case rt::EventKind::kSignalTripped:
        if (e.a >= 1 && e.a < kNsig && outstanding_since_[e.a] == kNotTripped) {
          outstanding_since_[e.a] = seq_;
        }
        break;
      case rt::EventKind::kSignalHandled:
        judge_handled(e, sink);
        break;
      default:
        break;
    }
  }

 private:
  void judge_handled(const rt::Event& e, OracleSink& sink) {
    const std::string sig = "signal " + std::to_string(e.a);
    if (e.thread != main_thread_) {
      sink.report(make_finding("signal", name(), phase_,
                               "P5: " + sig + " handled on T" + std::to_string(e.thread) +
                                   ", which is not the runtime's main thread (T" +
                                   std::to_string(main_thread_) + ")",
                               "signal handled off the main thread"));
      return;
    }
    if (main_interp_only_ && e.interp != 0) {
      sink.report(make_finding("signal", name(), phase_,
                               "P5: " + sig + " handled in interpreter " +
                                   std::to_string(e.interp) +
                                   ": only the main interpreter handles signals",
                               "signal handled in a subinterpreter"));
      return;
    }
    // The two ordering checks (once per trip, never lost) need the events in the order the
    // mechanism ran them: on the native platform a C thread's trip and the main thread's
    // handling are reported by different OS threads, and may arrive swapped. Which thread and
    // interpreter handle a signal (above) holds whatever the order.
    if (!sink.plat.deterministic()) return;
    if (e.a < 1 || e.a >= kNsig || outstanding_since_[e.a] == kNotTripped) {
      sink.report(make_finding("signal", name(), phase_,
                               "P5: " + sig + " handled with no trip outstanding (handled "
                                   "twice, or a trip from before the fork handled in the child)",
                               "signal handled without an outstanding trip"));
      return;
    }
    outstanding_since_[e.a] = kNotTripped;
  }

  void judge_lost(OracleSink& sink) {
    if (!sink.plat.deterministic()) return;  // event order, see above
    for (int s = 1; s < kNsig; ++s) {
      if (outstanding_since_[s] >= checked_from_) continue;
      sink.report(make_finding(
          "signal", name(), phase_,
          "P5: signal " + std::to_string(s) + ", tripped before the main thread T" +
              std::to_string(checked_thread_) +
              " checked its eval breaker, was not handled there (lost)",
          "tripped signal lost"));
      outstanding_since_[s] = kNotTripped;  // one finding per lost trip
      return;
    }
  }

  const bool main_interp_only_;
  std::string phase_;
  uint64_t seq_ = 0;
  platform::ThreadId main_thread_ = platform::kNoThread;
  std::array<uint64_t, kNsig> outstanding_since_{};
  // The main thread's last op checked the eval breaker where signals may be handled: judged
  // when that thread issues its next op (the op is over by then).
  platform::ThreadId checked_thread_ = platform::kNoThread;
  uint64_t checked_from_ = 0;
};

}  // namespace

std::unique_ptr<Oracle> make_signal_oracle(const rt::Profile& p) {
  return std::make_unique<SignalOracle>(p);
}

}  // namespace ifz::harness::oracles
