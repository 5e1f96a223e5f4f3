// SPDX-License-Identifier: Apache-2.0
// cli_test.cc — the `interpfuzz` binary end to end: bad input is one clear line and exit 2,
// never a crash (1,000 random files); raw fuzzer files of any bytes replay, explain and minimise
// without a signal; a crash of the model is a contained `model-crash` finding in every command;
// `replay` prints the same bytes three times in a row for every seed; exit statuses 0 / 1 / 2
// mean what the usage says.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "harness/tests/ifz_files.h"
#include "harness/program/binary_codec.h"
#include "harness/program/text_format.h"

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

// `env`: "NAME=value ..." put in front of the command (the shell's environment syntax).
CliRun run(const std::string& args, const std::string& env = "") {
  static const std::string dir = fs::temp_directory_path() / ("ifz_cli_test_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string cmd = env + (env.empty() ? "" : " ") + std::string(IFZ_INTERPFUZZ) + " " +
                          args + " >" + dir + "/out 2>" + dir + "/err";
  const int rc = std::system(cmd.c_str());
  CliRun r;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
  r.out = slurp(dir + "/out");
  r.err = slurp(dir + "/err");
  return r;
}

std::vector<std::string> seeds() {
  return ifz::harness::testing::ifz_files(IFZ_SOURCE_DIR "/corpus/seeds");
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
      // The header is broken after the overwrites, so that no overwrite can repair it (with
      // some seed lists one wrote the 'a' back).
      bytes = slurp(valid[rng() % valid.size()]);
      const size_t h = bytes.find("interpfuzz-program");
      for (int k = 0; k < 3; ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng());
      bytes.replace(h, 18, "interpfuzz-progrXm");
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

// Issue 20 item 7: `explain` counts and lists the skipped ops; trace lines name the script
// and, when another program thread's OS thread runs it, that thread (an atexit script on the
// finalizing thread; a fork child's script on the forking thread).
TEST(Cli, ExplainCountsSkippedOpsAndTracesNameEachScriptsThread) {
  const std::string dir = ::testing::TempDir();
  const std::string file = dir + "/skips.ifz";
  std::ofstream(file) << "interpfuzz-program 1\nprofile 3.11\n"
                         "thread T0:\n  init\n  new_interp\n  gilstate_ensure\n  end_interp\n"
                         "  start T1 threading\n  join T1\n  atexit T2\n  finalize\n"
                         "thread T1:\n  fork fork follow=child child=T3\n"
                         "thread T2:\n  run_bytecode 1\n"
                         "thread T3:\n  run_bytecode 1\n  swap I1\n";
  const CliRun r = run("explain " + file);
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("T0 gilstate_ensure\n   skipped: PyGILState_Ensure while another"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("T1 fork fork follow=child child=T3\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("T3@T1 run_bytecode 1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("T3@T1 swap I1\n   skipped: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ops: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" run, 2 skipped\n  skipped T0 op 3 `gilstate_ensure`: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n  skipped T3@T1 op 2 `swap I1`: this thread has no thread state in that interpreter\n"),
            std::string::npos) << r.out;
  // The atexit script on the main thread, in a program whose fork is followed by the parent.
  std::ofstream(file) << "interpfuzz-program 1\nprofile 3.11\n"
                         "thread T0:\n  init\n  atexit T1\n  finalize\n"
                         "thread T1:\n  run_bytecode 1\n";
  const CliRun a = run("explain " + file);
  EXPECT_NE(a.out.find("T1@T0 run_bytecode 1\n"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("ops: 4 run, 0 skipped\n"), std::string::npos) << a.out;
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

// A raw libFuzzer crash file (here: a known trigger encoded with the binary encoder, as the
// fuzzer would have written it) is decoded as the fuzz target decoded it and minimised.
std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(item);
  return out;
}

TEST(Cli, ListDefectsTsvIsTheTableScriptsRead) {
  const CliRun r = run("list defects --tsv");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<std::string> lines = split(r.out, '\n');
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "name\tissue\tversions\tprofiles\tsite\tbench_profile\tdepth\tdescription");
  const CliRun human = run("list defects");
  size_t names = 0;
  for (const std::string& l : split(human.out, '\n')) names += !l.empty() && l[0] != ' ';
  EXPECT_EQ(lines.size() - 1, names) << "one row per defect";
  // Every benchmark profile is a -fixed profile of a version that has the defect (or, for an
  // injectable-only defect, any -fixed profile).
  std::map<std::string, bool> fixed;
  for (const std::string& l : split(run("list profiles --tsv").out, '\n')) {
    const auto f = split(l, '\t');
    if (f.size() >= 2 && f[0] != "name") fixed[f[0]] = f[1] == "1";
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const auto f = split(lines[i], '\t');
    ASSERT_EQ(f.size(), 8u) << lines[i];
    EXPECT_FALSE(f[4].empty()) << "site: " << lines[i];
    ASSERT_TRUE(fixed.count(f[5]) && fixed[f[5]]) << "bench_profile is a -fixed profile: " << lines[i];
    const std::string version = f[5].substr(0, f[5].size() - std::string("-fixed").size());
    if (!f[2].empty()) {
      const auto versions = split(f[2], ',');
      EXPECT_NE(std::find(versions.begin(), versions.end(), version), versions.end()) << lines[i];
    }
    EXPECT_TRUE(f[6] == "1" || f[6] == "2" || f[6] == "3") << "depth: " << lines[i];
    EXPECT_FALSE(f[7].empty()) << lines[i];
  }
}

// Every "==ifz== FINDING:" block of `text`, up to and including its SUMMARY line.
std::vector<std::vector<std::string>> finding_blocks(const std::string& text) {
  std::vector<std::vector<std::string>> out;
  bool in = false;
  for (const std::string& l : split(text, '\n')) {
    if (l.rfind("==ifz== FINDING: ", 0) == 0) {
      out.emplace_back();
      in = true;
    }
    if (!in) continue;
    out.back().push_back(l);
    if (l.rfind("SUMMARY: interpfuzz: ", 0) == 0) in = false;
  }
  return out;
}

// The one shape (format_finding): header, indented cause lines, each live thread once, the
// classification, the reproduce line, SUMMARY last.
void expect_finding_shape(const std::string& text, const std::string& what) {
  const auto blocks = finding_blocks(text);
  ASSERT_FALSE(blocks.empty()) << what << ":\n" << text;
  for (const auto& b : blocks) {
    ASSERT_GE(b.size(), 4u) << what;
    EXPECT_EQ(b.back().rfind("SUMMARY: interpfuzz: ", 0), 0u) << what << ": unterminated block";
    EXPECT_EQ(b[b.size() - 2].rfind("    reproduce: interpfuzz replay ", 0), 0u) << what;
    const std::string& cls = b[b.size() - 3];
    EXPECT_TRUE(cls == "    new" || cls.rfind("    known: ", 0) == 0) << what << ": " << cls;
    std::set<std::string> threads;
    for (size_t i = 1; i + 1 < b.size(); ++i) {
      EXPECT_EQ(b[i].rfind("    ", 0), 0u) << what << ": " << b[i];
      if (b[i].rfind("    T", 0) == 0) {
        const std::string id = b[i].substr(4, b[i].find(' ', 4) - 4);
        EXPECT_TRUE(threads.insert(id).second) << what << ": thread " << id << " twice";
        EXPECT_TRUE(b[i].find(" waits on ") != std::string::npos ||
                    b[i].find(" runnable") != std::string::npos) << b[i];
      }
    }
  }
}

TEST(Cli, EveryFrontEndPrintsTheSameFindingShape) {
  const std::string seed = IFZ_SOURCE_DIR "/corpus/seeds/fork_with_live_subinterp.ifz";
  const CliRun replay = run("replay " + seed + " --profile 3.10 --quiet");
  EXPECT_EQ(replay.status, 1);
  expect_finding_shape(replay.out, "replay");
  EXPECT_NE(replay.out.find("    T0 waits on lock HEAD_LOCK, owned by itself\n"), std::string::npos)
      << replay.out;
  const CliRun run_cmd = run("run " + seed + " --profile 3.10 --iterations 3");
  EXPECT_EQ(run_cmd.status, 1);
  expect_finding_shape(run_cmd.out, "run");
  // A fuzz target (its replay driver, as ctest runs it) on the same program.
  const fs::path dir = fs::temp_directory_path() / ("ifz_shape_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::string text = slurp(seed);
  const size_t at = text.find("\nprofile ");
  text.replace(at + 1, text.find('\n', at + 1) - at - 1, "profile 3.10");
  std::ofstream(dir / "p.ifz") << text;
  const std::string driver = fs::path(IFZ_INTERPFUZZ).parent_path() / "fuzz_lifecycle_replay";
  const std::string cmd = driver + " " + (dir / "p.ifz").string() + " >/dev/null 2>" + (dir / "err").string();
  const int rc = std::system(cmd.c_str());
  EXPECT_FALSE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << "the finding aborts the target";
  expect_finding_shape(slurp((dir / "err").string()), "fuzz_lifecycle_replay");
  // stress: the report it prints is the one written beside the artifact.
  const CliRun stress = run("stress --time 30 --jobs 1 --profile 3.10-fixed --defects bpo39958_headlock_reentry "
                            "--strategy pct --stop-on-known --no-minimize --quiet --corpus " IFZ_SOURCE_DIR
                            "/corpus/seeds --artifacts " + (dir / "art").string());
  expect_finding_shape(stress.err, "stress");
  fs::remove_all(dir);
}

TEST(Cli, MinimizeARawCrashFileDecodesItAsTheFuzzTargetDid) {
  const fs::path dir = fs::temp_directory_path() / ("ifz_crash_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto parsed = ifz::harness::read_program_file(IFZ_SOURCE_DIR "/corpus/seeds/fork_with_live_subinterp.ifz");
  ifz::harness::Program p = std::get<ifz::harness::Program>(std::move(parsed));
  p.defects.clear();
  const std::vector<uint8_t> bytes = ifz::harness::encode_program(p);
  const std::string crash = (dir / "crash-0123abcd").string();
  std::ofstream(crash, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                               static_cast<std::streamsize>(bytes.size()));
  const std::string out = " --regressions '' --out " + (dir / "out").string();
  const std::string sig = "deadlock/deadlock/lock HEAD_LOCK (self)";

  // Profile and defects from the environment, as the fuzz target read them...
  const CliRun env = run("minimize " + crash + out,
                         "INTERPFUZZ_PROFILE=3.10-fixed INTERPFUZZ_DEFECTS=bpo39958_headlock_reentry");
  ASSERT_EQ(env.status, 1) << env.out << env.err;
  EXPECT_NE(env.out.find("raw input, fuzz_lifecycle, profile 3.10-fixed"), std::string::npos) << env.out;
  EXPECT_NE(env.out.find("signature: " + sig), std::string::npos) << env.out;
  const std::string minimal = slurp((dir / "out" / "crash-0123abcd.min.ifz").string());
  EXPECT_NE(minimal.find("# expect: " + sig), std::string::npos) << minimal;
  EXPECT_NE(minimal.find("defect bpo39958_headlock_reentry"), std::string::npos) << minimal;
  // ...or from the flags, which win over the environment.
  const CliRun flags = run("minimize " + crash + out + " --target fuzz_fork --profile 3.10-fixed"
                           " --defects bpo39958_headlock_reentry",
                           "INTERPFUZZ_PROFILE=3.13-fixed INTERPFUZZ_DEFECTS=");
  EXPECT_EQ(flags.status, 1) << flags.out << flags.err;
  EXPECT_NE(flags.out.find("signature: " + sig), std::string::npos) << flags.out;
  // Without the defect the input is harmless: nothing to minimise.
  const CliRun none = run("minimize " + crash + out + " --profile 3.10-fixed");
  EXPECT_EQ(none.status, 0) << none.out << none.err;
  EXPECT_NE(none.out.find("yields no finding"), std::string::npos) << none.out;
  // The same for a program file: the minimiser's child reports the failure without a program
  // (it once printed the empty one and died on print_program's precondition).
  const std::string harmless = (dir / "harmless.ifz").string();
  {
    std::ofstream f(harmless);
    f << "interpfuzz-program 1\nprofile 3.11-fixed\n\nthread T0:\n  init\n  finalize\n";
  }
  const CliRun plain = run("minimize " + harmless + " --time 2");
  EXPECT_EQ(plain.status, 0) << plain.out << plain.err;
  EXPECT_NE(plain.out.find("yields no finding"), std::string::npos) << plain.out;
  EXPECT_EQ((plain.out + plain.err).find("precondition"), std::string::npos) << plain.out << plain.err;
  // Bad target, profile or defect: one line, exit 2.
  for (const auto& [args, env_vars] : std::vector<std::pair<std::string, std::string>>{
           {" --target fuzz_program_text", ""},
           {" --target fuzz_nothing", ""},
           {" --profile 3.99", ""},
           {" --defects no_such_defect", ""},
           {"", "INTERPFUZZ_PROFILE=3.99"},
           {"", "INTERPFUZZ_DEFECTS=no_such_defect"}}) {
    const CliRun bad = run("minimize " + crash + out + args, env_vars);
    EXPECT_EQ(bad.status, 2) << args << env_vars << ": " << bad.out << bad.err;
    EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
  }
  const CliRun folder = run("minimize " + dir.string());
  EXPECT_EQ(folder.status, 2) << folder.out;
  EXPECT_EQ(std::count(folder.err.begin(), folder.err.end(), '\n'), 1) << folder.err;
  fs::remove_all(dir);
}

TEST(Cli, DiffBadInputIsOneLineAndExitTwo) {
  for (const std::string args : {"diff --cpython debian-3.99", "diff --cpython /nonexistent/prefix",
                                 "diff --cpython not-a-spec", "diff --executor fast",
                                 "diff --runs 0", "diff --time 0", "diff --timeout 0",
                                 "diff --defects no_such_defect", "diff some_file.ifz",
                                 "diff --corpus /nonexistent/corpus", "diff --iterations 0",
                                 "diff --no-such-flag"}) {
    const CliRun r = run(args);
    EXPECT_EQ(r.status, 2) << args << ": " << r.out << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << ": " << r.err;
    EXPECT_EQ(r.out, "") << args;
  }
}

// diff against Debian's 3.11 release build (compiling executor: no driver needed): a program
// the model and CPython agree on passes; the same program against a model made wrong on
// purpose (a what-if defect CPython 3.11 does not have: 3.7's Py_FinalizeEx without
// _Py_FinishPendingCalls) is a disagreement, exit 1, written atomically with its reproducer
// and a results.jsonl line.
TEST(Cli, DiffFindsAModelMadeWrongOnPurposeAndNothingOtherwise) {
  const fs::path dir = fs::temp_directory_path() / ("ifz_diff_" + std::to_string(getpid()));
  fs::create_directories(dir / "corpus");
  std::ofstream(dir / "corpus" / "pending_at_finalize.ifz")
      << "interpfuzz-program 1\nprofile 3.11\nthread T0:\n  init\n  add_pending noop\n  finalize\n";
  const std::string common = "diff --executor compile --jobs 1 --iterations 1 --runs 2 --no-minimize --corpus " +
                             (dir / "corpus").string() + " --artifacts ";
  const CliRun right = run(common + (dir / "right").string());
  EXPECT_EQ(right.status, 0) << right.out << right.err;
  EXPECT_NE(right.out.find("disagreements by signature: none"), std::string::npos) << right.out;

  const CliRun wrong = run(common + (dir / "wrong").string() + " --defects no_finish_pending_at_finalize");
  EXPECT_EQ(wrong.status, 1) << wrong.out << wrong.err;
  EXPECT_NE(wrong.out.find("diff/ok-vs-ok/pending_ran"), std::string::npos) << wrong.out;
  std::vector<std::string> programs;
  for (const auto& e : fs::directory_iterator(dir / "wrong")) {
    const std::string name = e.path().filename().string();
    EXPECT_EQ(name.find(".tmp."), std::string::npos) << "a temporary file was left: " << name;
    if (e.path().extension() == ".ifz") programs.push_back(e.path().string());
  }
  ASSERT_EQ(programs.size(), 1u);
  const std::string stem = programs[0].substr(0, programs[0].size() - 4);
  EXPECT_NE(slurp(stem + ".outcomes.txt").find("pending_ran interp=0"), std::string::npos);
  EXPECT_NE(slurp(stem + ".repro.c").find("Py_FinalizeEx"), std::string::npos);
  EXPECT_TRUE(fs::exists(stem + ".stderr.txt"));
  const std::string jsonl = slurp((dir / "wrong" / "results.jsonl").string());
  EXPECT_EQ(std::count(jsonl.begin(), jsonl.end(), '\n'), 1) << jsonl;
  EXPECT_NE(jsonl.find("\"verdict\":\"disagree\""), std::string::npos) << jsonl;
  EXPECT_NE(jsonl.find("\"signature\":\"diff/ok-vs-ok/pending_ran\""), std::string::npos) << jsonl;
  const std::string runs = slurp((dir / "wrong" / "runs.jsonl").string());
  EXPECT_NE(runs.find("\"programs\":1,\"agree\":0,"), std::string::npos) << runs;
  EXPECT_NE(runs.find("\"disagree\":1,"), std::string::npos) << runs;
  EXPECT_NE(slurp((dir / "right" / "runs.jsonl").string()).find("\"agree\":1,"), std::string::npos);
  fs::remove_all(dir);
}

// Raw fuzzer files (any bytes, the empty file, a seed's encoding) are decoded as fuzz_lifecycle
// decodes them: `replay`, `explain` and `minimize` report a finding (1) or nothing (0), never
// a signal.
TEST(Cli, RawFuzzerFilesOfAnyBytesNeverKillTheTool) {
  const fs::path dir = fs::temp_directory_path() / ("ifz_raw_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::mt19937 rng(4321);
  const auto valid = seeds();
  for (int i = 0; i < 24; ++i) {
    std::string bytes;
    if (i % 3 == 1) {
      const std::vector<uint8_t> enc = ifz::harness::encode_program(
          std::get<ifz::harness::Program>(ifz::harness::read_program_file(valid[rng() % valid.size()])));
      bytes.assign(enc.begin(), enc.end());
      for (int k = 0; k < 3 && !bytes.empty(); ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    } else if (i > 0) {
      bytes.resize(rng() % 500);
      for (char& b : bytes) b = static_cast<char>(rng());
    }  // i == 0: the empty file
    const std::string path = (dir / ("crash-" + std::to_string(i))).string();
    std::ofstream(path, std::ios::binary) << bytes;
    const std::string minimize = "minimize --time 1 --regressions '' --out " + (dir / "out").string() + " ";
    for (const std::string& cmd : {std::string("replay --quiet "), std::string("explain --quiet "), minimize}) {
      const CliRun r = run(cmd + path, "INTERPFUZZ_PROFILE=3.13-fixed");
      ASSERT_LT(r.status, 2) << cmd << path << "\n" << r.out << r.err;
      ASSERT_EQ(r.err.find("model-crash"), std::string::npos) << r.out << r.err;
    }
  }
  fs::remove_all(dir);
}

// `replay` and `explain` take a raw crash file as `minimize` does: the fuzz target's decoding,
// with the profile and defects of the environment or the flags, and a reproduce line that says
// how it was decoded.
TEST(Cli, ReplayAndExplainDecodeARawFileAsTheFuzzTargetDid) {
  const fs::path dir = fs::temp_directory_path() / ("ifz_rawreplay_" + std::to_string(getpid()));
  fs::create_directories(dir);
  auto parsed = ifz::harness::read_program_file(IFZ_SOURCE_DIR "/corpus/seeds/fork_with_live_subinterp.ifz");
  ifz::harness::Program p = std::get<ifz::harness::Program>(std::move(parsed));
  p.defects.clear();
  const std::vector<uint8_t> bytes = ifz::harness::encode_program(p);
  const std::string crash = (dir / "crash-feed").string();
  std::ofstream(crash, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                               static_cast<std::streamsize>(bytes.size()));
  const std::string env = "INTERPFUZZ_PROFILE=3.10-fixed INTERPFUZZ_DEFECTS=bpo39958_headlock_reentry";
  const std::string sig = "SUMMARY: interpfuzz: deadlock/deadlock/lock HEAD_LOCK (self)";
  for (const char* cmd : {"replay ", "explain "}) {
    const CliRun r = run(cmd + crash, env);
    EXPECT_EQ(r.status, 1) << cmd << r.out << r.err;
    EXPECT_NE(r.out.find("raw input " + crash + " (fuzz_lifecycle, profile 3.10-fixed"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(sig), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("reproduce: interpfuzz replay " + crash + " --target fuzz_lifecycle --profile 3.10-fixed --defects bpo39958_headlock_reentry --schedule"), std::string::npos) << r.out;
  }
  // The reproduce line replays the same finding with no environment.
  const CliRun again = run("replay " + crash + " --profile 3.10-fixed --defects bpo39958_headlock_reentry");
  EXPECT_EQ(again.status, 1) << again.out << again.err;
  EXPECT_NE(again.out.find(sig), std::string::npos) << again.out;
  fs::remove_all(dir);
}

// Built with ASan or TSan (their SEGV handler reports the fault before the signal kills us).
bool sanitized_build() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

// A crash of the model itself (made on purpose through the test-only IFZ_TEST_MODEL_CRASH
// hook: a SIGSEGV, an abort, a failed IFZ_CHECK as an op starts) is a finding of its own kind
// in replay, explain, run, minimize and stress: the usual report, exit status 1, and a
// signature the minimiser keeps.
TEST(Cli, AModelCrashIsAContainedFindingInEveryCommand) {
  const fs::path dir = fs::temp_directory_path() / ("ifz_modelcrash_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string program = IFZ_SOURCE_DIR "/corpus/regressions/0021-false-null-deref.ifz";
  const std::string segv = "IFZ_TEST_MODEL_CRASH=new_interp:segv";
  // A sanitizer catches the SIGSEGV itself: ASan names the faulting line, which then is the
  // site (`SUMMARY: AddressSanitizer: SEGV <file>:<line>`), TSan exits with its own status
  // (`exit 66 in new_interp`); without one, the signal and the op are the site. Either way one
  // build gives one signature. `sig` is matched as a prefix.
  const std::string sig = sanitized_build() ? "model-crash/containment/"
                                            : "model-crash/containment/SIGSEGV in new_interp";
  for (const char* cmd : {"replay ", "explain ", "run --iterations 3 "}) {
    const CliRun r = run(cmd + program, segv);
    EXPECT_EQ(r.status, 1) << cmd << r.out << r.err;
    EXPECT_NE(r.out.find("==ifz== FINDING: model-crash [containment]"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("SUMMARY: interpfuzz: " + sig), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("reproduce: interpfuzz replay " + program), std::string::npos) << r.out;
  }
  // The site of a failed check is its file and line; of an abort, the signal and the op.
  const CliRun check = run("replay " + program, "IFZ_TEST_MODEL_CRASH=new_interp:check");
  EXPECT_EQ(check.status, 1) << check.out << check.err;
  EXPECT_NE(check.out.find("SUMMARY: interpfuzz: model-crash/containment/harness/exec/contained_run.cc:"),
            std::string::npos) << check.out;
  const CliRun abrt = run("replay " + program, "IFZ_TEST_MODEL_CRASH=new_interp:abort");
  EXPECT_NE(abrt.out.find("SUMMARY: interpfuzz: model-crash/containment/SIGABRT in new_interp"),
            std::string::npos) << abrt.out;
  // The minimiser keeps the model-crash signature.
  const CliRun min = run("minimize " + program + " --time 5 --regressions '' --out " + (dir / "min").string(), segv);
  EXPECT_EQ(min.status, 1) << min.out << min.err;
  const std::string minimal = slurp((dir / "min" / "0021-false-null-deref.min.ifz").string());
  EXPECT_NE(minimal.find("# expect: " + sig), std::string::npos) << minimal;
  // Stress replaces the crashed worker and reports the crash as any finding, with artifacts.
  const CliRun stress = run("stress --time 2 --jobs 1 --quiet --no-minimize --artifacts " +
                            (dir / "art").string(), "IFZ_TEST_MODEL_CRASH=init:segv");
  EXPECT_EQ(stress.status, 1) << stress.out << stress.err;
  EXPECT_NE(stress.out.find(sanitized_build() ? sig : "model-crash/containment/SIGSEGV in init"),
            std::string::npos) << stress.out;
  bool artifact = false;
  for (const auto& e : fs::directory_iterator(dir / "art")) {
    artifact |= e.path().filename().string().rfind("model-crash-", 0) == 0 && e.path().extension() == ".ifz";
  }
  EXPECT_TRUE(artifact);
  fs::remove_all(dir);
}

}  // namespace
