// SPDX-License-Identifier: Apache-2.0
// input_driven.h — the strategy that draws every scheduling choice from fuzzer input bytes.
// Defines InputDrivenStrategy (DESIGN D4/D5: "the scheduler's choices are drawn from the input").
//
// One byte per choice point, pick = byte % runnable.size(). This keeps libFuzzer in charge of
// interleavings: a mutated byte changes exactly one choice, a truncated input drops the last
// ones, and its comparison tracing sees the bytes. Past the end of the bytes every choice is
// sequential_pick() (keep the current thread, else the lowest), so the empty input is the
// sequential schedule and shorter inputs mean fewer preemptions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "harness/schedule/strategy.h"

namespace ifz::harness {

class InputDrivenStrategy final : public Strategy {
 public:
  /// The bytes are not copied: they must outlive this object (a fuzz target's input does).
  explicit InputDrivenStrategy(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  size_t pick(std::span<const platform::ThreadId> runnable, platform::ThreadId current,
              const platform::PointInfo& where) override;
  /// Rewinds to the first byte: re-running the same input gives the same execution.
  void begin_execution() override { pos_ = 0; }
  /// "input(bytes=<n>)".
  std::string describe() const override;

  /// Bytes consumed so far in this execution (one per choice until the input runs out).
  size_t consumed() const { return pos_; }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;  // invariant: pos_ <= bytes_.size()
};

}  // namespace ifz::harness
