// SPDX-License-Identifier: Apache-2.0
// schedule.h — the record of one execution's scheduling choices and its copy-pasteable text form.
// Defines Schedule (DESIGN D5: "every execution records its schedule as a compact string").
//
// Format (version 1), the whole grammar:
//
//   schedule := "IFZS1:" [ token { "." token } ]
//   token    := tid | tid "x" count          tid, count: decimal, no sign; count >= 1
//
// `tid` is the platform::ThreadId chosen at one choice point (a scheduling point with two or
// more runnable threads; points with one runnable thread are not choices and are not recorded).
// `<tid>x<count>` is run-length shorthand for `count` consecutive identical picks. Examples:
// `IFZS1:` (no choice: the sequential schedule), `IFZS1:0x12.1.0x3.2x2` (0 twelve times, then
// 1, then 0 three times, then 2 twice).
//
// to_string() is canonical: maximal runs, `x` only for runs of two or more, no leading zeros.
// parse() also accepts non-canonical spellings (`0.0`, `0x1`, `007`) because a schedule is meant
// to be edited by hand while minimising, and ignores surrounding whitespace (a pasted line often
// carries its newline). The version tag is mandatory, as fuzztest's `FUZZTESTv1` is: a future
// format (e.g. data draws besides picks, STYLE §8.3) gets a new tag, never a reinterpretation.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/platform/platform.h"

namespace ifz::harness {

struct Schedule {
  /// The version tag every encoded schedule starts with.
  static constexpr std::string_view kPrefix = "IFZS1:";
  /// parse() refuses schedules longer than this many picks, so that a hostile or mistyped count
  /// (`0x99999999999`) is an error, not an out-of-memory. About twice SimOptions::max_steps'
  /// default, since an execution never makes more choices than it passes scheduling points.
  static constexpr size_t kMaxPicks = size_t{1} << 22;

  /// One entry per choice point, in order: the thread chosen there.
  /// invariant: every entry is >= 0 (never platform::kNoThread).
  std::vector<platform::ThreadId> picks;

  /// The canonical `IFZS1:` string (see the format above).
  std::string to_string() const;
  /// Parses the format above. On error returns nullopt and, if `error` is not null, stores one
  /// line (no newline) naming the 1-based column and what was expected. Total: never crashes,
  /// never allocates more than kMaxPicks entries.
  static std::optional<Schedule> parse(std::string_view s, std::string* error);

  /// Number of picks that differ from the previous pick: the context switches between choice
  /// points. The minimiser prefers schedules with fewer (D7: "fewest preemptions"). It is an
  /// upper bound on true preemptions, since a switch away from a thread that had just blocked
  /// is not a preemption, and the schedule alone cannot tell the two apart.
  size_t preemptions() const;

  bool operator==(const Schedule&) const = default;
};

}  // namespace ifz::harness
