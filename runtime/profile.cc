// SPDX-License-Identifier: Apache-2.0
// profile.cc — the CPython 3.7 … 3.15 profiles and their -fixed twins.
// A version profile models the patch release of its referee build (3.11 = Debian 12's 3.11.2,
// 3.12 = 3.12.1, 3.13 = Debian sid's 3.13.18, 3.14 = 3.14.10, 3.15 = 3.15.2); fixes and
// behaviour changes of other patch releases are injectable defects (docs/design-notes.md).
// Each knob is derived from the minor version in one place, with the source of the fact;
// cpython-notes §4 (contracts, [EXP] matrix) and §7 (knobs) are the references.
#include "runtime/profile.h"

#include <vector>

namespace ifz::rt {

namespace {

constexpr int kFirstMinor = 7;
constexpr int kLastMinor = 15;

// The knobs that 3.13.18, 3.14 and 3.15 added (docs/versions-3.13-3.15.md §2.13), set here in
// one place so that the profile table can take them over as they are. Every earlier minor keeps
// the defaults of profile.h, which are the ≤3.13.0 behaviour.
void knobs_since_313(Profile& p) {
  const int minor = p.minor;
  // gh-87135: PyThread_hang_thread instead of PyThread_exit_thread in take_gil — 3.14.0a1
  // (PR gh-105805) and backported to 3.13.8 (PR gh-137827) [NEWS 3.13.8; SRC 3.13.15
  // Python/ceval_gil.c take_gil; PROBE 3.13.18 daemon_after_finalize: alive, parked].
  if (minor >= 13) p.daemon_after_finalize = DaemonAfterFinalize::kHang;
  // gh-124878 (3.14.0a6): thread-state refcount and _Py_THREAD_SHUTTING_DOWN [HDR 3.14.10
  // Include/internal/pycore_tstate.h, pycore_pystate.h; PROBE reinit_with_daemon 0/8 on 3.14].
  p.tstate_refcounted = minor >= 14;
  // gh-128639 / PR gh-128640 (3.14.1, 3.15.0a1) [PROBE 3.14.10 end_interp_second_tstate].
  p.end_interp_with_other_tstates =
      minor >= 14 ? EndInterpOthers::kShutDownOthers : EndInterpOthers::kFatalNotLast;
  // PR gh-128640: finalize_subinterpreters() before _PyRuntimeState_SetFinalizing [PROBE
  // 3.14.10 finalize_subinterp_nondaemon: the subinterpreter's thread finishes].
  p.finalize_subinterps_early = minor >= 14;
  // gh-141528 (3.14.1) [PROBE 3.14.10, 3.15.2 finalize_subinterp].
  p.warn_remaining_subinterps = minor >= 14;
  // gh-136003 / PR gh-136004 (3.15.0a1).
  p.prefinalize_loop = minor >= 15;
  // gh-131185 (PyGILState_Ensure after Py_FinalizeEx: ≤3.14 SIGSEGV, 3.15 blocks) has no knob:
  // no op reaches it (the executor skips gilstate_ensure once the runtime is not initialized,
  // harness/exec/ops.cc), docs/versions-3.13-3.15.md §9.
  // gh-139759 [PROBE 3.14.10, 3.15.2 fork_with_live_subinterp: child SIGSEGV].
  p.fork_child_clear_null_tstate_segv = minor >= 14;
}

Profile version_profile(int minor) {
  Profile p;
  p.minor = minor;
  p.name = "3." + std::to_string(minor);
  // GIL: one per process up to 3.11; per interpreter with own_gil from 3.12 (PEP 684, gh-99113).
  p.per_interp_gil = minor >= 12;
  p.static_initial_storage = minor >= 11;
  // F2: 3.7/3.8 check "must exit" only after take_gil returned (a daemon parks in take_gil);
  // 3.9+ before and during take_gil (bpo-39877).
  p.daemon_after_finalize = minor <= 8 ? DaemonAfterFinalize::kCheckAfterTakeGil
                                       : DaemonAfterFinalize::kExitBeforeAndDuring;
  // F0: _PyThreadState_DeleteExcept at finalisation since 3.9 (bpo-19466).
  p.finalize_deletes_other_tstates = minor >= 9;
  p.finalize_stop_the_world = minor >= 13;
  // F4: fatal "remaining subinterpreters" up to 3.12; 3.13 ends them (gh-113433) [EXP].
  p.finalize_with_subinterps =
      minor >= 13 ? FinalizeWithSubinterps::kAutoEnd : FinalizeWithSubinterps::kFatal;
  // F5: threads/fork at shutdown (gh-104690 3.12, gh-113964 3.13) [EXP].
  p.threads_at_shutdown = minor <= 11   ? ThreadsAtShutdown::kAllow
                          : minor == 12 ? ThreadsAtShutdown::kRefuseInAtexit
                                        : ThreadsAtShutdown::kRefuseAfterJoin;
  // S2: isolated interpreters refuse daemon threads from 3.12 (gh-98610).
  p.has_isolated_interps = minor >= 9;
  p.daemon_threads_in_isolated = minor <= 11;
  // P1: Py_EndInterpreter drains its queue from 3.12 [EXP 3.12.1]; 3.11 evaluates Python code
  // there, so the main thread's eval breaker runs a queued call in the subinterpreter [EXP].
  p.end_interp_finishes_pending = minor >= 12;
  p.end_interp_runs_bytecode = minor == 11;
  // P2/P3: routing and capacity (bpo-39984 3.9, gh-104812 3.12, 3.13 npending/max).
  p.pending_routing = minor <= 8    ? PendingRouting::kGlobal
                      : minor <= 11 ? PendingRouting::kCurrentInterp
                                    : PendingRouting::kMainThreadOnly;
  p.pending_capacity = minor >= 13 ? PendingCapacity::kMax32And300 : PendingCapacity::kRing32;
  p.pending_busy_is_global = minor >= 9 && minor <= 11;
  p.pending_finishing_flag = minor == 8;
  // P5: signals handled by the main thread only in the main interpreter from 3.8 (bpo-35724).
  p.signals_in_main_interp_only = minor >= 8;
  // K4: fork refusal (bpo-34651 3.8; the 3.9+ regression is defect bpo-40453).
  p.fork_in_subinterp = minor == 7 ? ForkInSubinterp::kAllow : ForkInSubinterp::kRefuse;
  p.preexec_refused_in_subinterp = minor >= 8;
  p.fork_deletes_other_interps = minor >= 8;
  p.before_fork_holds_head_lock = minor >= 13;
  p.fork_warns_with_threads = minor >= 12;
  knobs_since_313(p);
  for (const DefectInfo& d : all_defects()) {
    if (d.versions & (1u << minor)) p.defects.set(d.id);
  }
  return p;
}

std::vector<Profile> build_profiles() {
  std::vector<Profile> out;
  for (int m = kFirstMinor; m <= kLastMinor; ++m) out.push_back(version_profile(m));
  for (int m = kFirstMinor; m <= kLastMinor; ++m) {
    Profile p = version_profile(m);
    p.name += "-fixed";
    p.fixed = true;
    p.defects = DefectSet{};
    out.push_back(p);
  }
  return out;
}

const std::vector<Profile>& profiles() {
  static const std::vector<Profile> kProfiles = build_profiles();
  return kProfiles;
}

}  // namespace

std::span<const Profile> all_profiles() { return profiles(); }

const Profile* find_profile(std::string_view name) {
  for (const Profile& p : profiles()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::vector<std::string> profile_names() {
  std::vector<std::string> out;
  for (const Profile& p : profiles()) out.push_back(p.name);
  return out;
}

}  // namespace ifz::rt
