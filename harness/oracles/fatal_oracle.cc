// SPDX-License-Identifier: Apache-2.0
// fatal_oracle.cc — Py_FatalError as an outcome (D3). A fatal error the profile does not
// document is a finding. A documented one ("Py_EndInterpreter: not the last thread", …) is an
// expected outcome only when the mechanism explains it, i.e. when the condition CPython checks
// really held according to the events and the op stream, not because of its message:
//   - "Py_EndInterpreter: thread still has a frame": the ending thread was inside a Python
//     frame on the tstate it ended (a threading / _thread thread's target function, a Python
//     callback), per the op that called Py_EndInterpreter (OpContext::in_python_frame);
//   - "Py_EndInterpreter: not the last thread": another thread state of that interpreter was
//     alive (creations and deletions seen as events), and it was not a non-daemon threading
//     thread that threading._shutdown had to join first: Py_EndInterpreter joins them in every
//     version (wait_for_thread_shutdown before the check, Python/pylifecycle.c 3.7–3.13), and
//     _shutdown joins until none is left, so only a thread started after it returned
//     (kThreadsJoined) may still be running there;
//   - "PyInterpreterState_Delete: remaining subinterpreters": a subinterpreter was alive.
// The first check needs the ending thread's op, the others events only; each is judged at the
// kFatal event, in the process that dies (natively: the sandbox, which reports the finding).
// The catalogue check reads the outcome only, so it also runs in a native run's parent.
#include <algorithm>
#include <map>
#include <set>

#include "harness/oracles/oracle_factories.h"

namespace ifz::harness::oracles {
namespace {

struct NonDaemonThread {
  int64_t interp = -1;
  uint64_t started_at = 0;  // event sequence number of its start
};

class FatalOracle final : public Oracle {
 public:
  explicit FatalOracle(const rt::Profile& p)
      : expected_(rt::expected_fatals(p)),
        has_frame_(rt::fatal_text("Py_EndInterpreter", "thread still has a frame")),
        not_last_(rt::fatal_text("Py_EndInterpreter", "not the last thread")),
        remaining_(rt::fatal_text("PyInterpreterState_Delete", "remaining subinterpreters")) {}
  const char* name() const override { return "fatal"; }

  void on_op(const OpContext& op, OracleSink&) override {
    in_frame_[op.thread] = op.in_python_frame;
    if (op.op.code == OpCode::kStart) {
      starting_nondaemon_[op.thread] = static_cast<StartKind>(op.op.variant) == StartKind::kThreading;
    }
  }

  void on_event(const rt::Event& e, OracleSink& sink) override {
    ++seq_;
    switch (e.kind) {
      case rt::EventKind::kPhase:
        phase_ = e.text;
        if (is_phase(e, rt::Phase::kInit) || is_phase(e, rt::Phase::kReinit)) {  // a new lifetime: ids start again
          tstates_.clear();
          interps_.clear();
          nondaemon_.clear();
          joined_at_.clear();
          join_skipped_.clear();
        }
        break;
      case rt::EventKind::kInterpCreated: interps_.insert(e.interp); break;
      case rt::EventKind::kInterpDeleted: interps_.erase(e.interp); break;
      case rt::EventKind::kTstateCreated: tstates_[e.interp].insert(e.tstate); break;
      case rt::EventKind::kTstateDeleted: tstates_[e.interp].erase(e.tstate); break;
      case rt::EventKind::kThreadStarted:
        if (starting_nondaemon_[e.thread]) {
          nondaemon_[static_cast<platform::ThreadId>(e.a)] = {e.interp, seq_};
        }
        starting_nondaemon_[e.thread] = false;
        break;
      case rt::EventKind::kThreadFinished:
      case rt::EventKind::kThreadExitForced:
      case rt::EventKind::kThreadHang:  // parked for good: it never acts again
        nondaemon_.erase(e.thread);
        break;
      case rt::EventKind::kThreadsJoined: joined_at_[e.interp] = seq_; break;
      // threading._shutdown raised before joining: its non-daemon threads were owed no join.
      case rt::EventKind::kThreadsJoinSkipped: join_skipped_.insert(e.interp); break;
      case rt::EventKind::kFatal: explain(e, sink); break;
      default: break;
    }
  }

