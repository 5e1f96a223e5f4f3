// SPDX-License-Identifier: Apache-2.0
// contract_checks.cc — the contract-specific checks no oracle makes, read from an execution's
// trace: P2's queue capacity and F0's finalisation phase order (declared in contracts.h).
#include <string>
#include <string_view>
#include <vector>

#include "properties/contracts.h"
#include "runtime/profile.h"

namespace ifz::properties {

namespace {

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

std::string check_pending_capacity(const harness::Program& p, const harness::ExecResult& r) {
  // cpython-notes P2: a ring of NPENDINGCALLS=32 keeps one slot empty (31) up to 3.12; 3.13's
  // main-thread queue takes 32. The shape adds only from T0 in I0, so one queue is involved.
  const rt::Profile* prof = rt::find_profile(p.profile);
  const int capacity =
      prof != nullptr && prof->pending_capacity == rt::PendingCapacity::kMax32And300 ? 32 : 31;
  int held = 0;
  int add = 0;
  for (const std::string& line : r.trace) {
    if (starts_with(line, "   . phase finalize")) break;  // finalisation refuses for its own reasons
    if (starts_with(line, "   . pending_run ")) {  // not pending_run_end
      --held;
    } else if (starts_with(line, "   . pending_added")) {
      ++add;
      const bool accepted = line.find(" accepted") != std::string::npos;
      if (accepted && held >= capacity) {
        return "P2: add " + std::to_string(add) + " was accepted with " + std::to_string(held) +
               " calls queued (capacity " + std::to_string(capacity) + ")";
      }
      if (!accepted && held < capacity) {
        return "P2: add " + std::to_string(add) + " was refused with only " +
               std::to_string(held) + " calls queued (capacity " + std::to_string(capacity) + ")";
      }
      if (accepted) ++held;
    }
  }
  return "";
}

std::string check_finalize_phase_order(const harness::Program& p, const harness::ExecResult& r) {
  // cpython-notes F0: 3.9.2 / 3.11.2 / 3.13.5 _Py_Finalize; 3.7/3.8 lack bpo-19466's early
  // deletion of the other thread states; 3.13 stops the world around SetFinalizing and ends
  // the subinterpreters after the modules, 3.14+ before SetFinalizing.
  using rt::Phase;
  const rt::Profile* prof = rt::find_profile(p.profile);
  if (prof == nullptr) return "";
  // 3.14+ end the subinterpreters before SetFinalizing; that phase exists on every profile
  // (PR gh-128640, finalize_subinterps_early says whether it does the work). 3.15 repeats the
  // first three (prefinalize_loop): a new wait_for_thread_shutdown restarts the order.
  std::vector<Phase> order = {Phase::kFinalizeWaitForThreadShutdown,
                              Phase::kFinalizeFinishPendingCalls, Phase::kFinalizeAtexit,
                              Phase::kFinalizeSubinterpretersEarly};
  if (prof->finalize_stop_the_world) order.push_back(Phase::kFinalizeStopTheWorld);
  order.push_back(Phase::kFinalizeSetFinalizing);
  if (prof->finalize_stop_the_world) order.push_back(Phase::kFinalizeStartTheWorld);
  if (prof->finalize_deletes_other_tstates) order.push_back(Phase::kFinalizeDeleteExcept);
  for (Phase s : {Phase::kFinalizeFlushStdFiles, Phase::kFinalizeSignalsFini, Phase::kFinalizeModules}) {
    order.push_back(s);
  }
  if (prof->finalize_with_subinterps == rt::FinalizeWithSubinterps::kAutoEnd) {
    order.push_back(Phase::kFinalizeSubinterpreters);
  }
  for (Phase s : {Phase::kFinalizeImportFini, Phase::kFinalizeInterpClear,
                  Phase::kFinalizeInterpDelete, Phase::kFinalizeRuntimeFini, Phase::kFinalized}) {
    order.push_back(s);
  }
  std::vector<std::string> want;
  for (Phase s : order) want.push_back(rt::phase_name(s));
  size_t next = 0;
  bool inside = false;
  for (const std::string& line : r.trace) {
    if (!starts_with(line, "   . phase ")) continue;
    const std::string phase = line.substr(11);
    if (!starts_with(phase, "finalize")) continue;
    if (phase == want[0]) {
      inside = true;
      next = 0;
    }
    if (!inside) return "F0: phase " + phase + " outside Py_FinalizeEx";
    if (next >= want.size() || phase != want[next]) {
      return "F0: phase " + phase + " where " +
             (next < want.size() ? want[next] : std::string("nothing")) + " was due";
    }
    ++next;
    if (phase == rt::phase_name(Phase::kFinalized)) inside = false;
  }
  return "";
}

}  // namespace ifz::properties
