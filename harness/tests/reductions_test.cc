// SPDX-License-Identifier: Apache-2.0
// reductions_test.cc — every structural reduction (reductions.h) keeps generated programs
// valid and smaller, and inline_thread keeps a fork (its child script follows it).
#include "harness/program/reductions.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "harness/program/text_format.h"
#include "harness/program/validate.h"
#include "harness/tests/program_gen.h"
#include "harness/tests/rc_property.h"

namespace ifz::harness {
namespace {

void assert_valid(const Program& q) {
  const std::optional<std::string> invalid = validate_program(q);
  RC_ASSERT(!invalid);
}

TEST(Reductions, EveryReductionKeepsGeneratedProgramsValid) {
  testing::check_property("drop/inline/compact keep programs valid and smaller", [] {
    const Program p = *gen_program();
    for (int k = static_cast<int>(p.threads.size()) - 1; k >= 1; --k) {
      const Program dropped = drop_thread(p, k);
      assert_valid(dropped);
      RC_ASSERT(dropped.threads.size() == p.threads.size() - 1);
      RC_ASSERT(dropped.op_count() <= p.op_count());
      if (const std::optional<Program> inlined = inline_thread(p, k)) {
        assert_valid(*inlined);
        RC_ASSERT(inlined->threads.size() == p.threads.size() - 1);
        RC_ASSERT(inlined->op_count() <= p.op_count());
      }
    }
    const Program compact = compact_threads(p);
    assert_valid(compact);
    RC_ASSERT(compact.op_count() == p.op_count());
  });
}

Program parse_or_fail(const char* text) {
  auto r = parse_program(text);
  if (auto* e = std::get_if<ParseError>(&r)) ADD_FAILURE() << e->message;
  return std::holds_alternative<Program>(r) ? std::get<Program>(r) : Program{};
}

TEST(Reductions, InliningAForkChildKeepsTheForkAndFollowsItWithTheChildScript) {
  const Program p = parse_or_fail(
      "interpfuzz-program 1\nprofile 3.12\n\n"
      "thread T0:\n  init\n  fork fork follow=child child=T1\n  finalize\n\n"
      "thread T1:\n  new_interp\n  end_interp\n");
  const std::optional<Program> q = inline_thread(p, 1);
  ASSERT_TRUE(q.has_value());
  EXPECT_FALSE(validate_program(*q).has_value());
  EXPECT_EQ(print_program(*q),
            print_program(parse_or_fail("interpfuzz-program 1\nprofile 3.12\n\n"
                                        "thread T0:\n  init\n  fork fork follow=child\n"
                                        "  new_interp\n  end_interp\n  finalize\n")));
}

TEST(Reductions, InliningAStartReplacesTheStart) {
  const Program p = parse_or_fail(
      "interpfuzz-program 1\nprofile 3.12\n\n"
      "thread T0:\n  init\n  start T1 threading\n  finalize\n\n"
      "thread T1:\n  run_bytecode 2\n");
  const std::optional<Program> q = inline_thread(p, 1);
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(print_program(*q),
            print_program(parse_or_fail("interpfuzz-program 1\nprofile 3.12\n\n"
                                        "thread T0:\n  init\n  run_bytecode 2\n  finalize\n")));
}

}  // namespace
}  // namespace ifz::harness
