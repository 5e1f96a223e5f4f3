// SPDX-License-Identifier: Apache-2.0
// atexit_order_oracle.cc — F0/F1 as an ordering of events: Py_FinalizeEx runs the atexit
// callbacks only after wait_for_thread_shutdown (threading._shutdown) joined every non-daemon
// threading thread of the finalizing interpreter — in every version 3.7–3.13
// (Python/pylifecycle.c: wait_for_thread_shutdown, then _Py_FinishPendingCalls, then
// call_py_exitfuncs / _PyAtExit_Call). _shutdown loops until no such thread is left, so a
// thread started by a thread being joined is joined too.
//
// The check: when an atexit callback starts (kAtexitCallback), no non-daemon threading thread
// of that interpreter and runtime lifetime is still running — except the ones started after
// the join was over (from atexit callbacks, which ≤3.11 and 3.13 allow, or by a daemon while
// the pending calls drain: nobody joins them before the callbacks run). It judges the order of what really happened, not a list of phase
// names: a join that returned early, a callback run before the join, or a thread that
// slipped past the join are the same violation. Py_EndInterpreter keeps the same order for a
// subinterpreter's own callbacks (wait_for_thread_shutdown, then _PyAtExit_Call, 3.7+), so the
// join's end is read per interpreter, from kThreadsJoined.
#include <iterator>
#include <map>
#include <set>
#include <utility>

#include "harness/oracles/oracle_factories.h"

namespace ifz::harness::oracles {
namespace {

struct Tracked {
  int64_t interp = -1;
  int64_t lifetime = 0;
};

class AtexitOrderOracle final : public Oracle {
 public:
  const char* name() const override { return "atexit_order"; }

  void on_op(const OpContext& op, OracleSink&) override {
    if (op.op.code == OpCode::kStart) {
      starting_nondaemon_[op.thread] =
          static_cast<StartKind>(op.op.variant) == StartKind::kThreading;
    }
  }

  void on_event(const rt::Event& e, OracleSink& sink) override {
    switch (e.kind) {
      case rt::EventKind::kPhase:
        phase_ = e.text;
        if (is_phase(e, rt::Phase::kInit) || is_phase(e, rt::Phase::kReinit)) {
          ++lifetime_;
          joined_.clear();
        }
        // The join is over once the next step starts: threads started from then on (by an
        // atexit callback, or by a daemon while pending calls drain) are nobody's to join.
        if (is_phase(e, rt::Phase::kFinalizeFinishPendingCalls)) after_join_ = true;
        if (is_phase(e, rt::Phase::kFinalizeWaitForThreadShutdown) || is_phase(e, rt::Phase::kInit) ||
            is_phase(e, rt::Phase::kReinit)) {
          after_join_ = false;
          joined_.clear();  // 3.15's pre-finalisation loop joins again
        }
        break;
      case rt::EventKind::kThreadsJoined:
        // Py_EndInterpreter's (or Py_FinalizeEx's) join of this interpreter is over.
        joined_.insert(e.interp);
        break;
      case rt::EventKind::kThreadStarted: {
        const bool nondaemon = starting_nondaemon_[e.thread];
        starting_nondaemon_[e.thread] = false;
        if (nondaemon && !after_join_ && joined_.count(e.interp) == 0) {
          threads_[static_cast<platform::ThreadId>(e.a)] = {e.interp, lifetime_};
        }
        break;
      }
      case rt::EventKind::kThreadFinished:
      case rt::EventKind::kThreadExitForced:
        threads_.erase(e.thread);
        break;
      case rt::EventKind::kThreadsJoinSkipped:
        // threading._shutdown raised before joining: no join ran, so the atexit callbacks that
        // follow run beside these threads in CPython too (nothing orders them).
        for (auto it = threads_.begin(); it != threads_.end();) {
          it = it->second.interp == e.interp ? threads_.erase(it) : std::next(it);
        }
        joined_.insert(e.interp);
        break;
      case rt::EventKind::kAtexitCallback:
        judge(e, sink);
        break;
      default:
        break;
    }
  }

 private:
  void judge(const rt::Event& e, OracleSink& sink) {
    for (const auto& [tid, t] : threads_) {
      if (t.interp != e.interp || t.lifetime != lifetime_ || !sink.plat.alive(tid)) continue;
      sink.report(make_finding(
          "finalize-order", name(), phase_,
          "F1: an atexit callback started in interpreter " + std::to_string(e.interp) +
              " while its non-daemon thread T" + std::to_string(tid) +
              " was still running (threading._shutdown must join it first)",
          "atexit callback ran before a non-daemon thread was joined"));
      return;  // one finding per callback
    }
  }

  std::string phase_;
  int64_t lifetime_ = 0;
  bool after_join_ = false;
  std::set<int64_t> joined_;  // interpreters (this lifetime) whose shutdown join is over
  std::map<platform::ThreadId, bool> starting_nondaemon_;
  std::map<platform::ThreadId, Tracked> threads_;
};

}  // namespace

std::unique_ptr<Oracle> make_atexit_order_oracle() {
  return std::make_unique<AtexitOrderOracle>();
}

}  // namespace ifz::harness::oracles
