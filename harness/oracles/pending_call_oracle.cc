// SPDX-License-Identifier: Apache-2.0
// pending_call_oracle.cc — P1/P3: every pending call Py_AddPendingCall accepted runs exactly
// once, with the GIL, in a live interpreter, in the interpreter and on the thread the profile
// routes it to; an accepted call that is dropped or never runs is lost.
//
// Accounting at every process end (P1): when the process ends after Py_FinalizeEx, every
// accepted call must have run (finalisation drains the queues); when it ends without it
// (`exit`, the main script returning, a fork child's end), no CPython version runs what is
// still queued — exit() / os._exit() / returning from main never call _Py_FinishPendingCalls
// — so a call may be left queued, or in the hands of a thread that is still alive, but it
// may not have vanished: an accepted call that is neither run, nor reported dropped, nor in a
// queue, nor held by a live thread was lost by the mechanism. In a fork child, a call held by
// a thread that vanished with the fork, and a call queued for an interpreter the child's
// PyOS_AfterFork_Child deletes (K3, fork-child:DeleteExceptMain), go with them, as in CPython.
//
// Where a call must run is derived here from the profile's routing rule and the caller's
// context (the executor's view of the calling thread), independently of where the runtime
// queued it — that is what makes a mis-routing visible.
#include <algorithm>
#include <map>
#include <string_view>
#include <vector>

#include "harness/oracles/oracle_factories.h"

namespace ifz::harness::oracles {
namespace {

struct Call {
  int64_t expected_interp = -1;  // -1: any interpreter
  bool main_thread_only = false;
  int64_t queue = -1;            // owner interp of the queue it went to (-1 runtime queue)
  std::string accepted_phase;
  int runs = 0;
  bool judged = false;           // a loss was already reported, or the loss is CPython's own
  platform::ThreadId taken_by = platform::kNoThread;  // popped by this thread (kPendingTaken)
};

class PendingCallOracle final : public Oracle {
 public:
  explicit PendingCallOracle(const rt::Profile& p) : profile_(p) {}
  const char* name() const override { return "pending_calls"; }

  void on_op(const OpContext& op, OracleSink&) override {
    if (op.op.code == OpCode::kAddPending) last_add_[op.thread] = op;
  }

  void on_event(const rt::Event& e, OracleSink& sink) override {
    switch (e.kind) {
      case rt::EventKind::kPhase:
        phase_ = e.text;
        if (is_phase(e, rt::Phase::kReinit)) finalized_ = false;  // a new lifetime: judged at its own end
        break;
      case rt::EventKind::kPendingAdded:
        if (e.c == 0) accepted(e, sink);
        else last_add_.erase(e.thread);  // the op's add was refused: nothing to route
        break;
      case rt::EventKind::kPendingTaken:
        if (auto it = calls_.find(e.a); it != calls_.end()) it->second.taken_by = e.thread;
        break;
      case rt::EventKind::kPendingRun: ran(e, sink); break;
      case rt::EventKind::kPendingDropped:
        // K3: the child keeps only the main interpreter; the others' queues go with them.
        if (text_is_phase(rt::Phase::kForkChildDeleteExceptMain)) forgive(e.a);
        else lost(e.a, "dropped with its queue", sink);
        break;
      case rt::EventKind::kForkChild: forgive_vanished_holders(e.thread); break;
      case rt::EventKind::kThreadFinished:
      case rt::EventKind::kThreadExitForced:
      case rt::EventKind::kThreadHang:  // parked for good: it never acts again
        for (auto& [id, c] : calls_) {
          if (c.taken_by == e.thread && c.runs == 0) lost(id, "taken from its queue by a thread that ended without running it", sink);
        }
        break;
      case rt::EventKind::kFinalizeReturned: lose_all("never run", sink); break;
      default: break;
    }
  }

  void on_end(const EndContext& end, OracleSink& sink) override {
    if (!end.process_ended_normally) return;
    if (finalized_) {
      lose_all("never run", sink);
      return;
    }
    // Ended without Py_FinalizeEx. The queues are read through the inspection API, which is
    // consistent only when no other thread runs: on the simulated platform.
    if (!sink.plat.deterministic()) return;
    const std::vector<int64_t> queued = sink.runtime.queued_pending_calls();
    for (auto& [id, c] : calls_) {
      if (c.runs > 0 || c.judged) continue;
      if (std::find(queued.begin(), queued.end(), id) != queued.end()) continue;  // abandoned
      if (c.taken_by != platform::kNoThread && sink.plat.alive(c.taken_by)) continue;  // in flight
      lost(id, "neither run, nor dropped, nor still queued when the process ended", sink);
    }
  }

