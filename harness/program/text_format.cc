// SPDX-License-Identifier: Apache-2.0
// text_format.cc — the `.ifz` parser: a line-at-a-time reader that stops at the
// first error and reports it with file:line:col (printing lives in text_print.cc).
#include "harness/program/text_format.h"

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

#include "harness/program/internal/text_vocabulary.h"
#include "harness/program/validate.h"
#include "runtime/defects.h"
#include "runtime/profile.h"

namespace ifz::harness {
namespace {

constexpr std::string_view kHeaderWord = "interpfuzz-program";

struct Token {
  std::string_view text;
  int col;  // 1-based byte column
};

// Separators are space and tab; '\r' too, so that CRLF lines (and a stray CR) read as LF.
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// The tokens of one line up to a '#' comment.
std::vector<Token> tokenize(std::string_view line) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < line.size() && line[i] != '#') {
    if (is_space(line[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < line.size() && !is_space(line[j]) && line[j] != '#') ++j;
    // A line longer than INT_MAX bytes keeps a saturated column rather than wrapping.
    const int col = static_cast<int>(std::min<size_t>(i + 1, 0x7fffffff));
    out.push_back({line.substr(i, j - i), col});
    i = j;
  }
  return out;
}

// Decimal digits only (no sign, no spaces); values past 10^9 saturate, so a huge number is
// reported as out of range instead of overflowing.
std::optional<int> parse_uint(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = std::min<int64_t>(v * 10 + (c - '0'), 1'000'000'000);
  }
  return static_cast<int>(v);
}

// "T3" / "I12": a prefix letter and a decimal index.
std::optional<int> parse_ref(std::string_view s, char prefix) {
  if (s.empty() || s[0] != prefix) return std::nullopt;
  return parse_uint(s.substr(1));
}

std::string range_text(int lo, int hi) { return std::to_string(lo) + ".." + std::to_string(hi); }

class Parser {
 public:
  Parser(std::string_view text, std::string_view file) : text_(text), file_(file) {}
  std::variant<Program, ParseError> run();

 private:
  struct ThreadRef {
    int line;
    int col;
    int thread;
  };

  bool dispatch();
  bool header();
  bool directive();
  bool profile_line();
  bool defect_line();
  bool schedule_line();
  bool section();
  bool op_line();
  bool op_args(Op& op);
  bool interp_flags(Op& op);
  bool pending_target(Op& op);
  bool sync_args(Op& op);
  bool fork_args(Op& op);
  bool read_word(const WordSet& words, uint8_t& out);
  bool read_interp(int32_t& out);
  bool read_thread(OpCode c, int32_t& out);
  bool thread_ref(OpCode c, std::string_view text, int col, int32_t& out);
  bool read_count(OpCode c, int32_t& out);
  bool expect_end(std::string_view usage);
  bool finish();

  const Token* peek() const { return pos_ < toks_.size() ? &toks_[pos_] : nullptr; }
  const Token* take() { return pos_ < toks_.size() ? &toks_[pos_++] : nullptr; }
  // Where a missing token would start: just after the line's last token.
  int end_col() const {
    const Token& last = toks_.back();
    return static_cast<int>(std::min<size_t>(last.col + last.text.size(), 0x7fffffff));
  }
  bool fail(int col, std::string message) {
    error_ = ParseError{file_, line_, col, std::move(message)};
    return false;
  }

  std::string_view text_;
  std::string file_;
  int line_ = 0;               // current line, 1-based
  int last_content_line_ = 0;  // last line with a token: where end-of-input errors point
  std::vector<Token> toks_;    // tokens of the current line; never empty while dispatching
  size_t pos_ = 0;             // next token to read
  Program program_;
  bool seen_header_ = false;
  int profile_line_ = 0;  // line of the `profile` directive, 0 = none yet
  bool seen_schedule_ = false;
  std::array<bool, rt::kDefectCount> defects_{};
  // Checked once every section is known: a script may name a later one.
  std::vector<ThreadRef> thread_refs_;
  std::optional<ParseError> error_;
};

std::variant<Program, ParseError> Parser::run() {
  size_t start = 0;
  while (start <= text_.size()) {
    size_t nl = text_.find('\n', start);
    if (nl == std::string_view::npos) nl = text_.size();
    ++line_;
    toks_ = tokenize(text_.substr(start, nl - start));
    pos_ = 1;
    if (!toks_.empty()) {
      last_content_line_ = line_;
      if (!dispatch()) return *error_;
    }
    start = nl + 1;
  }
  if (!finish()) return *error_;
  return std::move(program_);
}

bool Parser::dispatch() {
  const std::string_view first = toks_[0].text;
  if (!seen_header_) return header();
  if (first == "thread") return section();
  if (program_.threads.empty()) return directive();
  if (first == "profile" || first == "defect" || first == "schedule" || first == kHeaderWord) {
    return fail(toks_[0].col, quote(first) + " must come before the first thread section");
  }
  return op_line();
}

bool Parser::header() {
  if (toks_[0].text != kHeaderWord) {
    return fail(toks_[0].col, "missing header 'interpfuzz-program " +
                                  std::to_string(Program::kFormatVersion) + "'");
  }
  const Token* v = take();
  if (v == nullptr) {
    return fail(end_col(), "expected a format version number after 'interpfuzz-program'");
  }
  const std::optional<int> version = parse_uint(v->text);
  if (!version) {
    return fail(v->col, "expected a format version number after 'interpfuzz-program', got " +
                            quote(v->text));
  }
  if (*version != Program::kFormatVersion) {
    return fail(v->col, "unsupported format version " + clip(v->text) +
                            " (this build reads version " +
                            std::to_string(Program::kFormatVersion) + ")");
  }
  seen_header_ = true;
  return expect_end("");
}

bool Parser::directive() {
  const Token& first = toks_[0];
  if (first.text == "profile") return profile_line();
  if (first.text == "defect") return defect_line();
  if (first.text == "schedule") return schedule_line();
  if (first.text == kHeaderWord) return fail(first.col, "duplicate header line");
  if (find_op(first.text)) {
    return fail(first.col, "op " + quote(first.text) +
                               " outside a thread section (expected 'thread T0:' before it)");
  }
  return fail(first.col, "unknown directive " + quote(first.text) +
                             " (expected profile, defect, schedule or thread)");
}

bool Parser::profile_line() {
  if (profile_line_ != 0) {
    return fail(toks_[0].col, "duplicate 'profile' line (the first is on line " +
                                  std::to_string(profile_line_) + ")");
  }
  const Token* t = take();
  if (t == nullptr) {
    return fail(end_col(),
                "expected a profile name after 'profile' (known: " + profile_list() + ")");
  }
  if (rt::find_profile(t->text) == nullptr) {
    return fail(t->col, "unknown profile " + quote(t->text) + " (known: " + profile_list() + ")");
  }
  program_.profile = std::string(t->text);
  profile_line_ = line_;
  return expect_end("");
}

bool Parser::defect_line() {
  const Token* t = take();
  if (t == nullptr) {
    return fail(end_col(), "expected a defect name after 'defect' (known: " + defect_list() + ")");
  }
  const std::optional<rt::Defect> d = rt::find_defect(t->text);
  if (!d) {
    return fail(t->col, "unknown defect " + quote(t->text) + " (known: " + defect_list() + ")");
  }
  if (defects_[static_cast<size_t>(*d)]) {
    return fail(t->col, "defect " + quote(t->text) + " is listed twice");
  }
  defects_[static_cast<size_t>(*d)] = true;
  return expect_end("");
}

bool Parser::schedule_line() {
  if (seen_schedule_) return fail(toks_[0].col, "duplicate 'schedule' line");
  const Token* t = take();
  if (t == nullptr) return fail(end_col(), "expected a schedule token after 'schedule'");
  if (!valid_schedule_token(t->text)) {
    return fail(t->col,
                "schedule " + quote(t->text) + " contains a byte that is not printable ASCII");
  }
  if (const Token* extra = peek()) {
    return fail(extra->col,
                "unexpected " + quote(extra->text) + " (a schedule is one token, without spaces)");
  }
  program_.schedule = std::string(t->text);
  seen_schedule_ = true;
  return true;
}

bool Parser::section() {
  const int k = static_cast<int>(program_.threads.size());
  if (profile_line_ == 0) {
    return fail(toks_[0].col, "missing 'profile <name>' line before the first thread section");
  }
  if (k >= kMaxThreads) {
    return fail(toks_[0].col, "too many thread sections (at most " + std::to_string(kMaxThreads) +
                                  ": T0.." + "T" + std::to_string(kMaxThreads - 1) + ")");
  }
  const std::string expected = "'thread T" + std::to_string(k) + ":'";
  const Token* t = take();
  if (t == nullptr) return fail(end_col(), "expected " + expected);
  const std::string_view name = t->text;
  const std::optional<int> got =
      name.ends_with(':') ? parse_ref(name.substr(0, name.size() - 1), 'T') : std::nullopt;
  if (!got) return fail(t->col, "expected " + expected + ", got " + quote(name));
  if (*got != k) {
    return fail(t->col,
                "expected " + expected + " (sections are numbered in order), got " + quote(name));
  }
  program_.threads.emplace_back();
  return expect_end("");
}

bool Parser::op_line() {
  const Token& name = toks_[0];
  const std::optional<OpCode> code = find_op(name.text);
  if (!code) {
    return fail(name.col, "unknown op " + quote(name.text) + " (known: " + op_list() + ")");
  }
  Script& script = program_.threads.back();
  if (script.ops.size() >= static_cast<size_t>(kMaxOpsPerThread)) {
    return fail(name.col, "thread T" + std::to_string(program_.threads.size() - 1) +
                              " has more than " + std::to_string(kMaxOpsPerThread) +
                              " ops (kMaxOpsPerThread)");
  }
  Op op = make_op(*code);
  if (!op_args(op) || !expect_end(op_usage(op.code))) return false;
  script.ops.push_back(op);
  return true;
}

bool Parser::op_args(Op& op) {
  switch (op_info(op.code).args) {
    case ArgShape::kNone: return true;
    case ArgShape::kInterpCfg: return interp_flags(op);
    case ArgShape::kInterp: return read_interp(op.interp);
    case ArgShape::kStart:
      return read_thread(op.code, op.thread) && read_word(kStartWords, op.variant);
    case ArgShape::kThread: return read_thread(op.code, op.thread);
    case ArgShape::kCount: return read_count(op.code, op.count);
    case ArgShape::kPending: return read_word(kPendingWords, op.variant) && pending_target(op);
    case ArgShape::kFork: return fork_args(op);
    case ArgShape::kLock: return read_word(kLockWords, op.variant) && read_count(op.code, op.count);
    case ArgShape::kSync: return sync_args(op);
  }
  return true;
}

bool Parser::sync_args(Op& op) {
  const char letter = sync_letter(op.code);
  const std::string like = std::string("a ") + (letter == 'L' ? "lock" : "event") +
                           " reference like " + letter + "0";
  const Token* t = take();
  if (t == nullptr) return fail(end_col(), "expected " + like);
  const std::optional<int> v = parse_ref(t->text, letter);
  if (!v) return fail(t->col, "expected " + like + ", got " + quote(t->text));
  if (*v >= kSyncObjects) {
    return fail(t->col, std::string(letter == 'L' ? "lock " : "event ") + clip(t->text) +
                            " out of range (" + letter + "0.." + letter +
                            std::to_string(kSyncObjects - 1) + ")");
  }
  op.variant = static_cast<uint8_t>(*v);
  const Token* m = peek();
  if (m != nullptr && m->text == "timeout" && sync_takes_timeout(op.code)) {
    op.variant |= kSyncTimeout;
    ++pos_;
  }
  return true;
}

bool Parser::interp_flags(Op& op) {
  const Token* t = peek();
  if (t != nullptr && t->text == kFlagIsolated) {
    op.variant |= kInterpIsolated;
    ++pos_;
    t = peek();
  }
  if (t != nullptr && t->text == kFlagOwnGil) {
    op.variant |= kInterpOwnGil;
    ++pos_;
    t = peek();
  }
  if (t == nullptr) return true;
  if (t->text == kFlagIsolated || t->text == kFlagOwnGil) {
    return fail(t->col, "new_interp flags go at most once each, in the order 'isolated own_gil'");
  }
  return fail(t->col, "unknown new_interp flag " + quote(t->text) + " (known: isolated, own_gil)");
}

bool Parser::pending_target(Op& op) {
  const Token* t = peek();
  if (t == nullptr) return true;
  if (t->text != "to") {
    return fail(t->col, "expected 'to I<n>' or the end of the line, got " + quote(t->text));
  }
  ++pos_;
  return read_interp(op.interp);
}

bool Parser::fork_args(Op& op) {
  if (!read_word(kForkWords, op.variant)) return false;
  const Token* t = take();
  if (t == nullptr) return fail(end_col(), "expected follow=parent or follow=child");
  if (t->text == "follow=child" || t->text == "follow=parent") {
    op.follow_child = t->text == "follow=child";
  } else {
    return fail(t->col, "expected follow=parent or follow=child, got " + quote(t->text));
  }
  t = peek();
  if (t == nullptr) return true;
  constexpr std::string_view kChild = "child=";
  if (!t->text.starts_with(kChild)) {
    return fail(t->col, "expected child=T<k> or the end of the line, got " + quote(t->text));
  }
  ++pos_;
  return thread_ref(op.code, t->text.substr(kChild.size()),
                    t->col + static_cast<int>(kChild.size()), op.thread);
}

bool Parser::read_word(const WordSet& words, uint8_t& out) {
  const Token* t = take();
  if (t == nullptr) {
    return fail(end_col(), std::string("expected a ") + words.what + " (" + words.list(", ") + ")");
  }
  for (int i = 0; i < words.count; ++i) {
    if (t->text == words.name(i)) {
      out = static_cast<uint8_t>(i);
      return true;
    }
  }
  return fail(t->col, std::string("unknown ") + words.what + " " + quote(t->text) +
                          " (known: " + words.list(", ") + ")");
}

bool Parser::read_interp(int32_t& out) {
  const Token* t = take();
  if (t == nullptr) return fail(end_col(), "expected an interpreter reference like I1");
  const std::optional<int> v = parse_ref(t->text, 'I');
  if (!v) return fail(t->col, "expected an interpreter reference like I1, got " + quote(t->text));
  if (*v > kMaxInterp) {
    return fail(t->col, "interpreter " + clip(t->text) + " out of range (I0..I" +
                            std::to_string(kMaxInterp) + ")");
  }
  out = *v;
  return true;
}

bool Parser::read_thread(OpCode c, int32_t& out) {
  const Token* t = take();
  if (t == nullptr) return fail(end_col(), "expected a thread reference like T1");
  return thread_ref(c, t->text, t->col, out);
}

bool Parser::thread_ref(OpCode c, std::string_view text, int col, int32_t& out) {
  const std::optional<int> v = parse_ref(text, 'T');
  if (!v) return fail(col, "expected a thread reference like T1, got " + quote(text));
  if (*v < min_thread_ref(c)) {
    return fail(col, quote(op_info(c).name) + " cannot name T0, the main thread");
  }
  if (*v >= kMaxThreads) {
    return fail(col, "thread " + clip(text) + " out of range (T0..T" +
                         std::to_string(kMaxThreads - 1) + ")");
  }
  thread_refs_.push_back({line_, col, *v});
  out = *v;
  return true;
}

bool Parser::read_count(OpCode c, int32_t& out) {
  const std::string range = range_text(min_count(c), kMaxCount);
  const Token* t = take();
  if (t == nullptr) return fail(end_col(), "expected a count N in " + range);
  const std::optional<int> v = parse_uint(t->text);
  if (!v) return fail(t->col, "expected a count N in " + range + ", got " + quote(t->text));
  if (*v < min_count(c) || *v > kMaxCount) {
    return fail(t->col, "count " + clip(t->text) + " out of range (" + range + ")");
  }
  out = *v;
  return true;
}

bool Parser::expect_end(std::string_view usage) {
  const Token* t = peek();
  if (t == nullptr) return true;
  if (usage.empty()) {
    return fail(t->col, "unexpected " + quote(t->text) + " at the end of the line");
  }
  return fail(t->col, "unexpected " + quote(t->text) + " (usage: " + std::string(usage) + ")");
}

bool Parser::finish() {
  line_ = std::max(last_content_line_, 1);
  if (!seen_header_) {
    return fail(
        1, "missing header 'interpfuzz-program " + std::to_string(Program::kFormatVersion) + "'");
  }
  if (profile_line_ == 0) {
    return fail(1, "missing 'profile <name>' line (known: " + profile_list() + ")");
  }
  if (program_.threads.empty()) return fail(1, "expected a thread section ('thread T0:')");
  const int n = static_cast<int>(program_.threads.size());
  for (const ThreadRef& r : thread_refs_) {
    if (r.thread < n) continue;
    line_ = r.line;
    return fail(r.col, "thread T" + std::to_string(r.thread) +
                           " is referenced but the program has only " + std::to_string(n) +
                           (n == 1 ? " thread" : " threads"));
  }
  for (const rt::DefectInfo& d : rt::all_defects()) {
    if (defects_[static_cast<size_t>(d.id)]) program_.defects.emplace_back(d.name);
  }
  return true;
}

}  // namespace

std::variant<Program, ParseError> parse_program(std::string_view text, std::string_view file) {
  return Parser(text, file).run();
}

}  // namespace ifz::harness
