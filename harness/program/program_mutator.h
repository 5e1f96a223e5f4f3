// SPDX-License-Identifier: Apache-2.0
// program_mutator.h — structure-aware mutation of binary program inputs (binary_codec.h layout):
// the operators of the fuzz targets' LLVMFuzzerCustomMutator and LLVMFuzzerCustomCrossOver, and of
// `interpfuzz diff`'s corpus mutation. In harness/ because both use it (harness/ never includes
// fuzzers/); it knows no fuzzing engine: a target hands it the engine's byte mutator.
// Defines mutate_program_bytes, cross_over_program_bytes and set_engine_byte_mutator.
//
// Why: libFuzzer's byte mutators rarely keep the 4-byte record grid (an inserted byte shifts
// every later record into garbage) and never update the record count, so most of their
// mutants of a program are a different, shorter program. These operators work on whole
// records and on the schedule bytes, and keep the header consistent:
//   insert / delete / duplicate / swap ops, change an op or one of its arguments, move an op
//   to another thread, add a thread (and an op starting it), mutate the schedule choices;
//   cross-over: splice one thread's script from the other input, or join the record lists.
// A share of calls is left to the engine's byte mutator when one is set (libFuzzer's
// LLVMFuzzerMutate: its own mutators, dictionary and comparison feedback included), so the
// bytes the grid does not cover still move; without one, a bit flip.
// Every result is a valid input (decoding is total); sizes never exceed max_size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "harness/program/op.h"

namespace ifz::fuzz {

/// A fuzzing engine's own byte-level mutator (LLVMFuzzerMutate's signature).
using ByteMutator = size_t (*)(uint8_t* data, size_t size, size_t max_size);
/// Installs the engine's byte mutator for this process (null: a bit flip instead).
void set_engine_byte_mutator(ByteMutator m);

/// Mutates `data[0, size)` in place (capacity `max_size`) and returns the new size. `ops` is
/// the target's decoder op list (TargetSpec::ops; empty = all): inserted ops come from it.
size_t mutate_program_bytes(uint8_t* data, size_t size, size_t max_size, unsigned seed,
                            std::span<const harness::OpCode> ops);

/// Writes a cross-over of `a` and `b` to `out` (capacity `max_out`), returns its size.
size_t cross_over_program_bytes(std::span<const uint8_t> a, std::span<const uint8_t> b,
                                uint8_t* out, size_t max_out, unsigned seed);

}  // namespace ifz::fuzz
