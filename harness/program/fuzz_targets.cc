// SPDX-License-Identifier: Apache-2.0
// fuzz_targets.cc — the fuzz target table and each restricted target's op mix.
#include "harness/program/fuzz_targets.h"

#include <algorithm>
#include <array>

namespace ifz::fuzz {
namespace {

using harness::OpCode;

// Each restricted target keeps the ops that set its subsystem up (init, threads, interpreters,
// GIL release) and repeats the ops it is about, so that a byte that is not an opcode decodes
// more often to them. Ops outside a list cannot occur in that target's programs at all: the
// restriction is the bias.

// Pending calls (P1-P6): routing to interpreters, who may run them, capacity, signals; Event
// methods are Python code whose entry checks the eval breaker.
constexpr std::array kPendingOps = {
    OpCode::kAddPending,     OpCode::kAddPending,      OpCode::kAddPending,
    OpCode::kMakePending,    OpCode::kMakePending,     OpCode::kSignal,
    OpCode::kSignal,         OpCode::kRunBytecode,     OpCode::kRunBytecode,
    OpCode::kInit,           OpCode::kFinalize,        OpCode::kNewInterp,
    OpCode::kEndInterp,      OpCode::kSwap,            OpCode::kStart,
    OpCode::kJoin,           OpCode::kReleaseGil,      OpCode::kAcquireGil,
    OpCode::kBlock,          OpCode::kGilStateEnsure,  OpCode::kGilStateRelease,
    OpCode::kNewTstate,      OpCode::kDeleteTstate,    OpCode::kYield,
    OpCode::kGilStateCheck,  OpCode::kEventSet,        OpCode::kEventWait,       OpCode::kSetSignal,
};

// Fork (K1-K4): fork from threads and subinterpreters, runtime locks held across it, the
// child's part, fork from atexit; a program lock held by a thread the fork leaves behind.
constexpr std::array kForkOps = {
    OpCode::kFork,        OpCode::kFork,       OpCode::kFork,          OpCode::kHoldLock,
    OpCode::kHoldLock,    OpCode::kInit,       OpCode::kFinalize,      OpCode::kNewInterp,
    OpCode::kEndInterp,   OpCode::kSwap,       OpCode::kStart,         OpCode::kJoin,
    OpCode::kReleaseGil,  OpCode::kAcquireGil, OpCode::kBlock,         OpCode::kRunBytecode,
    OpCode::kAddPending,  OpCode::kAtexit,     OpCode::kGilStateEnsure, OpCode::kGilStateRelease,
    OpCode::kYield,       OpCode::kGilStateCheck, OpCode::kLockAcquire,  OpCode::kLockRelease,
};

// Shutdown (F0-F6): daemon threads parked across finalisation, atexit work, re-initialisation,
// process exit with threads alive; the program's locks and events order them (an atexit
// callback waiting for a thread, a daemon woken after finalisation started).
constexpr std::array kShutdownOps = {
    OpCode::kFinalize,       OpCode::kFinalize,        OpCode::kAtexit,     OpCode::kAtexit,
    OpCode::kStart,          OpCode::kStart,           OpCode::kBlock,      OpCode::kBlock,
    OpCode::kReinit,         OpCode::kExit,            OpCode::kReleaseGil, OpCode::kAcquireGil,
    OpCode::kInit,           OpCode::kNewInterp,       OpCode::kEndInterp,  OpCode::kSwap,
    OpCode::kJoin,           OpCode::kRunBytecode,     OpCode::kAddPending, OpCode::kGilStateEnsure,
    OpCode::kGilStateRelease, OpCode::kNewTstate,      OpCode::kDeleteTstate, OpCode::kYield,
    OpCode::kGilStateCheck,  OpCode::kLockAcquire,     OpCode::kLockRelease, OpCode::kEventSet,
    OpCode::kEventWait,      OpCode::kThreadingAtexit, OpCode::kThreadingAtexit, OpCode::kSetSignal,
};

constexpr std::array kTargets = {
    TargetSpec{"fuzz_lifecycle", InputKind::kBinaryProgram, {},
               "every op: interpreters, threads, GIL, pending calls, fork, finalisation"},
    TargetSpec{"fuzz_pending_calls", InputKind::kBinaryProgram, kPendingOps,
               "pending calls and signals across interpreters, threads and shutdown"},
    TargetSpec{"fuzz_fork", InputKind::kBinaryProgram, kForkOps,
               "fork from threads and subinterpreters, with runtime locks held"},
    TargetSpec{"fuzz_shutdown", InputKind::kBinaryProgram, kShutdownOps,
               "daemon threads and atexit work across finalisation and re-initialisation"},
    TargetSpec{"fuzz_program_text", InputKind::kText, {},
               "the .ifz parser and printer: no crash, print/parse round trip"},
};

}  // namespace

std::span<const TargetSpec> all_targets() { return kTargets; }

const TargetSpec* find_target(std::string_view name) {
  for (const TargetSpec& t : kTargets) {
    if (name == t.name) return &t;
  }
  return nullptr;
}

bool target_has_op(const TargetSpec& t, harness::OpCode c) {
  return t.ops.empty() || std::find(t.ops.begin(), t.ops.end(), c) != t.ops.end();
}

}  // namespace ifz::fuzz
