// SPDX-License-Identifier: Apache-2.0
// op.cc — the op vocabulary table generated from ops.def.
#include "harness/program/op.h"

#include "harness/program/program.h"

namespace ifz::harness {

namespace {
constexpr OpInfo kOps[] = {
#define IFZ_OP(id, name, opcode, args, doc) {OpCode::id, name, ArgShape::args, doc},
#include "harness/program/ops.def"
#undef IFZ_OP
};
}  // namespace

std::span<const OpInfo> all_ops() { return kOps; }

const OpInfo& op_info(OpCode c) {
  for (const OpInfo& o : kOps) {
    if (o.code == c) return o;
  }
  return kOps[0];
}

std::optional<OpCode> find_op(std::string_view name) {
  for (const OpInfo& o : kOps) {
    if (name == o.name) return o.code;
  }
  return std::nullopt;
}

bool is_opcode(uint8_t b) {
  for (const OpInfo& o : kOps) {
    if (static_cast<uint8_t>(o.code) == b) return true;
  }
  return false;
}

char sync_letter(OpCode c) {
  return c == OpCode::kEventSet || c == OpCode::kEventWait ? 'E' : 'L';
}

bool sync_takes_timeout(OpCode c) { return c == OpCode::kLockAcquire || c == OpCode::kEventWait; }

Op make_op(OpCode c) {
  Op op;
  op.code = c;
  switch (op_info(c).args) {
    case ArgShape::kPending: op.interp = -1; break;
    case ArgShape::kFork: op.thread = -1; break;
    case ArgShape::kThread:
    case ArgShape::kStart: op.thread = 1; break;
    default: break;
  }
  return op;
}

size_t Program::op_count() const {
  size_t n = 0;
  for (const Script& s : threads) n += s.ops.size();
  return n;
}

}  // namespace ifz::harness
