// SPDX-License-Identifier: Apache-2.0
// canary_site_test.cc — each defect's canary fires only at its declared site (defects.def
// `site`, issue 17). For every defect: enabled alone on its benchmark profile (a -fixed
// profile of a version it has), every seed and regression program runs under PCT (depths 2
// and 3, a few seeds) and, for a regression, also under its recorded schedule. Runtime::trigger
// records the function each trigger fired in (its __PRETTY_FUNCTION__); every recorded
// function must be the declared site. A defect that no program triggers is listed, and the
// defects a release profile has must all be triggered by some program.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <set>

#include "harness/exec/checked_run.h"
#include "harness/program/text_format.h"
#include "harness/schedule/pct_strategy.h"
#include "harness/tests/ifz_files.h"
#include "runtime/defects.h"
#include "runtime/profile.h"

namespace ifz::harness {
namespace {

using ifz::harness::testing::ifz_files;

struct Loaded {
  std::string path;
  Program program;
};

std::vector<Loaded> trigger_programs() {
  std::vector<Loaded> out;
  for (const char* dir : {IFZ_SOURCE_DIR "/corpus/seeds", IFZ_SOURCE_DIR "/corpus/regressions"}) {
    for (const std::string& path : ifz_files(dir)) {
      auto parsed = read_program_file(path);
      if (auto* err = std::get_if<ParseError>(&parsed)) {
        ADD_FAILURE() << err->to_string();
        continue;
      }
      out.push_back({path, std::get<Program>(std::move(parsed))});
    }
  }
  return out;
}

// PCT seeds per depth and program: enough for every release defect to fire in some program
// (the rarest, own_gil_freed_with_waiters, needs a thread inside drop_gil when the GIL goes).
constexpr uint64_t kSeeds = 10;

TEST(CanarySites, EachDefectTriggersOnlyAtItsDeclaredSite) {
  const std::vector<Loaded> programs = trigger_programs();
  ASSERT_GE(programs.size(), 40u);
  std::vector<std::string> never_triggered;
  for (const rt::DefectInfo& d : rt::all_defects()) {
    ASSERT_NE(rt::find_profile(d.bench_profile), nullptr) << d.name << ": " << d.bench_profile;
    uint64_t triggers = 0;
    std::set<std::string> sites;  // the declared site: one member, or a few, ", "-separated
    for (std::string_view rest = d.site; !rest.empty();) {
      const size_t comma = rest.find(", ");
      sites.emplace(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 2);
    }
    std::map<std::string, std::string> off_site;  // recorded function → a program that hit it
    auto look = [&](const ExecResult& r, const std::string& where) {
      const size_t i = static_cast<size_t>(d.id);
      triggers += r.canaries.triggered[i];
      EXPECT_EQ(r.canaries.sites_overflow, 0u) << where;
      for (const char* fn : r.canaries.trigger_sites[i]) {
        if (fn != nullptr && !sites.count(rt::canary_site_member(fn))) off_site.emplace(fn, where);
      }
      // A trigger always records its site.
      if (r.canaries.triggered[i] > 0) EXPECT_NE(r.canaries.trigger_sites[i][0], nullptr) << where;
    };
    for (const Loaded& l : programs) {
      Program p = l.program;
      p.profile = d.bench_profile;
      p.defects = {d.name};
      ExecOptions opts;
      for (int depth : {2, 3}) {
        for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
          PctStrategy pct(depth, seed);
          look(run_checked(p, pct, opts).result, l.path + " pct d=" + std::to_string(depth));
        }
      }
      std::string err;
      if (auto schedule = Schedule::parse(p.schedule, &err); schedule && !p.schedule.empty()) {
        look(replay_schedule(p, *schedule, opts, &err), l.path + " recorded schedule");
      }
    }
    for (const auto& [fn, where] : off_site) {
      ADD_FAILURE() << d.name << " (site " << d.site << ") triggered in " << fn << " (" << where
                    << ")";
    }
    std::cout << "[ canary ] " << d.name << " on " << d.bench_profile << ": " << triggers
              << " triggers, site " << d.site << "\n";
    if (triggers == 0) never_triggered.push_back(d.name);
  }
  // Every defect of a release profile has a trigger program in the corpus; injectable-only
  // ones (versions 0) may need a schedule the corpus does not hold.
  for (const std::string& name : never_triggered) {
    std::cout << "[ canary ] never triggered: " << name << "\n";
    EXPECT_EQ(rt::defect_info(*rt::find_defect(name)).versions, 0u)
        << name << ": no seed or regression triggers it";
  }
}

}  // namespace
}  // namespace ifz::harness

