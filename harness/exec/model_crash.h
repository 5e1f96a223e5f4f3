// SPDX-License-Identifier: Apache-2.0
// model_crash.h — a crash of the model itself (our bug, not CPython's) as a finding of its own
// kind, so that no crash of the model takes the tool down and the minimiser can keep it.
// Defines ProcessDeath, model_crash_site and model_crash_finding.
//
// A process running executions (a contained execution's child, a stress worker) dies of a
// signal, of a sanitizer report (which exits or aborts after printing its SUMMARY line) or of
// a failed IFZ_CHECK / IFZ_PRECONDITION (check.h: a line on stderr, then abort). Its parent
// reads how it died and what it printed, and turns it into Finding{kind "model-crash"}, whose
// signature is model-crash/<site>: the failed check's or the sanitizer's file:line (relative to
// the source tree), else the signal's name and the op the model was in. A site never holds an
// address, a pid or a build directory, so it is the same across runs and builds.
#pragma once

#include <string>

#include "harness/exec/finding.h"

namespace ifz::harness {

struct ProcessDeath {
  int signal = 0;        // the signal that ended it, 0 if it exited
  int exit_code = 0;     // its exit status when it exited
  std::string stderr_text;  // what it printed on stderr (its tail)
  std::string last_op;      // FlightRecorder::last_op_name() of its last execution
  std::string last_op_detail;  // FlightRecorder::last_op(): op, thread and phase, for people
};

/// True if `d` is a crash (a signal, or a sanitizer / internal-check report followed by an exit).
bool is_model_crash(const ProcessDeath& d);

/// The stable site: "runtime/interp_lifecycle.cc:26" (a sanitizer's or a check's report, with
/// the sanitizer's error kind: "undefined-behavior at runtime/...:26"), else "SIGSEGV in new_interp".
std::string model_crash_site(const ProcessDeath& d);

/// Finding{kind "model-crash", oracle "containment", detail = site}, with the report's key line.
Finding model_crash_finding(const ProcessDeath& d);

/// "SIGSEGV" for 11, "signal 64" for names it does not know.
std::string signal_name(int sig);

}  // namespace ifz::harness
