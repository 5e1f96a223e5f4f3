// SPDX-License-Identifier: Apache-2.0
// validate.h — what makes a Program valid, as one checkable definition shared by the parser,
// the printer, the binary codec and the generators. Defines validate_program() and the
// per-op reference rules (op_allowed, min_thread_ref, min_count).
//
// A valid program is what the text format can print and the binary codec can encode:
//   - `profile` is a name of rt::all_profiles(); `defects` are known names, unique, in
//     defects.def order; `schedule` is "" or one token of printable ASCII without '#';
//   - 1 … kMaxThreads scripts, each with at most kMaxOpsPerThread ops;
//   - every op's arguments are in range and its thread references name an existing script
//     (start, atexit and fork's child= never name T0, the process's main thread);
//   - every field an op's shape does not use keeps make_op()'s default, so that == on two
//     Programs means "the same program" and print/parse and encode/decode round-trip exactly.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "harness/program/op.h"
#include "harness/program/program.h"

namespace ifz::harness {

/// Smallest script index op `c` may name. `join T0` is legal (a thread may join the main
/// thread); `start`, `atexit` and `fork … child=` may not: T0 is never started, registered
/// or forked into, it *is* the process.
int min_thread_ref(OpCode c);

/// Smallest count op `c` accepts: `exit` takes a status (0 allowed), the others a repeat
/// count (at least 1). The largest is always kMaxCount.
int min_count(OpCode c);

/// False when op `c` cannot be given a valid argument in a program of `threads` scripts
/// (start / atexit with only T0). The decoder and the generators pick among allowed ops only.
bool op_allowed(OpCode c, int threads);

/// True for "" (no schedule) or one token of printable ASCII without '#' (a comment would
/// start there) and without spaces; what the token means is the schedule codec's business.
bool valid_schedule_token(std::string_view s);

/// nullopt if `op` is valid in a program of `threads` scripts, else why not.
std::optional<std::string> validate_op(const Op& op, int threads);

/// nullopt if `p` is valid (see the file comment), else the first violation, e.g.
/// "T1 op 3 (start): thread T5 does not exist (the program has 2 threads)".
std::optional<std::string> validate_program(const Program& p);

}  // namespace ifz::harness
