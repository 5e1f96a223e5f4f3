// SPDX-License-Identifier: Apache-2.0
// generators_test.cc — the property machinery's own tests: shaped programs are valid, shrinks
// stay valid and never grow, logged preemptions replay the same execution, and the P2/F0
// trace checks fail on traces that break their contracts.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include "harness/exec/checked_run.h"
#include "harness/program/validate.h"
#include "harness/tests/rc_property.h"
#include "properties/contract_property.h"
#include "properties/property_case.h"

namespace ifz::properties {
namespace {

using harness::testing::check_property;

// Any contract (its shape).
const Contract* all_contracts_gen() {
  std::vector<const Contract*> all;
  for (const Contract& c : all_contracts()) all.push_back(&c);
  return *rc::gen::elementOf(all);
}

size_t ops_and_threads(const harness::Program& p) { return p.op_count() + p.threads.size(); }

TEST(Generators, ShapedProgramsAreValid) {
  check_property("every shaped program of every contract is a valid program", [] {
    const Contract& c = *all_contracts_gen();
    const auto p = *gen_shaped_program(c.shape, "3.12-fixed", {});
    const auto why = harness::validate_program(p);
    RC_ASSERT(!why.has_value());
    RC_ASSERT(!p.threads[0].ops.empty());
    RC_ASSERT(p.threads[0].ops[0].code == harness::OpCode::kInit);
  });
}

TEST(Generators, ShrinksAreValidAndNeverGrow) {
  check_property("every structural shrink is a valid program no larger than the original", [] {
    const Contract& c = *all_contracts_gen();
    const auto p = *gen_shaped_program(c.shape, "3.9-fixed", {}).as("program");
    rc::seq::forEach(rc::seq::take(200, program_shrinks(p)), [&](const harness::Program& q) {
      RC_ASSERT(!harness::validate_program(q).has_value());
      RC_ASSERT(ops_and_threads(q) <= ops_and_threads(p));
      RC_ASSERT(!(q == p));
    });
  });
}

TEST(Generators, LoggedPreemptionsReplayTheSameExecution) {
  check_property("a schedule logged as preemptions replays the same choices", [] {
    const auto pc = *gen_property_case(find_contract("F2")->shape, "3.12-fixed", {},
                                       ParkBias{50, {}});
    std::unique_ptr<harness::Strategy> strategy = make_strategy(pc.spec, 40);
    PreemptionLog log(*strategy);
    harness::ExecOptions opts;
    opts.trace = false;
    const harness::CheckedRun first = harness::run_checked(pc.program, log, opts);
    PreemptionChooser replay(log.preemptions());
    const harness::CheckedRun again = harness::run_checked(pc.program, replay, opts);
    RC_ASSERT(again.schedule == first.schedule);
    RC_ASSERT(again.result.outcome_summary() == first.result.outcome_summary());
  });
}

TEST(Generators, RemovingAThreadIdRenumbersTheSpec) {
  SchedSpec s;
  s.kind = SchedSpec::Kind::kPreempt;
  s.preemptions = {{-1, 1, 3, 1}, {-1, 1, 5, 2}, {4, 1, 0, 3}};
  s.park_thread = 3;
  s.park_from = 4;
  s.park_until = 14;
  const SchedSpec t = remove_thread_id(s, 2);
  ASSERT_EQ(t.preemptions.size(), 2u) << describe(t);
  EXPECT_EQ(t.preemptions[0].thread, 1);
  EXPECT_EQ(t.preemptions[1].thread, 2);  // 3 moved down
  EXPECT_EQ(t.park_thread, 2);
  EXPECT_EQ(remove_thread_id(s, 3).park_thread, -1);  // the parked thread is gone
}

// The trace-based checks, on hand-written traces (the runtime never breaks them on -fixed
// profiles, so without these nothing would show that they can fail).
harness::ExecResult traced(std::vector<std::string> lines) {
  harness::ExecResult r;
  r.trace = std::move(lines);
  return r;
}

TEST(ContractChecks, PendingCapacityFlagsAnAcceptOverCapacityAndAnEarlyRefusal) {
  harness::Program p;
  p.profile = "3.12-fixed";
  std::vector<std::string> full;
  for (int i = 0; i < 31; ++i) full.push_back("   . pending_added I0 #" + std::to_string(i) + " accepted noop");
  std::vector<std::string> over = full;
  over.push_back("   . pending_added I0 #31 accepted noop");
  EXPECT_NE(check_pending_capacity(p, traced(over)), "");
  std::vector<std::string> refused = full;
  refused.push_back("   . pending_added I0 #31 refused noop");
  EXPECT_EQ(check_pending_capacity(p, traced(refused)), "");
  EXPECT_NE(check_pending_capacity(p, traced({"   . pending_added I0 #0 refused noop"})), "");
  p.profile = "3.13-fixed";  // 32 in 3.13's main-thread queue
  EXPECT_EQ(check_pending_capacity(p, traced(over)), "");
}

TEST(ContractChecks, FinalizePhaseOrderFlagsASwapAndAMissingPhase) {
  harness::Program p;
  p.profile = "3.9-fixed";
  std::vector<std::string> ok;
  for (const char* ph : {rt::phase_name(rt::Phase::kFinalizeWaitForThreadShutdown), rt::phase_name(rt::Phase::kFinalizeFinishPendingCalls), rt::phase_name(rt::Phase::kFinalizeAtexit),
                         rt::phase_name(rt::Phase::kFinalizeSubinterpretersEarly),
                         rt::phase_name(rt::Phase::kFinalizeSetFinalizing), rt::phase_name(rt::Phase::kFinalizeDeleteExcept), rt::phase_name(rt::Phase::kFinalizeFlushStdFiles)}) {
    ok.push_back(std::string("   . phase ") + ph);
  }
  EXPECT_EQ(check_finalize_phase_order(p, traced(ok)), "");
  std::vector<std::string> swapped = ok;
  std::swap(swapped[1], swapped[2]);
  EXPECT_NE(check_finalize_phase_order(p, traced(swapped)), "");
  p.profile = "3.8-fixed";  // no early DeleteExcept before 3.9 (bpo-19466)
  EXPECT_NE(check_finalize_phase_order(p, traced(ok)), "");
}

}  // namespace
}  // namespace ifz::properties
