// SPDX-License-Identifier: Apache-2.0
// json.h — the one JSON string quoting of the CLI's machine-readable output (stress --json,
// diff's results.jsonl / runs.jsonl). Defines json_string().
#pragma once

#include <cstdio>
#include <string>

namespace ifz::harness::cli {

/// `s` as a JSON string literal, quotes included.
inline std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace ifz::harness::cli
