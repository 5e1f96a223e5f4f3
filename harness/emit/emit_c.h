// SPDX-License-Identifier: Apache-2.0
// emit_c.h — `interpfuzz emit-c`: a program (and its schedule) as a standalone C program that
// performs the same operations on a real libpython through CPython's embedding API, with its
// threads sequenced by explicit handshakes at every op boundary it can control (DESIGN D9).
// Defines EmitOptions, Emitted and emit_c().
//
// How: the program is executed once on the model (simulated platform, the requested profile,
// the schedule replayed) with an OpLog; the order in which op boundaries happened becomes the
// emitted handshake (op_sequence.h); each op becomes a call of the C prelude (c_prelude.h)
// chosen for the target CPython version (c_ops.h). An op with no faithful counterpart on that
// version makes emission fail: never a silently different program.
#pragma once

#include <string>
#include <vector>

#include "harness/exec/executor.h"
#include "harness/emit/script_steps.h"
#include "harness/exec/op_log.h"
#include "harness/program/program.h"
#include "harness/schedule/schedule.h"

namespace ifz::harness::emit {

struct EmitOptions {
  std::string profile;      // the model profile to sequence with ("3.11"); "" = the program's
  std::string source_name;  // shown in the header comment ("corpus/seeds/x.ifz")
  /// Defects enabled in the model on top of the profile's, after a version profile dropped the
  /// program's own `defect` lines: a what-if model (`diff --defects`), names of defects.def.
  std::vector<std::string> extra_defects;
};

struct Emitted {
  bool ok = false;
  std::string error;        // one line naming the op and the version, when !ok
  std::string c;            // the C program
  int minor = 0;            // CPython 3.<minor> it targets
  std::string profile;      // the profile its handshake comes from
  // Non-empty when the model's outcome needed a preemption the C program cannot force (a
  // thread stopped inside an instruction window of CPython, rt::Outcome::window): why, in
  // one sentence. The C header says so too.
  std::string unforceable;
  ExecResult model;         // the model execution it was derived from
  OpLog log;
  // The same program as data, for the real-CPython driver (harness/real/): each script's
  // steps (what the C functions of `c` call, in order) and the signals it trips (their
  // Python handlers are installed at init).
  std::vector<ScriptSteps> scripts;
  std::vector<int> signals;
};

Emitted emit_c(const Program& p, const Schedule& s, const EmitOptions& o);

/// The shell command that builds `c_file` against an installed CPython whose config script is
/// `config` (e.g. "python3.11-config"), as printed in the reproducer's header.
std::string build_command(const std::string& c_file, const std::string& config,
                          const std::string& output);

}  // namespace ifz::harness::emit
