// SPDX-License-Identifier: Apache-2.0
// program_target_main.cc — libFuzzer entry points shared by the program targets (fuzz_lifecycle,
// fuzz_pending_calls, fuzz_fork, fuzz_shutdown): compiled once per target with IFZ_FUZZ_TARGET
// naming it, the target's op mix comes from targets.cc. Binary program inputs (binary_codec.h),
// input-driven schedules, structure-aware mutation; the Target does the work (fuzz_target.h).
#ifndef IFZ_FUZZ_TARGET
#error "compile with -DIFZ_FUZZ_TARGET=\"<target name>\" (fuzzers/CMakeLists.txt does)"
#endif
#include "fuzzers/fuzz_target.h"

namespace ifz::fuzz {

Target& this_target() {
  static ProgramTarget target(*find_target(IFZ_FUZZ_TARGET));
  return target;
}

}  // namespace ifz::fuzz

namespace {
ifz::fuzz::ProgramTarget& program_target() {
  return static_cast<ifz::fuzz::ProgramTarget&>(ifz::fuzz::this_target());
}
}  // namespace

// Reads the environment (INTERPFUZZ_PROFILE, INTERPFUZZ_DEFECTS) before the first input, so a
// bad value stops the run at once.
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  ifz::fuzz::this_target();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return program_target().run({data, size});
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  return program_target().mutate(data, size, max_size, seed);
}

extern "C" size_t LLVMFuzzerCustomCrossOver(const uint8_t* data1, size_t size1,
                                            const uint8_t* data2, size_t size2, uint8_t* out,
                                            size_t max_out_size, unsigned int seed) {
  return program_target().cross_over({data1, size1}, {data2, size2}, out, max_out_size, seed);
}
