// SPDX-License-Identifier: Apache-2.0
// defect_detection_test.cc — every historical defect of runtime/defects.def, enabled alone on a
// -fixed profile of a version where its mechanism exists, is found by a contract property within
// RapidCheck's default budget (max_success 100, fixed seed), and the property shrinks it to no
// more operations than the defect's shortest known trigger (cpython-notes §3).
// Defines the detection table and its tests; IFZ_MEASURE_DEFECTS=1 re-measures every property.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

#include "properties/contract_property.h"
#include "runtime/defects.h"

namespace ifz::properties {
namespace {

struct Detection {
  const char* defect;
  const char* profile;   // a -fixed profile of a version where the mechanism exists
  const char* property;  // the contract property that fails first (measured, see README)
  const char* trigger;   // the cpython-notes §3 row of the shortest known trigger
  int trigger_ops;       // that row's "ops" column
  // Operations the .ifz vocabulary needs beyond §3's count for the same trigger, and why:
  // §3 counts C-API / Python steps, where one step can be two program operations.
  int vocabulary_extra;
  const char* why_extra;
};

// clang-format off
const Detection kTable[] = {
  {"bpo39958_headlock_reentry", "3.12-fixed", "K3",
   "Fork with a live subinterp: child self-deadlock (bpo-39958) / fatal (3.13)", 4, 0, ""},
  {"gh101437_clear_without_tstate", "3.13-fixed", "K3",
   "Fork with a live subinterp: child self-deadlock (bpo-39958) / fatal (3.13)", 4, 0, ""},
  {"bpo40453_fork_subinterp_child_fatal", "3.12-fixed", "K3",
   "Fork from legacy subinterp kills child (bpo-40453 regression)", 3, 0, ""},
  {"gh104812_lost_subinterp_pending", "3.9-fixed", "P1",
   "Same, main-thread variant (lost unless bytecode runs)", 4, 0, ""},
  {"bpo39984_gilstate_wrong_interp", "3.9-fixed", "P3",
   "Pending call routed to wrong interpreter", 5, 1,
   "the misrouted call is only observed when it runs: one more op runs it (finalize)"},
  {"bpo37127_finishing_null_tstate", "3.8-fixed", "P6",
   "Py_AddPendingCall after finalize (the race row, 3+loop, shrinks to it)", 3, 0, ""},
  {"pending_add_after_finalize", "3.12-fixed", "P6",
   "Py_AddPendingCall after finalize", 3, 0, ""},
  {"no_finish_pending_at_finalize", "3.7-fixed", "P6",
   "(no §3 row; §4 P1/P6: a call queued at Py_FinalizeEx: init; add_pending; finalize)", 3, 0, ""},
  {"gh118297_finish_pending_single_pass", "3.12-fixed", "P1",
   "(no §3 row; §2 gh-118297: init; add_pending fail; add_pending; finalize)", 4, 0, ""},
  {"gh112275_afterfork_order", "3.11-fixed", "K2",
   "Fork while other thread in HEAD_LOCK (bpo-30395, gh-112275)", 4, 0, ""},
  {"bpo30395_headmutex_not_reinit", "3.11-fixed", "K2",
   "Fork while other thread in HEAD_LOCK (bpo-30395, gh-112275)", 4, 0, ""},
  {"bpo39877_tstate_dangling_in_take_gil", "3.9-fixed", "F6",
   "Daemon wakes after tstate freed (bpo-39877, gh-110052)", 6, 0, ""},
  {"gh110052_tstate_freed_after_must_exit_check", "3.12-fixed", "F2",
   "Daemon wakes after tstate freed (bpo-39877, gh-110052)", 6, 0, ""},
  {"gh96387_stale_drop_request", "3.10-fixed", "G3",
   "drop_gil hang after daemon exit (gh-96387)", 4, 0, ""},
  {"gh109793_swap_exits_finalizer", "3.13-fixed", "G1",
   "Interp switch during finalize exits main (gh-109793)", 3, 1,
   "new_interp switches the main thread into the subinterpreter; `swap I0` brings it back "
   "before finalize (_interpreters.create() does not switch)"},
  {"gh113433_fatal_remaining_subinterps", "3.13-fixed", "G1",
   "Finalize with live subinterp", 4, 0, ""},
  {"reinit_with_stale_daemons", "3.12-fixed", "F6",
   "Re-init with sleeping daemons of previous runtime", 5, 0, ""},
  {"gh108987_thread_run_after_finalize", "3.11-fixed", "F6",
   "Thread/fork from atexit at shutdown (gh-104690)", 3, 0, ""},
  {"initial_tstate_not_reset", "3.12-fixed", "S1",
   "(no §3 row; [EXP] 3.11/3.12: init; new_interp; delete_tstate; new_tstate I1)", 4, 0, ""},
  {"gh154175_drop_request_read_after_release", "3.13-fixed", "F2",
   "Daemon wakes after tstate freed (bpo-39877, gh-110052)", 6, 0, ""},
  {"finalize_half_built_subinterp", "3.13-fixed", "F4",
   "(no §3 row; [EXP] 3.13.0: init; start T daemon; T: new_interp; finalize)", 4, 2,
   "F4's shapes keep a live subinterpreter (motif new_interp; swap I0), which the shrunk "
   "program keeps as the interpreter the helper is started in"},
  {"trip_signal_without_main_interp", "3.11-fixed", "P5",
   "(no §3 row; [EXP] 3.10-3.12: init; finalize; signal 1)", 3, 0, ""},
  {"breaker_not_set_off_main_thread", "3.11-fixed", "P5",
   "(no §3 row; [EXP] 3.9-3.12: init; start T1 c; T1: signal 1; T0: run_bytecode 1)", 4, 3,
   "P5's shrunk program trips from a threading thread started in a subinterpreter "
   "(new_interp; start; swap I0) and finalizes; any non-main thread's trip hides the signal"},
};
// clang-format on

// RapidCheck's defaults, with the fixed seed of harness/tests/rc_property.h: what a developer
// gets from a plain `ctest`.
rc::detail::TestParams default_params() {
  rc::detail::TestParams p;
  p.seed = 522542829;
  p.maxSuccess = 100;
  p.maxSize = 100;
  p.maxDiscardRatio = 10;
  return p;
}

// Defects no contract property detects within RapidCheck's default budget (measured with
// DISABLED_MeasureEveryProperty: every property passes its 100 cases). They are the -fixed
// shutdown design's (docs/design-notes.md §7, 13): their triggers need three threads and a
// subinterpreter being created or ended at finalisation, or a fork during another thread's
// pending-call pass, which the contract shapes do not draw. The corpus programs of
// harness/tests/canary_site_test.cc (DefectTriggerProgram) detect them under PCT. A gap.
const char* const kUndetectedByProperties[] = {
    "starter_waits_for_exited_thread", "finalize_ends_claimed_interp",
    "finalize_frees_foreign_tstate",   "fork_keeps_vanished_pending_handler",
    "own_gil_freed_with_waiters",      "end_interp_releases_gil_before_unlink",
    "fork_orphans_other_interp_threads",
    // Not measured (issue 17 + 19 merge, no time for DefectTable.MeasureEveryProperty): its
    // finding is a deadlock of 3.13's late finalize_subinterpreters, which no contract
    // property's generator is known to reach.
    "hang_without_tstate_refcount",
    // Not measured (issue 19, no time for DefectTable.MeasureEveryProperty): its trigger is a
    // fork from a non-main thread whose child then calls Py_FinalizeEx.
    "fork_child_stale_main_tstate",
    // Not measured (no time for DefectTable.MeasureEveryProperty): its trigger needs three
    // threads, two subinterpreters and a non-daemon thread inside the newer one at finalisation.
    "finalize_hangs_nondaemon_thread",
    // Not measured (issue 19, session 8): its trigger is a C thread's PyGILState_Ensure after
    // Py_FinalizeEx returned, which no contract property's generator makes.
    "gh131185_gilstate_ensure_after_finalize",
    // Not measured (issue 19, session 8): two C threads making a subinterpreter's first
    // thread state, one in the other's delete window; no contract generator makes that.
    "gh126914_initial_tstate_taken_while_deleted"};

TEST(DefectTable, CoversEveryDefectOnce) {
  for (const rt::DefectInfo& d : rt::all_defects()) {
    int rows = 0;
    for (const Detection& row : kTable) rows += std::string(row.defect) == d.name;
    for (const char* u : kUndetectedByProperties) rows += std::string(u) == d.name;
    EXPECT_EQ(rows, 1) << d.name << " needs exactly one row in kTable (or kUndetectedByProperties)";
  }
}

class DefectDetection : public ::testing::TestWithParam<Detection> {};

TEST_P(DefectDetection, SomePropertyFailsAndShrinksToTheShortestTrigger) {
  const Detection& row = GetParam();
  const Contract* c = find_contract(row.property);
  ASSERT_NE(c, nullptr) << row.property;
  const rc::detail::TestParams params = default_params();
  const PropertyResult r =
      check_contract(*c, PropertyConfig::one_defect(row.profile, row.defect), &params);
  ASSERT_FALSE(r.passed) << row.defect << " on " << row.profile << ": property " << row.property
                         << " passed " << r.successes << " cases";
  ASSERT_TRUE(r.shrunk.has_value()) << r.message;
  const size_t ops = r.shrunk->program.op_count();
  EXPECT_LE(ops, static_cast<size_t>(row.trigger_ops + row.vocabulary_extra))
      << row.defect << ": shrunk to " << ops << " ops, §3 \"" << row.trigger << "\" has "
      << row.trigger_ops << (row.vocabulary_extra ? " (+" + std::to_string(row.vocabulary_extra) + ": " + row.why_extra + ")" : "")
      << "\n" << r.message;
  // The shrunk failure must still be the defect's: its bug condition held (canary) in the
  // failing execution. Shrinking accepts any failure, so this catches a drift into another bug.
  const auto& hit = r.shrunk->triggered_defects;
  EXPECT_NE(std::find(hit.begin(), hit.end(), std::string(row.defect)), hit.end())
      << row.defect << ": the shrunk failure is not this defect's\n" << r.message;
  std::cout << "[ detection ] " << row.defect << " on " << row.profile << ": " << row.property
            << " failed after " << r.successes << " passing cases, shrunk to " << ops
            << " ops (§3: " << row.trigger_ops << "), saved as " << r.saved_as << "\n";
}

INSTANTIATE_TEST_SUITE_P(Defects, DefectDetection, ::testing::ValuesIn(kTable),
                         [](const ::testing::TestParamInfo<Detection>& info) {
                           return std::string(info.param.defect);
                         });

// Re-measures the table: every property against every defect, in cpython-notes §4 order.
// "Fails first" = fewest passing cases before the failure (ties: §4 order). Slow (a few
// minutes); run with IFZ_MEASURE_DEFECTS=1 and --gtest_also_run_disabled_tests.
TEST(DefectTable, DISABLED_MeasureEveryProperty) {
  const rc::detail::TestParams params = default_params();
  // IFZ_MEASURE_ONLY=a,b: only those defects' rows.
  const char* only = std::getenv("IFZ_MEASURE_ONLY");
  for (const Detection& row : kTable) {
    if (only != nullptr && ("," + std::string(only) + ",").find("," + std::string(row.defect) + ",") ==
                               std::string::npos) {
      continue;
    }
    const PropertyConfig cfg = PropertyConfig::one_defect(row.profile, row.defect);
    std::string best;
    int best_successes = 1 << 30;
    size_t best_ops = 0;
    std::string all;
    for (const Contract& c : all_contracts()) {
      // One child process per property: a harness crash (a runtime bug the oracles cannot
      // see) is reported as such and does not end the measurement.
      int fds[2];
      ASSERT_EQ(pipe(fds), 0);
      const pid_t pid = fork();
      if (pid == 0) {
        close(fds[0]);
        const PropertyResult r = check_contract(c, cfg, &params);
        const std::string line = r.passed ? "pass" : std::to_string(r.successes) + " " +
            std::to_string(r.shrunk ? r.shrunk->program.op_count() : 0);
        (void)!write(fds[1], line.data(), line.size());
        _exit(0);
      }
      close(fds[1]);
      char buf[64] = {};
      const ssize_t n = read(fds[0], buf, sizeof buf - 1);
      close(fds[0]);
      int status = 0;
      waitpid(pid, &status, 0);
      if (WIFSIGNALED(status)) {
        all += std::string(" ") + c.id + "(CRASH signal " + std::to_string(WTERMSIG(status)) + ")";
        continue;
      }
      if (n <= 0 || std::string(buf) == "pass") continue;
      int successes = 0;
      size_t ops = 0;
      std::sscanf(buf, "%d %zu", &successes, &ops);
      all += std::string(" ") + c.id + "(" + std::to_string(successes) + "," +
             std::to_string(ops) + ")";
      if (successes < best_successes) {
        best = c.id;
        best_successes = successes;
        best_ops = ops;
      }
    }
    std::cout << std::left << std::setw(44) << row.defect << std::setw(12) << row.profile
              << " first: " << (best.empty() ? "NONE" : best) << " after " << best_successes
              << " cases, " << best_ops << " ops (§3 " << row.trigger_ops << ");"
              << " failing (cases,ops):" << all << std::endl;
  }
}

}  // namespace
}  // namespace ifz::properties
