// SPDX-License-Identifier: Apache-2.0
// real_executor_bench.cc — bench/run's figures for running programs on a real CPython
// (Debian's python3.11 release build), pinned to one core, per second of CPU time (user + sys
// of the driver, the programs and the compilers) so that a busy machine does not lower them
// (as bench/fuzz_exec_rate counts); the wall-clock rates go to stderr:
//   real_programs_per_s     the seeds through the fork-server driver (harness/real/), one run
//                           each, several rounds
//   conform_programs_per_s  the same seeds compiled and run one by one (the compiling path
//                           `conform --compile` takes), the baseline
//   real_driver_speedup     the ratio
//   real_init_finalize_ms   CPU time of one `init; finalize` program through the driver:
//                           Py_Initialize and Py_FinalizeEx in a fresh child, the floor of
//                           every program
// Usage: real_executor_bench SEEDS_DIR CACHE_DIR [ROUNDS]. Prints "<name>: <value> <unit>".
#include <sched.h>
#include <sys/resource.h>

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

double children_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_CHILDREN, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: real_executor_bench SEEDS_DIR CACHE_DIR [ROUNDS]\n";
    return 2;
  }
  double wall = 0;
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
  std::vector<std::string> files, names;
  for (const auto& e : fs::directory_iterator(argv[1])) {
    if (e.path().extension() == ".ifz") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  for (const std::string& f : files) {
    auto parsed = read_program_file(f);
    if (!std::holds_alternative<Program>(parsed)) continue;
    emit::Emitted e = emit_for_311(std::get<Program>(parsed));
    if (e.ok) {
      programs.push_back(std::move(e));
      names.push_back(fs::path(f).stem().string());
    }
  }
  std::cerr << "real_executor_bench: " << programs.size() << " seeds emitted for 3.11, on "
            << in.label << ", one core\n";

  // A hang costs its timeout (and fork_inside_headlock_window spins a CPU through it), alike on
  // both paths: 3 s is past every seed's normal end.
  const int timeout_ms = 3000;
  // The driver and the programs are this process's descendants: their CPU time is ours once
  // the driver is reaped (the executor's destructor), as RUSAGE_CHILDREN.
  auto measure_driver = [&](const std::vector<const emit::Emitted*>& batch, int reps,
                            double* wall_s) -> double {
    const double cpu0 = children_cpu_s();
    const auto t0 = Clock::now();
    {
      auto driver = real::make_driver_executor(in, argv[2], &err);
      if (!driver) {
        std::cerr << "real_executor_bench: " << err << "\n";
        std::exit(1);
      }
      for (int r = 0; r < reps; ++r) {
        for (const emit::Emitted* e : batch) {
          if (driver->run(*e, 1, timeout_ms, &err).size() != 1) {
            std::cerr << "real_executor_bench: " << err << "\n";
          }
        }
      }
    }
    *wall_s = seconds_since(t0);
    return children_cpu_s() - cpu0;
  };
  std::vector<const emit::Emitted*> all;
  for (const emit::Emitted& e : programs) all.push_back(&e);
  measure_driver({all.front()}, 1, &wall);  // warm-up: the driver's build, the page cache
  if (getenv("IFZ_BENCH_VERBOSE")) {  // each seed's CPU time, to see where it goes
    for (size_t i = 0; i < all.size(); ++i) {
      const double cpu = measure_driver({all[i]}, 1, &wall);
      std::cerr << "  " << names[i] << ": " << cpu * 1000 << " ms CPU, " << wall * 1000 << " ms wall\n";
    }
  }
  const double driver_cpu = measure_driver(all, rounds, &wall);
  const double n_driver = static_cast<double>(all.size()) * rounds;
  std::cerr << "real_executor_bench: driver: " << n_driver << " programs, " << driver_cpu
            << " s CPU, " << wall << " s wall (" << n_driver / wall << " programs/s wall)\n";

  auto init_only = parse_program("interpfuzz-program 1\nprofile 3.11\nthread T0:\n  init\n  finalize\n", "init.ifz");
  if (!std::holds_alternative<Program>(init_only)) return 3;
  const emit::Emitted ie = emit_for_311(std::get<Program>(init_only));
  const int init_runs = 50;
  const double init_cpu = measure_driver({&ie}, init_runs, &wall);

  const std::string work = (fs::temp_directory_path() / ("ifz-bench-" + std::to_string(getpid()))).string();
  fs::create_directories(work);
  double cpu0 = children_cpu_s();
  auto t0 = Clock::now();
  int compiled = 0;
  for (size_t i = 0; i < programs.size(); ++i) {
    const std::string stem = work + "/p" + std::to_string(i);
    std::ofstream(stem + ".c") << programs[i].c;
    if (!conform::compile_repro(in, stem + ".c", stem).empty()) continue;
    conform::run_repro(stem, 1, timeout_ms);
    ++compiled;
  }
  const double compile_cpu = children_cpu_s() - cpu0;
  std::cerr << "real_executor_bench: compiling: " << compiled << " programs, " << compile_cpu
            << " s CPU, " << seconds_since(t0) << " s wall\n";
  fs::remove_all(work);
  const double driver_rate = n_driver / driver_cpu;
  const double compile_rate = compiled / compile_cpu;
  const double init_ms = init_cpu * 1000.0 / init_runs;

  std::cout << "real_programs_per_s: " << driver_rate << " programs/s\n"
            << "conform_programs_per_s: " << compile_rate << " programs/s\n"
            << "real_driver_speedup: " << driver_rate / compile_rate << " x\n"
            << "real_init_finalize_ms: " << init_ms << " ms\n";
  return 0;
}
