// SPDX-License-Identifier: Apache-2.0
// schedule_test.cc — the IFZS1 schedule codec: examples, malformed input, and its properties.
// Defines GoogleTest cases and the properties "schedule codec round trip" and "parse never
// crashes on arbitrary strings" (deterministic seed, see rc_property.h).
#include "harness/schedule/schedule.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <string>
#include <utility>
#include <vector>

#include "harness/tests/rc_property.h"

namespace ifz::harness {
namespace {

using platform::ThreadId;
using testing::check_property;

Schedule make(std::vector<std::pair<ThreadId, size_t>> runs) {
  Schedule s;
  for (auto [tid, n] : runs) s.picks.insert(s.picks.end(), n, tid);
  return s;
}

// ---- examples -----------------------------------------------------------------------------------

TEST(ScheduleCodec, EmptyScheduleIsJustTheTag) {
  EXPECT_EQ(Schedule{}.to_string(), "IFZS1:");
  auto parsed = Schedule::parse("IFZS1:", nullptr);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_TRUE(parsed->picks.empty());
}

TEST(ScheduleCodec, RunLengthExampleFromTheFormatComment) {
  Schedule s = make({{0, 12}, {1, 1}, {0, 3}, {2, 2}});
  EXPECT_EQ(s.to_string(), "IFZS1:0x12.1.0x3.2x2");
  std::string error;
  auto parsed = Schedule::parse("IFZS1:0x12.1.0x3.2x2", &error);
  ASSERT_TRUE(parsed.has_value()) << error;
  EXPECT_EQ(*parsed, s);
}

TEST(ScheduleCodec, AcceptsNonCanonicalSpellingsAndSurroundingWhitespace) {
  std::string error;
  auto parsed = Schedule::parse(" \tIFZS1:0.0.1x1.007x2\r\n", &error);
  ASSERT_TRUE(parsed.has_value()) << error;
  EXPECT_EQ(parsed->picks, (std::vector<ThreadId>{0, 0, 1, 7, 7}));
  EXPECT_EQ(parsed->to_string(), "IFZS1:0x2.1.7x2");
}

TEST(ScheduleCodec, LargestThreadIdAndLongestScheduleAreAccepted) {
  std::string error;
  auto big = Schedule::parse("IFZS1:2147483647", &error);
  ASSERT_TRUE(big.has_value()) << error;
  EXPECT_EQ(big->picks, (std::vector<ThreadId>{2147483647}));
  std::string longest = "IFZS1:0x" + std::to_string(Schedule::kMaxPicks - 1) + ".1";
  auto parsed = Schedule::parse(longest, &error);
  ASSERT_TRUE(parsed.has_value()) << error;
  EXPECT_EQ(parsed->picks.size(), Schedule::kMaxPicks);
}

TEST(ScheduleCodec, PreemptionsCountsChangesOfPickedThread) {
  EXPECT_EQ(Schedule{}.preemptions(), 0u);
  EXPECT_EQ(make({{3, 5}}).preemptions(), 0u);
  EXPECT_EQ(make({{0, 1}, {1, 1}, {0, 2}, {2, 1}}).preemptions(), 3u);
  EXPECT_EQ(make({{0, 12}, {1, 1}, {0, 3}, {2, 2}}).preemptions(), 3u);
}

// ---- malformed schedules ------------------------------------------------------------------------

struct Malformed {
  const char* input;
  const char* error;  // the exact one-line message
};

TEST(ScheduleCodec, MalformedSchedulesGiveOneLineErrorsWithColumns) {
  const Malformed cases[] = {
      {"", "bad schedule at column 1: a schedule starts with \"IFZS1:\""},
      {"IFZS1", "bad schedule at column 1: a schedule starts with \"IFZS1:\""},
      {"IFZS2:0", "bad schedule at column 1: a schedule starts with \"IFZS1:\""},
      {"ifzs1:0", "bad schedule at column 1: a schedule starts with \"IFZS1:\""},
      {"  0.1", "bad schedule at column 3: a schedule starts with \"IFZS1:\""},
      {"IFZS1:.", "bad schedule at column 7: expected a thread id (decimal digits), got '.'"},
      {"IFZS1:0.", "bad schedule at column 9: expected a thread id, got the end"},
      {"IFZS1:0..1", "bad schedule at column 9: expected a thread id (decimal digits), got '.'"},
      {"IFZS1:x2", "bad schedule at column 7: expected a thread id (decimal digits), got 'x'"},
      {"IFZS1:0x", "bad schedule at column 9: expected a repeat count, got the end"},
      {"IFZS1:0x0", "bad schedule at column 9: a repeat count is at least 1"},
      {"IFZS1:1.0x00", "bad schedule at column 11: a repeat count is at least 1"},
      {"IFZS1:-1", "bad schedule at column 7: expected a thread id (decimal digits), got '-'"},
      {"IFZS1:+1", "bad schedule at column 7: expected a thread id (decimal digits), got '+'"},
      {"IFZS1:0x2x3", "bad schedule at column 10: expected '.' or the end after a token, got 'x'"},
      {"IFZS1:1 2", "bad schedule at column 8: expected '.' or the end after a token, got ' '"},
      {"IFZS1:1,2", "bad schedule at column 8: expected '.' or the end after a token, got ','"},
      {"IFZS1:2147483648", "bad schedule at column 7: a thread id exceeds 2147483647"},
      {"IFZS1:99999999999999999999999", "bad schedule at column 7: a thread id exceeds 2147483647"},
      {"IFZS1:0x4194305", "bad schedule at column 9: a repeat count exceeds 4194304"},
      {"IFZS1:0x4194304.1",
       "bad schedule at column 17: schedule longer than Schedule::kMaxPicks = 4194304 picks"},
      {"IFZS1:0\x01", "bad schedule at column 8: expected '.' or the end after a token, got \\x01"},
      {"IFZS1:\xff", "bad schedule at column 7: expected a thread id (decimal digits), got \\xff"},
      {"IFZS1:1\n2", "bad schedule at column 8: expected '.' or the end after a token, got \\x0a"},
  };
  for (const Malformed& c : cases) {
    std::string error;
    EXPECT_FALSE(Schedule::parse(c.input, &error).has_value()) << c.input;
    EXPECT_EQ(error, c.error) << "input: " << c.input;
    EXPECT_FALSE(Schedule::parse(c.input, nullptr).has_value()) << "without an error sink";
  }
}

// ---- properties ---------------------------------------------------------------------------------

// Schedules with long runs of few threads (what executions record) and arbitrary large ids.
rc::Gen<Schedule> gen_schedule() {
  auto run = rc::gen::pair(
      rc::gen::oneOf(rc::gen::inRange<ThreadId>(0, 4), rc::gen::nonNegative<ThreadId>()),
      rc::gen::oneOf(rc::gen::just<size_t>(1), rc::gen::inRange<size_t>(1, 40)));
  return rc::gen::map(rc::gen::container<std::vector<std::pair<ThreadId, size_t>>>(run), make);
}

TEST(ScheduleProperties, CodecRoundTrip) {
  check_property("schedule codec round trip", [] {
    Schedule s = *gen_schedule();
    std::string text = s.to_string();
    std::string error;
    auto parsed = Schedule::parse(text, &error);
    RC_ASSERT(parsed.has_value());
    RC_ASSERT(*parsed == s);
    RC_ASSERT(parsed->to_string() == text);  // printing is canonical
    RC_ASSERT(parsed->preemptions() == s.preemptions());
  });
}

// Either a schedule that round-trips, or one printable line of error.
void check_parse_outcome(const std::string& input) {
  std::string error;
  auto parsed = Schedule::parse(input, &error);
  if (parsed.has_value()) {
    RC_ASSERT(Schedule::parse(parsed->to_string(), nullptr) == parsed);
    return;
  }
  RC_ASSERT(error.rfind("bad schedule at column ", 0) == 0);
  for (char c : error) RC_ASSERT(c >= 0x20 && c < 0x7f);
}

TEST(ScheduleProperties, ParseNeverCrashesOnArbitraryStrings) {
  check_property("parse never crashes on arbitrary strings", [] {
    check_parse_outcome(*rc::gen::arbitrary<std::string>());
  });
  // Arbitrary strings rarely get past the tag; these explore the token grammar.
  check_property("parse never crashes on strings after the tag", [] {
    auto alphabet = rc::gen::elementOf(std::string("0123456789x. -+\n\xff"));
    check_parse_outcome("IFZS1:" + *rc::gen::container<std::string>(alphabet));
  });
}

}  // namespace
}  // namespace ifz::harness
