// SPDX-License-Identifier: Apache-2.0
// text_vocabulary.h — internal to the text format: the words of the enumerated op arguments
// and the lists that error messages cite. Defines WordSet, the word sets, op_usage and quote.
//
// The enum values are the runtime's (rt::PendingKind, rt::RuntimeLock) or op.h's (StartKind,
// ForkMode); the words are their printable names, so the parser, the printer and the error
// messages can never disagree about them.
#pragma once

#include <string>
#include <string_view>

#include "harness/program/op.h"

namespace ifz::harness {

/// The words of one enumerated argument, indexed by Op::variant.
struct WordSet {
  const char* what;            // "pending call kind": how error messages call it
  int count;                   // valid indices are 0 .. count-1
  const char* (*name)(int i);  // REQUIRES: 0 <= i < count
  /// "noop, touch, …" with `sep` between the words.
  std::string list(std::string_view sep) const;
  /// The word of `i`, or "?" when out of range (print_op is total).
  const char* name_or_unknown(int i) const { return i >= 0 && i < count ? name(i) : "?"; }
};
extern const WordSet kStartWords;    // threading | daemon | raw | c
extern const WordSet kForkWords;     // fork | exec | preexec
extern const WordSet kPendingWords;  // noop | touch | rearm | fail | slow
extern const WordSet kLockWords;     // HEAD | XID | UNICODE_IDS | IMPORT

inline constexpr std::string_view kFlagIsolated = "isolated";
inline constexpr std::string_view kFlagOwnGil = "own_gil";

/// How an op is written: "start T<k> threading|daemon|raw|c".
std::string op_usage(OpCode c);
/// "init, finalize, …" / "3.7, 3.8, …" / "bpo39958_headlock_reentry, …": for "known:" lists.
std::string op_list();
std::string profile_list();
std::string defect_list();

/// At most 40 bytes of `s`, then "..."; bytes that are not printable ASCII as \xNN, so that an
/// error line about binary garbage stays one printable line.
std::string clip(std::string_view s);
/// clip(s) in single quotes.
std::string quote(std::string_view s);

}  // namespace ifz::harness
