// SPDX-License-Identifier: Apache-2.0
// c_ops.cc — op → C on a given CPython version (see c_ops.h). Each case says which C API the
// op is, and each refusal says why the version has no faithful counterpart.
#include "harness/emit/c_ops.h"

#include "harness/program/text_format.h"

namespace ifz::harness::emit {

namespace {

std::string refuse(const Op& op, int minor, const std::string& why, std::string* error) {
  *error = "emit-c: '" + print_op(op) + "' has no faithful counterpart on CPython 3." +
           std::to_string(minor) + ": " + why;
  return "";
}

std::string new_interp(const Op& op, const OpEmitContext& x, std::string* error) {
  const bool isolated = op.variant & kInterpIsolated;
  const bool own_gil = isolated || (op.variant & kInterpOwnGil);
  std::string make;
  if (!own_gil) {
    make = "Py_NewInterpreter();";
  } else if (x.minor >= 12) {
    // PEP 684 (gh-99113): a per-interpreter GIL needs its own obmalloc and single-phase-init
    // extension checks; `isolated` also refuses fork, exec and daemon threads (gh-98610).
    return std::string("{\n    PyThreadState *before = self->ts, *t = NULL;\n") +
           (isolated ? "    PyInterpreterConfig cfg = _PyInterpreterConfig_INIT;\n"
                     : "    PyInterpreterConfig cfg = {.use_main_obmalloc = 0, .allow_fork = 1, "
                       ".allow_exec = 1, .allow_threads = 1, .allow_daemon_threads = 1, "
                       ".check_multi_interp_extensions = 1, .gil = PyInterpreterConfig_OWN_GIL};\n") +
           "    PyStatus st = Py_NewInterpreterFromConfig(&t, &cfg);\n"
           "    if (PyStatus_Exception(st)) t = NULL;\n"
           "    ifz_record_new_interp(self, before, t);\n  }";
  } else if (!isolated) {
    return refuse(op, x.minor, "a per-interpreter GIL exists from 3.12 (PEP 684)", error);
  } else if (x.minor >= 9) {
    make = "_Py_NewInterpreter(/*isolated_subinterpreter=*/1);  /* bpo-40453, 3.9-3.11 */";
  } else {
    return refuse(op, x.minor, "isolated subinterpreters exist from 3.9 (bpo-40453)", error);
  }
  return "{\n    PyThreadState *before = self->ts;\n    PyThreadState *t = " + make +
         "\n    ifz_record_new_interp(self, before, t);\n  }";
}

std::string add_pending(const Op& op, const OpEmitContext& x, std::string* error) {
  const std::string kinds[] = {"IFZ_NOOP", "IFZ_TOUCH", "IFZ_REARM", "IFZ_FAIL", "IFZ_SLOW"};
  const std::string& kind = kinds[op.variant % kPendingKinds];
  if (op.interp < 0) return "ifz_add_pending(" + kind + ");  /* Py_AddPendingCall */";
  if (x.minor < 9) {
    return refuse(op, x.minor, "pending calls are one runtime-wide queue before 3.9 (bpo-39984)",
                  error);
  }
  // The per-interpreter add, as CPython's own _testinternalcapi.pending_identify does it.
  const std::string extra = x.minor >= 12 ? ", /*mainthreadonly=*/0" : "";
  return "{\n    PyInterpreterState *to = ifz_find_interp(" + std::to_string(op.interp) +
         ");\n    int rc = to ? _PyEval_AddPendingCall(to, ifz_pending_call, (void *)(intptr_t)" +
         kind + extra + ") : -1;\n    ifz_obs(\"pending_added rc=%d\", rc);\n  }";
}

std::string signal_op(const Op& op, const OpEmitContext& x, std::string* error) {
  if (op.count == 9) {
    return refuse(op, x.minor, "SIGKILL cannot have a Python handler, so CPython ignores the trip",
                  error);
  }
  if (x.minor < 10) {
    if (op.count != 2) {
      return refuse(op, x.minor, "PyErr_SetInterruptEx(signum) exists from 3.10; before, only "
                                 "SIGINT can be tripped (PyErr_SetInterrupt)", error);
    }
    return "PyErr_SetInterrupt();  /* trip_signal(SIGINT), as a C signal handler would */";
  }
  return "PyErr_SetInterruptEx(" + std::to_string(op.count) +
         ");  /* trip_signal, as a C signal handler would */";
}

std::string hold_lock(const Op& op, const OpEmitContext& x, std::string* error) {
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
  return "";  // emitted around the op's turns by emit_c.cc (acquire, wait, release)
}

std::string fork_op(const Op& op, const OpEmitContext& x) {
  const auto mode = static_cast<ForkMode>(op.variant);
  if (mode != ForkMode::kFork) {
    std::string s = std::string("{\n    int rc = ifz_subprocess(/*preexec=*/") +
                    (mode == ForkMode::kPreexec ? "1" : "0") + ");\n";
    if (op.follow_child) {
      s += "    /* interpfuzz followed the child, which execs /bin/true: end as it ended */\n"
           "    if (rc != INT_MIN) ifz_exit_like_returncode(rc);\n";
    } else {
      s += "    (void)rc;\n";
    }
    return s + "  }";
  }
  // Followed into the child while a hold_lock HEAD churn runs, interpfuzz's fork fell inside
  // the critical section: the reproducer repeats it until a child stays inside
  // (ifz_os_fork_in_window).
  std::string s = std::string("{\n    long pid = ") +
                  (op.follow_child ? "ifz_churn_on ? ifz_os_fork_in_window() : ifz_os_fork()"
                                   : "ifz_os_fork()") +
                  ";\n";
  if (op.follow_child) {
    s += "    if (pid == 0) {\n"
         "      ifz_obs(\"fork_child threads=%d\", ifz_count_tstates());\n";
    if (x.child_script_runs) {
      s += "      ifz_script_T" + std::to_string(op.thread) + "(self);\n"
           "      ifz_exit_process(0);\n";
    }
    s += "    } else if (pid > 0) {\n"
         "      /* interpfuzz followed the child: this parent only mirrors its end */\n"
         "      ifz_become_child_outcome(self, pid);\n"
         "    }\n";
  } else {
    s += "    /* interpfuzz followed the parent: the child leaves at once (not compared) */\n"
         "    if (pid == 0) ifz_exit_process(0);\n";
  }
  return s + "  }";
}

}  // namespace

std::string op_to_c(const Op& op, const OpEmitContext& x, std::string* error) {
  static const char* kStart[] = {"IFZ_THREADING", "IFZ_DAEMON", "IFZ_RAW", "IFZ_C"};
  const std::string t = std::to_string(op.thread);
  switch (op.code) {
    case OpCode::kInit:
    case OpCode::kReinit: return "ifz_init(self);  /* Py_InitializeEx(0) */";
    case OpCode::kFinalize: return "ifz_finalize(self);  /* Py_FinalizeEx */";
    case OpCode::kNewInterp: return new_interp(op, x, error);
    case OpCode::kEndInterp: return "ifz_end_interp(self);  /* Py_EndInterpreter + PyThreadState_Swap */";
    case OpCode::kSwap: return "ifz_swap(self, " + std::to_string(op.interp) + ");  /* PyThreadState_Swap */";
    case OpCode::kStart: return "ifz_start(" + t + ", " + kStart[op.variant % kStartKinds] + ");";
    case OpCode::kJoin: return "ifz_join(self, " + t + ");";
    case OpCode::kReleaseGil: return "ifz_release_gil(self);  /* PyEval_SaveThread */";
    case OpCode::kAcquireGil: return "ifz_acquire_gil(self);  /* PyEval_RestoreThread */";
    case OpCode::kBlock: return "ifz_block(self);";
    case OpCode::kRunBytecode: return "ifz_run_bytecode(" + std::to_string(op.count) + ");";
    case OpCode::kAddPending: return add_pending(op, x, error);
    case OpCode::kMakePending: return "ifz_make_pending();  /* Py_MakePendingCalls */";
    case OpCode::kSignal: return signal_op(op, x, error);
    case OpCode::kGilStateEnsure: return "ifz_gilstate_ensure(self);  /* PyGILState_Ensure */";
    case OpCode::kGilStateRelease: return "ifz_gilstate_release(self);  /* PyGILState_Release */";
    case OpCode::kNewTstate: return "ifz_new_tstate(self, " + std::to_string(op.interp) + ");";
    case OpCode::kDeleteTstate: return "ifz_delete_tstate(self);  /* PyThreadState_Clear + DeleteCurrent */";
    case OpCode::kFork: return fork_op(op, x);
    case OpCode::kHoldLock: return hold_lock(op, x, error);
    case OpCode::kAtexit: return "ifz_atexit(" + t + ");  /* atexit.register */";
    case OpCode::kExit: return "ifz_exit_process(" + std::to_string(op.count) + ");  /* os._exit */";
    case OpCode::kYield: return "/* yield: a plain scheduling point; the handshake is the schedule */";
  }
  *error = "emit-c: unknown op";
  return "";
}

}  // namespace ifz::harness::emit