 private:
  void accepted(const rt::Event& e, OracleSink& sink) {
    Call c;
    c.queue = e.b;
    c.accepted_phase = phase_;
    auto it = last_add_.find(e.thread);
    // Adds made by a running call (rearm, adds, forever) are not the add_pending op's own.
    const bool from_call =
        text_is(e, "rearm") || text_is(e, "noop:from-call") || text_is(e, "forever:again");
    const bool from_op = it != last_add_.end() && !from_call;
    const bool targeted = from_op && it->second.op.interp >= 0 && profile_.has_interp_pending_queue;
    if (!from_op) {
      c.expected_interp = e.b;  // re-armed from inside a call: same queue
    } else if (targeted) {
      c.expected_interp = it->second.op.interp;
    } else {
      expected_route(it->second, e.interp, &c, sink);
    }
    if (from_op) last_add_.erase(it);
    calls_[e.a] = c;
  }

  // caller_bound_interp: the interpreter of the tstate the runtime still has bound to the
  // calling OS thread (-1: none; a freed tstate unbinds it, PyThreadState_DeleteCurrent
  // clears the GILState slot). The harness's own memory of it goes stale when another
  // thread frees that tstate.
  void expected_route(const OpContext& op, int64_t caller_bound_interp, Call* c, OracleSink&) {
    switch (profile_.pending_routing) {
      case rt::PendingRouting::kGlobal:  // ≤3.8: the main thread, in whatever interpreter
        c->main_thread_only = true;
        break;
      case rt::PendingRouting::kCurrentInterp:  // 3.9–3.11: the caller's interpreter
        c->expected_interp = op.current_interp >= 0   ? op.current_interp
                             : caller_bound_interp >= 0 ? caller_bound_interp
                                                        : 0;
        break;
      case rt::PendingRouting::kMainThreadOnly:  // 3.12+: main thread of the main interpreter
        c->expected_interp = 0;
        c->main_thread_only = true;
        break;
    }
  }

  void ran(const rt::Event& e, OracleSink& sink) {
    auto it = calls_.find(e.a);
    if (it == calls_.end()) return;
    Call& c = it->second;
    if (++c.runs > 1) {
      sink.report(make_finding("pending-twice", name(), phase_,
                               "P1: pending call #" + std::to_string(e.a) + " ran twice",
                               "ran twice"));
    }
    if (e.c == 0) {
      sink.report(make_finding("pending-no-gil", name(), phase_,
                               "P1: a pending call ran without the GIL", "ran without the GIL"));
    }
    if (c.expected_interp >= 0 && e.interp != c.expected_interp) {
      sink.report(make_finding(
          "pending-wrong-interp", name(), phase_,
          "P3: pending call #" + std::to_string(e.a) + " ran in interpreter " +
              std::to_string(e.interp) + ", routed to interpreter " +
              std::to_string(c.expected_interp),
          std::string("ran in ") + (e.interp == 0 ? "main" : "sub") + " interpreter, expected " +
              (c.expected_interp == 0 ? "main" : "sub")));
    }
    if (c.main_thread_only && e.thread != sink.runtime.main_thread()) {
      sink.report(make_finding("pending-wrong-thread", name(), phase_,
                               "P3: a main-thread-only pending call ran on T" +
                                   std::to_string(e.thread),
                               "ran off the main thread"));
    }
  }

  void lost(int64_t id, const char* how, OracleSink& sink) {
    auto it = calls_.find(id);
    if (it == calls_.end() || it->second.runs > 0 || it->second.judged) return;
    Call& c = it->second;
    c.judged = true;
    const std::string queue = c.queue < 0 ? "runtime" : c.queue == 0 ? "main" : "sub";
    sink.report(make_finding(
        "lost-pending", name(), phase_,
        "P1: pending call #" + std::to_string(id) + " accepted (returned 0) into the " + queue +
            " queue during " + c.accepted_phase + " was " + how,
        queue + " queue, accepted during " + c.accepted_phase + ", " + how));
  }

  bool text_is_phase(rt::Phase p) const { return std::string_view(phase_) == rt::phase_name(p); }

  void forgive(int64_t id) {
    if (auto it = calls_.find(id); it != calls_.end()) it->second.judged = true;
  }

  // K1: only the forking thread lives on in the child; a call another thread had taken from
  // its queue (and not yet run) vanished with that thread.
  void forgive_vanished_holders(platform::ThreadId forking) {
    for (auto& [id, c] : calls_) {
      if (c.runs == 0 && c.taken_by != platform::kNoThread && c.taken_by != forking) c.judged = true;
    }
  }

  void lose_all(const char* how, OracleSink& sink) {
    finalized_ = true;
    for (auto& [id, c] : calls_) lost(id, how, sink);
  }

  const rt::Profile& profile_;
  std::string phase_;
  bool finalized_ = false;
  std::map<int64_t, Call> calls_;
  std::map<platform::ThreadId, OpContext> last_add_;
};

}  // namespace

std::unique_ptr<Oracle> make_pending_call_oracle(const rt::Profile& p) {
  return std::make_unique<PendingCallOracle>(p);
}

}  // namespace ifz::harness::oracles
