// SPDX-License-Identifier: Apache-2.0
// wire_format.cc — see wire_format.h.
#include "harness/real/wire_format.h"

#include <charconv>
#include <sstream>

#include "harness/program/op.h"

namespace ifz::harness::real {

namespace {

// Splits one line into integers; false on anything that is not exactly `n` of them.
bool ints(const std::string& line, size_t n, std::vector<long>* out) {
  out->clear();
  const char* p = line.data();
  const char* end = p + line.size();
  while (p < end) {
    if (*p == ' ') {
      ++p;
      continue;
    }
    long v = 0;
    auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc() || (next < end && *next != ' ')) return false;
    out->push_back(v);
    p = next;
  }
  return out->size() == n;
}

bool in_range(long v, long lo, long hi) { return v >= lo && v <= hi; }

}  // namespace

DriverProgram driver_program(const emit::Emitted& e) { return {e.signals, e.scripts}; }

std::string print_driver_program(const DriverProgram& p) {
  std::ostringstream os;
  os << "ifz-driver-program 1\nsignals " << p.signals.size();
  for (int s : p.signals) os << " " << s;
  os << "\n";
  for (size_t k = 0; k < p.scripts.size(); ++k) {
    os << "script " << k << " " << p.scripts[k].steps.size() << "\n";
    for (const emit::Step& s : p.scripts[k].steps) {
      os << static_cast<int>(s.kind) << " " << s.turn << " " << s.op.code << " " << s.op.interp
         << " " << s.op.thread << " " << s.op.count << " " << s.op.variant << " " << s.op.flags
         << "\n";
    }
  }
  os << "end\n";
  return os.str();
}

std::optional<DriverProgram> parse_driver_program(const std::string& text, std::string* error) {
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  auto fail = [&](const std::string& why) {
    *error = "driver program, line " + std::to_string(line_no) + ": " + why;
    return std::nullopt;
  };
  auto next = [&] {
    ++line_no;
    return static_cast<bool>(std::getline(in, line));
  };
  if (!next() || line != "ifz-driver-program 1") return fail("expected 'ifz-driver-program 1'");
  if (!next() || line.rfind("signals ", 0) != 0) return fail("expected 'signals <n> <sig>...'");
  DriverProgram p;
  std::vector<long> v;
  {
    std::istringstream counts(line.substr(8));
    long n = -1;
    counts >> n;
    if (!in_range(n, 0, 64)) return fail("bad signal count");
    std::string rest;
    std::getline(counts, rest);
    if (!ints(rest, static_cast<size_t>(n), &v)) return fail("expected " + std::to_string(n) + " signal numbers");
    for (long s : v) {
      if (!in_range(s, 1, 16)) return fail("signal out of range 1..16");
      p.signals.push_back(static_cast<int>(s));
    }
  }
  for (;;) {
    if (!next()) return fail("expected 'script' or 'end'");
    if (line == "end") break;
    if (line.rfind("script ", 0) != 0 || !ints(line.substr(7), 2, &v)) {
      return fail("expected 'script <k> <steps>' or 'end'");
    }
    if (v[0] != static_cast<long>(p.scripts.size()) || v[0] >= kMaxThreads) {
      return fail("scripts must be numbered 0, 1, ... below " + std::to_string(kMaxThreads));
    }
    if (!in_range(v[1], 0, kMaxDriverSteps)) return fail("bad step count");
    emit::ScriptSteps script;
    for (long i = 0, n = v[1]; i < n; ++i) {
      if (!next() || !ints(line, 8, &v)) return fail("expected a step: 8 numbers");
      if (!in_range(v[0], 1, emit::kMaxStepKind)) return fail("unknown step kind");
      if (!in_range(v[1], 0, 1 << 20)) return fail("turn out of range");
      if (static_cast<emit::StepKind>(v[0]) == emit::StepKind::kOp && !is_opcode(static_cast<uint8_t>(v[2]))) {
        return fail("unknown op code");
      }
      if (!in_range(v[2], 0, 255) || !in_range(v[3], -1, kMaxInterp) ||
          !in_range(v[4], -1, kMaxThreads - 1) || !in_range(v[5], 0, 64) ||
          !in_range(v[6], 0, 7) || !in_range(v[7], 0, 3)) {
        return fail("op argument out of range");
      }
      emit::Step s;
      s.kind = static_cast<emit::StepKind>(v[0]);
      s.turn = static_cast<int>(v[1]);
      s.op = {static_cast<int>(v[2]), static_cast<int>(v[3]), static_cast<int>(v[4]),
              static_cast<int>(v[5]), static_cast<int>(v[6]), static_cast<int>(v[7])};
      script.steps.push_back(std::move(s));
    }
    p.scripts.push_back(std::move(script));
  }
  if (p.scripts.empty()) return fail("a program has at least script 0");
  if (std::getline(in, line)) return fail("text after 'end'");
  return p;
}

std::string print_request(const DriverProgram& p, int runs, int timeout_ms) {
  const std::string text = print_driver_program(p);
  return "run " + std::to_string(runs) + " " + std::to_string(timeout_ms) + " " +
         std::to_string(text.size()) + "\n" + text;
}

std::string print_result(const outcome::RealRun& r) {
  return "result " + std::string(r.timed_out ? "1" : "0") + " " + std::to_string(r.wait_status) +
         " " + std::to_string(r.out.size()) + " " + std::to_string(r.err.size()) + "\n" + r.out + r.err;
}

ReplyStatus parse_reply(const std::string& bytes, size_t* consumed, outcome::RealRun* run,
                        std::string* error) {
  const size_t nl = bytes.find('\n');
  if (nl == std::string::npos) {
    if (bytes.size() > 4096) {
      *consumed = bytes.size();
      *error = "the driver's reply has no line end";
      return ReplyStatus::kError;
    }
    return ReplyStatus::kNeedMore;
  }
  const std::string line = bytes.substr(0, nl);
  if (line.rfind("error ", 0) == 0) {
    *consumed = nl + 1;
    *error = line.substr(6);
    return ReplyStatus::kError;
  }
  std::vector<long> v;
  if (line.rfind("result ", 0) != 0 || !ints(line.substr(7), 4, &v) || !in_range(v[0], 0, 1) ||
      v[2] < 0 || v[3] < 0 || v[2] > (1L << 30) || v[3] > (1L << 30)) {
    *consumed = bytes.size();
    *error = "not a driver reply: '" + line.substr(0, 80) + "'";
    return ReplyStatus::kError;
  }
  const size_t need = nl + 1 + static_cast<size_t>(v[2]) + static_cast<size_t>(v[3]);
  if (bytes.size() < need) return ReplyStatus::kNeedMore;
  run->timed_out = v[0] == 1;
  run->wait_status = static_cast<int>(v[1]);
  run->out = bytes.substr(nl + 1, static_cast<size_t>(v[2]));
  run->err = bytes.substr(nl + 1 + static_cast<size_t>(v[2]), static_cast<size_t>(v[3]));
  *consumed = need;
  return ReplyStatus::kResult;
}

}  // namespace ifz::harness::real
