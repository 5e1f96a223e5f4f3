// SPDX-License-Identifier: Apache-2.0
// wire_format.h — what interpfuzz and the real-CPython driver (driver_source.h) say to each
// other over the driver's stdin/stdout. Defines DriverProgram, RunRequest and their text forms,
// and the reply reader. The driver's C parser (driver_source.cc) reads the same grammar; both
// reject anything else with a message, never a crash.
//
// A request: one header line, then exactly <bytes> bytes of program text:
//   run <runs> <timeout_ms> <bytes>\n
// The program text (every number decimal, one step per line):
//   ifz-driver-program 1\n
//   signals <n> <sig>...\n                      the signals the program trips (1..16)
//   script <k> <steps>\n                        k = 0, 1, ... in order, at most 8 scripts
//   <kind> <turn> <code> <interp> <thread> <count> <variant> <flags>\n   per step
//   end\n
// (kind: emit::StepKind; code: the op's ops.def byte; the rest: emit::CallOp.)
// The driver answers each request with <runs> replies, one per run, in order:
//   result <timed_out 0|1> <wait_status> <out_bytes> <err_bytes>\n<stdout bytes><stderr bytes>
// or, when the request's program is invalid, with one line instead:
//   error <message>\n
// A request line it cannot read ends the driver (status 2) after that error line: the stream
// has no framing left to resynchronise on.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "harness/emit/emit_c.h"
#include "harness/emit/script_steps.h"
#include "harness/outcome/real_run.h"

namespace ifz::harness::real {

inline constexpr int kMaxDriverSteps = 4096;        // per script
inline constexpr size_t kMaxProgramBytes = 1 << 20;  // of a request's program text
inline constexpr int kMaxRuns = 100;

struct DriverProgram {
  std::vector<int> signals;
  std::vector<emit::ScriptSteps> scripts;
  bool operator==(const DriverProgram&) const = default;
};

/// The program of an emitted reproducer (e.ok).
DriverProgram driver_program(const emit::Emitted& e);

std::string print_driver_program(const DriverProgram& p);
/// nullopt with `error` (one line) on anything but a well-formed program within the bounds.
std::optional<DriverProgram> parse_driver_program(const std::string& text, std::string* error);

/// The request line and program text of one request.
std::string print_request(const DriverProgram& p, int runs, int timeout_ms);

/// One reply as the driver writes it (used by tests; the driver's C writes the same).
std::string print_result(const outcome::RealRun& r);

/// Reads replies from the front of a byte stream.
enum class ReplyStatus : uint8_t { kNeedMore, kResult, kError };
/// kResult: `*run` filled and `*consumed` bytes used; kError: `*error` is the driver's message
/// (or why the bytes are not a reply) and `*consumed` the bytes of its line; kNeedMore: the
/// reply is not complete yet.
ReplyStatus parse_reply(const std::string& bytes, size_t* consumed, outcome::RealRun* run,
                        std::string* error);

}  // namespace ifz::harness::real
