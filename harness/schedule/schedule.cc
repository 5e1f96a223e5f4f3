// SPDX-License-Identifier: Apache-2.0
// schedule.cc — the IFZS1 schedule codec: canonical printing and a total, one-line-error parser.
// Defines Schedule::to_string, Schedule::parse and Schedule::preemptions (format in schedule.h).
#include "harness/schedule/schedule.h"

#include <cstdint>
#include <limits>

#include "base/check.h"

namespace ifz::harness {
namespace {

using platform::ThreadId;

constexpr uint64_t kMaxTid = static_cast<uint64_t>(std::numeric_limits<ThreadId>::max());

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A character as an error message shows it: printable ASCII quoted, anything else as \xNN, so
// that the message stays one printable line whatever the input.
std::string show_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
  static const char kHex[] = "0123456789abcdef";
  return std::string("\\x") + kHex[u >> 4] + kHex[u & 0xf];
}

// Cursor over the (trimmed) input that remembers where the trimmed text starts, so that
// errors report columns of the string the user actually passed.
class Parser {
 public:
  Parser(std::string_view text, size_t column_base, std::string* error)
      : text_(text), base_(column_base), error_(error) {}

  std::optional<Schedule> run();

 private:
  bool token(Schedule& out);
  // Reads a decimal number of at most `max`; `what` names it in errors.
  std::optional<uint64_t> number(const char* what, uint64_t max);
  bool fail(const std::string& message);
  bool at_end() const { return pos_ == text_.size(); }

  std::string_view text_;
  size_t base_;
  std::string* error_;
  size_t pos_ = 0;
};

std::optional<Schedule> Parser::run() {
  if (text_.substr(0, Schedule::kPrefix.size()) != Schedule::kPrefix) {
    fail("a schedule starts with \"" + std::string(Schedule::kPrefix) + "\"");
    return std::nullopt;
  }
  pos_ = Schedule::kPrefix.size();
  Schedule out;
  if (at_end()) return out;
  while (true) {
    if (!token(out)) return std::nullopt;
    if (at_end()) return out;
    if (text_[pos_] != '.') {
      fail("expected '.' or the end after a token, got " + show_char(text_[pos_]));
      return std::nullopt;
    }
    ++pos_;
  }
}

bool Parser::token(Schedule& out) {
  size_t token_pos = pos_;
  std::optional<uint64_t> tid = number("a thread id", kMaxTid);
  if (!tid) return false;
  uint64_t count = 1;
  if (!at_end() && text_[pos_] == 'x') {
    ++pos_;
    size_t count_pos = pos_;
    std::optional<uint64_t> n = number("a repeat count", Schedule::kMaxPicks);
    if (!n) return false;
    if (*n == 0) {
      pos_ = count_pos;
      return fail("a repeat count is at least 1");
    }
    count = *n;
  }
  if (count > Schedule::kMaxPicks - out.picks.size()) {
    pos_ = token_pos;
    return fail("schedule longer than Schedule::kMaxPicks = " +
                std::to_string(Schedule::kMaxPicks) + " picks");
  }
  out.picks.insert(out.picks.end(), count, static_cast<ThreadId>(*tid));
  return true;
}

std::optional<uint64_t> Parser::number(const char* what, uint64_t max) {
  if (at_end()) {
    fail(std::string("expected ") + what + ", got the end");
    return std::nullopt;
  }
  if (!is_digit(text_[pos_])) {
    fail(std::string("expected ") + what + " (decimal digits), got " + show_char(text_[pos_]));
    return std::nullopt;
  }
  size_t start = pos_;
  uint64_t value = 0;
  for (; !at_end() && is_digit(text_[pos_]); ++pos_) {
    value = value * 10 + static_cast<uint64_t>(text_[pos_] - '0');
    if (value > max) {
      pos_ = start;
      fail(std::string(what) + " exceeds " + std::to_string(max));
      return std::nullopt;
    }
  }
  return value;
}

bool Parser::fail(const std::string& message) {
  if (error_ != nullptr) {
    *error_ = "bad schedule at column " + std::to_string(base_ + pos_ + 1) + ": " + message;
  }
  return false;
}

}  // namespace

std::string Schedule::to_string() const {
  std::string out(kPrefix);
  for (size_t i = 0; i < picks.size();) {
    IFZ_PRECONDITION(picks[i] >= 0, "Schedule::picks holds a negative thread id");
    size_t run = 1;
    while (i + run < picks.size() && picks[i + run] == picks[i]) ++run;
    if (i > 0) out += '.';
    out += std::to_string(picks[i]);
    if (run > 1) out += 'x' + std::to_string(run);
    i += run;
  }
  return out;
}

std::optional<Schedule> Schedule::parse(std::string_view s, std::string* error) {
  size_t begin = 0;
  while (begin < s.size() && is_space(s[begin])) ++begin;
  size_t end = s.size();
  while (end > begin && is_space(s[end - 1])) --end;
  return Parser(s.substr(begin, end - begin), begin, error).run();
}

size_t Schedule::preemptions() const {
  size_t n = 0;
  for (size_t i = 1; i < picks.size(); ++i) n += picks[i] != picks[i - 1] ? 1 : 0;
  return n;
}

}  // namespace ifz::harness
