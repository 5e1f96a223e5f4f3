// SPDX-License-Identifier: Apache-2.0
// finalizing_gil_oracle.cc — F2 as "who may run": once _PyRuntimeState_SetFinalizing has
// happened, the finalizing thread is the only one that runs with a GIL. Every other thread
// that takes a GIL from then on (any interpreter's: 3.12+ subinterpreters have their own)
// must exit (3.7–3.13: PyThread_exit_thread, 3.9+ also before and while waiting) or hang
// (3.14) without doing anything else — cpython-notes F2, bpo-36475, bpo-39877. The
// forced_exit oracle checks the other direction (no forced exit *before* finalisation).
//
// Decided from events only:
//   - the finalizing thread is the one that reports the phase finalize:SetFinalizing;
//   - "has happened" is that thread's *next* phase event: the phase boundary itself is a
//     scheduling point, so a thread may still take a GIL between the SetFinalizing phase
//     event and the flag's store; once the finalizing thread reports its next phase, the step
//     is over;
//   - a kGilTaken by another thread from then on obliges that thread to exit or hang; it may
//     give the GIL back first (kGilDropped), and nothing else: any other event of that thread,
//     or any op it issues, means it went on running in the finalizing runtime;
//   - a new runtime lifetime (init / reinit) starts clean (F6 is forced_exit's business).
// On the native platform only the main GIL's takes are judged: the finalizing thread reports
// its phases while holding the main GIL, so a take of *that* GIL reported after the phase
// happened after it; another GIL's take may be reported late by an OS thread that took it
// before `finalizing` was set.
#include <set>

#include "harness/oracles/oracle_factories.h"

namespace ifz::harness::oracles {
namespace {

class FinalizingGilOracle final : public Oracle {
 public:
  const char* name() const override { return "finalizing_gil"; }

  void on_op(const OpContext& op, OracleSink& sink) override {
    if (must_exit_.count(op.thread) == 0) return;
    report(op.thread, std::string("issued ") + op_info(op.op.code).name, sink);
  }

  void on_event(const rt::Event& e, OracleSink& sink) override {
    switch (e.kind) {
      case rt::EventKind::kPhase:
        phase_ = e.text;
        if (text_is(e, "init") || text_is(e, "reinit")) {
          set_finalizing_seen_ = armed_ = false;
          must_exit_.clear();
        } else if (text_is(e, "finalize:SetFinalizing")) {
          set_finalizing_seen_ = true;
          finalizer_ = e.thread;
        } else if (set_finalizing_seen_ && e.thread == finalizer_) {
          armed_ = true;
        }
        break;
      case rt::EventKind::kGilTaken:
        if (!armed_ || e.thread == finalizer_) break;
        if (!sink.plat.deterministic() && e.a != sink.runtime.main_gil_id()) break;
        must_exit_.insert(e.thread);
        break;
      case rt::EventKind::kGilDropped:
        break;  // giving the GIL back before exiting (take_gil's bpo-36475 path)
      case rt::EventKind::kThreadExitForced:
      case rt::EventKind::kThreadHang:
        must_exit_.erase(e.thread);
        break;
      default:
        if (must_exit_.count(e.thread) != 0) {
          report(e.thread, std::string("reported ") + rt::event_kind_name(e.kind), sink);
        }
        break;
    }
  }

 private:
  void report(platform::ThreadId thread, const std::string& what, OracleSink& sink) {
    must_exit_.erase(thread);  // one finding per take
    sink.report(make_finding(
        "finalizing-gil", name(), phase_,
        "F2: T" + std::to_string(thread) + " took a GIL after Py_FinalizeEx's SetFinalizing (T" +
            std::to_string(finalizer_) + " finalizing) and went on running: it " + what +
            " instead of exiting",
        "a thread took a GIL during finalisation and went on running"));
  }

  std::string phase_;
  bool set_finalizing_seen_ = false;
  bool armed_ = false;  // SetFinalizing is over: from here only the finalizer runs with a GIL
  platform::ThreadId finalizer_ = platform::kNoThread;
  std::set<platform::ThreadId> must_exit_;  // took a GIL while armed, not yet exited
};

}  // namespace

std::unique_ptr<Oracle> make_finalizing_gil_oracle() {
  return std::make_unique<FinalizingGilOracle>();
}

}  // namespace ifz::harness::oracles
