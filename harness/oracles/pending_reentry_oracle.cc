// SPDX-License-Identifier: Apache-2.0
// pending_reentry_oracle.cc — P4: a running pending call never runs its queue recursively.
// CPython guards make_pending_calls with a `busy` flag (≤3.12; process-wide in 3.9–3.11, per
// queue in 3.12) or the queue's `handling_thread` (3.13): a callback that runs Python code
// checks the eval breaker, and without the guard that check would start the next call of the
// same queue inside the running one (a callback re-entered before it returned, calls run out
// of order, the C stack growing with the queue).
//
// Decided from events only: kPendingRun (the call, the queue it was taken from) opens a call
// on its thread, kPendingRunEnd closes it; a call starting on a thread while a call from the
// same queue is open there is the violation. A thread made to exit inside a call
// (kThreadExitForced) or ending closes everything it had open.
#include <map>
#include <vector>

#include "harness/oracles/oracle_factories.h"

namespace ifz::harness::oracles {
namespace {

struct OpenCall {
  int64_t id;
  int64_t queue;  // owner interp id of its queue, -1 = the runtime queue
};

class PendingReentryOracle final : public Oracle {
 public:
  const char* name() const override { return "pending_reentry"; }

  void on_event(const rt::Event& e, OracleSink& sink) override {
    switch (e.kind) {
      case rt::EventKind::kPhase:
        phase_ = e.text;
        break;
      case rt::EventKind::kPendingRun: {
        std::vector<OpenCall>& open = open_[e.thread];
        for (const OpenCall& c : open) {
          if (c.queue != e.b) continue;
          const std::string queue = e.b < 0 ? "runtime" : e.b == 0 ? "main" : "sub";
          sink.report(make_finding(
              "pending-reentry", name(), phase_,
              "P4: pending call #" + std::to_string(e.a) + " started on T" +
                  std::to_string(e.thread) + " inside pending call #" + std::to_string(c.id) +
                  " of the same (" + queue + ") queue, which had not returned",
              queue + " queue run recursively from inside one of its calls"));
          break;
        }
        open.push_back({e.a, e.b});
        break;
      }
      case rt::EventKind::kPendingRunEnd: {
        std::vector<OpenCall>& open = open_[e.thread];
        // Calls end innermost first; search from the back all the same (a missing end of an
        // inner call, e.g. on a platform that lost an event, must not wedge the outer one).
        for (size_t i = open.size(); i-- > 0;) {
          if (open[i].id == e.a) {
            open.erase(open.begin() + static_cast<std::ptrdiff_t>(i), open.end());
            break;
          }
        }
        break;
      }
      case rt::EventKind::kThreadExitForced:
      case rt::EventKind::kThreadFinished:
      case rt::EventKind::kThreadHang:  // parked for good: it never acts again
        open_.erase(e.thread);
        break;
      default:
        break;
    }
  }

 private:
  std::string phase_;
  std::map<platform::ThreadId, std::vector<OpenCall>> open_;
};

}  // namespace

std::unique_ptr<Oracle> make_pending_reentry_oracle() {
  return std::make_unique<PendingReentryOracle>();
}

}  // namespace ifz::harness::oracles
