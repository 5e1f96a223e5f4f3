// SPDX-License-Identifier: Apache-2.0
// events.h — what the runtime tells its observer (oracles, traces) as it runs.
// Defines EventKind, Event and RuntimeObserver.
//
// Events report *mechanism* (a call was accepted into queue Q, a tstate was freed, the GIL
// changed hands), never verdicts: the oracles in harness/ decide what is a violation. The
// runtime does not know which events an oracle cares about.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/platform/platform.h"

namespace ifz::rt {

enum class EventKind : uint8_t {
  kPhase,            // text = lifecycle phase ("finalize:SetFinalizing")
  kInterpCreated,    // interp
  kInterpDeleted,    // interp (memory freed)
  kTstateCreated,    // tstate, interp
  kTstateDeleted,    // tstate, interp (memory freed)
  kGilTaken,         // a = GIL id (interp id of its owner, 0 = the main/process GIL)
  kGilDropped,       // a = GIL id
  kPendingAdded,     // a = call id, b = queue owner interp id (-1 = runtime queue), c = result
                     // (0/-1), interp = the caller's (current or last bound tstate's), if known
  kPendingTaken,     // a = call id, b = queue owner interp id: popped by this thread (under
                     // the queue's lock); it runs next, unless the thread ends first
  kPendingRun,       // a call starts: a = call id, b = owner interp id of the queue it was
                     // taken from (-1 = runtime queue), interp = where it runs, c = 1 if the
                     // GIL is held
  kPendingRunEnd,    // a = call id: its callback returned (a thread made to exit inside a
                     // call reports kThreadExitForced instead)
  kPendingDropped,   // a = call id: its queue was freed or reset with the call still in it
  kSignalTripped,    // a = signal number
  kSignalHandled,    // a = signal number, interp
  kThreadStarted,    // a = OS thread id of the new thread
  kThreadFinished,   // normal end of a runtime thread's body
  kThreadExitForced, // PyThread_exit_thread during finalisation (a = the runtime lifetime of
                     // the tstate it tried to resume, 0 = none; also for kThreadHang)
  kThreadHang,       // parked forever: 3.13.8+/3.14 PyThread_hang_thread (text = phase)
  kWarning,          // text = a warning printed to stderr (observable only: no outcome, no error)
  kTstateShutDown,   // a = its OS thread: 3.14 (gh-124878) marked the tstate shutting down and
                     // dropped the interpreter's reference; that thread hangs at its next GIL take
  kForkParent,       // a = child pid
  kForkChild,        // this process is now the child
  kError,            // text = Python-level error raised by an API (RuntimeError: ...)
  kFatal,            // text = "Fatal Python error: <func>: <msg>"
  kCrash,            // text = what was touched (use-after-free, NULL dereference)
  kFinalizeReturned, // Py_FinalizeEx returned
  kReinitialized,    // Py_Initialize after a finalize
  kThreadingAtexitCallback,  // a threading._register_atexit callback starts (threading._shutdown)
  kAtexitCallback,   // an atexit callback starts on the finalizing thread, interp = its interp
  kThreadsJoined,    // wait_for_thread_shutdown (threading._shutdown) returned on this thread:
                     // interp = the interpreter whose non-daemon threads it joined
  kThreadsJoinSkipped, // threading._shutdown raised at its entry (a failing pending call),
                     // before joining anything: CPython reports it as unraisable and the
                     // shutdown goes on with its non-daemon threads still running; interp = its
  kDefectTriggered,  // a = Defect: its bug condition held here (canary; oracles ignore it)
};
const char* event_kind_name(EventKind k);

struct Event {
  EventKind kind = EventKind::kPhase;
  platform::ThreadId thread = platform::kNoThread;  // OS thread the event happened on
  int64_t tstate = -1;  // thread-state id (unique per runtime lifetime), -1 = none
  int64_t interp = -1;  // interpreter id, -1 = none
  int64_t a = 0, b = 0, c = 0;
  std::string text;
};

class RuntimeObserver {
 public:
  virtual ~RuntimeObserver() = default;
  virtual void on_event(const Event& e) = 0;
};

}  // namespace ifz::rt
