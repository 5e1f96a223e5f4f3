// SPDX-License-Identifier: Apache-2.0
// real_executor.h — running emitted programs on one real CPython install (DESIGN D9/D10).
// Defines RealExecutor and its two implementations' factories.
//
// Two ways to run a program that emit-c has turned into C for an install's version:
//   compiling: write the standalone reproducer, compile it against the install, run the binary
//              (what `conform` always did; the baseline of `bench/run`'s conform_programs_per_s);
//   driver:    a fork server compiled once per install (cached under build/), which never
//              initialises Python itself and runs each program, sent over a pipe, in a fresh
//              child with a watchdog (`diff`'s executor; bench/run's real_programs_per_s).
// Both use the one op -> C-API mapping of harness/emit/ and report each run as a RealRun,
// classified by outcome::classify_real_run into the shared outcome vocabulary.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "harness/conform/cpython_install.h"
#include "harness/emit/emit_c.h"
#include "harness/outcome/real_run.h"

namespace ifz::harness::real {

class RealExecutor {
 public:
  virtual ~RealExecutor() = default;
  virtual const conform::CPythonInstall& install() const = 0;
  /// Runs `e` (emitted for this install's version: e.ok, e.minor == install().minor) `runs`
  /// times, each in a fresh process; a run alive after `timeout_ms` is killed (timed_out).
  /// Returns an empty vector and sets `error` when the program cannot be run at all (the C
  /// does not compile, the driver died): never a made-up outcome.
  virtual std::vector<outcome::RealRun> run(const emit::Emitted& e, int runs, int timeout_ms,
                                            std::string* error) = 0;
};

/// Compile-per-program: `work_dir` holds the .c files and binaries.
std::unique_ptr<RealExecutor> make_compiling_executor(const conform::CPythonInstall& in,
                                                      const std::string& work_dir);

/// The per-install fork-server driver, built (or found already built) under `cache_dir`.
/// Null with `error` set when it cannot be built or started.
std::unique_ptr<RealExecutor> make_driver_executor(const conform::CPythonInstall& in,
                                                   const std::string& cache_dir,
                                                   std::string* error);

}  // namespace ifz::harness::real
