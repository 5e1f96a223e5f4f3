// SPDX-License-Identifier: Apache-2.0
// contained_run.h — one simulated execution in a child process, so that a crash of the model
// (a signal, a sanitizer report, a failed IFZ_CHECK) becomes a `model-crash` finding of that
// execution instead of the end of the tool. Defines execute_contained and the ExecResult codec.
//
// The child is a fork of the caller: it has the program, the options and the chooser as they
// are. It runs execute() with a LoggingChooser around the chooser, writes the ExecResult to a
// pipe and exits; the parent then feeds the logged choices to its own chooser
// (FlightRecorder::replay_into), so a strategy, a ReplayStrategy's divergence record or a
// RecordingChooser's schedule end exactly as after an in-process execute(). A child that dies
// leaves the choices made so far in the shared log: the parent's RecordingChooser then holds
// the schedule that replays to the crash, and the ExecResult holds one model-crash finding.
//
// Cost: one fork per execution (≈1 ms on a small process here, see the README's stress
// figures), so the CLI uses it where executions are few (replay, explain, run, the start and
// the safe mode of minimize); loops of many executions contain whole workers instead
// (stress.cc, minimize_cmd.cc).
#pragma once

#include <string>

#include "harness/exec/executor.h"
#include "harness/program/op.h"

namespace ifz::harness {

/// execute(p, opts) in a child process (simulated platform only; `opts.op_log` is not
/// supported). `opts.contain` is ignored.
ExecResult execute_contained(const Program& p, const ExecOptions& opts);

/// The codec of ExecResult across a pipe (every field but `run.report`, which the simulated
/// platform leaves empty). decode returns false on a truncated or malformed message.
std::string encode_exec_result(const ExecResult& r);
bool decode_exec_result(const std::string& bytes, ExecResult* r);

/// The same for one Finding (minimize's results cross a pipe too).
void encode_finding(const Finding& f, std::string* out);
bool decode_finding(const std::string& bytes, size_t* pos, Finding* f);

/// Test-only way to crash the model on purpose (never an op of the vocabulary): when the
/// environment variable IFZ_TEST_MODEL_CRASH is `<op>:<how>` (how = segv | abort | check), the
/// executor crashes that way as an op named <op> starts. Read once per process.
void maybe_crash_for_test(OpCode op);

}  // namespace ifz::harness
