// SPDX-License-Identifier: Apache-2.0
// deadlock_oracle.cc — nothing runnable while threads are blocked, reported with each
// thread's state, the lock it waits on and that lock's owner — never as a "timeout" (D6).
#include <algorithm>
#include <set>

#include "harness/oracles/oracle_factories.h"

namespace ifz::harness::oracles {
namespace {

using Kind = platform::RunResult::Kind;

// The waits-for picture without thread ids: the set of distinct things waited on.
std::string waits_signature(const platform::RunResult& run) {
  std::set<std::string> waits;
  for (const platform::BlockedThread& b : run.blocked) {
    if (b.waits_on == "runnable") continue;
    std::string w = b.waits_on;
    if (b.owner != platform::kNoThread && b.owner == b.thread) w += " (self)";
    waits.insert(w);
  }
  std::string out;
  for (const std::string& w : waits) out += (out.empty() ? "" : "; ") + w;
  return out;
}

// The message names no thread: the report lists every live thread once, with what it waits
// on and that lock's owner (the executor's Finding::threads), so a thread appears once.
std::string waits_message(const platform::RunResult& run) {
  size_t blocked = 0;
  for (const platform::BlockedThread& b : run.blocked) blocked += b.waits_on != "runnable";
  return std::to_string(blocked) + (blocked == 1 ? " thread" : " threads") + " blocked";
}

class DeadlockOracle final : public Oracle {
 public:
  const char* name() const override { return "deadlock"; }
  void on_end(const EndContext& end, OracleSink& sink) override {
    const std::string& phase = end.outcome.phase;
    switch (end.run.kind) {
      case Kind::kDeadlock:
        if (end.program_deadlock) break;
        sink.report(make_finding("deadlock", name(), phase,
                                 "deadlock: nothing can run, " + waits_message(end.run),
                                 waits_signature(end.run)));
        break;
      case Kind::kStepLimit:
        sink.report(make_finding("hang", name(), phase,
                                 "livelock: " + end.run.message + ", " + waits_message(end.run),
                                 "step limit: " + waits_signature(end.run)));
        break;
      case Kind::kHang:
        sink.report(make_finding("hang", name(), phase,
                                 "the process hung (watchdog)",
                                 "native hang"));
        break;
      default:
        break;
    }
  }
};

}  // namespace

std::unique_ptr<Oracle> make_deadlock_oracle() { return std::make_unique<DeadlockOracle>(); }

}  // namespace ifz::harness::oracles
