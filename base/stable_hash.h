// SPDX-License-Identifier: Apache-2.0
// stable_hash.h — the one hash for names that outlive a process: artifact and finding file
// names, cache keys, trace digests. FNV-1a 64: the same bytes give the same value in every
// build, on every machine, which std::hash does not promise (libstdc++ may change it between
// releases, and it is free to differ between builds) — a file name or a cache directory made
// from std::hash would silently change meaning.
//
// Not for security: anyone can build a collision. Callers that must not confuse two inputs
// compare the inputs too.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace ifz::base {

/// FNV-1a 64, fed incrementally: StableHash().add(a).add(b) hashes the bytes of a then b.
class StableHash {
 public:
  StableHash& add(std::string_view bytes) {
    for (unsigned char c : bytes) value_ = (value_ ^ c) * kPrime;
    return *this;
  }
  uint64_t value() const { return value_; }
  /// 16 lower-case hex digits, zero-padded.
  std::string hex() const {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(value_));
    return buf;
  }

 private:
  // Not FNV's published basis (14695981039346656037): the project's first copy lost its last
  // digit, and every copy since kept it. Kept here because names already on disk were made
  // with it (diff's claims, artifact and finding file names); the mixing is FNV-1a's.
  static constexpr uint64_t kOffsetBasis = 1469598103934665603ull;
  static constexpr uint64_t kPrime = 1099511628211ull;
  uint64_t value_ = kOffsetBasis;
};

inline uint64_t stable_hash(std::string_view bytes) { return StableHash().add(bytes).value(); }
inline std::string stable_hash_hex(std::string_view bytes) { return StableHash().add(bytes).hex(); }

}  // namespace ifz::base
