// SPDX-License-Identifier: Apache-2.0
// profile.h — which CPython version's behaviour the runtime follows (DESIGN D3).
// Defines the policy enums, Profile (one knob per behaviour that differs between versions,
// cpython-notes §7) and the registry of named profiles "3.7" … "3.15" and "<v>-fixed".
//
// A profile changes what happens *inside* a lifecycle step, never the order of the steps
// (STYLE §8.8). A version profile also enables that release's known defects (defects.def);
// its "-fixed" twin has the same knobs and no defect.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/defects.h"

namespace ifz::rt {

/// os.fork() in a legacy (non-isolated) subinterpreter (cpython-notes K4, bpo-34651/40453).
enum class ForkInSubinterp : uint8_t {
  kAllow,   // 3.7: the child keeps every interpreter
  kRefuse,  // RuntimeError("fork not supported for subinterpreters"), 3.8 and the docs since
};
/// What a thread that wants the GIL after finalisation started does (F2, bpo-1856/39877).
enum class DaemonAfterFinalize : uint8_t {
  kCheckAfterTakeGil,  // 3.7/3.8: exit only once it got the GIL: parks forever in take_gil
  kExitBeforeAndDuring,  // 3.9–3.13.7: exit before take_gil and after every wait in it
  // 3.13.8+ (PR gh-137827, backport of gh-105805) and 3.14+ (gh-87135): the same three check
  // points call PyThread_hang_thread() instead of PyThread_exit_thread(): the thread parks for
  // good without unwinding (Python/ceval_gil.c take_gil; Python/thread_pthread.h).
  kHang,
};
/// Py_EndInterpreter when the interpreter has thread states besides the caller's (S1).
enum class EndInterpOthers : uint8_t {
  // ≤3.13: Py_FatalError("not the last thread") (Python/pylifecycle.c Py_EndInterpreter).
  kFatalNotLast,
  // 3.14.1+ / 3.15 (gh-128639, PR gh-128640 "Don't assume one thread in subinterpreter
  // finalization"): the others are marked shutting down and deleted; their threads park
  // [PROBE 3.14.10, 3.15.2 end_interp_daemon / end_interp_second_tstate].
  kShutDownOthers,
};
/// Where Py_AddPendingCall puts a call (P3).
enum class PendingRouting : uint8_t {
  kGlobal,          // ≤3.8: one runtime-wide queue, run by the main thread
  kCurrentInterp,   // 3.9–3.11: the caller's interpreter (bpo-39984)
  kMainThreadOnly,  // 3.12+: the main thread of the main interpreter (gh-104812)
};
/// Queue shape and capacity (P2).
enum class PendingCapacity : uint8_t {
  kRing32,      // ≤3.12: ring of NPENDINGCALLS=32 with one slot empty: 31 accepted
  kMax32And300, // 3.13: npending < max; 32 for the main-thread queue, 300 per interpreter
};
/// Finalize with live subinterpreters (F4).
enum class FinalizeWithSubinterps : uint8_t {
  kFatal,    // ≤3.12: "PyInterpreterState_Delete: remaining subinterpreters"
  kAutoEnd,  // 3.13: finalize_subinterpreters() ends them (gh-113433)
};
/// Creating threads / forking while the runtime shuts down (F5).
enum class ThreadsAtShutdown : uint8_t {
  kAllow,           // ≤3.11 (racy, gh-104690)
  kRefuseInAtexit,  // 3.12: RuntimeError from atexit onwards
  kRefuseAfterJoin, // 3.13: PythonFinalizationError once non-daemon threads were joined
};

struct Profile {
  std::string name;      // "3.9" or "3.9-fixed"
  int minor = 9;         // CPython 3.<minor>
  bool fixed = false;    // the "-fixed" twin: no defects enabled
  DefectSet defects;     // known defects this release has (empty when fixed)

