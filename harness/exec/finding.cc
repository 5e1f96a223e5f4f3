// SPDX-License-Identifier: Apache-2.0
// finding.cc — stable signatures for deduplication.
#include "harness/exec/finding.h"

#include <cctype>

namespace ifz::harness {

std::string Finding::signature() const { return kind + "/" + oracle + "/" + detail; }

std::string normalize_detail(const std::string& s) {
  // Ids are not part of a bug's identity: "T3" → "T*", "#17" → "#*", "I2" stays (interpreter
  // roles main/sub are already spelled out by the oracles), bare numbers stay (signals, codes).
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    const bool id_prefix = (ch == 'T' || ch == '#') &&
                           (i == 0 || !std::isalnum(static_cast<unsigned char>(s[i - 1])));
    if (id_prefix && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
      out += ch;
      out += '*';
      while (i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) ++i;
      continue;
    }
    out += ch;
  }
  return out;
}

}  // namespace ifz::harness
