// SPDX-License-Identifier: Apache-2.0
// program_mutator.cc — record-level mutation and cross-over of binary program inputs.
// The byte layout is binary_codec.h's; this file only reads it (header, records, schedule)
// and writes it back with a consistent record count.
#include "harness/program/program_mutator.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <random>
#include <vector>

#include "harness/program/binary_codec.h"

namespace ifz::fuzz {
namespace {

// The engine's byte mutator, set once by a fuzz target before fuzzing starts (one per process).
ByteMutator g_engine_mutator = nullptr;

using harness::kCodecCountByte;
using harness::kCodecHeaderSize;
using harness::kCodecRecordSize;
using harness::kCodecThreadsByte;
using harness::kMaxRecords;
using harness::kMaxThreads;
using harness::OpCode;
using Record = std::array<uint8_t, kCodecRecordSize>;
using Rng = std::minstd_rand;

// An input split the way decode_program reads it.
struct Layout {
  std::array<uint8_t, kCodecHeaderSize> header{};
  std::vector<Record> records;
  std::vector<uint8_t> schedule;

  int threads() const { return 1 + header[kCodecThreadsByte] % kMaxThreads; }
  int thread_of(const Record& r) const { return r[0] % threads(); }
};

Layout parse(std::span<const uint8_t> in) {
  Layout l;
  std::copy_n(in.begin(), std::min(in.size(), l.header.size()), l.header.begin());
  if (in.size() <= kCodecHeaderSize) return l;
  const size_t present = (in.size() - kCodecHeaderSize) / kCodecRecordSize;
  const size_t wanted = l.header[kCodecCountByte] | size_t{l.header[kCodecCountByte + 1]} << 8;
  const size_t n = std::min({wanted, kMaxRecords, present});
  l.records.resize(n);
  for (size_t i = 0; i < n; ++i) {
    std::memcpy(l.records[i].data(), in.data() + kCodecHeaderSize + i * kCodecRecordSize,
                kCodecRecordSize);
  }
  l.schedule.assign(in.begin() + kCodecHeaderSize + n * kCodecRecordSize, in.end());
  return l;
}

// Writes as much as fits: the header (a short header is what a zero-padded one decodes to),
// then whole records, then schedule bytes. The count field always matches the records written.
size_t write(Layout l, uint8_t* out, size_t max) {
  if (max < kCodecHeaderSize) {
    std::memcpy(out, l.header.data(), max);
    return max;
  }
  const size_t room = (max - kCodecHeaderSize) / kCodecRecordSize;
  const size_t n = std::min({l.records.size(), kMaxRecords, room});
  l.header[kCodecCountByte] = static_cast<uint8_t>(n & 0xff);
  l.header[kCodecCountByte + 1] = static_cast<uint8_t>(n >> 8);
  std::memcpy(out, l.header.data(), kCodecHeaderSize);
  size_t at = kCodecHeaderSize;
  for (size_t i = 0; i < n; ++i, at += kCodecRecordSize) {
    std::memcpy(out + at, l.records[i].data(), kCodecRecordSize);
  }
  const size_t s = std::min(l.schedule.size(), max - at);
  if (s > 0) std::memcpy(out + at, l.schedule.data(), s);
  return at + s;
}

size_t below(Rng& rng, size_t n) { return n == 0 ? 0 : rng() % n; }
uint8_t byte(Rng& rng) { return static_cast<uint8_t>(rng() >> 7); }

OpCode pick_op(Rng& rng, std::span<const OpCode> ops) {
  if (!ops.empty()) return ops[below(rng, ops.size())];
  const std::span<const harness::OpInfo> all = harness::all_ops();
  return all[below(rng, all.size())].code;
}

Record random_record(Rng& rng, const Layout& l, std::span<const OpCode> ops) {
  return {static_cast<uint8_t>(below(rng, l.threads())), static_cast<uint8_t>(pick_op(rng, ops)),
          byte(rng), byte(rng)};
}

// Each mutation returns false when it does not apply (e.g. deleting from no records); the
// caller then falls back to libFuzzer's mutators.
bool insert_op(Layout& l, Rng& rng, std::span<const OpCode> ops) {
  if (l.records.size() >= kMaxRecords) return false;
  Record r = random_record(rng, l, ops);
  // A program that never initialises the runtime exercises nothing: an empty one most
  // likely wants `init` on the main thread first (cheaper than waiting for 1 op in 24).
  if (l.records.empty() && (rng() & 1)) r = {0, static_cast<uint8_t>(OpCode::kInit), 0, 0};
  l.records.insert(l.records.begin() + below(rng, l.records.size() + 1), r);
  return true;
}

bool delete_op(Layout& l, Rng& rng) {
  if (l.records.empty()) return false;
  l.records.erase(l.records.begin() + below(rng, l.records.size()));
  return true;
}

bool duplicate_op(Layout& l, Rng& rng) {
  if (l.records.empty() || l.records.size() >= kMaxRecords) return false;
  const Record r = l.records[below(rng, l.records.size())];
  l.records.insert(l.records.begin() + below(rng, l.records.size() + 1), r);
  return true;
}

bool swap_ops(Layout& l, Rng& rng) {
  if (l.records.size() < 2) return false;
  std::swap(l.records[below(rng, l.records.size())], l.records[below(rng, l.records.size())]);
  return true;
}

bool change_op(Layout& l, Rng& rng, std::span<const OpCode> ops) {
  if (l.records.empty()) return false;
  l.records[below(rng, l.records.size())][1] = static_cast<uint8_t>(pick_op(rng, ops));
  return true;
}

// Arguments are reduced modulo small ranges (interpreter ids, thread refs, kinds, counts), so
// a step of one is the "next value" and a random byte a jump.
bool change_arg(Layout& l, Rng& rng) {
  if (l.records.empty()) return false;
  uint8_t& a = l.records[below(rng, l.records.size())][2 + below(rng, 2)];
  switch (below(rng, 3)) {
    case 0: ++a; break;
    case 1: --a; break;
    default: a = byte(rng); break;
  }
  return true;
}

bool move_to_thread(Layout& l, Rng& rng) {
  if (l.records.empty() || l.threads() < 2) return false;
  l.records[below(rng, l.records.size())][0] = static_cast<uint8_t>(below(rng, l.threads()));
  return true;
}

// A new script is dead code until something starts it: add one, an op in it, and a `start` of
// it in an existing script.
bool add_thread(Layout& l, Rng& rng, std::span<const OpCode> ops) {
  const int t = l.threads();
  if (t >= kMaxThreads || l.records.size() + 2 > kMaxRecords) return false;
  l.header[kCodecThreadsByte] = static_cast<uint8_t>(t);  // 1 + t % kMaxThreads scripts
  // start's argument a names T<1 + a % (threads - 1)> (binary_codec.cc), so a = t - 1 is T<t>.
  const Record start = {static_cast<uint8_t>(below(rng, t)),
                        static_cast<uint8_t>(OpCode::kStart), static_cast<uint8_t>(t - 1),
                        byte(rng)};
  Record body = random_record(rng, l, ops);
  body[0] = static_cast<uint8_t>(t);
  l.records.insert(l.records.begin() + below(rng, l.records.size() + 1), start);
  l.records.push_back(body);
  return true;
}

// Schedule bytes: one per choice point, pick = byte % runnable (input_driven.h).
bool mutate_schedule(Layout& l, Rng& rng) {
  std::vector<uint8_t>& s = l.schedule;
  const size_t at = below(rng, s.size() + 1);
  switch (s.empty() ? 0 : below(rng, 4)) {
    case 0: {  // insert a short run of choices
      const size_t n = 1 + below(rng, 8);
      std::vector<uint8_t> run(n);
      for (uint8_t& b : run) b = byte(rng) % kMaxThreads;
      s.insert(s.begin() + at, run.begin(), run.end());
      break;
    }
    case 1: s[below(rng, s.size())] = byte(rng) % kMaxThreads; break;
    case 2: {  // erase a short run
      const size_t from = below(rng, s.size());
      const size_t n = 1 + below(rng, std::min<size_t>(8, s.size() - from));
      s.erase(s.begin() + from, s.begin() + from + n);
      break;
    }
    default: s.resize(below(rng, s.size())); break;  // fewer choices = fewer preemptions
  }
  return true;
}

size_t engine_mutate(uint8_t* data, size_t size, size_t max_size, Rng& rng) {
  if (g_engine_mutator != nullptr) return g_engine_mutator(data, size, max_size);
  if (size == 0) return 0;
  data[below(rng, size)] ^= static_cast<uint8_t>(1u << below(rng, 8));
  return size;
}

}  // namespace

void set_engine_byte_mutator(ByteMutator m) { g_engine_mutator = m; }

size_t mutate_program_bytes(uint8_t* data, size_t size, size_t max_size, unsigned seed,
                            std::span<const OpCode> ops) {
  Rng rng(seed == 0 ? 1 : seed);
  Layout l = parse({data, size});
  // Weights: structure first, a fifth left to libFuzzer's byte-level mutators.
  bool done = false;
  switch (below(rng, 20)) {
    case 0: case 1: case 2: case 3: done = insert_op(l, rng, ops); break;
    case 4: case 5: done = delete_op(l, rng); break;
    case 6: done = duplicate_op(l, rng); break;
    case 7: done = swap_ops(l, rng); break;
    case 8: case 9: done = change_op(l, rng, ops); break;
    case 10: case 11: case 12: done = change_arg(l, rng); break;
    case 13: done = move_to_thread(l, rng); break;
    case 14: done = add_thread(l, rng, ops); break;
    case 15: case 16: done = mutate_schedule(l, rng); break;
    default: break;
  }
  if (!done) return engine_mutate(data, size, max_size, rng);
  return write(std::move(l), data, max_size);
}

size_t cross_over_program_bytes(std::span<const uint8_t> a, std::span<const uint8_t> b,
                                uint8_t* out, size_t max_out, unsigned seed) {
  Rng rng(seed == 0 ? 1 : seed);
  Layout x = parse(a);
  const Layout y = parse(b);
  switch (below(rng, 3)) {
    case 0: {  // splice: one script of x replaced by a script of y
      const int t = static_cast<int>(below(rng, x.threads()));
      const int from = static_cast<int>(below(rng, y.threads()));
      std::erase_if(x.records, [&](const Record& r) { return x.thread_of(r) == t; });
      for (Record r : y.records) {
        if (y.thread_of(r) != from || x.records.size() >= kMaxRecords) continue;
        r[0] = static_cast<uint8_t>(t);
        x.records.push_back(r);  // record order matters only within a script
      }
      break;
    }
    case 1: {  // join: a prefix of x's records, a suffix of y's, either schedule
      x.records.resize(below(rng, x.records.size() + 1));
      x.records.insert(x.records.end(), y.records.begin() + below(rng, y.records.size() + 1),
                       y.records.end());
      if (rng() & 1) x.schedule = y.schedule;
      break;
    }
    default:  // x's program under y's interleaving
      x.schedule = y.schedule;
      break;
  }
  return write(std::move(x), out, max_out);
}

}  // namespace ifz::fuzz
