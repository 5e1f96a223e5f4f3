// SPDX-License-Identifier: Apache-2.0
// reductions.h — the structural reductions of a Program, one implementation each, shared by
// the minimiser (harness/minimize) and the RapidCheck shrinkers (properties/program_shapes).
// Defines refers_to_thread, drop_thread, inline_thread and compact_threads.
//
// Each takes a valid program and returns a valid one (validate_program; reductions_test checks
// it on generated programs), or nullopt where the result would break a limit. None of them
// knows whether the smaller program still fails: the caller runs it.
#pragma once

#include <optional>

#include "harness/program/op.h"
#include "harness/program/program.h"

namespace ifz::harness {

/// Whether `op` names a thread script by Op::thread: start, join (and the other kThread ops),
/// and a fork with a child script.
bool refers_to_thread(const Op& op);

/// `p` without script `k` (k >= 1): ops that start, register or join Tk go, a fork into Tk
/// continues in the forking thread's own script instead, references to later threads move down.
Program drop_thread(const Program& p, int k);

/// `p` with script `k`'s ops run by the thread that runs Tk, in place of the first op that
/// does (start / atexit / fork child=Tk), and without script `k`; nullopt if no op runs Tk or
/// a script would exceed kMaxOpsPerThread.
///
/// Fork is the one op whose thread keeps running: `fork child=Tk` makes the child run Tk's
/// script *on the forking thread* (Execution::op_fork runs it with the forker's context) and
/// then exit. So the fork stays, without a child script, and Tk's ops follow it: in the child
/// the same ops run on the same thread after the same fork, and only the forker's remaining
/// ops (which ddmin can remove) are new. Replacing the fork itself by Tk's ops — what the
/// properties' shrinker once did — would remove the fork from a program whose finding is
/// usually about the fork, and run the child's ops in the parent process.
std::optional<Program> inline_thread(const Program& p, int k);

/// `p` without the scripts that are empty and that no op names, references renumbered.
Program compact_threads(const Program& p);

}  // namespace ifz::harness
