// SPDX-License-Identifier: Apache-2.0
// real_executor_bench.cc — bench/run's figures for running programs on a real CPython
// (Debian's python3.11 release build), pinned to one core:
//   real_programs_per_s     the seeds through the fork-server driver (harness/real/), one run
//                           each, several rounds
//   conform_programs_per_s  the same seeds compiled and run one by one (the compiling path
//                           `conform --compile` takes), the baseline
//   real_driver_speedup     the ratio
//   real_init_finalize_ms   one `init; finalize` program through the driver: Py_Initialize
//                           and Py_FinalizeEx in a fresh child, the floor of every program
// Usage: real_executor_bench SEEDS_DIR CACHE_DIR [ROUNDS]. Prints "<name>: <value> <unit>".
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "harness/conform/cpython_install.h"
#include "harness/conform/real_runner.h"
#include "harness/emit/emit_c.h"
#include "harness/program/text_format.h"
#include "harness/real/real_executor.h"

namespace fs = std::filesystem;
using namespace ifz::harness;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

emit::Emitted emit_for_311(const Program& p) {
  Schedule s;
  std::string err;
  if (!p.schedule.empty()) {
    if (auto parsed = Schedule::parse(p.schedule, &err)) s = *parsed;
  }
  emit::EmitOptions o;
  o.profile = "3.11";
  return emit::emit_c(p, s, o);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: real_executor_bench SEEDS_DIR CACHE_DIR [ROUNDS]\n";
    return 2;
  }
  const int rounds = argc > 3 ? std::max(1, std::atoi(argv[3])) : 5;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  sched_setaffinity(0, sizeof one, &one);  // children (driver, programs, compilers) inherit it

  std::string err;
  const auto installs = conform::find_installs({}, &err);
  if (installs.empty() || !installs[0].missing.empty()) {
    std::cerr << "real_executor_bench: Debian's python3.11 release build is missing\n";
    return 2;
  }
  const conform::CPythonInstall& in = installs[0];
  std::vector<emit::Emitted> programs;
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(argv[1])) {
    if (e.path().extension() == ".ifz") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  for (const std::string& f : files) {
    auto parsed = read_program_file(f);
    if (!std::holds_alternative<Program>(parsed)) continue;
    emit::Emitted e = emit_for_311(std::get<Program>(parsed));
    if (e.ok) programs.push_back(std::move(e));
  }
  std::cerr << "real_executor_bench: " << programs.size() << " seeds emitted for 3.11, on "
            << in.label << ", one core\n";

  auto driver = real::make_driver_executor(in, argv[2], &err);
  if (!driver) {
    std::cerr << "real_executor_bench: " << err << "\n";
    return 1;
  }
  const int timeout_ms = 10000;
  {  // warm-up: page cache, the driver's first fork
    driver->run(programs.front(), 1, timeout_ms, &err);
  }
  auto t0 = Clock::now();
  int done = 0;
  for (int r = 0; r < rounds; ++r) {
    for (const emit::Emitted& e : programs) {
      if (driver->run(e, 1, timeout_ms, &err).size() == 1) ++done;
      else std::cerr << "real_executor_bench: " << err << "\n";
    }
  }
  const double driver_rate = done / seconds_since(t0);

  auto init_only = parse_program("init\nfinalize\n", "init.ifz");
  const emit::Emitted ie = emit_for_311(std::get<Program>(init_only));
  t0 = Clock::now();
  const int init_runs = 100;
  for (int i = 0; i < init_runs; ++i) driver->run(ie, 1, timeout_ms, &err);
  const double init_ms = seconds_since(t0) * 1000.0 / init_runs;

  const std::string work = (fs::temp_directory_path() / ("ifz-bench-" + std::to_string(getpid()))).string();
  fs::create_directories(work);
  t0 = Clock::now();
  int compiled = 0;
  for (size_t i = 0; i < programs.size(); ++i) {
    const std::string stem = work + "/p" + std::to_string(i);
    std::ofstream(stem + ".c") << programs[i].c;
    if (!conform::compile_repro(in, stem + ".c", stem).empty()) continue;
    conform::run_repro(stem, 1, timeout_ms);
    ++compiled;
  }
  const double compile_rate = compiled / seconds_since(t0);
  fs::remove_all(work);

  std::cout << "real_programs_per_s: " << driver_rate << " programs/s\n"
            << "conform_programs_per_s: " << compile_rate << " programs/s\n"
            << "real_driver_speedup: " << driver_rate / compile_rate << " x\n"
            << "real_init_finalize_ms: " << init_ms << " ms\n";
  return 0;
}
