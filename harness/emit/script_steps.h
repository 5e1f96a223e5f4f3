// SPDX-License-Identifier: Apache-2.0
// script_steps.h — a program thread's script as the steps the C side executes: turn
// handshakes (wait, pass, ...) and op calls (ifz_do_op, the one op -> C-API mapping of the
// prelude). emit-c prints the steps as straight-line C calls (a readable repro.c); the
// real-CPython driver (harness/real/) receives the same steps over its pipe and walks them
// with the same prelude functions. One turn protocol, one op mapping, two renderings.
// Defines StepKind, CallOp, Step, ScriptSteps and the C enums of both vocabularies.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ifz::harness::emit {

/// Each value is a prelude function (see c_prelude.cc); the numbers are the wire format's
/// (harness/real/wire_format.h): never renumber.
enum class StepKind : uint8_t {
  kWait = 1,           // ifz_wait(turn): wait for the turn, the GIL released
  kWaitHolding = 2,    // ifz_wait_holding(turn): wait for the turn, the GIL kept (the model held it)
  kPass = 3,           // ifz_pass(turn)
  kPassIntoGilWait = 4,// ifz_pass_into_gil_wait(turn): pass, then wait in take_gil
  kPassBlocking = 5,   // ifz_pass_blocking(turn): pass; the next turn waits until this thread sleeps
  kOp = 6,             // ifz_do_op(self, &op)
  kHoldObservables = 7,// ifz_hold_observables()
  kReleaseLock = 8,    // ifz_release_lock(op.variant): the lock hold_lock took
  kYield = 9,          // sched_yield()
  kGrace = 10,         // ifz_grace()
  kPark = 11,          // ifz_park(): never returns
};
inline constexpr int kMaxStepKind = 11;

/// ifz_op of the prelude: an op with the arguments its C needs. `code` is the op's ops.def
/// byte (IFZ_OP_* in C).
struct CallOp {
  int code = 0;
  int interp = 0;
  int thread = 0;
  int count = 0;
  int variant = 0;
  int flags = 0;  // kCallFollowChild | kCallChildScriptRuns
  bool operator==(const CallOp&) const = default;
};
inline constexpr int kCallFollowChild = 1;      // fork: the model followed the child
inline constexpr int kCallChildScriptRuns = 2;  // fork: the child runs script `thread`

struct Step {
  StepKind kind = StepKind::kWait;
  int turn = 0;     // kWait... kPassBlocking
  CallOp op;        // kOp (and kReleaseLock: op.variant)
  // Shown in repro.c only, never sent: before the step (the op's .ifz text and turns), and
  // after it on the same line (the C API the op is).
  std::string comment_before;
  std::string comment_after;
  bool operator==(const Step& o) const {
    return kind == o.kind && turn == o.turn && op == o.op;  // comments are not the program
  }
};

struct ScriptSteps {
  std::vector<Step> steps;
  bool operator==(const ScriptSteps&) const = default;
};

/// The C definitions of both vocabularies (IFZ_OP_* from ops.def, IFZ_STEP_*), placed in the
/// prelude before the dispatcher.
std::string c_vocabulary_enums();

/// A step as one C statement (with its comments), as repro.c shows it.
std::string step_as_c(const Step& s);

}  // namespace ifz::harness::emit
