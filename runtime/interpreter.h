// SPDX-License-Identifier: Apache-2.0
// interpreter.h — the model's PyInterpreterState.
// Defines InterpConfig, Ceval (eval-breaker bits) and Interpreter. Allocated on the runtime
// Heap; freed by finalize_interp_delete / the fork child, poisoned afterwards.
#pragma once

#include <atomic>
#include <cstdint>

#include "runtime/gil.h"
#include "runtime/pending_calls.h"
#include "runtime/platform/platform.h"

namespace ifz::rt {

class ThreadState;

/// Py_NewInterpreterFromConfig flags (3.12+) and the 3.9–3.11 `_isolated_interpreter` flag.
struct InterpConfig {
  bool isolated = false;  // 3.9–3.11: _isolated_interpreter; 3.12+: the isolated defaults below
  bool own_gil = false;   // 3.12+: PEP 684
  bool allow_fork = true;
  bool allow_exec = true;
  bool allow_threads = true;
  bool allow_daemon_threads = true;
  bool operator==(const InterpConfig&) const = default;
};

/// The eval-breaker bits (CPython `_ceval_state`). ≤3.8 the runtime-wide copy is used for
/// everything; 3.9+ each interpreter has its own (bpo-39984, bpo-40010).
struct Ceval {
  std::atomic<bool> gil_drop_request{false};
  std::atomic<bool> calls_to_do{false};
  std::atomic<bool> signals_pending{false};
  // ceval2->eval_breaker, kept with defect breaker_not_set_off_main_thread: the eval loop
  // enters its pending-work handler only when it is set. Without it the model's breaker reads
  // the pending work itself (every check sees it, as 3.8's and 3.13's do).
  std::atomic<bool> eval_breaker{false};
};

class Interpreter {
 public:
  Interpreter(platform::Platform& p, int64_t id, const InterpConfig& cfg, bool ring_queue,
              int queue_max)
      : id(id), config(cfg), id_mutex(p, "interp.id_mutex"),
        pending(p, id, ring_queue, queue_max) {}

  const int64_t id;            // invariant: never reused within one runtime lifetime (S3)
  const InterpConfig config;
  Interpreter* next = nullptr;  // runtime list (CPython interpreters.head / next)
  ThreadState* tstate_head = nullptr;
  // 3.11+ initial thread state storage (profile static_initial_storage). in_use: a live tstate
  // occupies it; initialized: init_threadstate ran on it and nobody reset it (3.13 resets it
  // on delete). Deleted occupants stay allocated until the interpreter goes, chained through
  // `next` (no allocation: see heap.h).
  bool initial_tstate_in_use = false;
  bool initial_tstate_initialized = false;
  // The tstate the storage was last handed to (with defect gh126914 a second one may take it
  // while the first, unlinked, is not yet deleted: both then name the same CPython memory).
  ThreadState* initial_tstate_occupant = nullptr;
  ThreadState* retired_initial_tstates = nullptr;
  std::atomic<bool> finalizing{false};  // Py_EndInterpreter started (interp->finalizing)
  // PyInterpreterState_Delete ran on storage that is not freed (3.11+ main interpreter).
  std::atomic<bool> deleted{false};
  // -fixed twins: the thread ending this interpreter, claimed under HEAD_LOCK, so that
  // Py_FinalizeEx's finalize_subinterpreters never ends an interpreter another thread is
  // already ending (CPython 3.13 does not check; with own GILs both run at once).
  std::atomic<platform::ThreadId> ending_thread{platform::kNoThread};
  // How far Py_NewInterpreter got (new_interpreter(), Python/pylifecycle.c). PyInterpreterState_New
  // links the interpreter into the runtime's list before anything else, so other threads can
  // find it half-built:
  //   kLinked      interp->ceval.gil is still NULL (set by init_interp_create_gil);
  //   kGilCreated  the GIL exists and the creator is about to take it (a creator made to exit
  //                there, at shutdown, leaves the interpreter in this state for good);
  //   kReady       the creator holds the new GIL: nobody else can tell it from finished.
  enum class Creation : uint8_t { kLinked, kGilCreated, kReady };
  std::atomic<Creation> creation{Creation::kLinked};
  // -fixed twins: the thread creating this interpreter, claimed under HEAD_LOCK in the same
  // critical section that links it, given up once the creator attached its thread state or
  // was made to exit. finalize_subinterpreters leaves a claimed interpreter to its creator
  // (3.13 ends it half-built: Defect::kFinalizeHalfBuiltSubinterp).
  std::atomic<platform::ThreadId> creating_thread{platform::kNoThread};
  // How far shutdown of this interpreter got, for the F5 refusals (threads/fork at shutdown).
  enum class Shutdown : uint8_t { kNone, kThreadsJoined, kAtexit, kFinalizing };
  std::atomic<Shutdown> shutdown{Shutdown::kNone};
  Gil* gil = nullptr;           // the GIL this interpreter's threads take (shared or own)
  Gil* own_gil = nullptr;       // non-null when this interpreter owns its GIL (3.12+ own_gil)
  platform::ThreadId main_thread = platform::kNoThread;  // 3.13 threads.main
  bool threading_imported = false;  // `import threading` done here (threading._shutdown runs), even if start() refused
  // `atexit` is in this interpreter's sys.modules: no interpreter imports it at start-up
  // (site off), so the first atexit.register goes through importlib's Python code.
  bool atexit_imported = false;
  // `_signal` is in this interpreter's sys.modules (set_signal imports it; the first import is
  // importlib's Python code, as for atexit).
  bool signal_imported = false;
  // threading._SHUTTING_DOWN: threading._shutdown started here; _register_atexit now raises.
  bool threading_shutting_down = false;
  Ceval ceval;
  platform::Mutex id_mutex;     // reinitialised in the fork child (bpo-42540)
  PendingQueue pending;         // 3.9+: this interpreter's queue
};

}  // namespace ifz::rt
