// SPDX-License-Identifier: Apache-2.0
// text_format_test.cc — the `.ifz` text format: round-trip and canonical-printing properties,
// a table of malformed files with their exact diagnostics, layout tolerance (comments, blank
// lines, CRLF), hostile bytes, file reading, and the documentation's examples.
#include "harness/program/text_format.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "harness/program/validate.h"
#include "harness/tests/program_gen.h"
#include "harness/tests/rc_property.h"

namespace ifz::harness {
namespace {

// RapidCheck reads RC_PARAMS once, on first use: pin the seed so that the test is deterministic
// (RC_PARAMS set by hand still wins).
[[maybe_unused]] const bool kSeedPinned =
    ::setenv("RC_PARAMS", testing::kDefaultRcParams, /*overwrite=*/0) == 0;

Program parse_ok(std::string_view text) {
  auto r = parse_program(text, "t.ifz");
  if (const ParseError* e = std::get_if<ParseError>(&r)) {
    ADD_FAILURE() << "unexpected parse error: " << e->to_string() << "\n--- input:\n" << text;
    return Program{};
  }
  return std::get<Program>(r);
}

std::string parse_error(std::string_view text) {
  auto r = parse_program(text, "t.ifz");
  if (const ParseError* e = std::get_if<ParseError>(&r)) return e->to_string();
  return "(parsed)";
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string op_names() {
  std::vector<std::string> names;
  for (const OpInfo& o : all_ops()) names.emplace_back(o.name);
  return join(names);
}

// Rewrites canonical text into an equivalent messy one: comments after ops and on their own
// lines, blank lines, tabs and extra spaces, CRLF, and the defect lines in reverse order.
std::string messy(const std::string& canonical) {
  std::istringstream in(canonical);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::vector<std::string> defects;
  std::string out = "# leading comment\r\n\r\n";
  for (const std::string& line : lines) {
    if (line.starts_with("defect ")) {
      defects.push_back(line);
      continue;
    }
    if (line.starts_with("thread ")) {
      for (auto it = defects.rbegin(); it != defects.rend(); ++it) out += "\t" + *it + "  \r\n";
      defects.clear();
    }
    if (line.starts_with("  ")) {
      out += "\t " + line.substr(2) + "\t# why this op\r\n   # full-line comment\n";
    } else {
      out += line + " \r\n\n";
    }
  }
  return out + "# trailing comment without newline";
}

// ---- properties -------------------------------------------------------------------------------

RC_GTEST_PROP(TextFormat, PrintThenParseIsIdentity, ()) {
  const Program p = *gen_program();
  RC_ASSERT(!validate_program(p));
  auto r = parse_program(print_program(p));
  RC_ASSERT(std::holds_alternative<Program>(r));
  RC_ASSERT(std::get<Program>(r) == p);
}

RC_GTEST_PROP(TextFormat, PrintingIsCanonical, ()) {
  const Program p = *gen_program();
  const std::string text = print_program(p);
  auto r = parse_program(messy(text));
  RC_ASSERT(std::holds_alternative<Program>(r));
  RC_ASSERT(print_program(std::get<Program>(r)) == text);
}

// Text built from format words and noise: what a parser meets when a file is half right.
rc::Gen<std::string> gen_soupy_text() {
  const std::vector<std::string> words = {"interpfuzz-program",
                                          "1",
                                          "2",
                                          "profile",
                                          "3.9",
                                          "3.12-fixed",
                                          "defect",
                                          "bpo39958_headlock_reentry",
                                          "schedule",
                                          "IFZS1:0x3",
                                          "thread",
                                          "T0:",
                                          "T1:",
                                          "T2:",
                                          "init",
                                          "start",
                                          "T1",
                                          "T2",
                                          "T7",
                                          "T9",
                                          "daemon",
                                          "swap",
                                          "I0",
                                          "I15",
                                          "I16",
                                          "join",
                                          "fork",
                                          "preexec",
                                          "follow=child",
                                          "child=T1",
                                          "child=T0",
                                          "add_pending",
                                          "touch",
                                          "to",
                                          "hold_lock",
                                          "HEAD",
                                          "16",
                                          "17",
                                          "0",
                                          "exit",
                                          "new_interp",
                                          "own_gil",
                                          "isolated",
                                          "#",
                                          "\n",
                                          "\n",
                                          "\n",
                                          "\r\n",
                                          " ",
                                          "\t",
                                          std::string(1, '\0'),
                                          "\xff",
                                          "::"};
  return rc::gen::map(rc::gen::container<std::vector<std::string>>(rc::gen::elementOf(words)),
                      [](const std::vector<std::string>& parts) {
                        std::string out;
                        for (const std::string& s : parts) out += s + (s == "\n" ? "" : " ");
                        return out;
                      });
}

// A valid program's text with a few lines deleted, duplicated or overwritten by soup: near
// misses, about half of which still parse.
rc::Gen<std::string> gen_near_miss_text() {
  return rc::gen::exec([] {
    std::istringstream in(print_program(*gen_program()));
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    const int edits = *rc::gen::inRange(0, 3);
    for (int i = 0; i < edits && !lines.empty(); ++i) {
      const size_t at = *rc::gen::inRange<size_t>(0, lines.size());
      switch (*rc::gen::inRange(0, 3)) {
        case 0: lines.erase(lines.begin() + at); break;
        case 1: lines.insert(lines.begin() + at, lines[at]); break;
        default: lines[at] = *gen_soupy_text(); break;
      }
    }
    std::string out;
    for (const std::string& line : lines) out += line + "\n";
    return out;
  });
}

RC_GTEST_PROP(TextFormat, ParsingAnyTextIsTotalAndCanonical, ()) {
  const std::string text =
      *rc::gen::oneOf(rc::gen::arbitrary<std::string>(), gen_soupy_text(), gen_near_miss_text());
  auto r = parse_program(text);
  RC_CLASSIFY(std::holds_alternative<Program>(r), "parsed");
  if (const ParseError* e = std::get_if<ParseError>(&r)) {
    RC_ASSERT(e->line >= 1);
    RC_ASSERT(e->col >= 1);
    RC_ASSERT(e->to_string().find('\n') == std::string::npos);
    return;
  }
  const Program& p = std::get<Program>(r);
  RC_ASSERT(!validate_program(p));
  const std::string once = print_program(p);
  RC_ASSERT(print_program(std::get<Program>(parse_program(once))) == once);
}

// ---- a known program, printed
// --------------------------------------------------------------------

constexpr std::string_view kCanonical =
    "interpfuzz-program 1\n"
    "profile 3.9\n"
    "defect bpo39958_headlock_reentry\n"
    "defect gh104812_lost_subinterp_pending\n"
    "schedule IFZS1:0x3.1.0x2\n"
    "\n"
    "thread T0:\n"
    "  init\n"
    "  new_interp isolated own_gil\n"
    "  new_interp\n"
    "  start T1 daemon\n"
    "  swap I0\n"
    "  run_bytecode 3\n"
    "  add_pending touch to I1\n"
    "  add_pending noop\n"
    "  fork preexec follow=child child=T2\n"
    "  fork fork follow=parent\n"
    "  hold_lock HEAD 2\n"
    "  join T1\n"
    "  atexit T3\n"
    "  exit 0\n"
    "\n"
    "thread T1:\n"
    "\n"
    "thread T2:\n"
    "  yield\n"
    "\n"
    "thread T3:\n"
    "  finalize\n";

TEST(TextFormat, ParsesAndReprintsTheBriefExample) {
  const Program p = parse_ok(kCanonical);
  ASSERT_EQ(p.threads.size(), 4u);
  EXPECT_EQ(p.profile, "3.9");
  EXPECT_EQ(p.defects.size(), 2u);
  EXPECT_EQ(p.schedule, "IFZS1:0x3.1.0x2");
  const Op& fork = p.threads[0].ops[8];
  EXPECT_EQ(fork.code, OpCode::kFork);
  EXPECT_EQ(fork.variant, static_cast<uint8_t>(ForkMode::kPreexec));
  EXPECT_TRUE(fork.follow_child);
  EXPECT_EQ(fork.thread, 2);
  EXPECT_EQ(p.threads[0].ops[6].interp, 1);
  EXPECT_EQ(p.threads[0].ops[7].interp, -1);
  EXPECT_EQ(print_program(p), kCanonical);
}

TEST(TextFormat, CommentsAndBlankLinesAnywhere) {
  const std::string text =
      "\n# header comment\n\n  interpfuzz-program 1   # version\n# between\n\n"
      "profile 3.12   # the profile\n\n# before a section\nthread T0:   # main\n\n"
      "  # inside a section\n  init#no space before the comment\n\n  exit 3 # bye\n#";
  const Program p = parse_ok(text);
  ASSERT_EQ(p.threads.size(), 1u);
  ASSERT_EQ(p.threads[0].ops.size(), 2u);
  EXPECT_EQ(p.threads[0].ops[1].count, 3);
}

TEST(TextFormat, CrlfLineEndingsAreAccepted) {
  std::string crlf;
  for (char c : kCanonical) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  EXPECT_EQ(print_program(parse_ok(crlf)), kCanonical);
}

TEST(TextFormat, DefectsAreSortedIntoTableOrder) {
  const Program p = parse_ok(
      "interpfuzz-program 1\nprofile 3.9\ndefect gh104812_lost_subinterp_pending\n"
      "defect bpo39958_headlock_reentry\nthread T0:\n");
  ASSERT_EQ(p.defects.size(), 2u);
  EXPECT_EQ(p.defects[0], "bpo39958_headlock_reentry");
}

TEST(TextFormat, PrintOpIsTotal) {
  Op bad = make_op(OpCode::kStart);
  bad.variant = 99;
  EXPECT_EQ(print_op(bad), "start T1 ?");
  bad.code = static_cast<OpCode>(0xEE);
  EXPECT_EQ(print_op(bad), "?op238");
}

// ---- malformed files: exact location and message ----------------------------------------------

struct Malformed {
  std::string text;
  std::string error;
};

const std::string H = "interpfuzz-program 1\nprofile 3.9\n";
const std::string T0 = H + "thread T0:\n";

std::vector<Malformed> malformed_cases() {
  const std::string known_profiles = "(known: " + join(rt::profile_names()) + ")";
  std::vector<std::string> defect_names;
  for (const rt::DefectInfo& d : rt::all_defects()) defect_names.emplace_back(d.name);
  std::string many_ops = T0;
  for (int i = 0; i <= kMaxOpsPerThread; ++i) many_ops += "  yield\n";
  std::string many_threads = H;
  for (int i = 0; i <= kMaxThreads; ++i) many_threads += "thread T" + std::to_string(i) + ":\n";
  return {
      {"", "t.ifz:1:1: error: missing header 'interpfuzz-program 1'"},
      {"# comment\n\n  profile 3.9\n", "t.ifz:3:3: error: missing header 'interpfuzz-program 1'"},
      {std::string("\x01\x02\0\xff", 4), "t.ifz:1:1: error: missing header 'interpfuzz-program 1'"},
      {"interpfuzz-program 2\n",
       "t.ifz:1:20: error: unsupported format version 2 (this build reads version 1)"},
      {"interpfuzz-program\n",
       "t.ifz:1:19: error: expected a format version number after 'interpfuzz-program'"},
      {"interpfuzz-program 1\nprofile 3.99\n",
       "t.ifz:2:9: error: unknown profile '3.99' " + known_profiles},
      {"interpfuzz-program 1\nthread T0:\n",
       "t.ifz:2:1: error: missing 'profile <name>' line before the first thread section"},
      {H + "profile 3.10\n", "t.ifz:3:1: error: duplicate 'profile' line (the first is on line 2)"},
      {H + "defect nope\n",
       "t.ifz:3:8: error: unknown defect 'nope' (known: " + join(defect_names) + ")"},
      {H + "defect gh96387_stale_drop_request\ndefect gh96387_stale_drop_request\n",
       "t.ifz:4:8: error: defect 'gh96387_stale_drop_request' is listed twice"},
      {H + "schedule a b\n",
       "t.ifz:3:12: error: unexpected 'b' (a schedule is one token, without spaces)"},
      {H, "t.ifz:2:1: error: expected a thread section ('thread T0:')"},
      {H + "init\n",
       "t.ifz:3:1: error: op 'init' outside a thread section (expected 'thread T0:' before it)"},
      {H + "thread T1:\n",
       "t.ifz:3:8: error: expected 'thread T0:' (sections are numbered in order), got 'T1:'"},
      {many_threads, "t.ifz:11:1: error: too many thread sections (at most 8: T0..T7)"},
      {T0 + "profile 3.9\n",
       "t.ifz:4:1: error: 'profile' must come before the first thread section"},
      {T0 + "  fnord\n", "t.ifz:4:3: error: unknown op 'fnord' (known: " + op_names() + ")"},
      {many_ops, "t.ifz:68:3: error: thread T0 has more than 64 ops (kMaxOpsPerThread)"},
      {T0 + "  init now\n", "t.ifz:4:8: error: unexpected 'now' (usage: init)"},
      {T0 + "  swap\n", "t.ifz:4:7: error: expected an interpreter reference like I1"},
      {T0 + "  swap X1\n", "t.ifz:4:8: error: expected an interpreter reference like I1, got 'X1'"},
      {T0 + "  swap I16\n", "t.ifz:4:8: error: interpreter I16 out of range (I0..I15)"},
      {T0 + "  start T3 daemon\n\nthread T1:\n",
       "t.ifz:4:9: error: thread T3 is referenced but the program has only 2 threads"},
      {T0 + "  atexit T1\n",
       "t.ifz:4:10: error: thread T1 is referenced but the program has only 1 thread"},
      {T0 + "  start T0 daemon\n", "t.ifz:4:9: error: 'start' cannot name T0, the main thread"},
      {T0 + "  join T9\n", "t.ifz:4:8: error: thread T9 out of range (T0..T7)"},
      {T0 + "  start T1 sometimes\n",
       "t.ifz:4:12: error: unknown start kind 'sometimes' (known: threading, daemon, raw, c)"},
      {T0 + "  run_bytecode 17\n", "t.ifz:4:16: error: count 17 out of range (1..16)"},
      {T0 + "  run_bytecode 0\n", "t.ifz:4:16: error: count 0 out of range (1..16)"},
      {T0 + "  signal -1\n", "t.ifz:4:10: error: expected a count N in 1..16, got '-1'"},
      {T0 + "  exit\n", "t.ifz:4:7: error: expected a count N in 0..16"},
      {T0 + "  add_pending bogus\n",
       "t.ifz:4:15: error: unknown pending call kind 'bogus' (known: noop, touch, rearm, fail, "
       "slow, adds, forever)"},
      {T0 + "  add_pending touch to\n",
       "t.ifz:4:23: error: expected an interpreter reference like I1"},
      {T0 + "  add_pending touch I1\n",
       "t.ifz:4:21: error: expected 'to I<n>' or the end of the line, got 'I1'"},
      {T0 + "  new_interp own_gil isolated\n",
       "t.ifz:4:22: error: new_interp flags go at most once each, in the order 'isolated "
       "own_gil'"},
      {T0 + "  fork fork\n", "t.ifz:4:12: error: expected follow=parent or follow=child"},
      {T0 + "  fork exec follow=child child=T0\n",
       "t.ifz:4:32: error: 'fork' cannot name T0, the main thread"},
      {T0 + "  hold_lock GIL 2\n",
       "t.ifz:4:13: error: unknown runtime lock 'GIL' (known: HEAD, XID, UNICODE_IDS, IMPORT)"},
      {T0 + "  join T1 T2\n", "t.ifz:4:11: error: unexpected 'T2' (usage: join T<k>)"},
      {T0 + "  fnord\xff\x01\n",
       "t.ifz:4:3: error: unknown op 'fnord\\xff\\x01' (known: " + op_names() + ")"},
  };
}

TEST(TextFormat, MalformedFilesCiteLineColumnAndWhatWasExpected) {
  const std::vector<Malformed> cases = malformed_cases();
  ASSERT_GE(cases.size(), 15u);
  for (const Malformed& c : cases) EXPECT_EQ(parse_error(c.text), c.error) << "input:\n" << c.text;
}

// ---- hostile input ------------------------------------------------------------------------------

TEST(TextFormat, HugeLinesAndNulBytesAreErrorsNotCrashes) {
  const std::string huge = T0 + "  run_bytecode " + std::string(1 << 20, '9') + "\n";
  EXPECT_EQ(parse_error(huge),
            "t.ifz:4:16: error: count " + std::string(40, '9') + "... out of range (1..16)");
  const std::string nul = T0 + "  init" + std::string(1, '\0') + "\n";
  EXPECT_EQ(parse_error(nul),
            "t.ifz:4:3: error: unknown op 'init\\x00' (known: " + op_names() + ")");
  const std::string spaces = T0 + std::string(1 << 20, ' ') + "x\n";
  EXPECT_EQ(parse_error(spaces).substr(0, 18), "t.ifz:4:1048577: e");
}

// ---- files --------------------------------------------------------------------------------------

TEST(TextFormat, ReadProgramFileReportsIoErrorsWithoutALine) {
  auto r = read_program_file("/nonexistent/dir/x.ifz");
  ASSERT_TRUE(std::holds_alternative<ParseError>(r));
  const ParseError& e = std::get<ParseError>(r);
  EXPECT_EQ(e.line, 0);
  EXPECT_EQ(e.to_string(), "/nonexistent/dir/x.ifz: error: cannot open: No such file or directory");
  auto dir = read_program_file("/");
  ASSERT_TRUE(std::holds_alternative<ParseError>(dir));
  EXPECT_EQ(std::get<ParseError>(dir).to_string(), "/: error: cannot read: Is a directory");
}

TEST(TextFormat, ReadProgramFileParsesWithThePathInErrors) {
  const std::string path = ::testing::TempDir() + "text_format_test.ifz";
  std::ofstream(path) << H << "thread T0:\n  swap\n";
  auto r = read_program_file(path);
  ASSERT_TRUE(std::holds_alternative<ParseError>(r));
  EXPECT_EQ(std::get<ParseError>(r).to_string(),
            path + ":4:7: error: expected an interpreter reference like I1");
  std::remove(path.c_str());
}

// ---- docs/program-format.md ---------------------------------------------------------------------

// The ```ifz blocks of the format's documentation.
std::vector<std::string> doc_examples() {
  std::ifstream in(IFZ_PROGRAM_FORMAT_DOC);
  std::vector<std::string> out;
  std::string line;
  std::string* block = nullptr;
  while (std::getline(in, line)) {
    if (block == nullptr && line == "```ifz") {
      block = &out.emplace_back();
    } else if (block != nullptr && line == "```") {
      block = nullptr;
    } else if (block != nullptr) {
      *block += line + "\n";
    }
  }
  return out;
}

// `text` without its comments: comment-only lines dropped, trailing comments and the spaces
// before them cut.
std::string without_comments(const std::string& text) {
  std::istringstream in(text);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    const size_t hash = line.find('#');
    if (hash == std::string::npos) {
      out += line + "\n";
      continue;
    }
    line.erase(hash);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    if (line.find_first_not_of(' ') != std::string::npos) out += line + "\n";
  }
  return out;
}

TEST(TextFormat, EveryDocumentedExampleParsesIsCanonicalAndEveryOpHasOne) {
  const std::vector<std::string> examples = doc_examples();
  ASSERT_FALSE(examples.empty()) << "no ```ifz block in " << IFZ_PROGRAM_FORMAT_DOC;
  std::vector<bool> used(256, false);
  for (const std::string& text : examples) {
    const Program p = parse_ok(text);
    if (p.threads.empty()) continue;  // parse_ok reported it
    EXPECT_EQ(print_program(p), without_comments(text))
        << "documented example is not in canonical form (comments aside)";
    for (const Script& s : p.threads) {
      for (const Op& op : s.ops) used[static_cast<uint8_t>(op.code)] = true;
    }
  }
  for (const OpInfo& o : all_ops()) {
    EXPECT_TRUE(used[static_cast<uint8_t>(o.code)]) << "no documented example uses " << o.name;
  }
}

}  // namespace
}  // namespace ifz::harness
