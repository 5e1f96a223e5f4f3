// SPDX-License-Identifier: Apache-2.0
// rng.h — the seeded, platform-independent pseudo-random generator of the seeded strategies.
// Defines Rng (SplitMix64) and Rng::stream (one independent stream per (seed, execution)).
//
// Our own generator rather than <random>: std::uniform_int_distribution's output is
// implementation-defined, and a schedule must mean the same thing on every standard library
// (a seed printed by a CI run must replay on a laptop). SplitMix64 (Steele, Lea, Flood,
// "Fast splittable pseudorandom number generators", OOPSLA 2014) passes BigCrush, has a 64-bit
// state that is trivially derived from a seed, and costs a few ns per draw.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ifz::harness {

class Rng {
 public:
  explicit Rng(uint64_t state) : state_(state) {}

  /// The generator for execution `index` of a strategy seeded with `seed`. Mixing both through
  /// the finaliser makes neighbouring seeds and indexes give unrelated streams.
  static Rng stream(uint64_t seed, uint64_t index) { return Rng(mix(mix(seed) + index)); }

  uint64_t next_u64() {
    state_ += 0x9E3779B97F4A7C15ull;
    return mix(state_);
  }
  /// Uniform in [0, n), n >= 1. Lemire's multiply-shift: bias at most n / 2^64, no division.
  size_t below(size_t n) {
    return static_cast<size_t>((static_cast<unsigned __int128>(next_u64()) * n) >> 64);
  }
  /// Uniform in [0, 1) with 53 random bits.
  double unit() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

 private:
  static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t state_;
};

}  // namespace ifz::harness
