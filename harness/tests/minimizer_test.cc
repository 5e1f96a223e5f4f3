// SPDX-License-Identifier: Apache-2.0
// minimizer_test.cc — minimisation (DESIGN D7) keeps the signature and reaches, for every
// modelled defect, a program no longer than that bug's shortest known trigger
// (cpython-notes §3). Budgets are execution counts, so the results are deterministic.
#include <gtest/gtest.h>

#include "harness/exec/fuzz_input.h"
#include "harness/exec/checked_run.h"
#include "harness/minimize/minimizer.h"
#include "harness/program/binary_codec.h"
#include "harness/program/text_format.h"
#include "runtime/defects.h"

namespace ifz::harness {
namespace {

struct Row {
  const char* defect;
  const char* version;   // a version whose mechanism has the defect's code location
  const char* seed;      // corpus/seeds/<seed>.ifz: a longer program that triggers it
  size_t trigger_ops;    // cpython-notes §3 shortest trigger (ops), or our own for rows §3 lacks
  const char* source;    // which §3 row the count comes from
};

// §3 counts init_runtime as an op, as our programs count `init`. Rows marked "(ours)" have no
// §3 row; their count is the smallest program we know by construction. Two rows are one op
// above §3 because §3's program is not expressible as written in the .ifz vocabulary:
//  - bpo39984 (§3: 5): `init; start T1; T1: new_interp; release_gil; add_pending` is that row
//    exactly, and yields no finding: the misrouted call never runs (T0's script ends, the
//    process exits without finalising, so no oracle can see where it would run). §3 leaves
//    the running implicit (CPython's main thread keeps evaluating bytecode); a program must
//    say it: one more op (`finalize` or `run_bytecode` on T0) runs it in I0, the finding.
//  - gh109793 (§3: 3, `_interpreters.create()` then finalize): `new_interp` is
//    Py_NewInterpreter, which leaves the thread in the new interpreter, and `finalize` from a
//    subinterpreter's thread state is skipped (Py_FinalizeEx needs the main interpreter); the
//    Python-level create() is Py_NewInterpreter + swap back: `new_interp; swap I0`.
const Row kRows[] = {
    {"bpo39958_headlock_reentry", "3.9", "fork_with_live_subinterp", 4, "fork with a live subinterp"},
    {"gh101437_clear_without_tstate", "3.13", "fork_with_live_subinterp", 4, "fork with a live subinterp (3.13)"},
    {"bpo40453_fork_subinterp_child_fatal", "3.10", "fork_from_legacy_subinterp", 3, "fork from legacy subinterp"},
    {"gh104812_lost_subinterp_pending", "3.10", "subinterp_pending_main_thread", 4, "pending call never run, main-thread variant"},
    {"bpo39984_gilstate_wrong_interp", "3.10", "pending_wrong_interp_gilstate", 6, "routed to wrong interpreter (5) + the run that shows it"},
    {"bpo37127_finishing_null_tstate", "3.8", "c_thread_add_pending_racing_finalize", 4, "pending call race with finalize (3+loop)"},
    {"pending_add_after_finalize", "3.12", "add_pending_after_finalize", 3, "Py_AddPendingCall after finalize"},
    {"no_finish_pending_at_finalize", "3.7", "pending_fail_then_drain", 3, "(ours) init; add_pending; finalize"},
    {"gh118297_finish_pending_single_pass", "3.12", "pending_fail_then_drain", 4, "(ours) init; add_pending fail; add_pending; finalize"},
    {"gh112275_afterfork_order", "3.10", "fork_while_thread_holds_headlock", 4, "fork while other thread in HEAD_LOCK"},
    {"bpo30395_headmutex_not_reinit", "3.11", "fork_while_thread_holds_headlock", 4, "fork while other thread in HEAD_LOCK"},
    {"bpo39877_tstate_dangling_in_take_gil", "3.9", "daemon_wakes_after_finalize", 6, "daemon wakes after tstate freed"},
    {"gh110052_tstate_freed_after_must_exit_check", "3.10", "daemon_in_take_gil_at_finalize", 6, "daemon wakes after tstate freed"},
    {"gh96387_stale_drop_request", "3.10", "drop_gil_stale_request", 4, "drop_gil hang after daemon exit"},
    {"gh109793_swap_exits_finalizer", "3.13", "finalize_with_live_subinterp", 4, "interp switch during finalize (3) + swap back to I0"},
    {"gh113433_fatal_remaining_subinterps", "3.13", "finalize_with_live_subinterp", 4, "finalize with live subinterp"},
    {"reinit_with_stale_daemons", "3.11", "reinit_with_daemons", 5, "re-init with sleeping daemons"},
    {"gh108987_thread_run_after_finalize", "3.10", "thread_from_atexit", 4, "thread from atexit (3) + the started script"},
    {"initial_tstate_not_reset", "3.12", "new_tstate_after_initial_deleted", 4, "(ours) init; new_interp; delete_tstate; new_tstate I1"},
    {"finalize_half_built_subinterp", "3.13", "subinterp_created_at_finalize", 4, "(ours) init; start T1 daemon; T1: new_interp; finalize"},
    // The -fixed shutdown design's defects: their trigger programs are regression entries (a
    // path from corpus/seeds/); the count is that program's, an upper bound.
    {"starter_waits_for_exited_thread", "3.13", "../regressions/0018-false-deadlock", 6, "(ours) regression 0018"},
    {"finalize_ends_claimed_interp", "3.13", "../regressions/0016-false-hang", 9, "(ours) regression 0016"},
    {"finalize_frees_foreign_tstate", "3.13", "finalize_with_subinterp_daemon", 7, "(ours) the seed"},
    {"fork_keeps_vanished_pending_handler", "3.12", "../regressions/0023-lost-pending", 8, "(ours) regression 0023"},
    {"own_gil_freed_with_waiters", "3.13", "../regressions/0021-false-null-deref", 5, "(ours) regression 0021"},
    {"fork_orphans_other_interp_threads", "3.7", "../regressions/0019-deadlock", 10, "(ours) regression 0019"},
    {"trip_signal_without_main_interp", "3.11", "signal_after_finalize", 3, "(ours) init; finalize; signal 1"},
    {"breaker_not_set_off_main_thread", "3.11", "signal_from_c_thread_unseen_by_main_thread", 5, "(ours) init; start T1 c; T1: signal 1; T0: a scheduling point for the trip, then its check"},
    {"gh154175_drop_request_read_after_release", "3.13", "daemon_wakes_after_finalize", 6, "daemon wakes after tstate freed"},
    {"hang_without_tstate_refcount", "3.13", "finalize_subinterp_nondaemon", 8, "(ours) the seed: gh-128639's leftover subinterpreter thread"},
    {"fork_child_stale_main_tstate", "3.13", "c_thread_fork_child_finalizes", 6, "(ours) init; start T1 c; join T1; T1: gilstate_ensure; fork follow=child; finalize"},
    {"finalize_hangs_nondaemon_thread", "3.14", "finalize_ends_subinterp_of_nondaemon", 8, "(ours) the seed: fuzz_fork's minimised finding on 3.14-fixed"},
    {"gh131185_gilstate_ensure_after_finalize", "3.14", "gilstate_ensure_after_finalize", 4, "(ours) init; start T1 c; finalize; T1: gilstate_ensure"},
    {"gh126914_initial_tstate_taken_while_deleted", "3.13", "initial_tstate_retaken_while_deleted", 10, "(ours) init; new_interp; delete_tstate; start T1 c; start T2 c; T1: new_tstate I1; delete_tstate; T2: new_tstate I1; run_bytecode"},
};
// Triggered by corpus programs but never a finding alone (harness/tests/canary_site_test.cc):
// nothing to minimise.
const char* const kNoFindingAlone[] = {"end_interp_releases_gil_before_unlink"};

class MinimizeDefect : public ::testing::TestWithParam<Row> {};

TEST_P(MinimizeDefect, ShrinksToAtMostTheShortestKnownTriggerKeepingTheSignature) {
  const Row& row = GetParam();
  auto parsed = read_program_file(std::string(IFZ_SOURCE_DIR "/corpus/seeds/") + row.seed + ".ifz");
  ASSERT_TRUE(std::holds_alternative<Program>(parsed));
  Program p = std::get<Program>(std::move(parsed));
  p.profile = std::string(row.version) + "-fixed";
  p.defects = {row.defect};
  MinimizeOptions mo;
  mo.seconds = 1e9;             // never the limit: the execution budget decides
  mo.max_executions = 12000;
  mo.search_budget = 6000;
  const MinimizeResult r = minimize(p, Schedule{}, "", mo);
  ASSERT_TRUE(r.ok) << row.defect << ": " << r.error;
  // The finding is the defect's: its trigger canary fired in the minimal program's run...
  EXPECT_NE(std::find(r.finding.triggered_defects.begin(), r.finding.triggered_defects.end(),
                      std::string(row.defect)),
            r.finding.triggered_defects.end())
      << r.finding.signature();
  // ...the minimal program replays to the same signature...
  std::string divergence;
  const ExecResult again = replay_schedule(r.program, r.schedule, ExecOptions{}, &divergence);
  ASSERT_TRUE(again.found()) << print_program(r.program);
  EXPECT_EQ(again.findings[0].signature(), r.finding.signature());
  // ...and is no longer than the shortest known trigger.
  EXPECT_LE(r.ops_after, row.trigger_ops)
      << row.defect << " (" << row.source << ")\n" << print_program(r.program);
  RecordProperty("ops_after", static_cast<int>(r.ops_after));
  std::printf("[minimize] %-42s %s ops %zu -> %zu (trigger %zu), preemptions %zu -> %zu, %llu executions\n",
              row.defect, row.version, r.ops_before, r.ops_after, row.trigger_ops,
              r.preemptions_before, r.preemptions_after,
              static_cast<unsigned long long>(r.executions));
}

INSTANTIATE_TEST_SUITE_P(Defects, MinimizeDefect, ::testing::ValuesIn(kRows),
                         [](const auto& info) { return std::string(info.param.defect); });

// Local minima of the minimiser before it had whole-thread reductions, op-pair removal and an
// escalating schedule search: what it made of libFuzzer crash files (bench/minimize_crash_files,
// first run). No single-op removal keeps the signature under the replayed, sequential or 48
// seeded schedules; each needs two ops removed together, a helper inlined into its starter
// (with a swap back to the interpreter it ran in), or a longer schedule search.
struct Stuck {
  const char* name;
  const char* text;
  size_t trigger_ops;  // cpython-notes §3, as in kRows
};
const Stuck kStuck[] = {
    // The crash file had `start T1/T3 daemon`. With threading's start-wait an empty daemon
    // holds the GIL from its `_started.set()` to its end, so it can never be left stale by
    // finalize; `_thread.start_new_thread` threads are daemonic too (never joined) and keep
    // the crash file's shape and schedule.
    {"reinit_with_stale_daemons_8_ops", R"(interpfuzz-program 1
profile 3.10-fixed
defect reinit_with_stale_daemons
schedule IFZS1:0x3.1.0.1.0x62.1x5

thread T0:
  init
  start T1 raw
  start T3 raw
  finalize
  reinit
  new_interp
  start T2 threading
  end_interp

thread T1:

thread T2:

thread T3:
)", 5},
    // The crash file's program; its schedule re-derived (PCT) for threading's start-wait:
    // T1 forks, following the child, while T2 holds HEAD_LOCK.
    {"bpo30395_6_ops", R"(interpfuzz-program 1
profile 3.7-fixed
defect bpo30395_headmutex_not_reinit
schedule IFZS1:1x20.0x14.1x2.2x5.1x9

thread T0:
  init
  start T1 threading
  finalize

thread T1:
  start T2 daemon
  fork fork follow=child child=T1

thread T2:
  hold_lock HEAD 1
)", 4},
    {"bpo39958_5_ops", R"(interpfuzz-program 1
profile 3.10-fixed
defect bpo39958_headlock_reentry
schedule IFZS1:0x11

thread T0:
  init
  start T1 raw
  new_interp
  join T1

thread T1:
  fork fork follow=child child=T2

thread T2:
)", 4},
};

class MinimizeStuck : public ::testing::TestWithParam<Stuck> {};

TEST_P(MinimizeStuck, LeavesTheOldLocalMinimumForTheShortestTrigger) {
  const Stuck& row = GetParam();
  auto parsed = parse_program(row.text, row.name);
  ASSERT_TRUE(std::holds_alternative<Program>(parsed));
  const Program p = std::get<Program>(std::move(parsed));
  std::string err;
  const Schedule s = *Schedule::parse(p.schedule, &err);
  std::string divergence;
  const ExecResult before = replay_schedule(p, s, ExecOptions{}, &divergence);
  ASSERT_TRUE(before.found());
  const std::string signature = before.findings[0].signature();
  MinimizeOptions mo;
  mo.seconds = 1e9;  // the execution budget decides
  mo.max_executions = 60000;
  const MinimizeResult r = minimize(p, s, signature, mo);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.finding.signature(), signature);
  EXPECT_FALSE(r.finding.triggered_defects.empty()) << "the defect's canary fired";
  const ExecResult again = replay_schedule(r.program, r.schedule, ExecOptions{}, &divergence);
  ASSERT_TRUE(again.found()) << print_program(r.program);
  EXPECT_EQ(again.findings[0].signature(), signature);
  EXPECT_LT(r.ops_after, p.op_count());
  EXPECT_LE(r.ops_after, row.trigger_ops) << print_program(r.program);
  std::printf("[stuck] %-34s ops %zu -> %zu (trigger %zu), %llu executions\n", row.name,
              r.ops_before, r.ops_after, row.trigger_ops,
              static_cast<unsigned long long>(r.executions));
}

INSTANTIATE_TEST_SUITE_P(OldMinima, MinimizeStuck, ::testing::ValuesIn(kStuck),
                         [](const auto& info) { return std::string(info.param.name); });

// Follows a recorded schedule and writes down, for each choice, the byte an input-driven
// strategy needs to make the same choice (its index among the runnable threads): turns
// (program, schedule) into the bytes libFuzzer would have written as the crash file.
class ScheduleToBytes final : public platform::Chooser {
 public:
  explicit ScheduleToBytes(const Schedule& s) : replay_(s) { replay_.begin_execution(); }
  size_t pick(std::span<const platform::ThreadId> runnable, platform::ThreadId current,
              const platform::PointInfo& where) override {
    const size_t i = replay_.pick(runnable, current, where) % runnable.size();
    bytes.push_back(static_cast<uint8_t>(i));
    return i;
  }
  std::vector<uint8_t> bytes;

