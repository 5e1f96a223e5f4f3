// SPDX-License-Identifier: Apache-2.0
// fork_oracle.cc — K1/K2: once PyOS_AfterFork_Child is done, the child has exactly the
// forking thread, that thread is the runtime's main thread (PyOS_AfterFork_Child /
// _PyRuntimeState_ReInitThreads set _PyRuntime.main_thread to it in every version 3.7–3.13:
// it is the thread that runs pending calls, handles signals and may finalise the child), and
// every runtime lock (Runtime::runtime_locks, the same list the child re-initialises) is free
// or held by that thread.
#include "harness/oracles/oracle_factories.h"

namespace ifz::harness::oracles {
namespace {

class ForkOracle final : public Oracle {
 public:
  const char* name() const override { return "fork"; }

  void on_event(const rt::Event& e, OracleSink& sink) override {
    if (e.kind == rt::EventKind::kThreadStarted) max_thread_ = std::max<int64_t>(max_thread_, e.a);
    if (!is_phase(e, rt::Phase::kForkChildRunning)) return;
    for (platform::ThreadId t = 0; t <= max_thread_; ++t) {
      if (t == e.thread || !sink.plat.alive(t)) continue;
      sink.report(make_finding("fork", name(), e.text,
                               "K1: T" + std::to_string(t) + " is alive in the fork child",
                               "another thread survived the fork"));
    }
    if (sink.runtime.main_thread() != e.thread) {
      sink.report(make_finding("fork", name(), e.text,
                               "K1: after PyOS_AfterFork_Child the runtime's main thread is T" +
                                   std::to_string(sink.runtime.main_thread()) +
                                   ", not the forking thread T" + std::to_string(e.thread),
                               "the fork child's main thread is not the forking thread"));
    }
    for (const platform::Mutex* m : sink.runtime.runtime_locks()) {
      const platform::ThreadId owner = m->owner();
      if (owner == platform::kNoThread || owner == e.thread) continue;
      sink.report(make_finding("fork", name(), e.text,
                               std::string("K2: runtime lock ") + m->name() +
                                   " is held by vanished thread T" + std::to_string(owner) +
                                   " after PyOS_AfterFork_Child",
                               std::string("lock ") + m->name() + " held by a vanished thread"));
    }
  }

 private:
  int64_t max_thread_ = 0;
};

}  // namespace

std::unique_ptr<Oracle> make_fork_oracle() { return std::make_unique<ForkOracle>(); }

}  // namespace ifz::harness::oracles
