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

const outcome::Outcome kOk = of_kind(outcome::Outcome::Kind::kOk);
const outcome::Outcome kSegv = of_kind(outcome::Outcome::Kind::kSignal, 11);

// A judged cell: the model's outcome, the real runs (outcome, count), and the outcome kinds of
// the program's flaky mark for this version (none: not marked).
Cell judged(const outcome::Outcome& model,
            const std::vector<std::pair<outcome::Outcome, int>>& reals,
            std::vector<std::string> marked_kinds = {}) {
  Cell c;
  c.model = model;
  for (const auto& [o, runs] : reals) {
    c.real_counts[o.to_string()] += runs;
    c.real_examples.emplace(o.to_string(), o);
  }
  c.marked_flaky = !marked_kinds.empty();
  c.marked_kinds = std::move(marked_kinds);
  judge(&c);
  return c;
}

// A program file with `text` in the test's temporary folder; its path.
std::string program_file(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(ConformJudge, OneRealOutcomeAgreesOrDisagreesWithTheModel) {
  EXPECT_EQ(judged(kOk, {{kOk, 5}}).verdict, Cell::Verdict::kAgree);
  EXPECT_EQ(judged(kOk, {{kSegv, 5}}).verdict, Cell::Verdict::kDisagree);
}

TEST(ConformJudge, UnmarkedRealRunsThatDifferDisagree) {
  const Cell c = judged(kOk, {{kOk, 3}, {kSegv, 2}});
  EXPECT_EQ(c.verdict, Cell::Verdict::kDisagree);
  EXPECT_NE(c.why.find("not marked flaky"), std::string::npos);
}

TEST(ConformJudge, AMarkedCellPassesWhenTheModelsOutcomeCameUp) {
  EXPECT_EQ(judged(kOk, {{kOk, 1}, {kSegv, 4}}, {"ok", "signal(11)"}).verdict,
            Cell::Verdict::kRealFlaky);
}

TEST(ConformJudge, AMarkedCellToleratesAStreakOfOneMarkedOutcome) {
  // The mark says the real program ends either way; five crashes in a row are consistent
  // with it (thread_from_atexit on the debug build: 9 of 10 runs crash on this machine).
  EXPECT_EQ(judged(kOk, {{kSegv, 5}}, {"ok", "signal(11)"}).verdict, Cell::Verdict::kRealFlaky);
  // An outcome the mark does not list is a disagreement.
  EXPECT_EQ(judged(kOk, {{kSegv, 5}}, {"ok", "signal(6)"}).verdict, Cell::Verdict::kDisagree);
}

TEST(ConformJudge, MarksAreReadPerVersionWithTheirOutcomeKinds) {
  const std::string path = program_file(
      "ifz_conform_marks.ifz",
      "# real 3.11.2-dbg: flaky ok 24/40, signal(11) 16/40\n"
      "# real 3.9: flaky fatal(Fatal Python error: f: a, b) 2/5, hang 3/5\n"
      "interpfuzz-program 1\n");
  const std::vector<FlakyMark> marks = read_flaky_marks(path);
  ASSERT_EQ(marks.size(), 2u);
  EXPECT_EQ(marks[0].version, "3.11.2-dbg");
  EXPECT_EQ(marks[0].kinds, (std::vector<std::string>{"ok", "signal(11)"}));
  EXPECT_TRUE(marks[0].applies_to("3.11.2-dbg"));
  EXPECT_FALSE(marks[0].applies_to("3.11.2"));
  EXPECT_TRUE(marks[1].applies_to("3.9.18"));  // a version prefix
  EXPECT_EQ(marks[1].kinds, (std::vector<std::string>{"fatal(Fatal Python error: f: a, b)", "hang"}));
  std::remove(path.c_str());
}

TEST(ConformJudge, AssertionMarksAreReadPerVersionWithTheirExactText) {
  const std::string path = program_file(
      "ifz_conform_assertions.ifz",
      "# real 3.11.2-dbg: assertion new_threadstate: Assertion `id == 1' failed\n"
      "# real 3.11.2-dbg: flaky ok 1/5, signal(11) 4/5\n"
      "interpfuzz-program 1\n");
  EXPECT_EQ(read_assertion_marks(path, "3.11.2-dbg"),
            (std::vector<std::string>{"new_threadstate: Assertion `id == 1' failed"}));
  EXPECT_TRUE(read_assertion_marks(path, "3.11.2").empty());  // the release build has none
  EXPECT_EQ(read_flaky_marks(path).size(), 1u);                // not a flaky mark
  std::remove(path.c_str());
}

}  // namespace
}  // namespace ifz::harness::conform
