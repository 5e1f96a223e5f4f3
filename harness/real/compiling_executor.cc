// SPDX-License-Identifier: Apache-2.0
// compiling_executor.cc — the compile-per-program RealExecutor (see real_executor.h): what
// `conform` always did, now shared with `diff`. Each run() writes the emitted C into the work
// folder, compiles it against the install (conform::compile_repro) and runs the binary in
// fresh processes (conform::run_repro); the files are removed afterwards, so a long `diff`
// campaign leaves nothing behind.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "harness/conform/real_runner.h"
#include "harness/real/real_executor.h"

namespace ifz::harness::real {

namespace {

class CompilingExecutor final : public RealExecutor {
 public:
  CompilingExecutor(const conform::CPythonInstall& in, std::string work_dir)
      : in_(in), work_dir_(in.work_dir(work_dir)) {}  // inside the root for a chroot install

  const conform::CPythonInstall& install() const override { return in_; }

  std::vector<outcome::RealRun> run(const emit::Emitted& e, int runs, int timeout_ms,
                                    std::string* error) override {
    // One stem per call (pid: `diff` workers are processes sharing nothing but the folder).
    const std::string stem = work_dir_ + "/p" + std::to_string(getpid()) + "-" +
                             std::to_string(next_++);
    const std::string c_file = stem + ".c";
    {
      std::ofstream out(c_file);
      out << e.c;
      if (!out) {
        *error = "cannot write " + c_file;
        return {};
      }
    }
    const std::string cerr = conform::compile_repro(in_, c_file, stem);
    std::vector<outcome::RealRun> out;
    if (!cerr.empty()) {
      *error = "the emitted C does not compile: " + cerr;
    } else {
      out = conform::run_repro(in_, stem, runs, timeout_ms);
    }
    std::error_code ec;
    std::filesystem::remove(c_file, ec);
    std::filesystem::remove(stem, ec);
    return out;
  }

 private:
  conform::CPythonInstall in_;
  std::string work_dir_;
  uint64_t next_ = 0;
};

}  // namespace

std::unique_ptr<RealExecutor> make_compiling_executor(const conform::CPythonInstall& in,
                                                      const std::string& work_dir) {
  return std::make_unique<CompilingExecutor>(in, work_dir);
}

}  // namespace ifz::harness::real
