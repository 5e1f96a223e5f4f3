// SPDX-License-Identifier: Apache-2.0
// oracle.h — the oracle interface and registry (DESIGN D6). Oracles watch one execution:
// every runtime event (each is also a scheduling point), every op the program issues, and the
// end of the process; they report violations of CPython's contracts as Findings.
// Defines OpContext, EndContext, OracleSink, Oracle, make_oracles and oracle_catalogue.
//
// Oracles decide from mechanism-level observations only (events, the runtime's inspection
// API, the outcome). They never read defect canaries and never know a defect's name.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "harness/exec/finding.h"
#include "harness/program/op.h"
#include "runtime/events.h"
#include "runtime/outcome.h"
#include "runtime/platform/platform.h"
#include "runtime/runtime.h"

namespace ifz::harness {

/// What the executor knows about the thread issuing an op, just before it runs.
struct OpContext {
  platform::ThreadId thread = platform::kNoThread;
  int script = 0;
  Op op;
  int64_t current_interp = -1;  // interpreter of the thread's current tstate, -1 = none
  int64_t bound_interp = -1;    // interpreter of the tstate this thread last ran (even released)
  bool attached = false;        // current tstate and its GIL held
  bool is_daemon = false;       // the thread is a daemon / raw / C thread
  // The op is issued from inside a Python frame running on the thread's current tstate: a
  // threading / _thread thread's target function (on the tstate it started with), or a
  // Python callback (atexit) running on that tstate. C code of the embedding has none.
  bool in_python_frame = false;
};

/// How the execution ended.
struct EndContext {
  const platform::RunResult& run;
  const rt::Outcome& outcome;
  bool process_ended_normally = false;  // exit/return, not fatal/crash/deadlock/hang
  // A deadlock the program made itself (the executor's rule, docs/program-format.md
  // "lock_acquire"): some thread waits on one of the program's own locks or events
  // (rt::UserSync) that no thread able to run could still release or set. Its outcome is the
  // program's (a hang on real CPython too), not a finding.
  bool program_deadlock = false;
};

class OracleSink {
 public:
  OracleSink(const rt::Runtime& rt, platform::Platform& p) : runtime(rt), plat(p) {}
  virtual ~OracleSink() = default;
  virtual void report(Finding f) = 0;
  const rt::Runtime& runtime;
  platform::Platform& plat;
};

class Oracle {
 public:
  virtual ~Oracle() = default;
  virtual const char* name() const = 0;
  virtual void on_op(const OpContext& op, OracleSink& sink) {}
  virtual void on_event(const rt::Event& e, OracleSink& sink) {}
  virtual void on_end(const EndContext& end, OracleSink& sink) {}
};

/// e.text == s, lengths first. (std::string == const char* always calls memcmp, which
/// libFuzzer intercepts and, on a mismatch, records for its comparison table: on every phase
/// event, for nothing.)
inline bool text_is(const rt::Event& e, std::string_view s) { return std::string_view(e.text) == s; }
/// A phase event of `p` (phases.def).
inline bool is_phase(const rt::Event& e, rt::Phase p) {
  return e.kind == rt::EventKind::kPhase && text_is(e, rt::phase_name(p));
}

/// A fresh set of every oracle for one execution on `profile`.
std::vector<std::unique_ptr<Oracle>> make_oracles(const rt::Profile& profile);

struct OracleDoc {
  const char* name;
  const char* checks;
};
/// For `interpfuzz list oracles`.
const std::vector<OracleDoc>& oracle_catalogue();

}  // namespace ifz::harness
