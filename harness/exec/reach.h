// SPDX-License-Identifier: Apache-2.0
// reach.h — reachability counters: how often an execution reached an interesting runtime
// state (fork while another thread holds a runtime lock, a daemon killed in each finalisation
// phase, a pending call refused or accepted during shutdown, ...). A clean stress run proves
// with them that it exercised those states rather than just not crashing.
// Defines ReachCounters.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace ifz::harness {

class ReachCounters {
 public:
  void bump(const std::string& what, uint64_t n = 1) { counts_[what] += n; }
  void merge(const ReachCounters& other);
  uint64_t get(const std::string& what) const;
  const std::map<std::string, uint64_t>& counts() const { return counts_; }
  /// One line, "key=value;key=value" (keys never contain ';' or '=').
  std::string serialize() const;
  static ReachCounters parse(const std::string& line);
  /// Indented table for summaries.
  std::string table() const;

 private:
  std::map<std::string, uint64_t> counts_;
};

}  // namespace ifz::harness
