// SPDX-License-Identifier: Apache-2.0
// input_driven.cc — scheduling choices read from fuzzer bytes, one byte per choice point.
// Defines InputDrivenStrategy's pick and describe (interface and rationale in input_driven.h).
#include "harness/schedule/input_driven.h"

#include "base/check.h"

namespace ifz::harness {

size_t InputDrivenStrategy::pick(std::span<const platform::ThreadId> runnable,
                                 platform::ThreadId current, const platform::PointInfo& where) {
  IFZ_PRECONDITION(!runnable.empty(), "Chooser::pick is only asked with runnable threads");
  if (pos_ == bytes_.size()) return sequential_pick(runnable, current);
  return bytes_[pos_++] % runnable.size();
}

std::string InputDrivenStrategy::describe() const {
  return "input(bytes=" + std::to_string(bytes_.size()) + ")";
}

}  // namespace ifz::harness
