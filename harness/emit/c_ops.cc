// SPDX-License-Identifier: Apache-2.0
// c_ops.cc — op → ifz_op on a given CPython version (see c_ops.h). The C of each op is the
// prelude's ifz_do_op (c_prelude.cc), which picks the version's API with PY_VERSION_HEX; what
// is decided here is whether the target version has a faithful counterpart at all, and each
// refusal says why.
#include "harness/emit/c_ops.h"

#include "harness/program/text_format.h"

namespace ifz::harness::emit {

namespace {

bool refuse(const Op& op, int minor, const std::string& why, std::string* error) {
  *error = "emit-c: '" + print_op(op) + "' has no faithful counterpart on CPython 3." +
           std::to_string(minor) + ": " + why;
  return false;
}

bool new_interp(const Op& op, const OpEmitContext& x, std::string* api, std::string* error) {
  const bool isolated = op.variant & kInterpIsolated;
  const bool own_gil = isolated || (op.variant & kInterpOwnGil);
  if (!own_gil) {
    *api = "Py_NewInterpreter";
  } else if (x.minor >= 12) {
    // PEP 684 (gh-99113): a per-interpreter GIL needs its own obmalloc and single-phase-init
    // extension checks; `isolated` also refuses fork, exec and daemon threads (gh-98610).
    *api = "Py_NewInterpreterFromConfig, own GIL";
  } else if (!isolated) {
    return refuse(op, x.minor, "a per-interpreter GIL exists from 3.12 (PEP 684)", error);
  } else if (x.minor >= 9) {
    *api = "_Py_NewInterpreter(isolated=1), bpo-40453, 3.9-3.11";
  } else {
    return refuse(op, x.minor, "isolated subinterpreters exist from 3.9 (bpo-40453)", error);
  }
  return true;
}

}  // namespace

bool lower_op(const Op& op, const OpEmitContext& x, CallOp* out, std::string* api,
              std::string* error) {
  *out = CallOp{static_cast<int>(op.code), op.interp, op.thread, op.count, op.variant, 0};
  switch (op.code) {
    case OpCode::kInit:
    case OpCode::kReinit: *api = "Py_InitializeFromConfig, no site"; return true;
    case OpCode::kFinalize: *api = "Py_FinalizeEx"; return true;
    case OpCode::kNewInterp: return new_interp(op, x, api, error);
    case OpCode::kEndInterp: *api = "Py_EndInterpreter + PyThreadState_Swap"; return true;
    case OpCode::kSwap: *api = "PyThreadState_Swap"; return true;
    case OpCode::kStart: {
      static const char* kHow[] = {"threading.Thread(daemon=False).start()",
                                   "threading.Thread(daemon=True).start()",
                                   "_thread.start_new_thread", "pthread_create"};
      *api = kHow[op.variant % kStartKinds];
      return true;
    }
    case OpCode::kJoin: *api = "Thread.join, or waiting for a raw/C thread's end"; return true;
    case OpCode::kReleaseGil: *api = "PyEval_SaveThread"; return true;
    case OpCode::kAcquireGil: *api = "PyEval_RestoreThread"; return true;
    case OpCode::kBlock: *api = "Py_BEGIN_ALLOW_THREADS sched_yield() Py_END_ALLOW_THREADS"; return true;
    case OpCode::kRunBytecode: *api = "PyRun_SimpleString(\"for _ in range(N): pass\")"; return true;
    case OpCode::kAddPending:
      if (op.interp < 0) {
        *api = "Py_AddPendingCall";
        return true;
      }
      if (x.minor < 9) {
        return refuse(op, x.minor, "pending calls are one runtime-wide queue before 3.9 (bpo-39984)",
                      error);
      }
      // The per-interpreter add, as CPython's own _testinternalcapi.pending_identify does it.
      *api = "_PyEval_AddPendingCall(interp, ...)";
      return true;
    case OpCode::kMakePending: *api = "Py_MakePendingCalls"; return true;
    case OpCode::kSignal:
      if (op.count == 9) {
        return refuse(op, x.minor, "SIGKILL cannot have a Python handler, so CPython ignores the trip",
                      error);
      }
      if (x.minor < 10 && op.count != 2) {
        return refuse(op, x.minor, "PyErr_SetInterruptEx(signum) exists from 3.10; before, only "
                                   "SIGINT can be tripped (PyErr_SetInterrupt)", error);
      }
      *api = x.minor < 10 ? "PyErr_SetInterrupt: trip_signal(SIGINT), as a C signal handler would"
                          : "PyErr_SetInterruptEx: trip_signal, as a C signal handler would";
      return true;
    case OpCode::kGilStateEnsure: *api = "PyGILState_Ensure"; return true;
    case OpCode::kGilStateRelease: *api = "PyGILState_Release"; return true;
    case OpCode::kGilStateCheck: *api = "PyGILState_Check"; return true;
    case OpCode::kNewTstate: *api = "PyThreadState_New + PyEval_RestoreThread"; return true;
    case OpCode::kDeleteTstate: *api = "PyThreadState_Clear + PyThreadState_DeleteCurrent"; return true;
    case OpCode::kFork: {
      const auto mode = static_cast<ForkMode>(op.variant);
      if (op.follow_child) out->flags |= kCallFollowChild;
      if (mode == ForkMode::kFork && op.follow_child && x.child_script_runs) {
        out->flags |= kCallChildScriptRuns;
      }
      *api = mode == ForkMode::kFork ? "os.fork(), evaluated as Python code"
             : mode == ForkMode::kExec ? "subprocess.run(['/bin/true'])"
                                       : "subprocess.run(['/bin/true'], preexec_fn=...)";
      return true;
    }
    case OpCode::kHoldLock:
      if (op.variant == 0) {
        *api = "HEAD_LOCK taken again and again (thread states made and deleted) until released";
        return true;
      }
      if (op.variant != 3) {
        return refuse(op, x.minor, "CPython has no API that holds this runtime lock from outside "
                                   "(it is taken only inside pystate.c / the xid and unicode "
                                   "registries); the fork-inside-critical-section window cannot be "
                                   "forced", error);
      }
      if (x.minor >= 12) {
        return refuse(op, x.minor, "_PyImport_AcquireLock takes an interpreter from 3.12 and is "
                                   "not exported for embedders", error);
      }
      *api = "_PyImport_AcquireLock (PyOS_BeforeFork takes it too)";
      return true;
    case OpCode::kAtexit: *api = "atexit.register"; return true;
    case OpCode::kThreadingAtexit:
      if (x.minor < 9) {
        return refuse(op, x.minor, "threading._register_atexit exists from 3.9 (bpo-39812)", error);
      }
      *api = "threading._register_atexit";
      return true;
    case OpCode::kSetSignal: *api = "_signal.signal(SIGUSR2, _signal.getsignal(SIGUSR2))"; return true;
    case OpCode::kExit: *api = "os._exit"; return true;
    case OpCode::kYield: *api = "a plain scheduling point: the handshake is the schedule"; return true;
    case OpCode::kLockAcquire:
      *api = op.variant & kSyncTimeout ? "_thread.allocate_lock().acquire(timeout=0.5)"
                                       : "_thread.allocate_lock().acquire()";
      return true;
    case OpCode::kLockRelease: *api = "lock.release()"; return true;
    case OpCode::kEventSet: *api = "threading.Event().set()"; return true;
    case OpCode::kEventWait:
      *api = op.variant & kSyncTimeout ? "threading.Event().wait(timeout=0.5)"
                                       : "threading.Event().wait()";
      return true;
  }
  *error = "emit-c: unknown op";
  return false;
}

}  // namespace ifz::harness::emit
