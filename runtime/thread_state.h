// SPDX-License-Identifier: Apache-2.0
// thread_state.h — the model's PyThreadState: which OS thread runs which interpreter.
// Defines ThreadKind and ThreadState. Allocated on the runtime Heap and freed when CPython
// frees it, so a parked thread holding a stale pointer is a real use-after-free.
//
// Lifecycle (who may make each move):
//
//   created ──bind (owner thread)──▶ bound ──attach: take GIL (owner)──▶ attached
//      ▲                                          ◀──detach: drop GIL (owner)──
//      │                                                   │
//   PyThreadState_New / _Prealloc (any thread      clear (owner, or finaliser / fork child
//   holding the GIL)                               for other threads) ──▶ cleared ──delete──▶ freed
//
// "attached" = current on its OS thread *and* holding its interpreter's GIL. A tstate deleted
// by someone else (finalisation's _PyThreadState_DeleteExcept, a fork child) is freed while its
// OS thread may still be parked outside the GIL: that thread must never touch it again.
#pragma once

#include <atomic>
#include <cstdint>

#include "runtime/platform/platform.h"

namespace ifz::rt {

class Interpreter;

enum class ThreadKind : uint8_t {
  kMain,       // the thread that called Py_Initialize
  kThreading,  // threading.Thread (joined at shutdown unless daemon)
  kRaw,        // _thread.start_new_thread (never joined at shutdown)
  kForeignC,   // a C thread that made its own tstate with PyThreadState_New(interp)
  kGilState,   // a C thread whose tstate PyGILState_Ensure created (main interpreter)
  kInterp,     // the tstate Py_NewInterpreter made for the calling thread
};
const char* thread_kind_name(ThreadKind k);

class ThreadState {
 public:
  ThreadState(int64_t id, Interpreter* interp, ThreadKind kind, bool daemon)
      : id(id), interp(interp), kind(kind), daemon(daemon) {}

  const int64_t id;           // unique within one runtime lifetime (for traces and oracles)
  Interpreter* interp;        // invariant: a live interpreter while this tstate is live
  const ThreadKind kind;
  const bool daemon;          // threading daemon flag; raw/foreign threads count as daemon
  platform::ThreadId thread = platform::kNoThread;  // bound OS thread, kNoThread if unbound

  // Intrusive list of the interpreter's tstates (CPython interp->threads.head / next / prev).
  ThreadState* prev = nullptr;
  ThreadState* next = nullptr;

  // Status bits (CPython `_status`), one reason each.
  bool bound = false;          // bound to an OS thread (set by bind, never cleared)
  bool bound_gilstate = false; // registered as this OS thread's GILState tstate
  bool cleared = false;        // PyThreadState_Clear ran (no frames, no objects)
  // Python frames on this tstate's stack: a threading/_thread thread's target function for
  // the thread's whole life, plus each running eval loop. Py_EndInterpreter refuses then.
  int frames = 0;
  // PyGILState_Ensure nesting. Every new thread state starts at 1 (_PyGILState_NoteThreadState
  // ≤3.11, init_threadstate 3.12+), so a Release never deletes one it did not create; only the
  // one Ensure makes starts at 0 and is deleted when its count falls back to 0.
  int gilstate_counter = 1;
  int64_t runtime_generation = 0;  // which runtime lifetime created it (re-initialisation)
  // 3.11+ the interpreter's initial thread state (interp->_initial_thread): its storage is the
  // interpreter's, so deleting it does not free it (Runtime::free_tstate).
  bool embedded = false;
  bool deleted = false;         // PyThreadState_Delete ran on embedded storage (not freed)
  // 3.14 _Py_THREAD_SHUTTING_DOWN (gh-124878): deleted by someone else while its OS thread
  // still holds it; unlinked and cleared, but allocated until that thread hangs.
  // Set last by the deleter (after its events): from then on the holder may free it.
  std::atomic<bool> shutting_down{false};
  // The OS thread holding the reference 3.14 gives the thread that uses a tstate: its creator
  // (PyThreadState_New, Py_NewInterpreter, PyGILState_Ensure), the thread started with it, or
  // the last thread attaching it. Read only by Runtime::shut_down_for_owner.
  std::atomic<platform::ThreadId> holder{platform::kNoThread};
};

}  // namespace ifz::rt
