// SPDX-License-Identifier: Apache-2.0
// real_runner.h — building an emitted reproducer against one CPython install and running it
// in fresh processes with a timeout. Defines compile_repro() and run_repro().
#pragma once

#include <string>
#include <vector>

#include "harness/conform/cpython_install.h"
#include "harness/outcome/real_run.h"

namespace ifz::harness::conform {

/// The host's C compiler: clang-14 (ci/bootstrap installs it), else cc.
std::string c_compiler();
/// The compiler for programs of `in`: the host's, or the root's own `cc` for a chroot install.
std::string c_compiler(const CPythonInstall& in);

/// Compiles `c_file` to `binary` with -Wall -Werror. Returns "" or the compiler's first lines.
/// For a chroot install both paths are host paths under in.work_dir(), compiled inside the root.
std::string compile_repro(const CPythonInstall& in, const std::string& c_file,
                          const std::string& binary);

/// Runs `binary` `runs` times, concurrently, each in a fresh process group (a fork child the
/// program leaves behind is killed with it), no core dumps; a run still alive after
/// `timeout_ms` is killed and reported as timed out.
std::vector<outcome::RealRun> run_repro(const std::string& binary, int runs, int timeout_ms);
/// Same, for a binary built for `in` (a chroot install's binary runs inside its root).
std::vector<outcome::RealRun> run_repro(const CPythonInstall& in, const std::string& binary,
                                        int runs, int timeout_ms);

}  // namespace ifz::harness::conform
