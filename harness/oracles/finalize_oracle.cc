// SPDX-License-Identifier: Apache-2.0
// finalize_oracle.cc — F1: Py_FinalizeEx returns only after the non-daemon threading threads
// that existed when it was called have ended; F3: the finalizing thread itself never exits
// (gh-109793 made it exit when it swapped interpreters).
#include <map>
#include <set>
#include <vector>

#include "harness/oracles/oracle_factories.h"

namespace ifz::harness::oracles {
namespace {

class FinalizeOracle final : public Oracle {
 public:
  const char* name() const override { return "finalize"; }

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
        // A new runtime lifetime: its Py_FinalizeEx answers for its own threads only.
        if (is_phase(e, rt::Phase::kReinit)) nondaemon_.clear();
        // Py_FinalizeEx really started (an op may be skipped by its precondition).
        if (is_phase(e, rt::Phase::kFinalizeWaitForThreadShutdown)) {
          finalizer_ = e.thread;
          must_have_ended_ = nondaemon_;
        }
        break;
      case rt::EventKind::kThreadStarted:
        if (starting_nondaemon_[e.thread]) {
          nondaemon_.push_back(static_cast<platform::ThreadId>(e.a));
          interp_of_[static_cast<platform::ThreadId>(e.a)] = e.interp;  // where its Thread lives
        }
        starting_nondaemon_[e.thread] = false;
        break;
      case rt::EventKind::kThreadFinished:
        // Ended in Python's sense (its body returned; its tstate goes next, which releases
        // the lock threading._shutdown waits on). The OS thread may still run its last C
        // instructions when Py_FinalizeEx returns, in CPython too.
        finished_.insert(e.thread);
        break;
      case rt::EventKind::kThreadExitForced:
      case rt::EventKind::kThreadHang:
        if (e.thread == finalizer_) {
          sink.report(make_finding("finalize", name(), phase_,
                                   "F3: the thread running Py_FinalizeEx exited in " + phase_,
                                   "finalizing thread exited"));
        }
        break;
      case rt::EventKind::kThreadsJoinSkipped:
        // threading._shutdown raised before joining (CPython: unraisable, and Py_FinalizeEx
        // goes on): F1 holds of a join that ran, so nothing was owed by this one.
        if (e.thread == finalizer_) {
          must_have_ended_.clear();
        } else {
          // Py_EndInterpreter of a subinterpreter whose threading._shutdown raised: its
          // non-daemon threads are nobody's to join any more (their tstates go with the
          // interpreter; 3.14+ hangs them for good), so Py_FinalizeEx owes them nothing either.
          auto of_that_interp = [&](platform::ThreadId t) { return interp_of_[t] == e.interp; };
          std::erase_if(nondaemon_, of_that_interp);
          std::erase_if(must_have_ended_, of_that_interp);
        }
        break;
      case rt::EventKind::kFinalizeReturned:
        for (platform::ThreadId t : must_have_ended_) {
          if (!sink.plat.alive(t) || finished_.count(t)) continue;
          sink.report(make_finding("finalize", name(), phase_,
                                   "F1: Py_FinalizeEx returned while non-daemon thread T" +
                                       std::to_string(t) + " is still alive",
                                   "returned before a non-daemon thread ended"));
        }
        finalizer_ = platform::kNoThread;
        must_have_ended_.clear();
        break;
      default:
        break;
    }
  }

 private:
  std::string phase_;
  platform::ThreadId finalizer_ = platform::kNoThread;
  std::vector<platform::ThreadId> nondaemon_;
  std::vector<platform::ThreadId> must_have_ended_;
  std::map<platform::ThreadId, bool> starting_nondaemon_;
  std::map<platform::ThreadId, int64_t> interp_of_;  // the interpreter that started it
  std::set<platform::ThreadId> finished_;
};

}  // namespace

std::unique_ptr<Oracle> make_finalize_oracle() { return std::make_unique<FinalizeOracle>(); }

}  // namespace ifz::harness::oracles
