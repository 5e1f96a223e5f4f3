// SPDX-License-Identifier: Apache-2.0
// fuzz_support_test.cc — the fuzz targets' decoding options and the structure-aware mutator:
// restricted decoding, fixed-profile decoding, and reachability of every mutation's effect.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

#include "harness/program/program_mutator.h"
#include "harness/program/fuzz_targets.h"
#include "harness/program/binary_codec.h"
#include "harness/program/validate.h"
#include "runtime/profile.h"

namespace ifz::fuzz {
namespace {

using harness::decode_program;
using harness::DecodeOptions;
using harness::OpCode;

std::vector<uint8_t> random_bytes(std::mt19937& rng, size_t max_len) {
  std::vector<uint8_t> out(rng() % max_len);
  for (uint8_t& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

TEST(FuzzTargets, EveryTargetHasAUniqueNameAndBinaryTargetsDecodeOnlyTheirOps) {
  std::set<std::string> names;
  std::mt19937 rng(1);
  for (const TargetSpec& t : all_targets()) {
    EXPECT_TRUE(names.insert(t.name).second) << t.name;
    if (t.input != InputKind::kBinaryProgram) continue;
    DecodeOptions opts;
    opts.ops = t.ops;
    for (int i = 0; i < 2000; ++i) {
      const harness::Decoded d = decode_program(random_bytes(rng, 200), opts);
      ASSERT_FALSE(harness::validate_program(d.program)) << t.name;
      for (const harness::Script& s : d.program.threads) {
        for (const harness::Op& op : s.ops) {
          ASSERT_TRUE(target_has_op(t, op.code)) << t.name << ": " << harness::op_info(op.code).name;
        }
      }
    }
  }
}

TEST(FuzzTargets, FixedProfileDecodingPicksOnlyFixedProfilesAndIgnoresInputDefects) {
  DecodeOptions opts;
  opts.fixed_profiles_only = true;
  std::set<std::string> seen;
  for (int selector = 0; selector < 256; ++selector) {
    std::vector<uint8_t> in = {static_cast<uint8_t>(selector), 0xff, 0xff, 0xff, 0xff,
                               0xff, 0xff, 0xff, 0xff};
    const harness::Decoded d = decode_program(in, opts);
    const rt::Profile* p = rt::find_profile(d.program.profile);
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(p->fixed) << d.program.profile;
    EXPECT_TRUE(d.program.defects.empty());
    seen.insert(d.program.profile);
  }
  size_t fixed = 0;
  for (const rt::Profile& p : rt::all_profiles()) fixed += p.fixed ? 1 : 0;
  EXPECT_EQ(seen.size(), fixed) << "every -fixed profile is reachable";
}

TEST(FuzzTargets, ASeedOnAFixedProfileDecodesToItselfUnderFixedProfileDecoding) {
  DecodeOptions opts;
  opts.fixed_profiles_only = true;
  for (const rt::Profile& prof : rt::all_profiles()) {
    if (!prof.fixed) continue;
    harness::Program p;
    p.profile = prof.name;
    p.threads.resize(2);
    p.threads[0].ops = {harness::make_op(OpCode::kInit), harness::make_op(OpCode::kStart)};
    EXPECT_EQ(decode_program(harness::encode_program(p), opts).program, p) << prof.name;
  }
}

// Reachability (libFuzzer's FoundMask habit): from the empty input, repeated mutation reaches
// programs with ops, several threads, schedule bytes, and shrinks them again.
TEST(CustomMutator, MutantsStayWithinMaxSizeAndReachEveryShape) {
  constexpr size_t kMax = 256;
  std::vector<uint8_t> buf(kMax);
  size_t size = 0;
  bool ops = false, threads = false, schedule = false, shrank = false;
  size_t last_ops = 0;
  for (unsigned seed = 1; seed < 20000; ++seed) {
    size = mutate_program_bytes(buf.data(), size, kMax, seed, {});
    ASSERT_LE(size, kMax);
    const harness::Decoded d = decode_program({buf.data(), size});
    ASSERT_FALSE(harness::validate_program(d.program));
    const size_t n = d.program.op_count();
    ops |= n >= 3;
    threads |= d.program.threads.size() >= 3;
    schedule |= !d.schedule_bytes.empty();
    shrank |= n < last_ops;
    last_ops = n;
  }
  EXPECT_TRUE(ops);
  EXPECT_TRUE(threads);
  EXPECT_TRUE(schedule);
  EXPECT_TRUE(shrank);
}

TEST(CustomMutator, InsertedOpsComeFromTheTargetsMix) {
  const TargetSpec& fork = *find_target("fuzz_fork");
  DecodeOptions opts;
  opts.ops = fork.ops;
  std::vector<uint8_t> buf(512);
  size_t size = 0;
  for (unsigned seed = 1; seed < 5000; ++seed) {
    size = mutate_program_bytes(buf.data(), size, buf.size(), seed, fork.ops);
    // Raw opcode bytes written by the mutator are the target's (no remapping needed).
    const harness::Decoded d = decode_program({buf.data(), size}, opts);
    for (const harness::Script& s : d.program.threads) {
      for (const harness::Op& op : s.ops) ASSERT_TRUE(target_has_op(fork, op.code));
    }
  }
}

TEST(CustomMutator, CrossOverIsValidAndBounded) {
  std::mt19937 rng(7);
  std::vector<uint8_t> out(128);
  for (unsigned seed = 1; seed < 3000; ++seed) {
    const std::vector<uint8_t> a = random_bytes(rng, 300), b = random_bytes(rng, 300);
    const size_t n = cross_over_program_bytes(a, b, out.data(), out.size(), seed);
    ASSERT_LE(n, out.size());
    ASSERT_FALSE(harness::validate_program(decode_program({out.data(), n}).program));
  }
}

TEST(CustomMutator, TinyCapacityStillGivesADecodableInput) {
  std::vector<uint8_t> buf(4, 0);
  for (unsigned seed = 1; seed < 200; ++seed) {
    const size_t n = mutate_program_bytes(buf.data(), 2, 4, seed, {});
    ASSERT_LE(n, 4u);
  }
}

}  // namespace
}  // namespace ifz::fuzz
