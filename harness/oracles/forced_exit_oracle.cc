// SPDX-License-Identifier: Apache-2.0
// forced_exit_oracle.cc — F2/F6: CPython makes a thread exit (PyThread_exit_thread) or hang
// in take_gil only because the runtime is finalizing (bpo-1856, bpo-36475, bpo-39877): a
// thread that wants the GIL after _PyRuntimeState_SetFinalizing must not touch the state
// being torn down. The fixed design also ends a thread of an *earlier* runtime lifetime that
// wakes after a re-initialisation (F6). A forced exit or hang anywhere else is a finding: a
// "safety net" that made a thread vanish silently where the runtime was not shutting down
// (typically a thread state freed under a live thread: the exit hides the use-after-free).
//
// Decided from events only: the phase stream says when finalisation set `finalizing` and when
// a new lifetime began; thread starts and thread-state creations say which lifetime a
// thread belongs to.
#include <map>
#include <set>

#include "harness/oracles/oracle_factories.h"

namespace ifz::harness::oracles {
namespace {

class ForcedExitOracle final : public Oracle {
 public:
  const char* name() const override { return "forced_exit"; }

  void on_event(const rt::Event& e, OracleSink& sink) override {
    switch (e.kind) {
      case rt::EventKind::kPhase:
        phase_ = e.text;
        if (is_phase(e, rt::Phase::kInit) || is_phase(e, rt::Phase::kReinit)) {
          ++lifetime_;
          finalizing_ = false;
          lifetime_of_[e.thread] = lifetime_;
        }
        // From here every thread but the finalizing one is made to exit when it takes the GIL
        // (the runtime's `finalizing` stays set until the next initialisation).
        if (is_phase(e, rt::Phase::kFinalizeSetFinalizing)) finalizing_ = true;
        break;
      case rt::EventKind::kThreadStarted:
        lifetime_of_[static_cast<platform::ThreadId>(e.a)] = lifetime_;
        break;
      case rt::EventKind::kTstateCreated:
        // A C thread (PyThreadState_New, PyGILState_Ensure) joins the current lifetime.
        lifetime_of_[e.thread] = lifetime_;
        break;
      case rt::EventKind::kTstateShutDown:
        // 3.14 (gh-124878): the thread's tstate was shut down by Py_FinalizeEx or
        // Py_EndInterpreter; at its next GIL take it must hang.
        shut_down_.insert(static_cast<platform::ThreadId>(e.a));
        break;
      case rt::EventKind::kThreadExitForced:
      case rt::EventKind::kThreadHang:
        judge(e, sink);
        break;
      default:
        break;
    }
  }

 private:
  void judge(const rt::Event& e, OracleSink& sink) {
    if (finalizing_ || shut_down_.count(e.thread) != 0) return;
    auto it = lifetime_of_.find(e.thread);
    const bool earlier_lifetime = it != lifetime_of_.end() && it->second < lifetime_;
    // F6 is about the tstate being resumed: a thread of an earlier lifetime may have made a
    // tstate in this one (PyGILState_Ensure) and still keep its old one to re-attach.
    const bool earlier_tstate = e.a > 0 && e.a < lifetime_;
    if (earlier_lifetime || earlier_tstate) return;  // F6: after a re-initialisation
    const bool hang = e.kind == rt::EventKind::kThreadHang;
    const std::string what = hang ? "hung for good" : "was forced to exit";
    sink.report(make_finding(
        "forced-exit", name(), phase_,
        "F2: T" + std::to_string(e.thread) + " " + what + " in " + phase_ +
            " while the runtime was neither finalizing nor re-initialised (a thread of this "
            "lifetime: nothing entitles the runtime to end it)",
        std::string(hang ? "thread hung" : "thread forced to exit") +
            " outside finalisation"));
  }

  std::string phase_;
  int64_t lifetime_ = 0;
  bool finalizing_ = false;
  std::map<platform::ThreadId, int64_t> lifetime_of_;
  std::set<platform::ThreadId> shut_down_;
};

}  // namespace

std::unique_ptr<Oracle> make_forced_exit_oracle() { return std::make_unique<ForcedExitOracle>(); }

}  // namespace ifz::harness::oracles