  // ---- GIL (G1–G3) ----
  bool per_interp_gil = false;  // 3.12+: interpreters created with own_gil get their own GIL
  // ---- object storage ----
  // 3.11+ (bpo-45953): the main interpreter is storage inside _PyRuntime and every
  // interpreter's initial thread state is storage inside its interpreter, so neither is ever
  // freed on its own (a stale pointer to them reads live memory, not freed memory).
  bool static_initial_storage = false;
  int64_t switch_interval_us = 5000;  // sys.getswitchinterval(); simulated: a scheduling choice
  // ---- daemon threads / finalisation (F0–F6) ----
  DaemonAfterFinalize daemon_after_finalize = DaemonAfterFinalize::kExitBeforeAndDuring;
  bool finalize_deletes_other_tstates = true;  // 3.9+ _PyThreadState_DeleteExcept at finalize (bpo-19466)
  bool finalize_stop_the_world = false;        // 3.13: stop-the-world around SetFinalizing
  FinalizeWithSubinterps finalize_with_subinterps = FinalizeWithSubinterps::kFatal;
  ThreadsAtShutdown threads_at_shutdown = ThreadsAtShutdown::kAllow;
  // ---- subinterpreters (S1–S3) ----
  bool daemon_threads_in_isolated = true;  // 3.12+: allow_daemon_threads=0 for isolated interps
  bool has_isolated_interps = false;       // 3.9+: an isolated flavour exists (_isolated_interpreter / config)
  bool end_interp_finishes_pending = false;  // 3.12+: Py_EndInterpreter runs _Py_FinishPendingCalls
  bool end_interp_runs_bytecode = false;     // 3.11 [EXP]: Py_EndInterpreter evaluates Python code
                                             // (eval breaker checked) before the last-thread check
  // ---- pending calls (P1–P6) ----
  PendingRouting pending_routing = PendingRouting::kCurrentInterp;
  PendingCapacity pending_capacity = PendingCapacity::kRing32;
  bool pending_busy_is_global = true;   // 3.9–3.11: one process-wide `static int busy`
  bool pending_finishing_flag = false;     // 3.8: pending.finishing → Add returns -1 (bpo-33608)
  // ---- signals (P5) ----
  // 3.8+ (bpo-35724, PR gh-11530): only the main thread *in the main interpreter* handles
  // tripped signals (ceval.c handle_signals / _Py_ThreadCanHandleSignals). 3.7 checks the
  // thread only: a subinterpreter running on the main thread handles them [EXP 3.7.16 vs
  // 3.8.18: Py_NewInterpreter on the main thread, PyErr_SetInterrupt, bytecode there].
  bool signals_in_main_interp_only = true;
  // ---- fork (K1–K4) ----
  ForkInSubinterp fork_in_subinterp = ForkInSubinterp::kRefuse;
  bool preexec_refused_in_subinterp = true;  // 3.8+ bpo-37951
  bool fork_deletes_other_interps = true;    // 3.8+ _PyInterpreterState_DeleteExceptMain
  bool before_fork_holds_head_lock = false;  // 3.13: PyOS_BeforeFork takes HEAD_LOCK
  bool fork_warns_with_threads = false;      // 3.12+: DeprecationWarning (observable only)

  // ---- 3.13.18 / 3.14 / 3.15 (docs/versions-3.13-3.15.md §2.13; set in one place,
  // profile.cc knobs_since_313) ----
  // 3.14.0a6+ (gh-124878; [HDR 3.14.10] pycore_tstate.h _PyThreadStateImpl.refcount,
  // pycore_pystate.h _Py_THREAD_SHUTTING_DOWN): a thread state whose OS thread is alive is
  // co-owned by that thread. Deleting the others (Py_FinalizeEx, Py_EndInterpreter) marks it
  // "shutting down" and drops the list's reference; the OS thread sees the mark in its own,
  // still allocated tstate when it next wants the GIL, drops its reference and hangs
  // (_PyThreadState_HangThread).
  bool tstate_refcounted = false;
  EndInterpOthers end_interp_with_other_tstates = EndInterpOthers::kFatalNotLast;
  // 3.14.1+ / 3.15 (PR gh-128640): _Py_Finalize calls finalize_subinterpreters() right after
  // _PyAtExit_Call, before _PyRuntimeState_SetFinalizing ("or else threads might get
  // prematurely blocked"); ≤3.13 after finalize_modules. Both phases exist on every profile;
  // this knob says which one does the work.
  bool finalize_subinterps_early = false;
  // 3.14.1+ (gh-141528 text): "RuntimeWarning: remaining subinterpreters; close them with
  // Interpreter.close()" when finalisation ends leftover subinterpreters [PROBE 3.14.10].
  // Observable only (an event).
  bool warn_remaining_subinterps = false;
  // 3.15.0a1+ (gh-136003, PR gh-136004, follow-up gh-139129): wait_for_thread_shutdown,
  // _Py_FinishPendingCalls and _PyAtExit_Call repeat until a pass adds no thread, pending call
  // or atexit callback: a non-daemon thread started from an atexit callback is joined.
  bool prefinalize_loop = false;
  // The symptom of defect gh101437_clear_without_tstate (the fork child clears the other
  // interpreters with no current tstate): 3.13.18 release calls PyThreadState_Get (fatal);
  // 3.14.10 and 3.15.2 die of SIGSEGV there [PROBE fork_with_live_subinterp, r+d; conform];
  // gh-139759 (open). Which NULL read faults is unconfirmed (no 3.14 source).
  bool fork_child_clear_null_tstate_segv = false;
};

/// All registered profiles, version profiles first ("3.7" … "3.13"), then "-fixed" twins.
std::span<const Profile> all_profiles();
/// nullptr if unknown.
const Profile* find_profile(std::string_view name);
/// The names, for error messages and `interpfuzz list profiles`.
std::vector<std::string> profile_names();

}  // namespace ifz::rt
