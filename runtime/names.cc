// SPDX-License-Identifier: Apache-2.0
// names.cc — printable names of the runtime's enums, and the outcome vocabulary.
#include <csignal>

#include "runtime/events.h"
#include "runtime/outcome.h"
#include "runtime/pending_calls.h"
#include "runtime/profile.h"
#include "runtime/runtime.h"
#include "runtime/thread_state.h"

namespace ifz::rt {

const char* thread_kind_name(ThreadKind k) {
  switch (k) {
    case ThreadKind::kMain: return "main";
    case ThreadKind::kThreading: return "threading";
    case ThreadKind::kRaw: return "raw";
    case ThreadKind::kForeignC: return "foreign";
    case ThreadKind::kGilState: return "gilstate";
    case ThreadKind::kInterp: return "interp";
  }
  return "?";
}

const char* pending_kind_name(PendingKind k) {
  switch (k) {
    case PendingKind::kNoop: return "noop";
    case PendingKind::kTouch: return "touch";
    case PendingKind::kRearm: return "rearm";
    case PendingKind::kFail: return "fail";
    case PendingKind::kSlow: return "slow";
    case PendingKind::kAdds: return "adds";
    case PendingKind::kForever: return "forever";
  }
  return "?";
}

const char* fork_kind_name(ForkKind k) {
  switch (k) {
    case ForkKind::kFork: return "fork";
    case ForkKind::kForkExec: return "exec";
    case ForkKind::kForkPreexec: return "preexec";
  }
  return "?";
}

const char* event_kind_name(EventKind k) {
  switch (k) {
    case EventKind::kPhase: return "phase";
    case EventKind::kInterpCreated: return "interp_created";
    case EventKind::kInterpDeleted: return "interp_deleted";
    case EventKind::kTstateCreated: return "tstate_created";
    case EventKind::kTstateDeleted: return "tstate_deleted";
    case EventKind::kGilTaken: return "gil_taken";
    case EventKind::kGilDropped: return "gil_dropped";
    case EventKind::kPendingAdded: return "pending_added";
    case EventKind::kPendingTaken: return "pending_taken";
    case EventKind::kPendingRun: return "pending_run";
    case EventKind::kPendingRunEnd: return "pending_run_end";
    case EventKind::kPendingDropped: return "pending_dropped";
    case EventKind::kSignalTripped: return "signal_tripped";
    case EventKind::kSignalHandled: return "signal_handled";
    case EventKind::kThreadStarted: return "thread_started";
    case EventKind::kThreadFinished: return "thread_finished";
    case EventKind::kThreadExitForced: return "thread_exit_forced";
    case EventKind::kThreadHang: return "thread_hang";
    case EventKind::kTstateShutDown: return "tstate_shut_down";
    case EventKind::kWarning: return "warning";
    case EventKind::kForkParent: return "fork_parent";
    case EventKind::kForkChild: return "fork_child";
    case EventKind::kError: return "error";
    case EventKind::kFatal: return "fatal";
    case EventKind::kCrash: return "crash";
    case EventKind::kFinalizeReturned: return "finalize_returned";
    case EventKind::kReinitialized: return "reinitialized";
    case EventKind::kAtexitCallback: return "atexit_callback";
    case EventKind::kThreadingAtexitCallback: return "threading_atexit_callback";
    case EventKind::kThreadsJoined: return "threads_joined";
    case EventKind::kThreadsJoinSkipped: return "threads_join_skipped";
    case EventKind::kDefectTriggered: return "defect_triggered";
  }
  return "?";
}

const char* outcome_kind_name(Outcome::Kind k) {
  switch (k) {
    case Outcome::Kind::kRunning: return "running";
    case Outcome::Kind::kExit: return "exit";
    case Outcome::Kind::kFatal: return "fatal";
    case Outcome::Kind::kCrash: return "crash";
    case Outcome::Kind::kDeadlock: return "deadlock";
    case Outcome::Kind::kHang: return "hang";
  }
  return "?";
}

std::string fatal_text(const char* func, const char* msg) {
  return std::string("Fatal Python error: ") + func + ": " + msg;
}

const std::vector<std::string>& expected_fatals(const Profile& p) {
  // Contract checks CPython documents as fatal (S1, F4); identical across 3.7–3.13 except
  // "remaining subinterpreters", which 3.13 replaced by automatic clean-up (gh-113433).
  static const std::vector<std::string> kUpTo312 = {
      fatal_text("Py_EndInterpreter", "not the last thread"),
      fatal_text("Py_EndInterpreter", "thread still has a frame"),
      fatal_text("Py_EndInterpreter", "thread is not current"),
      fatal_text("PyInterpreterState_Delete", "remaining subinterpreters"),
  };
  static const std::vector<std::string> k313 = {
      fatal_text("Py_EndInterpreter", "not the last thread"),
      fatal_text("Py_EndInterpreter", "thread still has a frame"),
      fatal_text("Py_EndInterpreter", "thread is not current"),
  };
  return p.finalize_with_subinterps == FinalizeWithSubinterps::kAutoEnd ? k313 : kUpTo312;
}

}  // namespace ifz::rt
