// SPDX-License-Identifier: Apache-2.0
// real_driver_test.cc — the real-CPython driver (harness/real/): its wire format (a program
// and a reply print and parse back to themselves; garbage is an error, never a crash, in the
// C++ reader and in the driver's own C parser), and, on Debian's python3.11 release build
// (ci/bootstrap installs it; never a pyenv), every seed's outcome through the driver equals
// its compiled reproducer's.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness/conform/conform.h"
#include "harness/conform/cpython_install.h"
#include "harness/conform/real_runner.h"
#include "harness/emit/emit_c.h"
#include "harness/outcome/real_run.h"
#include "harness/program/text_format.h"
#include "harness/real/real_executor.h"
#include "harness/real/wire_format.h"
#include "harness/tests/ifz_files.h"

namespace ifz::harness {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> seeds() { return testing::ifz_files(IFZ_SOURCE_DIR "/corpus/seeds"); }

std::string work_dir() {
  static const std::string dir = fs::temp_directory_path() / ("ifz_driver_test_" + std::to_string(getpid()));
  fs::create_directories(dir);
  return dir;
}

emit::Emitted emit_311(const std::string& file) {
  auto parsed = read_program_file(file);
  EXPECT_TRUE(std::holds_alternative<Program>(parsed)) << file;
  if (!std::holds_alternative<Program>(parsed)) return {};
  const Program& p = std::get<Program>(parsed);
  Schedule s;
  std::string err;
  if (!p.schedule.empty()) {
    if (auto parsed_s = Schedule::parse(p.schedule, &err)) s = *parsed_s;
  }
  emit::EmitOptions o;
  o.profile = "3.11";
  return emit::emit_c(p, s, o);
}

conform::CPythonInstall debian_release() {
  std::string err;
  const auto installs = conform::find_installs({}, &err);
  EXPECT_FALSE(installs.empty());
  EXPECT_EQ(installs[0].missing, "") << "ci/bootstrap installs libpython3.11-dev";
  return installs[0];
}

TEST(WireFormat, EverySeedsProgramPrintsAndParsesBackToItself) {
  int checked = 0;
  for (const std::string& seed : seeds()) {
    const emit::Emitted e = emit_311(seed);
    if (!e.ok) continue;
    const real::DriverProgram p = real::driver_program(e);
    ASSERT_EQ(p.scripts.size(), e.scripts.size());
    std::string err;
    const auto back = real::parse_driver_program(real::print_driver_program(p), &err);
    ASSERT_TRUE(back.has_value()) << seed << ": " << err;
    EXPECT_EQ(*back, p) << seed;
    ++checked;
  }
  EXPECT_GE(checked, static_cast<int>(seeds().size()) - 2);
}

TEST(WireFormat, GarbageIsAnErrorWithALineNumberNeverACrash) {
  const char* const bad[] = {
      "",
      "hello\n",
      "ifz-driver-program 2\nsignals 0\nend\n",
      "ifz-driver-program 1\nsignals 1\nend\n",               // one signal announced, none given
      "ifz-driver-program 1\nsignals 1 17\nscript 0 0\nend\n",  // signal out of range
      "ifz-driver-program 1\nsignals 0\nend\n",               // no script 0
      "ifz-driver-program 1\nsignals 0\nscript 1 0\nend\n",   // scripts out of order
      "ifz-driver-program 1\nsignals 0\nscript 0 1\n6 0 99 0 0 0 0 0\nend\n",  // unknown op
      "ifz-driver-program 1\nsignals 0\nscript 0 1\n12 0 0 0 0 0 0 0\nend\n",  // unknown step
      "ifz-driver-program 1\nsignals 0\nscript 0 1\n1 0 0 0 0 0 0\nend\n",     // 7 numbers
      "ifz-driver-program 1\nsignals 0\nscript 0 1\n6 0 1 99 0 0 0 0\nend\n",  // I99
      "ifz-driver-program 1\nsignals 0\nscript 0 2\n1 0 0 0 0 0 0 0\nend\n",   // a step short
      "ifz-driver-program 1\nsignals 0\nscript 0 0\nend\nmore\n",
      "ifz-driver-program 1\nsignals 0\nscript 0 0\n",        // no end
      "ifz-driver-program 1\nsignals 0\nscript 0 99999\nend\n",
      "ifz-driver-program 1\nsignals 0\nscript 0 1\n1 x 0 0 0 0 0 0\nend\n",
  };
  for (const char* text : bad) {
    std::string err;
    EXPECT_FALSE(real::parse_driver_program(text, &err).has_value()) << text;
    EXPECT_NE(err.find("driver program, line"), std::string::npos) << text << " -> " << err;
  }
  // Every one-byte corruption of a real program: parsed or refused, never a crash.
  const emit::Emitted e = emit_311(IFZ_SOURCE_DIR "/corpus/seeds/threads_join_2.ifz");
  ASSERT_TRUE(e.ok) << e.error;
  const std::string good = real::print_driver_program(real::driver_program(e));
  int refused = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    for (char c : {'\n', ' ', '-', 'x', '9', '\0'}) {
      std::string t = good;
      t[i] = c;
      std::string err;
      if (!real::parse_driver_program(t, &err)) {
        EXPECT_FALSE(err.empty());
        ++refused;
      }
    }
  }
  EXPECT_GT(refused, 0);
}

