// SPDX-License-Identifier: Apache-2.0
// conform_judge_test.cc — how one cell of the conformance table is judged from the model's
// outcome, the real runs and the program's flaky marks (harness/conform/conform.h).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "harness/conform/conform.h"

namespace ifz::harness::conform {
namespace {

outcome::Outcome of_kind(outcome::Outcome::Kind k, int code = 0) {
  outcome::Outcome o;
  o.kind = k;
  o.code = code;
  return o;
}

void add_real(Cell* c, const outcome::Outcome& o, int runs) {
  c->real_counts[o.to_string()] += runs;
  c->real_examples.emplace(o.to_string(), o);
}

const outcome::Outcome kOk = of_kind(outcome::Outcome::Kind::kOk);
const outcome::Outcome kSegv = of_kind(outcome::Outcome::Kind::kSignal, 11);

TEST(ConformJudge, OneRealOutcomeAgreesOrDisagreesWithTheModel) {
  Cell c;
  c.model = kOk;
  add_real(&c, kOk, 5);
  judge(&c);
  EXPECT_EQ(c.verdict, Cell::Verdict::kAgree);
  Cell d;
  d.model = kOk;
  add_real(&d, kSegv, 5);
  judge(&d);
  EXPECT_EQ(d.verdict, Cell::Verdict::kDisagree);
}

TEST(ConformJudge, UnmarkedRealRunsThatDifferDisagree) {
  Cell c;
  c.model = kOk;
  add_real(&c, kOk, 3);
  add_real(&c, kSegv, 2);
  judge(&c);
  EXPECT_EQ(c.verdict, Cell::Verdict::kDisagree);
  EXPECT_NE(c.why.find("not marked flaky"), std::string::npos);
}

TEST(ConformJudge, AMarkedCellPassesWhenTheModelsOutcomeCameUp) {
  Cell c;
  c.model = kOk;
  c.marked_flaky = true;
  c.marked_kinds = {"ok", "signal(11)"};
  add_real(&c, kOk, 1);
  add_real(&c, kSegv, 4);
  judge(&c);
  EXPECT_EQ(c.verdict, Cell::Verdict::kRealFlaky);
}

TEST(ConformJudge, AMarkedCellToleratesAStreakOfOneMarkedOutcome) {
  // The mark says the real program ends either way; five crashes in a row are consistent
  // with it (thread_from_atexit on the debug build: 9 of 10 runs crash on this machine).
  Cell c;
  c.model = kOk;
  c.marked_flaky = true;
  c.marked_kinds = {"ok", "signal(11)"};
  add_real(&c, kSegv, 5);
  judge(&c);
  EXPECT_EQ(c.verdict, Cell::Verdict::kRealFlaky);
  // An outcome the mark does not list is a disagreement.
  Cell d = c;
  d.marked_kinds = {"ok", "signal(6)"};
  judge(&d);
  EXPECT_EQ(d.verdict, Cell::Verdict::kDisagree);
}

TEST(ConformJudge, MarksAreReadPerVersionWithTheirOutcomeKinds) {
  const std::string path = ::testing::TempDir() + "/ifz_conform_marks.ifz";
  {
    std::ofstream out(path);
    out << "# real 3.11.2-dbg: flaky ok 24/40, signal(11) 16/40\n"
        << "# real 3.9: flaky fatal(Fatal Python error: f: a, b) 2/5, hang 3/5\n"
        << "interpfuzz-program 1\n";
  }
  EXPECT_EQ(read_flaky_kinds(path, "3.11.2-dbg"), (std::vector<std::string>{"ok", "signal(11)"}));
  EXPECT_TRUE(read_flaky_kinds(path, "3.11.2").empty());
  EXPECT_EQ(read_flaky_kinds(path, "3.9.18"),
            (std::vector<std::string>{"fatal(Fatal Python error: f: a, b)", "hang"}));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace ifz::harness::conform
