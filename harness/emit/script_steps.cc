// SPDX-License-Identifier: Apache-2.0
// script_steps.cc — see script_steps.h.
#include "harness/emit/script_steps.h"

#include <cctype>
#include <tuple>

#include "harness/program/op.h"

namespace ifz::harness::emit {

namespace {

std::string upper(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

std::string op_enum_name(int code) {
  for (const OpInfo& i : all_ops()) {
    if (static_cast<int>(i.code) == code) return "IFZ_OP_" + upper(i.name);
  }
  return std::to_string(code);
}

const char* const kStepNames[] = {"",
                                  "IFZ_STEP_WAIT",
                                  "IFZ_STEP_WAIT_HOLDING",
                                  "IFZ_STEP_PASS",
                                  "IFZ_STEP_PASS_INTO_GIL_WAIT",
                                  "IFZ_STEP_PASS_BLOCKING",
                                  "IFZ_STEP_OP",
                                  "IFZ_STEP_HOLD_OBSERVABLES",
                                  "IFZ_STEP_RELEASE_LOCK",
                                  "IFZ_STEP_YIELD",
                                  "IFZ_STEP_GRACE",
                                  "IFZ_STEP_PARK"};
static_assert(sizeof kStepNames / sizeof kStepNames[0] == kMaxStepKind + 1);

}  // namespace

std::string c_vocabulary_enums() {
  std::string out = "/* The op vocabulary (interpfuzz's ops.def: each op's byte) */\nenum {\n";
  for (const OpInfo& i : all_ops()) {
    out += "  IFZ_OP_" + upper(i.name) + " = " + std::to_string(static_cast<int>(i.code)) + ",\n";
  }
  out += "  IFZ_OP_LAST = " + std::to_string(static_cast<int>(all_ops().back().code)) + ",\n";
  out += "};\n/* The steps of a script (the driver's wire format numbers them so) */\nenum {\n";
  for (int k = 1; k <= kMaxStepKind; ++k) {
    out += std::string("  ") + kStepNames[k] + " = " + std::to_string(k) + ",\n";
  }
  out += "};\n";
  return out;
}

std::string step_as_c(const Step& s) {
  std::string out;
  if (!s.comment_before.empty()) out += "  /* " + s.comment_before + " */\n";
  const std::string t = std::to_string(s.turn);
  std::string call;
  switch (s.kind) {
    case StepKind::kWait: call = "ifz_wait(" + t + ");"; break;
    case StepKind::kWaitHolding: call = "ifz_wait_holding(" + t + ");"; break;
    case StepKind::kPass: call = "ifz_pass(" + t + ");"; break;
    case StepKind::kPassIntoGilWait: call = "ifz_pass_into_gil_wait(" + t + ");"; break;
    case StepKind::kPassBlocking: call = "ifz_pass_blocking(" + t + ");"; break;
    case StepKind::kOp: {
      call = "ifz_do_op(self, &(ifz_op){.code = " + op_enum_name(s.op.code);
      // Only the fields the op's argument shape uses (the others are its defaults, unread).
      ArgShape shape = ArgShape::kNone;
      if (is_opcode(static_cast<uint8_t>(s.op.code))) shape = op_info(static_cast<OpCode>(s.op.code)).args;
      const bool interp = shape == ArgShape::kInterp || shape == ArgShape::kPending;
      const bool thread = shape == ArgShape::kStart || shape == ArgShape::kThread || shape == ArgShape::kFork;
      const bool count = shape == ArgShape::kCount || shape == ArgShape::kLock;
      const bool variant = shape == ArgShape::kInterpCfg || shape == ArgShape::kStart ||
                           shape == ArgShape::kPending || shape == ArgShape::kFork || shape == ArgShape::kLock ||
                           shape == ArgShape::kSync;
      const std::tuple<const char*, int, bool> fields[] = {
          {"interp", s.op.interp, interp}, {"thread", s.op.thread, thread}, {"count", s.op.count, count},
          {"variant", s.op.variant, variant}, {"flags", s.op.flags, shape == ArgShape::kFork}};
      for (const auto& [name, v, used] : fields) {
        if (used && v != 0) call += std::string(", .") + name + " = " + std::to_string(v);
      }
      call += "});";
      break;
    }
    case StepKind::kHoldObservables: call = "ifz_hold_observables();"; break;
    case StepKind::kReleaseLock: call = "ifz_release_lock(" + std::to_string(s.op.variant) + ");"; break;
    case StepKind::kYield: call = "sched_yield();"; break;
    case StepKind::kGrace: call = "ifz_grace();"; break;
    case StepKind::kPark: call = "ifz_park();"; break;
  }
  out += "  " + call;
  if (!s.comment_after.empty()) out += "  /* " + s.comment_after + " */";
  return out + "\n";
}

}  // namespace ifz::harness::emit
