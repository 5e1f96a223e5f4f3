// SPDX-License-Identifier: Apache-2.0
// op.h — one program operation (DESIGN D4), generated from ops.def.
// Defines OpCode, ArgShape, StartKind, ForkMode, Op and the vocabulary table (op_info).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "runtime/locks.h"

namespace ifz::harness {

enum class OpCode : uint8_t {
#define IFZ_OP(id, name, opcode, args, doc) id = opcode,
#include "harness/program/ops.def"
#undef IFZ_OP
};

/// What arguments an op takes (and so how it prints, parses and decodes).
enum class ArgShape : uint8_t {
  kNone,       // no argument
  kInterpCfg,  // new_interp [isolated] [own_gil]            -> Op::variant bits
  kInterp,     // I<n>                                        -> Op::interp
  kStart,      // T<k> threading|daemon|raw|c                 -> Op::thread, Op::variant
  kThread,     // T<k>                                        -> Op::thread
  kCount,      // N                                           -> Op::count
  kPending,    // noop|touch|rearm|fail|slow [to I<n>]        -> Op::variant, Op::interp (-1)
  kFork,       // fork|exec|preexec follow=parent|child [child=T<k>] -> variant, follow_child, thread (-1)
  kLock,       // <locks.def word> N (HEAD|XID|…)              -> Op::variant, Op::count
  kSync,       // L<n>|E<n> [timeout] (letter: sync_letter)   -> Op::variant = n | kSyncTimeout
};

/// How `start` runs a script.
enum class StartKind : uint8_t { kThreading, kDaemon, kRaw, kCThread };
inline constexpr int kStartKinds = 4;
/// What `fork` models (cpython-notes K4).
enum class ForkMode : uint8_t { kFork, kExec, kPreexec };
inline constexpr int kForkModes = 3;
/// new_interp flags.
inline constexpr uint8_t kInterpIsolated = 1;
inline constexpr uint8_t kInterpOwnGil = 2;
/// Callback kinds of add_pending (values of rt::PendingKind).
inline constexpr int kPendingKinds = 7;
// The kinds of the first binary encoding (noop..slow): an argument byte >= kPendingKinds
// decodes as byte % kPendingKindsV1, as it always did, so older corpora keep their meaning.
inline constexpr int kPendingKindsV1 = 5;
/// Runtime locks of hold_lock (values of rt::RuntimeLock: runtime/locks.def's rows).
inline constexpr int kLockKinds = rt::kRuntimeLockCount;

/// User-level synchronisation objects (threading.Lock L0..L3, threading.Event E0..E3), one
/// set per runtime lifetime, made lazily in the main interpreter. Op::variant of a kSync op is
/// the object's index, plus kSyncTimeout for the timed acquire/wait (never on release/set).
inline constexpr int kSyncObjects = 4;
inline constexpr uint8_t kSyncTimeout = 4;
/// 'L' for the lock ops, 'E' for the event ops.
char sync_letter(OpCode c);
/// Whether the op has a timed variant (lock_acquire, event_wait).
bool sync_takes_timeout(OpCode c);

/// Bounds that keep every program cheap to run (the decoder and the parser enforce them).
inline constexpr int kMaxThreads = 8;      // scripts per program, T0 … T7
inline constexpr int kMaxOpsPerThread = 64;
inline constexpr int kMaxCount = 16;       // run_bytecode / hold_lock / signal / exit arguments
inline constexpr int kMaxInterp = 15;      // I0 … I15

struct Op {
  OpCode code = OpCode::kYield;
  int32_t interp = 0;        // kInterp: I<n>; kPending: target interpreter, -1 = Py_AddPendingCall routing
  int32_t thread = 0;        // kStart/kThread: script index; kFork: child script, -1 = continue
  int32_t count = 1;         // kCount / kLock: N
  uint8_t variant = 0;       // kStart: StartKind; kPending: PendingKind; kFork: ForkMode;
                             // kLock: RuntimeLock; kInterpCfg: kInterpIsolated | kInterpOwnGil
  bool follow_child = false; // kFork
  bool operator==(const Op&) const = default;
};

struct OpInfo {
  OpCode code;
  const char* name;
  ArgShape args;
  const char* doc;
};
std::span<const OpInfo> all_ops();
const OpInfo& op_info(OpCode c);
std::optional<OpCode> find_op(std::string_view name);
/// True for a byte that is some op's opcode.
bool is_opcode(uint8_t b);

/// A canonical Op with the defaults for its shape (what the parser starts from).
Op make_op(OpCode c);

}  // namespace ifz::harness
