// SPDX-License-Identifier: Apache-2.0
// runtime_model.h — the abstract model the stateful test checks the reference runtime against:
// what should exist after each operation of the process's main thread, per profile, written
// from cpython-notes §4 rather than from runtime/. Defines ModelCall, ModelInterp, Model,
// Expect, model_allows and model_step.
//
// Scope: what can be modelled exactly. Commands are program operations of the main thread
// (init, new_interp, end_interp, swap, release/acquire_gil, block, run_bytecode, add_pending
// [to I], signal, set_signal, fork, finalize, reinit, gilstate_ensure/release/check) plus three helper threads with fixed scripts, each
// started with a handshake so its state is known when the command returns:
//   start T threading  a non-daemon thread that blocks twice in syscalls and ends: joined by
//                      Py_EndInterpreter / Py_FinalizeEx (S1, F1); no handshake: it runs
//                      (to its end) at the main thread's next wait; a join skipped by a
//                      failing pending call leaves an unrun one's tstate behind
//   start T daemon     a daemon thread that releases the GIL and sleeps forever
//   start T c          a C thread that creates a thread state in the current interpreter
//                      (PyThreadState_New), releases the GIL and sleeps forever
// The scheduler is sequential (the main thread runs while it can), so helpers run only while
// the main thread waits. Pending-call kinds are noop, touch, rearm, fail and adds (`forever`
// re-adds itself without end: its count per pass is checked by the contract tests and conform;
// `slow` re-enters
// the eval loop mid-call, whose interleaving the model would have to replay).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "harness/program/op.h"

namespace ifz::properties {

struct ModelCall {
  int logical = 0;  // numbered by the model in acceptance order
  int kind = 0;     // rt::PendingKind: 0 noop, 1 touch, 2 rearm, 3 fail, 5 adds
};

struct ModelInterp {
  int64_t id = 0;
  bool isolated = false;  // 3.9+ (_isolated_interpreter / isolated config)
  int64_t prev = 0;       // where end_interp returns the main thread
  int workers = 0;        // live non-daemon threading threads started here
  // Of those, the ones that have not run yet. The scheduler is sequential: a helper runs only
  // while the main thread waits (a start handshake, a join), and a worker then runs to its
  // end. Until then its thread state (made by the starting thread) stays linked here, so an
  // interpreter ended without joining it (a skipped join) is "not the last thread".
  int unrun_workers = 0;
  int sleepers = 0;       // daemon threads and C-thread tstates: never end on their own
  bool vanished_workers = false;  // 3.7 fork child: workers vanished from this (not the forking)
                                  // interpreter, finished or not (unknowable): ending it may
                                  // hang joining one or pass, so the model stops predicting it
  bool threading_imported = false;  // a threading thread was started here: threading._shutdown
                                    // runs Python code (the eval loop) at Py_EndInterpreter /
                                    // Py_FinalizeEx, after the joins
  std::vector<ModelCall> queue;  // 3.9+: this interpreter's pending calls
  bool signal_imported = false;  // set_signal imported `_signal` here (later imports: no Python code)
};

struct Model {
  int minor = 12;
  bool fixed = false;         // a -fixed twin (its shutdown design: docs/design-notes.md §7)
  bool signals_in_main_interp_only = true;  // the profile's knob (3.8+, bpo-35724)
  // The profile's end_interp_with_other_tstates == kShutDownOthers (3.14.1+, gh-128640):
  // Py_EndInterpreter shuts the other thread states down instead of "not the last thread".
  bool end_interp_shuts_down_others = false;
  bool ended = false;         // the process ended (fatal error, exit): nothing more runs
  int64_t generation = 0;     // runtime lifetimes started
  bool initialized = false;
  int64_t next_id = 0;        // S3: next interpreter id of this lifetime
  std::vector<ModelInterp> interps;  // alive; interps[0] is the main interpreter
  int64_t current = -1;       // interpreter of the main thread's current tstate; -1 none
  bool released = false;      // the main thread released the GIL (release_gil)
  std::vector<ModelCall> runtime_queue;  // ≤3.8 the global queue; 3.12+ the main-thread queue
  std::vector<int> uncertain; // calls a fork child may or may not run (K3)
  int next_logical = 0;
  std::vector<int> tripped;   // signals tripped, not handled yet (sorted, unique)
  // Where an `adds` call's Py_AddPendingCall is refused: everywhere from Py_FinalizeEx's
  // closing of the queues (P6), and in the queue of the interpreter Py_EndInterpreter drains.
  bool adds_refused = false;
  int64_t closed_interp = -1;
  // PyGILState (cpython-notes: GILState): the interpreter of the main thread's GILState
  // thread state (-1: no key, before Py_Initialize / after finalisation). ≤3.11 it stays the
  // first tstate's (the main interpreter's); 3.12+ follows every attach (tstate_activate).
  int64_t gilstate_interp = -1;
  bool gilstate_check_enabled = true;  // cleared by Py_NewInterpreter (issues 10915, 15751)
  // Open PyGILState_Ensure levels of the main thread: the interpreter each found or made
  // current, and whether it attached (UNLOCKED) rather than found it current (LOCKED).
  std::vector<std::pair<int64_t, bool>> ensures;
  // The program's locks and events (lock_acquire … event_wait) of this runtime lifetime, in
  // the main interpreter: locked / set, and whether each Event exists yet (its first use
  // imports threading: Python code, and threading._shutdown at finalisation).
  std::array<bool, harness::kSyncObjects> locked{}, event_set{}, event_made{};

  const ModelInterp* find(int64_t id) const;
  ModelInterp* find(int64_t id);
  bool attached() const { return current >= 0 && !released; }
};

/// What one operation must make the runtime do.
struct Expect {
  int add_result = 0;          // add_pending: 0 accepted, -1 refused
  int added_logical = -1;      // add_pending: the call's number when accepted
  std::vector<std::pair<int, int64_t>> runs;  // (logical, interpreter), in order
  std::vector<int> rearmed;    // logical numbers of calls queued by rearm calls, in order
  std::vector<int> signals;    // handled by the main thread (3.8+ in the main interpreter), in order
  int64_t created_interp = -1; // new_interp / init / reinit: the interpreter id S3 predicts
  std::string error;           // the start of the Python exception the API raises ("RuntimeError")
  enum class End : uint8_t { kNone, kFatal, kExit } end = End::kNone;
  std::string fatal;           // "Fatal Python error: <func>: <msg>"
  int exit_code = 0;
  bool fork_child = false;     // the process continues as the fork child
  int gilstate_check = -1;     // gilstate_check: PyGILState_Check's value
  int sync_returned = -1;      // a timed lock_acquire / event_wait: what it returned (0/1)
};

/// The operation's precondition in this model state (what the command generator respects).
bool model_allows(const Model& m, const harness::Op& op);
/// The state after `op` and what the runtime must do meanwhile. REQUIRES model_allows(m, op).
std::pair<Model, Expect> model_step(const Model& m, const harness::Op& op);

}  // namespace ifz::properties
