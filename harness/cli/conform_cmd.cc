// SPDX-License-Identifier: Apache-2.0
// conform_cmd.cc — `interpfuzz conform`: the program × CPython table (harness/conform/).
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "harness/cli/commands.h"
#include "harness/cli/emit_cmd.h"
#include "harness/conform/conform.h"
#include "harness/real/real_executor.h"

namespace ifz::harness::cli {

namespace fs = std::filesystem;

namespace {

// FILE|DIR... -> the .ifz files, a directory's in name order.
bool expand(const std::vector<std::string>& args, std::vector<std::string>* files) {
  for (const std::string& a : args) {
    std::error_code ec;
    if (fs::is_directory(a, ec)) {
      std::vector<std::string> in_dir;
      for (const auto& e : fs::directory_iterator(a, ec)) {
        if (e.path().extension() == ".ifz") in_dir.push_back(e.path().string());
      }
      std::sort(in_dir.begin(), in_dir.end());
      files->insert(files->end(), in_dir.begin(), in_dir.end());
    } else if (fs::exists(a, ec)) {
      files->push_back(a);
    } else {
      input_error("interpfuzz conform: " + a + ": no such file or directory");
      return false;
    }
  }
  return true;
}

void print_details(const std::string& program, const conform::CPythonInstall& in,
                   const conform::Cell& c) {
  using V = conform::Cell::Verdict;
  if (c.verdict == V::kAgree && c.skipped_ops.empty()) return;
  std::cout << "\n" << program << " x " << in.label << ": " << c.short_text() << "\n";
  if (!c.why.empty()) std::cout << "  why:   " << c.why << "\n";
  for (const std::string& s : c.skipped_ops) std::cout << "  skipped " << s << "\n";
  if (c.verdict == V::kAgree) return;
  // An n/a cell that ran (the reason is about judging, not running) shows both sides too.
  if (c.verdict == V::kError || c.real_counts.empty()) return;
  std::cout << "  model (profile 3." << in.minor << "): " << c.model.to_string() << "\n";
  int total = 0;
  for (const auto& [k, n] : c.real_counts) total += n;
  for (const auto& [k, n] : c.real_counts) {
    std::cout << "  real " << n << "/" << total << ": " << k << "\n";
  }
  if (c.real_counts.size() > 1 && c.verdict != V::kNotApplicable) {
    std::cout << "  mark: # real " << conform::version_key(in) << ": flaky";
    const char* sep = " ";
    for (const auto& [k, n] : c.real_counts) {
      std::cout << sep << c.real_examples.at(k).kind_text() << " " << n << "/" << total;
      sep = ", ";
    }
    std::cout << "\n";
  }
}

}  // namespace

std::string driver_cache_dir() {
  // One cache for conform, diff and bench/run (which names build/real-driver itself), so a
  // driver built by one command is reused by the others. IFZ_DRIVER_CACHE overrides it;
  // build/<preset>/bin/interpfuzz -> build/real-driver; elsewhere, a folder in /tmp.
  if (const char* env = std::getenv("IFZ_DRIVER_CACHE"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && exe.parent_path().filename() == "bin" &&
      exe.parent_path().parent_path().parent_path().filename() == "build") {
    return (exe.parent_path().parent_path().parent_path() / "real-driver").string();
  }
  return (fs::temp_directory_path() / "ifz-real-driver").string();
}

int cmd_conform(const Flags& f) {
  if (f.positional.empty()) return input_error("interpfuzz conform: missing FILE or DIR");
  if (f.runs < 1 || f.runs > 100) return input_error("interpfuzz conform: --runs must be 1..100");
  if (f.timeout < 1) return input_error("interpfuzz conform: --timeout must be positive");
  std::vector<std::string> files;
  if (!expand(f.positional, &files)) return 2;
  std::string err;
  const auto installs = conform::find_installs(f.cpython, &err);
  if (!err.empty()) return input_error(err);
  char dir_template[] = "/tmp/ifz-conform-XXXXXX";
  const char* dir = mkdtemp(dir_template);
  if (dir == nullptr) return input_error("interpfuzz conform: cannot create a work folder in /tmp");
  conform::ConformOptions o;
  o.runs = static_cast<int>(f.runs);
  o.timeout_ms = static_cast<int>(f.timeout * 1000);

  // One fork-server driver per usable install (built once, cached); with --compile, or for an
  // install that is missing (its cells are n/a), each program is compiled instead.
  std::vector<std::unique_ptr<real::RealExecutor>> executors;
  for (const auto& in : installs) {
    if (f.compile || !in.missing.empty()) {
      executors.push_back(real::make_compiling_executor(in, dir));
      continue;
    }
    std::string why;
    executors.push_back(real::make_driver_executor(in, driver_cache_dir(), &why));
    if (!executors.back()) {
      fs::remove_all(dir);
      return input_error("interpfuzz conform: no driver for " + in.label + ": " + why +
                         " (--compile runs without it)");
    }
  }

  size_t width = 8;
  for (const std::string& file : files) width = std::max(width, fs::path(file).stem().string().size());
  std::cout << std::left << std::setw(static_cast<int>(width)) << "program";
  for (const auto& in : installs) std::cout << " | " << std::setw(22) << in.label;
  std::cout << "\n";
  std::vector<std::pair<std::string, std::vector<conform::Cell>>> rows;
  std::map<std::string, int> totals;
  bool failed = false;
  for (const std::string& file : files) {
    const std::string name = fs::path(file).stem().string();
    std::cout << std::setw(static_cast<int>(width)) << name << std::flush;
    std::vector<conform::Cell> cells;
    for (const auto& ex : executors) {
      cells.push_back(conform::conform_cell(file, *ex, o));
      std::cout << " | " << std::setw(22) << cells.back().short_text() << std::flush;
      ++totals[cells.back().total_key()];
      failed |= !cells.back().passes();
    }
    std::cout << "\n";
    rows.emplace_back(name, std::move(cells));
  }
  for (const auto& [name, cells] : rows) {
    for (size_t i = 0; i < cells.size(); ++i) print_details(name, installs[i], cells[i]);
  }
  std::cout << "\nsummary: " << files.size() << " programs x " << installs.size() << " CPythons, "
            << o.runs << " runs each:";
  for (const auto& [k, n] : totals) std::cout << " " << k << " " << n << ";";
  std::cout << "\n";
  fs::remove_all(dir);
  return failed ? 1 : 0;
}

}  // namespace ifz::harness::cli
