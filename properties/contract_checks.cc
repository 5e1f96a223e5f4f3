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

int minor_of(const harness::Program& p) {
  const rt::Profile* prof = rt::find_profile(p.profile);
  return prof ? prof->minor : 0;
}

}  // namespace

std::string check_pending_capacity(const harness::Program& p, const harness::ExecResult& r) {
  // cpython-notes P2: a ring of NPENDINGCALLS=32 keeps one slot empty (31) up to 3.12; 3.13's
  // main-thread queue takes 32. The shape adds only from T0 in I0, so one queue is involved.
  const int capacity = minor_of(p) >= 13 ? 32 : 31;
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
  // the subinterpreters after the modules.
  const int minor = minor_of(p);
  // 3.14+ end them before SetFinalizing; the phase exists on every profile (PR gh-128640).
  std::vector<std::string> want = {"finalize:wait_for_thread_shutdown", "finalize:FinishPendingCalls",
                                   "finalize:atexit", "finalize:finalize_subinterpreters_early"};
  if (minor >= 13) want.push_back("finalize:stop_the_world");
  want.push_back("finalize:SetFinalizing");
  if (minor >= 13) want.push_back("finalize:start_the_world");
  if (minor >= 9) want.push_back("finalize:DeleteExcept");
  for (const char* s : {"finalize:flush_std_files", "finalize:signals_fini", "finalize:finalize_modules"}) {
    want.push_back(s);
  }
  if (minor >= 13) want.push_back("finalize:finalize_subinterpreters");
  for (const char* s : {"finalize:import_fini", "finalize:interp_clear", "finalize:interp_delete",
                        "finalize:runtime_fini", "finalized"}) {
    want.push_back(s);
  }
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
    if (phase == "finalized") inside = false;
  }
  return "";
}

}  // namespace ifz::properties
