// SPDX-License-Identifier: Apache-2.0
// standalone_main.cc — a main() for fuzz targets built without a fuzzing engine: runs files and
// directories once each (the seed corpus, corpus/regressions/) for ctest on dev/asan/tsan.
//
// Usage: <target>_replay [--summary] [--check-order] [--repeat N] [--native] FILE|DIR...
//   --summary      print "<file>\t<outcome, findings, trace hash>" for each input
//   --repeat N     run the whole list N times and print executions per second (profiling)
//   --native       run programs on the native platform (real threads; the tsan preset's test)
//   --check-order  run every input in sorted order, then in reverse order, and fail unless
//                  each input's summary is the same both times: nothing an execution leaves
//                  behind (heap, stacks, statics) may change the next one
// Directories are read recursively, in sorted order; dot files, *.tmp, *.md and *.txt are
// skipped. Exit status: 0 all inputs passed, 1 some `.ifz` expectation failed or the orders
// disagreed, 2 usage or I/O error. A finding aborts, with its report, as under libFuzzer.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "fuzzers/fuzz_target.h"

namespace {

namespace fs = std::filesystem;

// Not inputs: dot files, partial writes, and the notes and traces kept beside regressions.
bool skipped(const fs::path& p) {
  const std::string name = p.filename().string();
  const fs::path ext = p.extension();
  return name.empty() || name[0] == '.' || ext == ".tmp" || ext == ".md" || ext == ".txt" ||
         ext == ".c";  // a finding's C reproducer (interpfuzz emit-c)
}

bool collect(const std::string& arg, std::vector<std::string>* out) {
  std::error_code ec;
  if (fs::is_directory(arg, ec)) {
    std::vector<std::string> found;
    for (const auto& e : fs::recursive_directory_iterator(arg, ec)) {
      if (e.is_regular_file() && !skipped(e.path())) found.push_back(e.path().string());
    }
    std::sort(found.begin(), found.end());
    out->insert(out->end(), found.begin(), found.end());
    return !ec;
  }
  if (!fs::is_regular_file(arg, ec)) return false;
  out->push_back(arg);
  return true;
}

bool read_file(const std::string& path, std::vector<uint8_t>* bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  bytes->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

// Runs `files` in order; returns the number of failures (2 = I/O error on the first bad file).
int replay_all(const std::vector<std::string>& files, bool print_summary,
               std::map<std::string, std::string>* summaries) {
  ifz::fuzz::Target& target = ifz::fuzz::this_target();
  int failed = 0;
  std::vector<uint8_t> bytes;
  for (const std::string& f : files) {
    if (!read_file(f, &bytes)) {
      std::fprintf(stderr, "%s: cannot read\n", f.c_str());
      ++failed;
      continue;
    }
    failed += target.replay(f, bytes) != 0 ? 1 : 0;
    if (print_summary) std::printf("%s\t%s\n", f.c_str(), target.last_summary().c_str());
    if (summaries != nullptr) (*summaries)[f] = target.last_summary();
  }
  return failed;
}

}  // namespace

int main(int argc, char** argv) {
  bool summary = false;
  bool check_order = false;
  long repeat = 0;
  bool native = false;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--summary") {
      summary = true;
    } else if (a == "--check-order") {
      check_order = true;
    } else if (a == "--native") {
      native = true;
    } else if (a == "--repeat" && i + 1 < argc) {
      repeat = std::atol(argv[++i]);
    } else if (a.rfind("-", 0) == 0) {
      std::fprintf(stderr,
                   "usage: %s [--summary] [--check-order] [--repeat N] [--native] FILE|DIR...\n",
                   argv[0]);
      return 2;
    } else if (!collect(a, &files)) {
      std::fprintf(stderr, "%s: no such file or directory\n", a.c_str());
      return 2;
    }
  }
  ifz::fuzz::Target& target = ifz::fuzz::this_target();
  target.set_summaries(summary || check_order);
  target.set_native(native);
  const char* name = target.spec().name;
  if (repeat > 0) {
    const auto start = std::chrono::steady_clock::now();
    int failed = 0;
    for (long r = 0; r < repeat; ++r) failed += replay_all(files, false, nullptr);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    const double s = took.count();
    std::printf("%s: %ld executions in %.3f s: %.0f exec/s\n", name, repeat * long(files.size()),
                s, s > 0 ? double(repeat) * double(files.size()) / s : 0.0);
    return failed == 0 ? 0 : 1;
  }
  if (!check_order) {
    const int failed = replay_all(files, summary, nullptr);
    std::fprintf(stderr, "%s: replayed %zu input(s), %d failed\n", name, files.size(), failed);
    return failed == 0 ? 0 : 1;
  }
  std::map<std::string, std::string> forward, backward;
  int failed = replay_all(files, false, &forward);
  std::vector<std::string> reversed(files.rbegin(), files.rend());
  failed += replay_all(reversed, false, &backward);
  int differ = 0;
  for (const auto& [file, s] : forward) {
    if (backward[file] == s) continue;
    ++differ;
    std::fprintf(stderr, "%s: results depend on the order of inputs:\n  forward:  %s\n"
                 "  backward: %s\n", file.c_str(), s.c_str(), backward[file].c_str());
  }
  std::fprintf(stderr, "%s: %zu input(s) in two orders: %d differ, %d failed\n", name,
               files.size(), differ, failed);
  return differ == 0 && failed == 0 ? 0 : 1;
}
