// SPDX-License-Identifier: Apache-2.0
// fuzz_program_text.cc — libFuzzer entry point of fuzz_program_text: any bytes through the
// `.ifz` parser; what parses must print canonically and round-trip (TextTarget, fuzz_target.h).
// No custom mutator: libFuzzer's byte mutators and the op-name dictionary suit text.
#include "fuzzers/fuzz_target.h"

namespace ifz::fuzz {

Target& this_target() {
  static TextTarget target(*find_target("fuzz_program_text"));
  return target;
}

}  // namespace ifz::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return ifz::fuzz::this_target().run({data, size});
}
