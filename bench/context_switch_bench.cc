// SPDX-License-Identifier: Apache-2.0
// context_switch_bench.cc — the simulated platform's cost per context switch (goal ≤ 100 ns).
// Defines main(): two coroutines ping-pong through point(), a chooser alternating between them.
//
// The figure includes everything a real switch costs: the scheduling step (runnable list,
// Chooser call) and the two fcontext jumps through the scheduler loop.
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "runtime/platform/simulated.h"

namespace {

using ifz::platform::Chooser;
using ifz::platform::PointInfo;
using ifz::platform::ThreadId;

// Always the other one of the two runnable threads.
class Alternate final : public Chooser {
 public:
  size_t pick(std::span<const ThreadId> runnable, ThreadId current, const PointInfo&) override {
    return runnable[0] == current ? 1 : 0;
  }
};

}  // namespace

int main(int argc, char** argv) {
  const uint64_t switches = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10'000'000;
  Alternate chooser;
  ifz::platform::SimulatedPlatform p(&chooser, {.max_steps = 4 * switches + 100});
  const PointInfo where{ifz::platform::Point::kYield, "ping", nullptr};
  auto start = std::chrono::steady_clock::now();
  ifz::platform::RunResult r = p.run("ping", [&] {
    ThreadId pong = p.spawn("pong", [&] {
      for (uint64_t i = 0; i < switches / 2; ++i) p.point(where);
    });
    for (uint64_t i = 0; i < switches / 2; ++i) p.point(where);
    p.join(pong);
  });
  auto elapsed = std::chrono::steady_clock::now() - start;
  if (r.kind != ifz::platform::RunResult::Kind::kExited || r.switches == 0) {
    std::fprintf(stderr, "context_switch_bench: run ended as %s: %s\n",
                 ifz::platform::run_result_kind_name(r.kind), r.message.c_str());
    return 1;
  }
  double ns = std::chrono::duration<double, std::nano>(elapsed).count();
  std::printf("context_switch_ns: %.1f ns\n", ns / static_cast<double>(r.switches));
  return 0;
}
