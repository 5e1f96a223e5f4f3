// SPDX-License-Identifier: Apache-2.0
// text_format.h — the `.ifz` text form of a Program (DESIGN D4): parse, canonical print, read.
// Defines ParseError, parse_program, print_program, print_op, read_program_file.
//
// Grammar (version 1; docs/program-format.md has an example per op):
//
//   file     := header directive* section+          one item per line
//   header   := "interpfuzz-program" VERSION        first line that is not blank or a comment
//   directive:= "profile" NAME | "defect" NAME | "schedule" TOKEN
//   section  := "thread" "T<k>:" op*                 T0, T1, … in order, at most kMaxThreads
//   op       := NAME args                            args by the op's ArgShape (op.h)
//
// '#' starts a comment anywhere; blank lines are ignored; tokens are separated by spaces or
// tabs; a '\r' before the newline is ignored (CRLF files read as LF). `profile` is required
// and appears once; `defect` lines may repeat (each defect once; any order on input, printed
// in defects.def order); `schedule` is optional, one opaque token (its codec validates it).
//
// print_program() is canonical, so print(parse(text)) is a fixed point and parse(print(p)) == p
// for every valid program (validate.h). Errors are values, never aborts: parse_program() is
// total on any bytes (binary garbage, NUL bytes, huge lines) and reports the first error as
// "file:line:col: error: message" (STYLE §8.6, third tier: bad user input).
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "harness/program/op.h"
#include "harness/program/program.h"

namespace ifz::harness {

struct ParseError {
  std::string file;     // as given to parse_program / read_program_file
  int line = 0;         // 1-based; 0 = not about a line (I/O errors)
  int col = 0;          // 1-based byte column within the line
  std::string message;  // what was found and what was expected
  /// "file:line:col: error: message", or "file: error: message" when line is 0.
  std::string to_string() const;
};

/// Parses a whole `.ifz` text. `file` only labels errors.
std::variant<Program, ParseError> parse_program(std::string_view text,
                                                std::string_view file = "<input>");

/// The canonical text of `p`: header, profile, defects, schedule (if any), a blank line, then
/// each `thread Tk:` section with its ops indented two spaces, a blank line between sections.
/// REQUIRES: validate_program(p) succeeds.
std::string print_program(const Program& p);

/// One op as it appears in a section, without indentation ("add_pending touch to I1").
/// Total: a field out of range prints as '?', so traces may use it on any Op.
std::string print_op(const Op& op);

/// Reads and parses a file; a file that cannot be read is a ParseError with line 0.
std::variant<Program, ParseError> read_program_file(const std::string& path);

/// The words of the enumerated arguments, indexed by Op::variant (the text vocabulary).
const char* start_kind_name(StartKind k);  // threading | daemon | raw | c
const char* fork_mode_name(ForkMode m);    // fork | exec | preexec

}  // namespace ifz::harness
