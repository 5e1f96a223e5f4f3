// SPDX-License-Identifier: Apache-2.0
// profile.h — which CPython version's behaviour the runtime follows (DESIGN D3).
// Defines the policy enums, Profile and the registry of named profiles "3.7" … "3.15" and
// "<v>-fixed".
//
// Profiles are data: every way two versions differ is a named knob, one row of
// runtime/profiles.def with a value per version and its CPython source (cpython-notes §4, §7).
// Mechanism code reads knobs and defect(X), never a version number. A profile changes what
// happens *inside* a lifecycle step, never the order of the steps (STYLE §8.8).
// A version profile "3.n" enables the defects whose defects.def mask has n; its "-fixed" twin
// is exactly the release's knobs with no defect: every behaviour the twin changes is a named
// defect (docs/design-notes.md, "Profiles as data").
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/defects.h"
#include "runtime/locks.h"

namespace ifz::rt {

/// os.fork() in a legacy (non-isolated) subinterpreter (cpython-notes K4, bpo-34651/40453).
/// Which config refuses _thread.start_new_thread in a subinterpreter (S2).
enum class SubinterpThreadCheck : uint8_t {
  kIsolatedFlag,  // ≤3.11: an isolated interpreter refuses every thread (3.7/3.8 have none)
  kConfigFlags,   // 3.12+: PyInterpreterConfig allow_threads / allow_daemon_threads
};
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
  int minor = 9;         // CPython 3.<minor>: for labels and the harness, never for mechanism
  bool fixed = false;    // the "-fixed" twin: the release's knobs, no defect enabled
  DefectSet defects;     // known defects this release has (defects.def masks; empty when fixed)
  uint32_t runtime_locks = 0;  // bit RuntimeLock: the locks.def rows this version has (`since`)

  // The knobs: one member per profiles.def row, where each is documented with its source.
#define IFZ_FLAG(knob, v7, v8, v9, v10, v11, v12, v13, v14, v15, source) bool knob = false;
#define IFZ_ENUM(knob, Type, v7, v8, v9, v10, v11, v12, v13, v14, v15, source) Type knob{};
#define IFZ_INT(knob, Type, v7, v8, v9, v10, v11, v12, v13, v14, v15, source) Type knob = 0;
#include "runtime/profiles.def"
#undef IFZ_FLAG
#undef IFZ_ENUM
#undef IFZ_INT

  bool has(Defect d) const { return defects.has(d); }
  bool has_lock(RuntimeLock l) const { return (runtime_locks >> static_cast<unsigned>(l)) & 1u; }
  /// A release profile ("3.n"): its known defects enabled. Its twin has none (defects.empty()).
  bool is_release() const { return !fixed; }
};

/// All registered profiles, version profiles first ("3.7" … "3.15"), then "-fixed" twins.
std::span<const Profile> all_profiles();
/// nullptr if unknown.
const Profile* find_profile(std::string_view name);
/// The names, for error messages and `interpfuzz list profiles`.
std::vector<std::string> profile_names();

}  // namespace ifz::rt
