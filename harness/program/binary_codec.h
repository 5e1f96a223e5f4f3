// SPDX-License-Identifier: Apache-2.0
// binary_codec.h — the fuzzer-input form of a Program (DESIGN D4): total, mutation-stable
// decoding, and the encoder that turns `.ifz` seeds into fuzzer inputs.
// Defines DecodeOptions, Decoded, decode_program, encode_program and the layout constants.
//
// Layout (all bytes; no magic, no checksum, no varints):
//
//   offset 0   profile    index into rt::all_profiles(), taken modulo its size
//   offset 1-8 defects    bit i (byte 1 + i/8, bit i%8) = rt::all_defects()[i] enabled;
//                         bits past kDefectCount are ignored (room for 64 defects; 32
//                         until the 33rd defect widened it: inputs of the 8-byte header
//                         decode differently, regenerate them from their .ifz seeds)
//   offset 9   threads    script count = 1 + byte % kMaxThreads
//   offset 10-11 records  record count, little-endian, clamped to kMaxRecords and to the
//                         whole 4-byte records present
//   offset 12  records    4 bytes each: [thread, opcode, a, b]
//   then       schedule   every remaining byte: one scheduling choice each (input_driven.h)
//
// A record decodes as:
//   thread  = byte % threads
//   opcode  = the byte itself if it is an opcode of ops.def allowed in this program, else
//             allowed[byte % allowed.size()] (allowed = all ops, or DecodeOptions::ops,
//             minus start/atexit when the program has only T0: they would have no valid target)
//   a, b    = the op's arguments (flags, I<n>, T<k>, N, kind, lock, follow/child bits),
//             each reduced modulo its range: the argument table in binary_codec.cc
// A record for a script that already has kMaxOpsPerThread ops is dropped. Missing header
// bytes read as 0, so the empty input is a one-thread program with no ops.
//
// Why this shape:
//   - Total: every field is reduced into its range and every reference is reduced into the
//     existing scripts, so every byte string is a valid program (validate_program holds):
//     libFuzzer never wastes an execution on a rejected input.
//   - Mutation-stable: records have a fixed size and no field depends on another record, so
//     one flipped byte in the record area changes one op (or moves it to another script).
//     The one exception is the per-script cap: moving an op into or out of a script that has
//     more than kMaxOpsPerThread records also moves the op at that script's cap boundary, so
//     at most 4 ops change (2 per script involved). Header bytes change global choices
//     (profile, defects, script count, how many records there are) by design.
//   - No magic: a magic or version header would only be a fixed prefix the fuzzer must keep
//     intact. Corpora are regenerated from `.ifz` seeds (encode_program), which are versioned.
//   - Schedule in the same input: the bytes after the records drive the input-driven
//     strategy, so libFuzzer mutates interleavings with the same operators as programs.
//   - Opcodes are ops.def's stable bytes, so encode(p) shows the op in a hex dump and a
//     dictionary entry per opcode is meaningful.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "harness/program/program.h"

namespace ifz::harness {

inline constexpr size_t kCodecHeaderSize = 12;
inline constexpr size_t kCodecRecordSize = 4;
inline constexpr size_t kCodecDefectBytes = 8;
/// Header offsets a structure-aware mutator edits (harness/program/program_mutator.cc).
inline constexpr size_t kCodecThreadsByte = 9;
inline constexpr size_t kCodecCountByte = 10;  // and 11, little-endian
/// The largest valid program: every script full.
inline constexpr size_t kMaxRecords = size_t{kMaxThreads} * kMaxOpsPerThread;

struct DecodeOptions {
  /// "" = the profile comes from the input; otherwise this profile (the input's profile byte
  /// is still consumed). REQUIRES: a name of rt::all_profiles().
  std::string pinned_profile;
  /// Defects enabled in addition to the input's. REQUIRES: names of rt::all_defects().
  std::vector<std::string> extra_defects;
  /// Fuzzing: an unpinned profile byte selects a "-fixed" profile (a version profile's byte
  /// stands for its -fixed twin), and the input's defect bits are ignored (extra_defects
  /// still apply). Every fuzzer finding aborts,
  /// so a target whose input could enable a release's known defects would rediscover them
  /// within seconds, forever, instead of looking for new bugs.
  bool fixed_profiles_only = false;
  /// The ops records decode to; empty = every op of ops.def. An opcode byte of a listed op
  /// decodes to itself; any other byte b to ops[b % ops.size()] (minus the ops not allowed in
  /// the program, as for the full table), so repeating an op in the list weights it. The
  /// restricted fuzz targets use it to bias programs towards their subsystem.
  /// REQUIRES: some listed op is allowed in a one-thread program (op_allowed).
  std::span<const OpCode> ops;
};

struct Decoded {
  Program program;                      // always valid; program.schedule is ""
  std::vector<uint8_t> schedule_bytes;  // what the input-driven strategy consumes
  bool operator==(const Decoded&) const = default;
};

/// Total: any bytes decode to a valid program (see the layout above). Never fails.
Decoded decode_program(std::span<const uint8_t> data, const DecodeOptions& opts = {});

/// The inverse of decode_program for a valid program: decode(encode(p, s)) == {p, s} whenever
/// p.schedule is "" (the text schedule token has no binary form; it is not encoded).
/// REQUIRES: validate_program(p) succeeds.
std::vector<uint8_t> encode_program(const Program& p, std::span<const uint8_t> schedule_bytes = {});

}  // namespace ifz::harness
