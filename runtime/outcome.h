// SPDX-License-Identifier: Apache-2.0
// outcome.h — how a runtime process ended, in CPython's vocabulary, and each profile's
// catalogue of documented fatal errors (expected outcomes, not findings; DESIGN D3).
#pragma once

#include <string>
#include <vector>

#include "runtime/platform/platform.h"

namespace ifz::rt {

struct Profile;

struct Outcome {
  enum class Kind : uint8_t {
    kRunning,    // not ended yet
    kExit,       // process exit with `exit_code`
    kFatal,      // Py_FatalError / Py_ExitStatusException: `message`, `exit_code` 134 or 1
    kCrash,      // the model touched freed or NULL runtime memory: a segfault in CPython
    kDeadlock,   // simulated: nothing runnable
    kHang,       // native watchdog / simulated step limit
  };
  Kind kind = Kind::kRunning;
  int exit_code = 0;
  std::string message;  // fatal message (CPython's exact text) or crash description
  platform::ThreadId thread = platform::kNoThread;  // who died / who was running
  std::string phase;    // lifecycle phase at the end
  // A crash that needed the dying thread preempted inside an instruction window
  // (platform::Point::kWindow): its label. Only an OS preemption puts a real thread there, so
  // a reproducer cannot force it (harness/emit/).
  std::string window;
};
const char* outcome_kind_name(Outcome::Kind k);

/// "Fatal Python error: <func>: <msg>" exactly as CPython prints it.
std::string fatal_text(const char* func, const char* msg);

/// The fatal errors a profile documents as possible outcomes of correct use or of contract
/// checks (Py_EndInterpreter "not the last thread", ...). A fatal error outside this list is a
/// finding.
const std::vector<std::string>& expected_fatals(const Profile& p);

}  // namespace ifz::rt