namespace ifz::harness {
namespace {

// The defects the -fixed shutdown design used to be branches for (docs/design-notes.md §7, 13)
// have no runtime-level scenario in runtime/tests/defects_test.cc: their trigger programs are
// corpus programs. Each, enabled alone on its benchmark profile, makes a generic oracle report
// a finding in some PCT execution with the defect's canary triggered; the same executions on
// the -fixed twin find nothing.
struct TriggerProgram {
  const char* defect;
  const char* program;  // under corpus/
  int depth;
  uint64_t seeds;
};

const TriggerProgram kTriggerPrograms[] = {
    {"starter_waits_for_exited_thread", "regressions/0018-false-deadlock.ifz", 2, 100},
    {"finalize_ends_claimed_interp", "regressions/0016-false-hang.ifz", 3, 400},
    {"finalize_frees_foreign_tstate", "seeds/finalize_with_subinterp_daemon.ifz", 2, 100},
    {"fork_keeps_vanished_pending_handler", "regressions/0023-lost-pending.ifz", 2, 100},
    {"own_gil_freed_with_waiters", "regressions/0021-false-null-deref.ifz", 2, 100},
    {"fork_orphans_other_interp_threads", "regressions/0019-deadlock.ifz", 2, 100},
};

class DefectTriggerProgram : public ::testing::TestWithParam<TriggerProgram> {};

TEST_P(DefectTriggerProgram, FindsWithTheDefectAndNothingWithout) {
  const TriggerProgram& row = GetParam();
  const auto d = rt::find_defect(row.defect);
  ASSERT_TRUE(d.has_value()) << row.defect;
  auto parsed = read_program_file(std::string(IFZ_SOURCE_DIR "/corpus/") + row.program);
  ASSERT_TRUE(std::holds_alternative<Program>(parsed)) << row.program;
  Program with = std::get<Program>(parsed);
  with.profile = rt::defect_info(*d).bench_profile;
  with.defects = {row.defect};
  Program without = with;
  without.defects.clear();
  int detected = 0, fixed_findings = 0;
  std::string example;
  for (uint64_t seed = 1; seed <= row.seeds; ++seed) {
    ExecOptions opts;
    PctStrategy pct(row.depth, seed);
    const ExecResult r = run_checked(with, pct, opts).result;
    if (r.found() && r.canaries.triggered[static_cast<size_t>(*d)] > 0) {
      if (++detected == 1) example = r.findings[0].signature();
    }
    PctStrategy pct_fixed(row.depth, seed);
    const ExecResult f = run_checked(without, pct_fixed, opts).result;
    if (f.found()) {
      ++fixed_findings;
      ADD_FAILURE() << row.program << " on " << without.profile << ", seed " << seed << ": "
                    << f.findings[0].signature();
    }
  }
  EXPECT_GT(detected, 0) << row.defect << ": no finding with its canary in " << row.seeds
                         << " PCT executions of " << row.program;
  EXPECT_EQ(fixed_findings, 0);
  std::cout << "[ trigger ] " << row.defect << " on " << with.profile << ": " << detected << "/"
            << row.seeds << " PCT(d=" << row.depth << ") executions find it, e.g. " << example
            << "\n";
}

INSTANTIATE_TEST_SUITE_P(ShutdownDesign, DefectTriggerProgram, ::testing::ValuesIn(kTriggerPrograms),
                         [](const ::testing::TestParamInfo<TriggerProgram>& info) {
                           return std::string(info.param.defect);
                         });

}  // namespace
}  // namespace ifz::harness
