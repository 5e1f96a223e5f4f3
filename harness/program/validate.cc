// SPDX-License-Identifier: Apache-2.0
// validate.cc — the validity rules of validate.h, checked field by field.
#include "harness/program/validate.h"

#include "runtime/defects.h"
#include "runtime/profile.h"

namespace ifz::harness {

int min_thread_ref(OpCode c) { return c == OpCode::kJoin ? 0 : 1; }

int min_count(OpCode c) { return c == OpCode::kExit ? 0 : 1; }

bool op_allowed(OpCode c, int threads) {
  const ArgShape s = op_info(c).args;
  const bool needs_other_thread =
      (s == ArgShape::kStart || s == ArgShape::kThread) && min_thread_ref(c) > 0;
  return threads > 1 || !needs_other_thread;
}

bool valid_schedule_token(std::string_view s) {
  for (char c : s) {
    if (c <= ' ' || c > '~' || c == '#') return false;
  }
  return true;
}

namespace {

// `op` with only the fields its shape uses copied over make_op()'s defaults: a valid op equals it.
Op shape_fields_only(const Op& op) {
  Op out = make_op(op.code);
  switch (op_info(op.code).args) {
    case ArgShape::kNone: break;
    case ArgShape::kInterpCfg: out.variant = op.variant; break;
    case ArgShape::kInterp: out.interp = op.interp; break;
    case ArgShape::kStart:
      out.thread = op.thread;
      out.variant = op.variant;
      break;
    case ArgShape::kThread: out.thread = op.thread; break;
    case ArgShape::kCount: out.count = op.count; break;
    case ArgShape::kPending:
      out.variant = op.variant;
      out.interp = op.interp;
      break;
    case ArgShape::kFork:
      out.variant = op.variant;
      out.follow_child = op.follow_child;
      out.thread = op.thread;
      break;
    case ArgShape::kLock:
      out.variant = op.variant;
      out.count = op.count;
      break;
    case ArgShape::kSync: out.variant = op.variant; break;
  }
  return out;
}

std::optional<std::string> out_of_range(const char* what, int v, int lo, int hi) {
  if (v >= lo && v <= hi) return std::nullopt;
  return std::string(what) + " " + std::to_string(v) + " out of range (" + std::to_string(lo) +
         ".." + std::to_string(hi) + ")";
}

std::optional<std::string> check_thread_ref(const Op& op, int threads) {
  if (op.thread < min_thread_ref(op.code)) {
    return "names T" + std::to_string(op.thread) + ", but only T" +
           std::to_string(min_thread_ref(op.code)) + " and above may be named here";
  }
  if (op.thread >= threads) {
    return "thread T" + std::to_string(op.thread) + " does not exist (the program has " +
           std::to_string(threads) + " threads)";
  }
  return std::nullopt;
}

std::optional<std::string> check_args(const Op& op, int threads) {
  switch (op_info(op.code).args) {
    case ArgShape::kNone: return std::nullopt;
    case ArgShape::kInterpCfg:
      return out_of_range("flags", op.variant, 0, kInterpIsolated | kInterpOwnGil);
    case ArgShape::kInterp: return out_of_range("interpreter", op.interp, 0, kMaxInterp);
    case ArgShape::kStart:
      if (auto e = out_of_range("start kind", op.variant, 0, kStartKinds - 1)) return e;
      return check_thread_ref(op, threads);
    case ArgShape::kThread: return check_thread_ref(op, threads);
    case ArgShape::kCount: return out_of_range("count", op.count, min_count(op.code), kMaxCount);
    case ArgShape::kPending:
      if (auto e = out_of_range("pending kind", op.variant, 0, kPendingKinds - 1)) return e;
      return out_of_range("target interpreter", op.interp, -1, kMaxInterp);
    case ArgShape::kFork:
      if (auto e = out_of_range("fork mode", op.variant, 0, kForkModes - 1)) return e;
      return op.thread == -1 ? std::nullopt : check_thread_ref(op, threads);
    case ArgShape::kLock:
      if (auto e = out_of_range("lock", op.variant, 0, kLockKinds - 1)) return e;
      return out_of_range("count", op.count, 1, kMaxCount);
    case ArgShape::kSync: {
      const bool timed = (op.variant & kSyncTimeout) != 0;
      if (timed && !sync_takes_timeout(op.code)) return std::string("this op has no timeout");
      return out_of_range("object", op.variant & ~kSyncTimeout, 0, kSyncObjects - 1);
    }
  }
  return std::nullopt;
}

std::optional<std::string> validate_defects(const Program& p) {
  int last = -1;
  for (const std::string& name : p.defects) {
    const std::optional<rt::Defect> d = rt::find_defect(name);
    if (!d) return "unknown defect '" + name + "'";
    if (static_cast<int>(*d) <= last) {
      return "defect '" + name + "' is duplicated or out of defects.def order";
    }
    last = static_cast<int>(*d);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> validate_op(const Op& op, int threads) {
  if (!is_opcode(static_cast<uint8_t>(op.code))) {
    return "unknown opcode " + std::to_string(static_cast<int>(op.code));
  }
  if (auto e = check_args(op, threads)) return e;
  if (!(op == shape_fields_only(op))) {
    return "a field its argument shape does not use differs from make_op()'s default";
  }
  return std::nullopt;
}

std::optional<std::string> validate_program(const Program& p) {
  if (rt::find_profile(p.profile) == nullptr) return "unknown profile '" + p.profile + "'";
  if (auto e = validate_defects(p)) return e;
  if (!valid_schedule_token(p.schedule)) return "schedule '" + p.schedule + "' is not one token";
  const int threads = static_cast<int>(p.threads.size());
  if (threads < 1 || threads > kMaxThreads) {
    return "the program has " + std::to_string(threads) + " threads (1.." +
           std::to_string(kMaxThreads) + " allowed)";
  }
  for (int t = 0; t < threads; ++t) {
    const std::vector<Op>& ops = p.threads[t].ops;
    if (ops.size() > static_cast<size_t>(kMaxOpsPerThread)) {
      return "T" + std::to_string(t) + " has " + std::to_string(ops.size()) + " ops (at most " +
             std::to_string(kMaxOpsPerThread) + ")";
    }
    for (size_t i = 0; i < ops.size(); ++i) {
      if (auto e = validate_op(ops[i], threads)) {
        return "T" + std::to_string(t) + " op " + std::to_string(i + 1) + " (" +
               op_info(ops[i].code).name + "): " + *e;
      }
    }
  }
  return std::nullopt;
}

}  // namespace ifz::harness
