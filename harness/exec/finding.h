// SPDX-License-Identifier: Apache-2.0
// finding.h — what an oracle reports: a violation of a CPython contract observed in one
// execution, with a stable signature for deduplication (DESIGN D6).
// Defines Finding and the signature helpers.
#pragma once

#include <string>
#include <vector>

namespace ifz::harness {

struct Finding {
  std::string kind;     // uaf | null-deref | deadlock | hang | unexpected-fatal | lost-pending |
                        // pending-twice | pending-wrong-interp | pending-no-gil | pending-dead-interp |
                        // gil | finalize | fork | interp-ids
  std::string oracle;   // the oracle's name (harness/oracles)
  std::string phase;    // runtime lifecycle phase when it was observed
  std::string message;  // one line, for people
  std::string detail;   // the stable part of the cause (access label, locks waited on, …)
  std::vector<std::string> threads;  // every thread's state at the end (for reports)
  /// kind/oracle/detail: equal for the same bug, independent of ids, addresses and timing.
  std::string signature() const;
  /// "known: bpo-39958" when a profile defect's trigger canary fired in this execution, else
  /// "new". Filled by the executor; never used to decide whether something is a finding.
  std::string classification = "new";
  std::vector<std::string> triggered_defects;  // names
};

/// Replaces numbers that are ids (T3, I2, tstate 17, pid 1004) so signatures are stable.
std::string normalize_detail(const std::string& s);

}  // namespace ifz::harness
