// SPDX-License-Identifier: Apache-2.0
// cli_test.cc — the `interpfuzz` binary end to end: bad input is one clear line and exit 2,
// never a crash (1,000 random files); `replay` prints the same bytes three times in a row for
// every seed; exit statuses 0 / 1 / 2 mean what the usage says.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace {

namespace fs = std::filesystem;

struct CliRun {
  int status = -1;  // exit status, or 128 + signal
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CliRun run(const std::string& args) {
  static const std::string dir = fs::temp_directory_path() / ("ifz_cli_test_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string cmd = std::string(IFZ_INTERPFUZZ) + " " + args + " >" + dir + "/out 2>" + dir + "/err";
  const int rc = std::system(cmd.c_str());
  CliRun r;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
  r.out = slurp(dir + "/out");
  r.err = slurp(dir + "/err");
  return r;
}

std::vector<std::string> seeds() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(IFZ_SOURCE_DIR "/corpus/seeds")) {
    if (e.path().extension() == ".ifz") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Cli, ReplayOfAThousandRandomFilesExitsTwoWithOneClearLine) {
  const fs::path dir = fs::temp_directory_path() / ("ifz_garbage_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::mt19937 rng(1234);
  const auto valid = seeds();
  for (int i = 0; i < 1000; ++i) {
    std::string bytes;
    if (i % 2 == 0) {
      // Raw random bytes (NULs and all).
      bytes.resize(rng() % 400);
      for (char& b : bytes) b = static_cast<char>(rng());
    } else {
      // A seed with its header broken and a few bytes overwritten: garbage that looks close.
      bytes = slurp(valid[rng() % valid.size()]);
      const size_t h = bytes.find("interpfuzz-program");
      bytes.replace(h, 18, "interpfuzz-progrXm");
      for (int k = 0; k < 3; ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    }
    const std::string path = (dir / ("f" + std::to_string(i) + ".ifz")).string();
    std::ofstream(path, std::ios::binary) << bytes;
    const CliRun r = run("replay " + path);
    ASSERT_EQ(r.status, 2) << path << "\nstderr: " << r.err;
    ASSERT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    ASSERT_NE(r.err.find(path), std::string::npos) << "the message names the file: " << r.err;
  }
  fs::remove_all(dir);
}

TEST(Cli, ReplayOfEverySeedIsIdenticalAcrossThreeRuns) {
  for (const std::string& s : seeds()) {
    for (const char* profile : {"3.8", "3.11", "3.13-fixed"}) {
      const std::string args = std::string("replay ") + s + " --profile " + profile;
      const CliRun first = run(args);
      ASSERT_LT(first.status, 2) << args << ": " << first.err;
      for (int i = 0; i < 2; ++i) {
        const CliRun again = run(args);
        ASSERT_EQ(again.status, first.status) << args;
        ASSERT_EQ(again.out, first.out) << args;
      }
    }
  }
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(run("").status, 2);
  EXPECT_EQ(run("frobnicate").status, 2);
  EXPECT_EQ(run("replay").status, 2);
  EXPECT_EQ(run("replay /nonexistent/x.ifz").status, 2);
  const CliRun bad = run("run " IFZ_SOURCE_DIR "/corpus/seeds/max_pending.ifz --bogus");
  EXPECT_EQ(bad.status, 2);
  EXPECT_EQ(bad.err, "interpfuzz: unknown option '--bogus' (see 'interpfuzz --help')\n");
  EXPECT_EQ(run("run " IFZ_SOURCE_DIR "/corpus/seeds/max_pending.ifz --depth x").status, 2);
  EXPECT_EQ(run("replay " IFZ_SOURCE_DIR "/corpus/seeds/max_pending.ifz --profile 3.99").status, 2);
  EXPECT_EQ(run("list nothing").status, 2);
  EXPECT_EQ(run("list defects").status, 0);
  EXPECT_EQ(run("--help").status, 0);
}

TEST(Cli, RunExitsOneOnAKnownDefectAndZeroOnTheFixedTwin) {
  const std::string seed = IFZ_SOURCE_DIR "/corpus/seeds/fork_with_live_subinterp.ifz";
  const CliRun bad = run("run " + seed + " --profile 3.10 --strategy pct --depth 2 --iterations 5");
  EXPECT_EQ(bad.status, 1) << bad.out;
  EXPECT_NE(bad.out.find("known: bpo-39958"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("SUMMARY: interpfuzz: deadlock/deadlock/lock HEAD_LOCK (self)"),
            std::string::npos);
  const CliRun good = run("run " + seed + " --profile 3.10-fixed --strategy pct --depth 2 --iterations 5");
  EXPECT_EQ(good.status, 0) << good.out;
}

}  // namespace
