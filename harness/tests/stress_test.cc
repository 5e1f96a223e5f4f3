// SPDX-License-Identifier: Apache-2.0
// stress_test.cc — `interpfuzz stress` as a user runs it: a clean short run exits 0; SIGINT
// stops it cleanly with a summary and loses no finding; a worker killed with SIGKILL leaves
// only complete artifacts (each written atomically before it was reported).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness/program/text_format.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Child {
  pid_t pid = -1;
  std::string out_path;
};

Child spawn_stress(const std::vector<std::string>& args, const fs::path& dir) {
  Child c;
  c.out_path = (dir / "stdout").string();
  std::vector<std::string> argv = {IFZ_INTERPFUZZ, "stress"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, c.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, (dir / "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  EXPECT_EQ(posix_spawn(&c.pid, IFZ_INTERPFUZZ, &fa, nullptr, cargv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  return c;
}

int wait_exit(pid_t pid, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) != pid) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(20ms);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<fs::path> artifacts(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (e.path().extension() == ".ifz" && name.find(".min.") == std::string::npos) out.push_back(e.path());
  }
  return out;
}

void wait_for_artifacts(const fs::path& dir, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (artifacts(dir).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
}

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / (name + "_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Stress, AShortRunOnTheFixedProfilesFindsNothingAndExitsZero) {
  const fs::path dir = fresh_dir("ifz_stress_clean");
  Child c = spawn_stress({"--time", "3", "--jobs", "1", "--artifacts", (dir / "art").string(),
                          "--corpus", IFZ_SOURCE_DIR "/corpus/seeds", "--quiet"},
                         dir);
  EXPECT_EQ(wait_exit(c.pid, 60s), 0) << slurp(dir / "stdout");
  EXPECT_NE(slurp(dir / "stdout").find("(no findings)"), std::string::npos);
  EXPECT_TRUE(artifacts(dir / "art").empty());
}

TEST(Stress, SigintStopsCleanlyWithASummaryAndKeepsEveryFinding) {
  const fs::path dir = fresh_dir("ifz_stress_sigint");
  Child c = spawn_stress({"--time", "120", "--jobs", "2", "--profile", "3.9", "--no-minimize",
                          "--artifacts", (dir / "art").string(), "--corpus",
                          IFZ_SOURCE_DIR "/corpus/seeds", "--quiet"},
                         dir);
  wait_for_artifacts(dir / "art", 60s);
  ASSERT_FALSE(artifacts(dir / "art").empty()) << "3.9 has known defects: something is found";
  kill(c.pid, SIGINT);
  const int status = wait_exit(c.pid, 30s);
  EXPECT_TRUE(status == 0 || status == 1) << "a clean stop, not a signal death: " << status;
  const std::string out = slurp(dir / "stdout");
  EXPECT_NE(out.find("interpfuzz stress:"), std::string::npos) << out;
  for (const fs::path& a : artifacts(dir / "art")) {
    auto parsed = ifz::harness::read_program_file(a.string());
    EXPECT_TRUE(std::holds_alternative<ifz::harness::Program>(parsed)) << a;
    EXPECT_NE(out.find(a.filename().string()), std::string::npos) << "listed in the summary: " << a;
  }
}

TEST(Stress, AWorkerKilledWithSigkillLeavesOnlyCompleteArtifacts) {
  const fs::path dir = fresh_dir("ifz_stress_sigkill");
  Child c = spawn_stress({"--time", "6", "--jobs", "2", "--profile", "3.10", "--no-minimize",
                          "--artifacts", (dir / "art").string(), "--corpus",
                          IFZ_SOURCE_DIR "/corpus/seeds", "--quiet"},
                         dir);
  wait_for_artifacts(dir / "art", 60s);
  // Kill one worker (a child of the stress process) in the middle of its work.
  std::string pids = slurp(fs::path("/proc") / std::to_string(c.pid) / "task" /
                           std::to_string(c.pid) / "children");
  std::istringstream ps(pids);
  pid_t worker = 0;
  ASSERT_TRUE(ps >> worker) << "no worker process";
  kill(worker, SIGKILL);
  wait_exit(c.pid, 60s);
  const std::string out = slurp(dir / "stdout");
  EXPECT_NE(out.find("interpfuzz stress:"), std::string::npos) << out;
  ASSERT_FALSE(artifacts(dir / "art").empty());
  for (const fs::path& a : artifacts(dir / "art")) {
    auto parsed = ifz::harness::read_program_file(a.string());
    EXPECT_TRUE(std::holds_alternative<ifz::harness::Program>(parsed)) << "torn artifact " << a;
    fs::path report = a;
    report.replace_extension(".report.txt");
    EXPECT_NE(slurp(report).find("SUMMARY: interpfuzz:"), std::string::npos) << report;
  }
}

}  // namespace
