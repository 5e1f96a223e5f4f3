// SPDX-License-Identifier: Apache-2.0
// reach.cc — reachability counters (see reach.h).
#include "harness/exec/reach.h"

#include <cstdio>
#include <sstream>

namespace ifz::harness {

void ReachCounters::merge(const ReachCounters& other) {
  for (const auto& [k, v] : other.counts_) counts_[k] += v;
}

uint64_t ReachCounters::get(const std::string& what) const {
  auto it = counts_.find(what);
  return it == counts_.end() ? 0 : it->second;
}

std::string ReachCounters::serialize() const {
  std::string out;
  for (const auto& [k, v] : counts_) out += (out.empty() ? "" : ";") + k + "=" + std::to_string(v);
  return out;
}

ReachCounters ReachCounters::parse(const std::string& line) {
  ReachCounters r;
  std::stringstream ss(line);
  std::string item;
  while (std::getline(ss, item, ';')) {
    const size_t eq = item.rfind('=');
    if (eq == std::string::npos) continue;
    r.counts_[item.substr(0, eq)] += std::strtoull(item.c_str() + eq + 1, nullptr, 10);
  }
  return r;
}

std::string ReachCounters::table() const {
  std::string out;
  char buf[64];
  for (const auto& [k, v] : counts_) {
    std::snprintf(buf, sizeof buf, "  %10llu  ", static_cast<unsigned long long>(v));
    out += buf + k + "\n";
  }
  return out.empty() ? "  (none)\n" : out;
}

}  // namespace ifz::harness
