// SPDX-License-Identifier: Apache-2.0
// binary_codec.cc — decode_program / encode_program (the layout is documented in the header).
#include "harness/program/binary_codec.h"

#include <algorithm>
#include <array>
#include <utility>

#include "harness/program/validate.h"
#include "base/check.h"
#include "runtime/defects.h"
#include "runtime/profile.h"

namespace ifz::harness {
namespace {

static_assert(rt::kDefectCount <= kCodecDefectBytes * 8,
              "more defects than the header's defect mask holds: widen it (a new layout)");
static_assert(kMaxRecords <= 0xffff, "the record count field is 16 bits");

constexpr size_t kProfileByte = 0;
constexpr size_t kDefectByte = 1;
constexpr size_t kThreadsByte = kCodecThreadsByte;
constexpr size_t kCountByte = kCodecCountByte;  // and the next byte

// Argument bytes (a, b) per shape. Encoding writes the offsets below; unused bytes are 0 and
// ignored when decoding.
//   kInterpCfg  a: flags a % 4 (bit 0 isolated, bit 1 own_gil)
//   kInterp     a: I<a % (kMaxInterp + 1)>
//   kStart      a: T<1 + a % (threads - 1)>            b: StartKind b % kStartKinds
//   kThread     a: T<lo + a % (threads - lo)>          lo = min_thread_ref (join 0, atexit 1)
//   kCount      a: lo + a % (kMaxCount + 1 - lo)       lo = min_count (exit 0, others 1)
//   kPending    a: PendingKind a if a < kPendingKinds, else a % kPendingKindsV1 (the first
//               encoding's five kinds: older corpora decode as before, byte 5 aside)
//                                                      b: target b % (kMaxInterp + 2) - 1
//   kFork       a: ForkMode a % kForkModes             b: bit 0 follow=child;
//                                                         (b >> 1) % threads = child, 0 = none
//   kLock       a: RuntimeLock a % kLockKinds          b: 1 + b % kMaxCount
//   kSync       a: object a % kSyncObjects             b: bit 0 timeout (acquire / wait only)
int thread_in_range(OpCode c, uint8_t a, int threads) {
  const int lo = min_thread_ref(c);
  IFZ_CHECK(threads > lo, "an op without a valid thread target was not filtered out");
  return lo + a % (threads - lo);
}

void decode_args(Op& op, uint8_t a, uint8_t b, int threads) {
  switch (op_info(op.code).args) {
    case ArgShape::kNone: break;
    case ArgShape::kInterpCfg: op.variant = a % ((kInterpIsolated | kInterpOwnGil) + 1); break;
    case ArgShape::kInterp: op.interp = a % (kMaxInterp + 1); break;
    case ArgShape::kStart:
      op.thread = thread_in_range(op.code, a, threads);
      op.variant = b % kStartKinds;
      break;
    case ArgShape::kThread: op.thread = thread_in_range(op.code, a, threads); break;
    case ArgShape::kCount: {
      const int lo = min_count(op.code);
      op.count = lo + a % (kMaxCount + 1 - lo);
      break;
    }
    case ArgShape::kPending:
      op.variant = a < kPendingKinds ? a : a % kPendingKindsV1;
      op.interp = b % (kMaxInterp + 2) - 1;
      break;
    case ArgShape::kFork: {
      op.variant = a % kForkModes;
      op.follow_child = (b & 1) != 0;
      const int child = (b >> 1) % threads;
      op.thread = child == 0 ? -1 : child;
      break;
    }
    case ArgShape::kLock:
      op.variant = a % kLockKinds;
      op.count = 1 + b % kMaxCount;
      break;
    case ArgShape::kSync:
      op.variant = static_cast<uint8_t>(a % kSyncObjects);
      if ((b & 1) != 0 && sync_takes_timeout(op.code)) op.variant |= kSyncTimeout;
      break;
  }
}

std::pair<uint8_t, uint8_t> encode_args(const Op& op) {
  auto u8 = [](int v) { return static_cast<uint8_t>(v); };
  switch (op_info(op.code).args) {
    case ArgShape::kNone: return {0, 0};
    case ArgShape::kInterpCfg: return {op.variant, 0};
    case ArgShape::kInterp: return {u8(op.interp), 0};
    case ArgShape::kStart: return {u8(op.thread - min_thread_ref(op.code)), op.variant};
    case ArgShape::kThread: return {u8(op.thread - min_thread_ref(op.code)), 0};
    case ArgShape::kCount: return {u8(op.count - min_count(op.code)), 0};
    case ArgShape::kPending: return {op.variant, u8(op.interp + 1)};
    case ArgShape::kFork:
      return {op.variant, u8((op.follow_child ? 1 : 0) | (std::max(op.thread, 0) << 1))};
    case ArgShape::kLock: return {op.variant, u8(op.count - 1)};
    case ArgShape::kSync:
      return {u8(op.variant & ~kSyncTimeout), u8((op.variant & kSyncTimeout) != 0 ? 1 : 0)};
  }
  return {0, 0};
}

using OpcodeTable = std::array<OpCode, 256>;

// byte -> op, for programs with one script ([0]) or several ([1]): the byte itself when it is
// an allowed opcode, else allowed[byte % allowed.size()]. `ops` (DecodeOptions::ops) narrows
// and weights the candidates; empty = every op once.
OpcodeTable build_opcode_table(int threads, std::span<const OpCode> ops) {
  std::array<bool, 256> listed{};
  std::vector<OpCode> allowed;
  auto consider = [&](OpCode c) {
    listed[static_cast<uint8_t>(c)] = true;
    if (op_allowed(c, threads)) allowed.push_back(c);
  };
  if (ops.empty()) {
    for (const OpInfo& o : all_ops()) consider(o.code);
  } else {
    for (OpCode c : ops) consider(c);
  }
  IFZ_PRECONDITION(!allowed.empty(),
                   "no op of the decoder's op list is usable in a one-thread program");
  OpcodeTable table{};
  for (size_t b = 0; b < table.size(); ++b) {
    const auto code = static_cast<OpCode>(b);
    const bool usable =
        is_opcode(static_cast<uint8_t>(b)) && listed[b] && op_allowed(code, threads);
    table[b] = usable ? code : allowed[b % allowed.size()];
  }
  return table;
}

const OpcodeTable& opcode_table(int threads, std::span<const OpCode> ops) {
  const size_t which = threads > 1 ? 1 : 0;
  if (ops.empty()) {
    static const std::array<OpcodeTable, 2> kTables = {build_opcode_table(1, {}),
                                                       build_opcode_table(kMaxThreads, {})};
    return kTables[which];
  }
  // A fuzz target decodes every input with the same list: build its tables once.
  thread_local std::vector<OpCode> cached_ops;
  thread_local std::array<OpcodeTable, 2> cached;
  if (!std::equal(ops.begin(), ops.end(), cached_ops.begin(), cached_ops.end())) {
    cached = {build_opcode_table(1, ops), build_opcode_table(kMaxThreads, ops)};
    cached_ops.assign(ops.begin(), ops.end());
  }
  return cached[which];
}

// DecodeOptions::fixed_profiles_only: the selector picks from the whole registry as usual and
// a version profile stands for its "-fixed" twin, so that encode_program's byte for a -fixed
// profile (a seed's) decodes to that same profile either way.
const rt::Profile& fixed_twin(const rt::Profile& p) {
  if (p.fixed) return p;
  const rt::Profile* twin = rt::find_profile(p.name + "-fixed");
  IFZ_CHECK(twin != nullptr && twin->fixed, "a version profile has no -fixed twin");
  return *twin;
}

std::string decode_profile(uint8_t selector, const DecodeOptions& opts) {
  if (!opts.pinned_profile.empty()) {
    IFZ_PRECONDITION(rt::find_profile(opts.pinned_profile) != nullptr,
                     "DecodeOptions::pinned_profile is not a profile name");
    return opts.pinned_profile;
  }
  const std::span<const rt::Profile> profiles = rt::all_profiles();
  const rt::Profile& p = profiles[selector % profiles.size()];
  return opts.fixed_profiles_only ? fixed_twin(p).name : p.name;
}

std::vector<std::string> decode_defects(std::span<const uint8_t> mask, const DecodeOptions& opts) {
  std::array<bool, rt::kDefectCount> on{};
  if (!opts.fixed_profiles_only) {
    for (size_t i = 0; i < rt::kDefectCount; ++i) on[i] = (mask[i / 8] >> (i % 8)) & 1;
  }
  for (const std::string& name : opts.extra_defects) {
    const std::optional<rt::Defect> d = rt::find_defect(name);
    IFZ_PRECONDITION(d.has_value(), "DecodeOptions::extra_defects names an unknown defect");
    on[static_cast<size_t>(*d)] = true;
  }
  std::vector<std::string> out;
  for (const rt::DefectInfo& d : rt::all_defects()) {
    if (on[static_cast<size_t>(d.id)]) out.emplace_back(d.name);
  }
  return out;
}

}  // namespace

Decoded decode_program(std::span<const uint8_t> data, const DecodeOptions& opts) {
  // The header is read zero-padded: a short input is a prefix of a valid one.
  std::array<uint8_t, kCodecHeaderSize> header{};
  std::copy_n(data.begin(), std::min(data.size(), header.size()), header.begin());

  Decoded out;
  Program& p = out.program;
  p.profile = decode_profile(header[kProfileByte], opts);
  p.defects = decode_defects(std::span(header).subspan(kDefectByte, kCodecDefectBytes), opts);
  const int threads = 1 + header[kThreadsByte] % kMaxThreads;
  p.threads.resize(threads);

  const size_t present =
      data.size() > kCodecHeaderSize ? (data.size() - kCodecHeaderSize) / kCodecRecordSize : 0;
  const size_t wanted = header[kCountByte] | size_t{header[kCountByte + 1]} << 8;
  const size_t records = std::min({wanted, kMaxRecords, present});
  const OpcodeTable& opcodes = opcode_table(threads, opts.ops);
  // Each script's length first, so that each gets one allocation (this runs on every input).
  std::array<size_t, kMaxThreads> lengths{};
  for (size_t i = 0; i < records; ++i) {
    size_t& n = lengths[data[kCodecHeaderSize + i * kCodecRecordSize] % threads];
    n = std::min(n + 1, static_cast<size_t>(kMaxOpsPerThread));
  }
  for (int t = 0; t < threads; ++t) p.threads[t].ops.reserve(lengths[t]);
  for (size_t i = 0; i < records; ++i) {
    const uint8_t* r = data.data() + kCodecHeaderSize + i * kCodecRecordSize;
    std::vector<Op>& ops = p.threads[r[0] % threads].ops;
    if (ops.size() >= static_cast<size_t>(kMaxOpsPerThread)) continue;  // the script is full
    Op op = make_op(opcodes[r[1]]);
    decode_args(op, r[2], r[3], threads);
    ops.push_back(op);
  }
  const size_t end = kCodecHeaderSize + records * kCodecRecordSize;
  if (data.size() > end) out.schedule_bytes.assign(data.begin() + end, data.end());
  return out;
}

std::vector<uint8_t> encode_program(const Program& p, std::span<const uint8_t> schedule_bytes) {
  IFZ_PRECONDITION(!validate_program(p), "encode_program needs a valid program");
  std::vector<uint8_t> out(kCodecHeaderSize, 0);
  const std::span<const rt::Profile> profiles = rt::all_profiles();
  IFZ_CHECK(profiles.size() <= 256, "the profile selector is one byte");
  for (size_t i = 0; i < profiles.size(); ++i) {
    if (profiles[i].name == p.profile) out[kProfileByte] = static_cast<uint8_t>(i);
  }
  for (const std::string& name : p.defects) {
    const auto bit = static_cast<size_t>(*rt::find_defect(name));
    out[kDefectByte + bit / 8] |= static_cast<uint8_t>(1u << (bit % 8));
  }
  out[kThreadsByte] = static_cast<uint8_t>(p.threads.size() - 1);
  const size_t n = p.op_count();
  out[kCountByte] = static_cast<uint8_t>(n & 0xff);
  out[kCountByte + 1] = static_cast<uint8_t>(n >> 8);
  for (size_t t = 0; t < p.threads.size(); ++t) {
    for (const Op& op : p.threads[t].ops) {
      const auto [a, b] = encode_args(op);
      out.insert(out.end(), {static_cast<uint8_t>(t), static_cast<uint8_t>(op.code), a, b});
    }
  }
  out.insert(out.end(), schedule_bytes.begin(), schedule_bytes.end());
  return out;
}

}  // namespace ifz::harness