 private:
  ReplayStrategy replay_;
};

// A libFuzzer crash file of fuzz_lifecycle for `row`, made deterministically: the row's seed
// program with a schedule under which it hits the defect, encoded with the binary encoder.
std::vector<uint8_t> crash_file_for(const Row& row, std::string* signature) {
  auto parsed = read_program_file(std::string(IFZ_SOURCE_DIR "/corpus/seeds/") + row.seed + ".ifz");
  Program p = std::get<Program>(std::move(parsed));
  p.profile = std::string(row.version) + "-fixed";
  p.defects = {row.defect};
  p.schedule.clear();
  Schedule s;
  Finding f;
  uint64_t execs = 0;
  if (!find_schedule(p, "", 6000, 50'000, &s, &f, &execs)) return {};
  *signature = f.signature();
  ScheduleToBytes to_bytes(s);
  ExecOptions eo;
  eo.trace = false;
  eo.chooser = &to_bytes;
  execute(p, eo);
  // The crash file's own header bytes are whatever the fuzzer had: the fuzz target ignores
  // the defect bits and the profile is pinned by the environment (INTERPFUZZ_PROFILE).
  p.defects.clear();
  return encode_program(p, to_bytes.bytes);
}

class MinimizeCrashFile : public ::testing::TestWithParam<Row> {};

// `interpfuzz minimize CRASH-FILE` (harness/cli/minimize_cmd.cc) is exactly this path: the
// fuzz target's decoding (fuzzers/fuzz_input.h), then the minimiser with the target's finding.
TEST_P(MinimizeCrashFile, DecodesAsTheFuzzTargetAndKeepsTheSignature) {
  const Row& row = GetParam();
  std::string expected;
  const std::vector<uint8_t> bytes = crash_file_for(row, &expected);
  ASSERT_FALSE(bytes.empty()) << row.defect << ": no schedule found for the seed";
  std::string err;
  const auto d = fuzz::decode_options_for(*fuzz::find_target("fuzz_lifecycle"),
                                          std::string(row.version) + "-fixed", {row.defect}, &err);
  ASSERT_TRUE(d.has_value()) << err;
  EXPECT_TRUE(d->fixed_profiles_only);
  const fuzz::ReplayedInput in = fuzz::replay_fuzzer_input(bytes, *d);
  ASSERT_TRUE(in.result.found()) << row.defect << "\n" << print_program(in.program);
  EXPECT_EQ(in.result.findings[0].signature(), expected);
  // The recorded schedule replays the fuzz target's execution exactly.
  std::string divergence;
  const ExecResult again = replay_schedule(in.program, in.schedule, ExecOptions{}, &divergence);
  EXPECT_EQ(divergence, "");
  ASSERT_TRUE(again.found());
  EXPECT_EQ(again.findings[0].signature(), expected);

  MinimizeOptions mo;
  mo.seconds = 1e9;
  mo.max_executions = 12000;
  const MinimizeResult r = minimize(in.program, in.schedule, expected, mo);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_FALSE(r.schedule_searched) << "the crash file's own schedule reproduces it";
  EXPECT_EQ(r.finding.signature(), expected);
  const ExecResult minimal = replay_schedule(r.program, r.schedule, ExecOptions{}, &divergence);
  ASSERT_TRUE(minimal.found()) << print_program(r.program);
  EXPECT_EQ(minimal.findings[0].signature(), expected);
  EXPECT_LE(r.ops_after, row.trigger_ops) << print_program(r.program);
}

INSTANTIATE_TEST_SUITE_P(Defects, MinimizeCrashFile, ::testing::ValuesIn(kRows),
                         [](const auto& info) { return std::string(info.param.defect); });

TEST(MinimizeCrashFile, TextIsTheVersionedHeaderAndAnythingElseIsRaw) {
  auto bytes = [](std::string_view s) {
    return std::vector<uint8_t>(s.begin(), s.end());
  };
  EXPECT_TRUE(fuzz::looks_like_text_program("x.ifz", bytes("garbage")));
  EXPECT_TRUE(fuzz::looks_like_text_program("crash-1", bytes("interpfuzz-program 1\n")));
  EXPECT_TRUE(fuzz::looks_like_text_program("crash-1", bytes("# c\n\n  # d\r\n interpfuzz-program 2")));
  EXPECT_FALSE(fuzz::looks_like_text_program("crash-1", bytes("")));
  EXPECT_FALSE(fuzz::looks_like_text_program("crash-1", bytes("# only a comment\n")));
  EXPECT_FALSE(fuzz::looks_like_text_program("crash-1", bytes("#\x01\x02\x03interpfuzz-program 1")));
  EXPECT_FALSE(fuzz::looks_like_text_program("crash-1", bytes("interpfuzz-programX 1")));
  // A fuzzer input that starts with the '#' byte (profile selector 35) is raw.
  const std::vector<uint8_t> raw = {'#', 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0x10, 0, 0, 0, 0x11, 0, 0};
  EXPECT_FALSE(fuzz::looks_like_text_program("crash-2", raw));
}

TEST(Minimize, EveryDefectHasARow) {
  for (const rt::DefectInfo& d : rt::all_defects()) {
    bool found = false;
    for (const Row& r : kRows) found |= d.name == std::string(r.defect);
    for (const char* n : kNoFindingAlone) found |= d.name == std::string(n);
    EXPECT_TRUE(found) << d.name;
  }
}

TEST(Minimize, ASchedulelessProgramWithoutAnyFindingIsReportedNotMinimised) {
  auto parsed = read_program_file(IFZ_SOURCE_DIR "/corpus/seeds/threads_join_at_end_interp.ifz");
  Program p = std::get<Program>(std::move(parsed));
  MinimizeOptions mo;
  mo.seconds = 1e9;
  mo.search_budget = 50;
  const MinimizeResult r = minimize(p, Schedule{}, "", mo);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "the program yields no finding under any schedule tried");
}

}  // namespace
}  // namespace ifz::harness