  void on_end(const EndContext& end, OracleSink& sink) override {
    if (end.outcome.kind != rt::Outcome::Kind::kFatal) return;
    const std::string& m = end.outcome.message;
    if (std::find(expected_.begin(), expected_.end(), m) != expected_.end()) return;
    sink.report(make_finding("unexpected-fatal", name(), end.outcome.phase,
                             m + " (exit status " + std::to_string(end.outcome.exit_code) + ")",
                             m));
  }

 private:
  void explain(const rt::Event& e, OracleSink& sink) {
    const std::string_view m = e.text;
    if (m == has_frame_) {
      if (in_frame_[e.thread]) return;
      unexplained(sink, m, "no Python frame runs on the ending thread state (its op was issued "
                           "by C code, outside any Python function)",
                  "with no Python frame on the ending thread");
      return;
    }
    if (m == remaining_) {
      const bool sub_alive = std::any_of(interps_.begin(), interps_.end(), [](int64_t i) { return i > 0; });
      if (!sub_alive) {
        unexplained(sink, m, "no subinterpreter was alive", "with no subinterpreter alive");
      }
      return;
    }
    if (m != not_last_) return;
    // The interpreter being ended: the thread state still current on the dying thread (the
    // runtime checks it just before it would release it).
    const rt::ThreadState* ending = sink.runtime.current();
    if (ending == nullptr) return;
    const int64_t interp = ending->interp->id;
    const auto joined = joined_at_.find(interp);
    for (const auto& [tid, t] : nondaemon_) {
      if (join_skipped_.count(interp)) break;
      if (t.interp != interp || !sink.plat.alive(tid)) continue;
      if (joined != joined_at_.end() && t.started_at > joined->second) continue;  // after the join
      unexplained(sink, m,
                  "non-daemon thread T" + std::to_string(tid) + " of interpreter " +
                      std::to_string(interp) +
                      " was still running: threading._shutdown must join it before the "
                      "last-thread check",
                  "while a non-daemon thread that had to be joined still ran");
      return;
    }
    const auto it = tstates_.find(interp);
    const size_t live = it == tstates_.end() ? 0 : it->second.size();
    if (live <= 1) {
      unexplained(sink, m,
                  "no other thread state of interpreter " + std::to_string(interp) + " was alive",
                  "with no other thread state alive");
    }
  }

  void unexplained(OracleSink& sink, std::string_view fatal, const std::string& why,
                   const char* detail) {
    sink.report(make_finding("unexplained-fatal", name(), phase_,
                             std::string(fatal) + ", but " + why,
                             std::string(fatal) + " " + detail));
  }

  std::vector<std::string> expected_;
  const std::string has_frame_, not_last_, remaining_;
  std::string phase_;
  uint64_t seq_ = 0;
  std::map<platform::ThreadId, bool> in_frame_;  // the thread's last op ran inside a Python frame
  std::map<platform::ThreadId, bool> starting_nondaemon_;
  std::map<platform::ThreadId, NonDaemonThread> nondaemon_;  // running, this lifetime
  std::map<int64_t, std::set<int64_t>> tstates_;             // live tstates per interpreter
  std::set<int64_t> interps_;                                 // live interpreters
  std::map<int64_t, uint64_t> joined_at_;
  std::set<int64_t> join_skipped_;  // interpreters whose threading._shutdown raised before joining  // interpreter → its last threading._shutdown's end
};

}  // namespace

std::unique_ptr<Oracle> make_fatal_oracle(const rt::Profile& p) {
  return std::make_unique<FatalOracle>(p);
}

}  // namespace ifz::harness::oracles
