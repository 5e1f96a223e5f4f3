// SPDX-License-Identifier: Apache-2.0
// outcome.h — the outcome vocabulary shared by the model and real CPython runs (DESIGN D9):
// how a process ended plus what it observably did, so that "agree" means the same thing in
// `interpfuzz conform`, in its tests and in the emitted reproducers.
// Defines Outcome, its text form and agrees().
//
// An outcome is one of
//   ok          the process exited with status 0
//   exit(N)     it exited with status N != 0 (os._exit(N), Py_ExitStatusException, ...)
//   fatal(M)    CPython's "Fatal Python error: <func>: <msg>" M, whatever the status (abort or
//               exit 1 depending on the path and the version)
//   signal(N)   killed by signal N (a crash: SIGSEGV for a use-after-free, ...; a debug
//               build's abort on assert(!_PyMem_IsPtrFreed(...)) counts as signal(11) too)
//   hang        did not end (real: timeout; model: deadlock or step limit)
// plus observables: one line per observable fact, a multiset compared in sorted order, e.g.
//   interp_created id=1     pending_added rc=0     pending_ran interp=0
//   signal_handled sig=2    raised RuntimeError    fork_child threads=1     finalize_returned
// The emitted C program prints each as "IFZ <line>" on stdout (see harness/emit/).
#pragma once

#include <string>
#include <vector>

namespace ifz::harness::outcome {

struct Outcome {
  enum class Kind : uint8_t { kOk, kExit, kFatal, kSignal, kHang };
  Kind kind = Kind::kOk;
  int code = 0;             // kExit: status; kSignal: signal number
  std::string message;      // kFatal: "Fatal Python error: func: msg"
  std::vector<std::string> observables;  // kept sorted (normalize())

  void normalize();
  /// "ok", "exit(3)", "fatal(Fatal Python error: ...)", "signal(11)", "hang".
  std::string kind_text() const;
  /// kind_text() and the observables, e.g. "ok [interp_created id=0, pending_ran interp=0]".
  std::string to_string() const;
  bool operator==(const Outcome&) const = default;
};

/// Same kind, code and message, and the same observables (as multisets).
bool agrees(Outcome a, Outcome b);

/// The prefix the emitted program puts before each observable line on stdout.
inline constexpr const char* kObservablePrefix = "IFZ ";

}  // namespace ifz::harness::outcome
