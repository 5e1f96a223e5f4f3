// SPDX-License-Identifier: Apache-2.0
// text_print.cc — the canonical `.ifz` printer, error rendering and file reading.
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "harness/program/internal/text_vocabulary.h"
#include "harness/program/text_format.h"
#include "harness/program/validate.h"
#include "base/check.h"

namespace ifz::harness {
namespace {

// A `.ifz` file is at most a few thousand lines (kMaxThreads × kMaxOpsPerThread ops plus
// comments); anything far larger is a wrong path, refused before it fills memory.
constexpr size_t kMaxFileBytes = size_t{16} << 20;

std::string ref(char prefix, int index) { return prefix + std::to_string(index); }

std::string print_args(const Op& op) {
  switch (op_info(op.code).args) {
    case ArgShape::kNone: return "";
    case ArgShape::kInterpCfg: {
      std::string out;
      if (op.variant & kInterpIsolated) out += " " + std::string(kFlagIsolated);
      if (op.variant & kInterpOwnGil) out += " " + std::string(kFlagOwnGil);
      return out;
    }
    case ArgShape::kInterp: return " " + ref('I', op.interp);
    case ArgShape::kStart:
      return " " + ref('T', op.thread) + " " + kStartWords.name_or_unknown(op.variant);
    case ArgShape::kThread: return " " + ref('T', op.thread);
    case ArgShape::kCount: return " " + std::to_string(op.count);
    case ArgShape::kPending: {
      std::string out = std::string(" ") + kPendingWords.name_or_unknown(op.variant);
      if (op.interp >= 0) out += " to " + ref('I', op.interp);
      return out;
    }
    case ArgShape::kFork: {
      std::string out = std::string(" ") + kForkWords.name_or_unknown(op.variant);
      out += op.follow_child ? " follow=child" : " follow=parent";
      if (op.thread >= 0) out += " child=" + ref('T', op.thread);
      return out;
    }
    case ArgShape::kLock:
      return std::string(" ") + kLockWords.name_or_unknown(op.variant) + " " +
             std::to_string(op.count);
    case ArgShape::kSync:
      return " " + ref(sync_letter(op.code), op.variant & ~kSyncTimeout) +
             ((op.variant & kSyncTimeout) != 0 ? " timeout" : "");
  }
  return "";
}

ParseError io_error(const std::string& path, const char* what, int err) {
  return ParseError{path, 0, 0, std::string(what) + ": " + std::strerror(err)};
}

}  // namespace

const char* start_kind_name(StartKind k) {
  switch (k) {
    case StartKind::kThreading: return "threading";
    case StartKind::kDaemon: return "daemon";
    case StartKind::kRaw: return "raw";
    case StartKind::kCThread: return "c";
  }
  return "?";
}

const char* fork_mode_name(ForkMode m) {
  switch (m) {
    case ForkMode::kFork: return "fork";
    case ForkMode::kExec: return "exec";
    case ForkMode::kPreexec: return "preexec";
  }
  return "?";
}

std::string ParseError::to_string() const {
  if (line == 0) return file + ": error: " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(col) + ": error: " + message;
}

std::string print_op(const Op& op) {
  if (!is_opcode(static_cast<uint8_t>(op.code))) {
    return "?op" + std::to_string(static_cast<int>(op.code));
  }
  return op_info(op.code).name + print_args(op);
}

std::string print_program(const Program& p) {
  const std::optional<std::string> invalid = validate_program(p);
  IFZ_PRECONDITION(!invalid, "print_program needs a valid program (see validate_program)");
  std::string out = "interpfuzz-program " + std::to_string(Program::kFormatVersion) + "\n";
  out += "profile " + p.profile + "\n";
  for (const std::string& d : p.defects) out += "defect " + d + "\n";
  if (!p.schedule.empty()) out += "schedule " + p.schedule + "\n";
  for (size_t t = 0; t < p.threads.size(); ++t) {
    out += "\nthread " + ref('T', static_cast<int>(t)) + ":\n";
    for (const Op& op : p.threads[t].ops) out += "  " + print_op(op) + "\n";
  }
  return out;
}

std::variant<Program, ParseError> read_program_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return io_error(path, "cannot open", errno);
  std::string text;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    text.append(buf, n);
    if (text.size() > kMaxFileBytes) {
      std::fclose(f);
      return ParseError{path, 0, 0, "file is larger than 16 MiB: not a program"};
    }
  }
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) return io_error(path, "cannot read", err);
  return parse_program(text, path);
}

}  // namespace ifz::harness
