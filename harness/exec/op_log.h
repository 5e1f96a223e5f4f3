// SPDX-License-Identifier: Apache-2.0
// op_log.h — an optional record of one simulated execution at op granularity: when each op of
// each script started and returned, whether it was skipped, and the runtime events a real
// CPython run can observe too. emit-c turns it into handshakes (harness/emit/), the outcome
// vocabulary turns its events into observables (harness/outcome/).
// Defines OpLogEntry and OpLog.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/events.h"

namespace ifz::harness {

struct OpLogEntry {
  // kLockTaken / kLockReleased: a hold_lock took its lock (after dropping the GIL: maybe after
  // other threads' ops) / gave it back (it may return much later, once it has the GIL again):
  // emit-c starts and ends the C's hold at those turns.
  enum class Kind : uint8_t { kStart, kEnd, kLockTaken, kLockReleased };
  Kind kind = Kind::kStart;
  int script = 0;        // whose op (an atexit or fork child script runs on another thread)
  int index = 0;         // op index in that script
  int thread_slot = 0;   // the program thread executing it (0 = main)
  bool skipped = false;  // kEnd: the op's precondition did not hold (see harness/exec/ops.cc)
  std::string why;       // kEnd + skipped: the reason
  int64_t current_interp = -1;  // kStart: the interpreter of the thread's current tstate, -1 none
  // kStart: the thread holds a GIL (its interpreter's, or the main one) as the op starts, and
  // so held it since its previous op returned: emit-c keeps it held while waiting for the turn.
  bool holds_gil = false;
  // kEnd: the thread dropped a GIL while inside the op (a GilDropped event on its OS thread).
  // With holds_gil at the start and false here, the thread kept its GIL through the op, also
  // while other threads (needing none) ran theirs: emit-c keeps it held then too.
  bool dropped_gil = false;
};

/// How traces and reports name the thread of an op: its script, and the program thread whose
/// OS thread runs it when that is another one ("T2@T0": atexit script T2 on the finalizing
/// main thread; a fork child's script on the forking thread).
inline std::string script_label(int script, int thread_slot) {
  std::string out = "T" + std::to_string(script);
  if (script != thread_slot) out += "@T" + std::to_string(thread_slot);
  return out;
}

/// One skipped op as reports list it: "T0 op 3 `gilstate_ensure`: <why>" (1-based op line in
/// its script).
inline std::string skipped_op_text(int script, int thread_slot, int index, const std::string& op,
                                   const std::string& why) {
  return script_label(script, thread_slot) + " op " + std::to_string(index + 1) + " `" + op +
         "`: " + why;
}

struct OpLog {
  std::vector<OpLogEntry> entries;  // in execution order
  std::vector<rt::Event> events;    // every runtime event, in order
  int fork_child_returns = 0;        // times a followed fork child got back into the program
  // Facts the executor read off the runtime after an op, already in the observable vocabulary
  // (harness/outcome/outcome.h): "gilstate_tstate ..." after gilstate ops, "fork_child
  // main_thread=..." in a followed fork child.
  std::vector<std::string> observables;
  // The program thread the modelled process died on, by a crash or a fatal error (-1: it did
  // not die so).
  int died_on_slot = -1;
  // Ops the schedule preempted while their thread was running (runnable, at no lock, wait or
  // blocking call), and during which another thread started or ended an op: "T0 inside
  // `make_pending`". An emitted C program passes the turn on as such an op starts, but cannot
  // stop a running thread inside CPython: that op races with the others' (emit-c: unforceable).
  std::vector<std::string> preempted_inside;
};

}  // namespace ifz::harness