TEST(WireFormat, RepliesParseBackAndGarbageIsAnError) {
  outcome::RealRun r;
  r.timed_out = false;
  r.wait_status = 11;
  r.out = "IFZ interp_created id=0\nresult 1 2 3 4\n";
  r.err = "Fatal Python error: x\n";
  const std::string bytes = real::print_result(r) + "tail";
  size_t used = 0;
  outcome::RealRun back;
  std::string err;
  ASSERT_EQ(real::parse_reply(bytes, &used, &back, &err), real::ReplyStatus::kResult) << err;
  EXPECT_EQ(used, bytes.size() - 4);
  EXPECT_EQ(back.wait_status, 11);
  EXPECT_EQ(back.out, r.out);
  EXPECT_EQ(back.err, r.err);
  EXPECT_EQ(real::parse_reply(bytes.substr(0, 20), &used, &back, &err), real::ReplyStatus::kNeedMore);
  EXPECT_EQ(real::parse_reply("error driver program, line 3: x\n", &used, &back, &err),
            real::ReplyStatus::kError);
  EXPECT_EQ(err, "driver program, line 3: x");
  EXPECT_EQ(real::parse_reply("resultat 0 0 0 0\n", &used, &back, &err), real::ReplyStatus::kError);
  EXPECT_EQ(real::parse_reply("result 0 0 -1 0\n", &used, &back, &err), real::ReplyStatus::kError);
  EXPECT_EQ(real::parse_reply(std::string(5000, 'x'), &used, &back, &err), real::ReplyStatus::kError);
}

// The driver binary itself, fed garbage on its stdin: an error line, never a crash; a bad
// program leaves it serving, a bad request line ends it with status 2.
TEST(Driver, TheDriversOwnParserAnswersGarbageWithAnError) {
  const conform::CPythonInstall in = debian_release();
  const std::string cache = work_dir() + "/cache";
  std::string err;
  ASSERT_TRUE(real::make_driver_executor(in, cache, &err)) << err;
  std::string binary;
  for (const auto& d : fs::directory_iterator(cache)) binary = (d.path() / "driver").string();
  ASSERT_TRUE(fs::exists(binary));
  const emit::Emitted e = emit_311(IFZ_SOURCE_DIR "/corpus/seeds/threads_join_2.ifz");
  ASSERT_TRUE(e.ok);
  const std::string good = real::print_request(real::driver_program(e), 1, 5000);
  struct Case {
    std::string input;
    std::string first_line;
    int status;
  };
  const Case cases[] = {
      {"run 1 1000 6\nhello\n", "error driver program, line 1: expected 'ifz-driver-program 1'", 0},
      {"garbage\n", "error bad request line", 2},
      {"run 0 1000 5\nhello", "error bad request line", 2},
      {"run 1 1000 50\nifz-driver", "error the request ended inside its program text", 2},
      {"run 1 1000 6\nhello\n" + good, "error driver program, line 1", 0},  // then serves
  };
  for (const Case& c : cases) {
    const std::string in_file = work_dir() + "/input";
    std::ofstream(in_file, std::ios::binary) << c.input;
    int st = 0;
    const std::string out = conform::shell_output("'" + binary + "' < '" + in_file + "'", &st);
    EXPECT_EQ(out.rfind(c.first_line, 0), 0u) << c.input << " -> " << out;
    EXPECT_EQ(st, c.status) << c.input;
    if (&c == &cases[4]) EXPECT_NE(out.find("\nresult 0 0 "), std::string::npos) << out;
  }
}

// One implementation of the op mapping and the turn protocol: through the driver, each seed
// ends as its compiled reproducer does (outcome and observables). A seed marked real-flaky for
// this build may differ between runs, within the outcome kinds its mark lists (as conform).
TEST(Driver, EverySeedsOutcomeEqualsItsCompiledReproducersOn311Release) {
  const conform::CPythonInstall in = debian_release();
  std::string err;
  auto driver = real::make_driver_executor(in, work_dir() + "/cache", &err);
  ASSERT_TRUE(driver) << err;
  const int timeout_ms = 5000;
  int compared = 0;
  for (const std::string& seed : seeds()) {
    const emit::Emitted e = emit_311(seed);
    if (!e.ok) continue;
    const std::string stem = work_dir() + "/" + fs::path(seed).stem().string();
    std::ofstream(stem + ".c") << e.c;
    ASSERT_EQ(conform::compile_repro(in, stem + ".c", stem), "") << seed;
    const auto compiled = conform::run_repro(stem, 1, timeout_ms);
    const auto driven = driver->run(e, 1, timeout_ms, &err);
    ASSERT_EQ(driven.size(), 1u) << seed << ": " << err;
    const outcome::Outcome a = outcome::classify_real_run(compiled[0]);
    const outcome::Outcome b = outcome::classify_real_run(driven[0]);
    std::vector<std::string> kinds;
    for (const conform::FlakyMark& m : conform::read_flaky_marks(seed)) {
      if (m.applies_to(conform::version_key(in))) kinds.insert(kinds.end(), m.kinds.begin(), m.kinds.end());
    }
    auto listed = [&](const outcome::Outcome& o) {
      return std::find(kinds.begin(), kinds.end(), o.kind_text()) != kinds.end();
    };
    if (!kinds.empty() && listed(a) && listed(b)) continue;
    EXPECT_TRUE(outcome::agrees(a, b)) << seed << "\n compiled: " << a.to_string()
                                       << "\n driver:   " << b.to_string() << "\n driver stderr: "
                                       << driven[0].err;
    ++compared;
  }
  EXPECT_GE(compared, static_cast<int>(seeds().size()) - 4);
}

}  // namespace
}  // namespace ifz::harness
