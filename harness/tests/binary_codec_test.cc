// SPDX-License-Identifier: Apache-2.0
// binary_codec_test.cc — the fuzzer-input codec: totality, round trip, mutation stability
// (properties), reachability of every op and argument value from short inputs (libFuzzer's
// FoundMask habit), and the byte layout on known examples.
#include "harness/program/binary_codec.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "harness/program/text_format.h"
#include "harness/program/validate.h"
#include "harness/tests/program_gen.h"
#include "harness/tests/rc_property.h"

namespace ifz::harness {
namespace {

// RapidCheck reads RC_PARAMS once, on first use: pin the seed so that the test is deterministic
// (RC_PARAMS set by hand still wins).
[[maybe_unused]] const bool kSeedPinned =
    ::setenv("RC_PARAMS", testing::kDefaultRcParams, /*overwrite=*/0) == 0;

using Bytes = std::vector<uint8_t>;

rc::Gen<Bytes> gen_bytes(int max_len) {
  return rc::gen::mapcat(rc::gen::inRange(0, max_len + 1), [](int n) {
    return rc::gen::container<Bytes>(static_cast<size_t>(n), rc::gen::arbitrary<uint8_t>());
  });
}

size_t record_count(const Bytes& b) {
  if (b.size() <= kCodecHeaderSize) return 0;
  const size_t wanted = b[kCodecCountByte] | size_t{b[kCodecCountByte + 1]} << 8;
  return std::min({wanted, kMaxRecords, (b.size() - kCodecHeaderSize) / kCodecRecordSize});
}

// Insertions, deletions and substitutions that turn `a` into `b`.
size_t edit_distance(const std::vector<Op>& a, const std::vector<Op>& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

bool some_script_full(const Program& p) {
  return std::any_of(p.threads.begin(), p.threads.end(), [](const Script& s) {
    return s.ops.size() == static_cast<size_t>(kMaxOpsPerThread);
  });
}

// ---- properties -------------------------------------------------------------------------------

RC_GTEST_PROP(BinaryCodec, DecodingIsTotal, ()) {
  const Bytes bytes = *gen_bytes(600);
  const Decoded d = decode_program(bytes);
  const std::optional<std::string> invalid = validate_program(d.program);
  RC_ASSERT(!invalid);
  RC_ASSERT(decode_program(bytes) == d);  // deterministic
  // What the decoder produced re-encodes to itself: no hidden state in the bytes.
  RC_ASSERT(decode_program(encode_program(d.program, d.schedule_bytes)) == d);
}

RC_GTEST_PROP(BinaryCodec, DecodingWithPinnedProfileAndExtraDefectsIsTotal, ()) {
  const Bytes bytes = *gen_bytes(100);
  DecodeOptions opts;
  opts.pinned_profile = *rc::gen::elementOf(rt::profile_names());
  opts.extra_defects = *gen_defects();
  const Decoded d = decode_program(bytes, opts);
  RC_ASSERT(!validate_program(d.program));
  RC_ASSERT(d.program.profile == opts.pinned_profile);
  for (const std::string& name : opts.extra_defects) {
    RC_ASSERT(std::count(d.program.defects.begin(), d.program.defects.end(), name) == 1);
  }
}

RC_GTEST_PROP(BinaryCodec, EncodeThenDecodeIsIdentity, ()) {
  Program p = *gen_program();
  p.schedule.clear();  // the text schedule token has no binary form
  const Bytes schedule = *gen_bytes(64);
  const Decoded d = decode_program(encode_program(p, schedule));
  RC_ASSERT(d.program == p);
  RC_ASSERT(d.schedule_bytes == schedule);
}

struct FlipResult {
  size_t changed;  // ops inserted, deleted or substituted, summed over scripts
  bool at_cap;     // some script had kMaxOpsPerThread ops before or after the flip
};

// Flips one byte of `bytes`' record area (chosen by RapidCheck) and compares the decodings.
FlipResult flip_one_record_byte(Bytes bytes) {
  const size_t records = record_count(bytes);
  RC_PRE(records > 0);
  const size_t at =
      *rc::gen::inRange<size_t>(kCodecHeaderSize, kCodecHeaderSize + records * kCodecRecordSize);
  const Decoded before = decode_program(bytes);
  bytes[at] ^= *rc::gen::inRange<int>(1, 256);
  const Decoded after = decode_program(bytes);
  RC_ASSERT(after.schedule_bytes == before.schedule_bytes);
  FlipResult r{0, some_script_full(before.program) || some_script_full(after.program)};
  for (size_t t = 0; t < before.program.threads.size(); ++t) {
    r.changed += edit_distance(before.program.threads[t].ops, after.program.threads[t].ops);
  }
  return r;
}

// Up to kMaxOpsPerThread records no script can reach its cap: the flipped record's op changes
// in place (1) or moves to another script (2).
RC_GTEST_PROP(BinaryCodec, OneFlippedByteChangesAtMostTwoOps, ()) {
  const Bytes bytes = *gen_bytes(kCodecHeaderSize + kMaxOpsPerThread * kCodecRecordSize);
  const FlipResult r = flip_one_record_byte(bytes);
  RC_ASSERT(!r.at_cap || record_count(bytes) == size_t{kMaxOpsPerThread});
  RC_ASSERT(r.changed <= 2u);
}

// Past the cap, moving an op into or out of a script with more records than
// kMaxOpsPerThread also moves the op at that script's cap boundary (binary_codec.h).
RC_GTEST_PROP(BinaryCodec, OneFlippedByteChangesAtMostFourOpsPastTheCap, ()) {
  Bytes bytes = *gen_bytes(kCodecHeaderSize + kMaxRecords * kCodecRecordSize + 16);
  if (bytes.size() > kCodecThreadsByte) bytes[kCodecThreadsByte] = *rc::gen::inRange<uint8_t>(0, 3);  // few scripts: caps bind
  const FlipResult r = flip_one_record_byte(bytes);
  RC_CLASSIFY(r.at_cap, "a script at its op cap");
  RC_ASSERT(r.changed <= (r.at_cap ? 4u : 2u));
}

// ---- reachability (libFuzzer FoundMask) ---------------------------------------------------------

// "<op>.<field>=<value>" for every op and every valid value of each argument field.
std::set<std::string> all_argument_values() {
  std::set<std::string> out;
  auto add = [&](const OpInfo& o, const char* field, int lo, int hi) {
    for (int v = lo; v <= hi; ++v)
      out.insert(std::string(o.name) + "." + field + "=" + std::to_string(v));
  };
  for (const OpInfo& o : all_ops()) {
    out.insert(std::string(o.name));
    const int t0 = min_thread_ref(o.code);
    switch (o.args) {
      case ArgShape::kNone: break;
      case ArgShape::kInterpCfg: add(o, "flags", 0, 3); break;
      case ArgShape::kInterp: add(o, "interp", 0, kMaxInterp); break;
      case ArgShape::kStart:
        add(o, "thread", t0, kMaxThreads - 1);
        add(o, "kind", 0, kStartKinds - 1);
        break;
      case ArgShape::kThread: add(o, "thread", t0, kMaxThreads - 1); break;
      case ArgShape::kCount: add(o, "count", min_count(o.code), kMaxCount); break;
      case ArgShape::kPending:
        add(o, "kind", 0, kPendingKinds - 1);
        add(o, "interp", -1, kMaxInterp);
        break;
      case ArgShape::kFork:
        add(o, "mode", 0, kForkModes - 1);
        add(o, "follow", 0, 1);
        add(o, "child", -1, -1);
        add(o, "child", 1, kMaxThreads - 1);
        break;
      case ArgShape::kLock:
        add(o, "lock", 0, kLockKinds - 1);
        add(o, "count", 1, kMaxCount);
        break;
    }
  }
  return out;
}

void record_found(const Op& op, std::set<std::string>& found) {
  const std::string n = op_info(op.code).name;
  auto put = [&](const char* field, int v) {
    found.insert(n + "." + field + "=" + std::to_string(v));
  };
  found.insert(n);
  switch (op_info(op.code).args) {
    case ArgShape::kNone: break;
    case ArgShape::kInterpCfg: put("flags", op.variant); break;
    case ArgShape::kInterp: put("interp", op.interp); break;
    case ArgShape::kStart:
      put("thread", op.thread);
      put("kind", op.variant);
      break;
    case ArgShape::kThread: put("thread", op.thread); break;
    case ArgShape::kCount: put("count", op.count); break;
    case ArgShape::kPending:
      put("kind", op.variant);
      put("interp", op.interp);
      break;
    case ArgShape::kFork:
      put("mode", op.variant);
      put("follow", op.follow_child);
      put("child", op.thread);
      break;
    case ArgShape::kLock:
      put("lock", op.variant);
      put("count", op.count);
      break;
  }
}

TEST(BinaryCodec, EveryOpAndArgumentValueIsReachableFromShortInputs) {
  std::set<std::string> wanted = all_argument_values();
  for (const std::string& p : rt::profile_names()) wanted.insert("profile=" + p);
  for (const rt::DefectInfo& d : rt::all_defects()) wanted.insert(std::string("defect=") + d.name);
  for (int t = 1; t <= kMaxThreads; ++t) wanted.insert("threads=" + std::to_string(t));

  std::mt19937 rng(0);  // deterministic, like libFuzzer's unit tests (Random Rand(0))
  std::set<std::string> found;
  int iterations = 0;
  for (; iterations < 200'000 && found.size() < wanted.size(); ++iterations) {
    Bytes b(kCodecHeaderSize + kCodecRecordSize * (1 + rng() % 4));  // at most 28 bytes
    for (uint8_t& x : b) x = static_cast<uint8_t>(rng());
    b[kCodecCountByte] = static_cast<uint8_t>((b.size() - kCodecHeaderSize) / kCodecRecordSize);
    b[kCodecCountByte + 1] = 0;
    const Program p = decode_program(b).program;
    found.insert("profile=" + p.profile);
    for (const std::string& d : p.defects) found.insert("defect=" + d);
    found.insert("threads=" + std::to_string(p.threads.size()));
    for (const Script& s : p.threads) {
      for (const Op& op : s.ops) record_found(op, found);
    }
  }
  std::vector<std::string> missing;
  std::set_difference(wanted.begin(), wanted.end(), found.begin(), found.end(),
                      std::back_inserter(missing));
  EXPECT_TRUE(missing.empty()) << missing.size() << " never decoded, e.g. " << missing.front();
  std::set<std::string> extra;
  std::set_difference(found.begin(), found.end(), wanted.begin(), wanted.end(),
                      std::inserter(extra, extra.end()));
  EXPECT_TRUE(extra.empty()) << "decoded an out-of-range value: " << *extra.begin();
  std::printf("all %zu op/argument values reached in %d inputs of at most 28 bytes\n",
              wanted.size(), iterations);
}

// ---- the layout on known bytes ------------------------------------------------------------------

TEST(BinaryCodec, EmptyInputIsOneEmptyScript) {
  const Decoded d = decode_program({});
  EXPECT_EQ(d.program.profile, rt::all_profiles()[0].name);
  EXPECT_TRUE(d.program.defects.empty());
  ASSERT_EQ(d.program.threads.size(), 1u);
  EXPECT_TRUE(d.program.threads[0].ops.empty());
  EXPECT_TRUE(d.schedule_bytes.empty());
}

Program parse_ok(std::string_view text) {
  auto r = parse_program(text);
  EXPECT_TRUE(std::holds_alternative<Program>(r)) << std::get<ParseError>(r).to_string();
  return std::get<Program>(r);
}

TEST(BinaryCodec, EncodesTheDocumentedLayout) {
  const Program p = parse_ok(
      "interpfuzz-program 1\nprofile 3.8\ndefect bpo39958_headlock_reentry\n"
      "defect gh101437_clear_without_tstate\n\n"
      "thread T0:\n  start T1 daemon\n  add_pending touch to I2\n\n"
      "thread T1:\n  fork preexec follow=child\n  exit 0\n");
  const Bytes schedule = {0xAA, 0xBB};
  const Bytes expected = {
      1,    0b11, 0, 0,
      0,    0,    0, 0,
      0,    1,    4, 0,  // 3.8 = all_profiles()[1]; defects 0 and 1; 2 scripts; 4 records
      0,    0x07, 0, 1,  // T0 start: T<1 + 0>, kind 1 = daemon
      0,    0x0D, 1, 3,  // T0 add_pending: kind 1 = touch, target 3 - 1 = I2
      1,    0x14, 2, 1,  // T1 fork: mode 2 = preexec, b = follow bit 1, no child
      1,    0x17, 0, 0,  // T1 exit: 0 + 0
      0xAA, 0xBB};       // the schedule bytes
  EXPECT_EQ(encode_program(p, schedule), expected);
  EXPECT_EQ(decode_program(expected), (Decoded{p, schedule}));
}

// A pending kind added later (adds = 5) takes its own byte; every other byte decodes as it did
// with the first five kinds (byte % 5), so older corpora keep their meaning.
TEST(BinaryCodec, PendingKindBytesKeepTheirFirstEncodingsMeaning) {
  for (int b = 0; b < 256; ++b) {
    const Bytes in = {0, 0, 0, 0, 0, 0, 0, 0, 0, /*threads=*/0, 1, 0, 0, 0x0D, static_cast<uint8_t>(b), 0};
    const Decoded d = decode_program(in);
    ASSERT_EQ(d.program.threads[0].ops.size(), 1u) << b;
    const int want = b < kPendingKinds ? b : b % kPendingKindsV1;
    EXPECT_EQ(d.program.threads[0].ops[0].variant, want) << b;
  }
  EXPECT_EQ(print_op(decode_program(Bytes{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0x0D, 5, 0}).program.threads[0].ops[0]),
            "add_pending adds");
}

TEST(BinaryCodec, NonOpcodeBytesMapToAnAllowedOp) {
  // One script: start and atexit have no target, so every byte maps to another op.
  for (int b = 0; b < 256; ++b) {
    const Bytes in = {0, 0, 0, 0, 0, 0, 0, 0, 0, /*threads=*/0, 1, 0, 0, static_cast<uint8_t>(b), 0, 0};
    const Decoded d = decode_program(in);
    ASSERT_EQ(d.program.threads[0].ops.size(), 1u) << b;
    const OpCode c = d.program.threads[0].ops[0].code;
    if (is_opcode(static_cast<uint8_t>(b)) && op_allowed(static_cast<OpCode>(b), 1)) {
      EXPECT_EQ(static_cast<int>(c), b);
    }
    EXPECT_TRUE(op_allowed(c, 1)) << b;
  }
}

TEST(BinaryCodec, RecordCountIsClampedToWholeRecords) {
  // Count 0xFFFF, two whole records and three stray bytes: two ops, the strays are schedule.
  const Bytes in = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0x18, 0, 0, 0, 0x01, 0, 0, 7, 8, 9};
  const Decoded d = decode_program(in);
  EXPECT_EQ(d.program.threads[0].ops.size(), 2u);
  EXPECT_EQ(d.schedule_bytes, (Bytes{7, 8, 9}));
}

TEST(BinaryCodec, RecordsPastTheScriptCapAreDropped) {
  Bytes in = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, kMaxOpsPerThread + 5, 0};
  for (int i = 0; i < kMaxOpsPerThread + 5; ++i) in.insert(in.end(), {0, 0x18, 0, 0});
  EXPECT_EQ(decode_program(in).program.threads[0].ops.size(), size_t{kMaxOpsPerThread});
}

TEST(BinaryCodec, PinnedProfileAndExtraDefectsOverrideTheInput) {
  const Bytes in = {3, 0b100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  DecodeOptions opts{
      .pinned_profile = "3.13-fixed",
      .extra_defects = {"bpo39958_headlock_reentry", "gh101437_clear_without_tstate"}};
  const Decoded d = decode_program(in, opts);
  EXPECT_EQ(d.program.profile, "3.13-fixed");
  ASSERT_EQ(d.program.defects.size(), 3u);  // table order, each once
  EXPECT_EQ(d.program.defects[0], "bpo39958_headlock_reentry");
  EXPECT_EQ(d.program.defects[2], rt::all_defects()[2].name);
}

}  // namespace
}  // namespace ifz::harness
