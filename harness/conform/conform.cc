// SPDX-License-Identifier: Apache-2.0
// conform.cc — one cell of the conformance table (see conform.h).
//
// Marking a program whose real behaviour is timing-dependent: a comment line in its file,
//   # real 3.11.2: flaky ok 3/5, fatal(Fatal Python error: ...) 2/5
// (the version key of the install, or a prefix of it such as "3.11"; then the counts measured
// by `interpfuzz conform`). A marked cell whose runs differ is real-flaky, and passes when the
// model's outcome is among the real ones; an unmarked cell whose runs differ fails, so that
// timing dependence is written down, never silently skipped.
//
// Marking a debug build's own assertion:
//   # real 3.11.2-dbg: assertion new_threadstate: Assertion `id == 1' failed
// A debug build checks its state with assert() and aborts on the path where the release build
// goes on to the outcome the model describes (here the release build's fatal error comes one
// step later). A real run that aborted (SIGABRT) with that text on stderr is judged as having
// had the model's outcome; its observables are still compared. Written per program and
// version, with the exact text, so each such equivalence is a reviewed statement.
//
// A use-after-free on a release build: the model reports the access as a crash; a release
// build usually reads or writes the freed (still mapped) memory and runs on. When every real
// run of a release build ended normally, the cell is n/a and says so; the debug build's cell
// (freed memory filled with a pattern, pointers checked by assertions) decides.
//
// An outcome the reproducer cannot force: when the model's process died on a thread that
// needed a preemption inside an instruction window (rt::Outcome::window), a run without it is
// no evidence against the model, so a disagreeing cell is n/a with that reason.
#include "harness/conform/conform.h"

#include <algorithm>
#include <csignal>
#include <fstream>
#include <regex>

#include "harness/emit/emit_c.h"
#include "harness/outcome/model_run.h"
#include "harness/real/real_executor.h"
#include "harness/program/text_format.h"
#include "harness/real/real_executor.h"
#include "runtime/profile.h"

namespace ifz::harness::conform {

std::string Cell::short_text() const {
  switch (verdict) {
    case Verdict::kAgree:
      if (skipped_ops.empty()) return "agree";
      return "agree (" + std::to_string(skipped_ops.size()) +
             (skipped_ops.size() == 1 ? " op skipped)" : " ops skipped)");
    case Verdict::kDisagree: return "DISAGREE";
    case Verdict::kNotApplicable: return "n/a";
    case Verdict::kError: return "ERROR";
    case Verdict::kRealFlaky: {
      int total = 0;
      for (const auto& [k, n] : real_counts) total += n;
      std::string out = "real-flaky";
      for (const auto& [k, n] : real_counts) {
        out += " " + std::to_string(n) + "/" + std::to_string(total);
      }
      return out;
    }
  }
  return "?";
}

std::string Cell::total_key() const {
  if (verdict == Verdict::kAgree && !skipped_ops.empty()) return "agree-skips";
  const std::string t = short_text();
  return t.substr(0, t.find(' '));
}

namespace {

// Calls fn(version, rest) for each "# real <version><tag><rest>" line of a program file.
template <typename Fn>
void for_each_real_mark(const std::string& program_file, const std::string& tag, Fn fn) {
  std::ifstream in(program_file);
  std::string line;
  const std::string prefix = "# real ";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    const size_t at = line.find(tag);
    if (at == std::string::npos) continue;
    fn(line.substr(prefix.size(), at - prefix.size()), line.substr(at + tag.size()));
  }
}

}  // namespace

std::vector<FlakyMark> read_flaky_marks(const std::string& program_file) {
  std::vector<FlakyMark> out;
  // "ok 3/5, fatal(Fatal Python error: a, b) 2/5": each entry ends with " <n>/<m>".
  static const std::regex entry(R"(\s*(.+?) \d+/\d+(, |$))");
  for_each_real_mark(program_file, ": flaky", [&](std::string version, const std::string& list) {
    FlakyMark m{std::move(version), {}};
    for (std::sregex_iterator it(list.begin(), list.end(), entry), end; it != end; ++it) {
      m.kinds.push_back((*it)[1].str());
    }
    out.push_back(std::move(m));
  });
  return out;
}

std::vector<std::string> read_assertion_marks(const std::string& program_file,
                                              const std::string& version_key) {
  std::vector<std::string> out;
  for_each_real_mark(program_file, ": assertion ", [&](const std::string& version, std::string text) {
    if (version_applies(version, version_key)) out.push_back(std::move(text));
  });
  return out;
}

void judge(Cell* c) {
  using V = Cell::Verdict;
  bool seen = false;
  for (const auto& [k, real] : c->real_examples) seen |= outcome::agrees(c->model, real);
  if (c->real_counts.size() == 1 && seen) {
    c->verdict = V::kAgree;
    return;
  }
  if (!c->marked_flaky) {
    c->verdict = V::kDisagree;
    if (c->real_counts.size() > 1) {
      c->why = "the real runs differ and the program is not marked flaky for this version";
    }
    return;
  }
  if (seen) {
    c->verdict = V::kRealFlaky;
    return;
  }
  auto listed = [&](const std::string& kind) {
    return std::find(c->marked_kinds.begin(), c->marked_kinds.end(), kind) != c->marked_kinds.end();
  };
  bool all_listed = listed(c->model.kind_text());
  for (const auto& [k, real] : c->real_examples) all_listed &= listed(real.kind_text());
  if (all_listed) {
    c->verdict = V::kRealFlaky;
    c->why = "the model's outcome did not come up in these runs, but every outcome is one the mark lists";
  } else {
    c->verdict = V::kDisagree;
    c->why = "no real run had the model's outcome";
  }
}

std::string version_key(const CPythonInstall& in) { return in.label.substr(0, in.label.find(' ')); }


bool begin_cell(const Program& p, const Schedule& s, const CPythonInstall& in,
                const std::string& source_name, const std::vector<std::string>& extra_defects,
                Cell* c, emit::Emitted* e) {
  if (!in.missing.empty()) {
    c->why = in.missing;
    return false;
  }
  const std::string profile = "3." + std::to_string(in.minor);
  if (rt::find_profile(profile) == nullptr) {
    c->why = "the model has no profile " + profile;
    return false;
  }
  emit::EmitOptions eo;
  eo.profile = profile;
  eo.source_name = source_name;
  eo.extra_defects = extra_defects;
  *e = emit::emit_c(p, s, eo);
  if (!e->ok) {
    c->why = e->error;
    return false;
  }
  c->model = outcome::model_outcome(e->model, e->log);
  for (const OpLogEntry& x : e->log.entries) {
    if (x.kind != OpLogEntry::Kind::kEnd || !x.skipped) continue;
    c->skipped_ops.push_back(skipped_op_text(x.script, x.thread_slot, x.index,
                                             print_op(p.threads[x.script].ops[x.index]), x.why));
  }
  return true;
}

void add_runs(Cell* c, const std::vector<outcome::RealRun>& runs,
              const std::vector<std::string>& assertion_marks) {
  for (const outcome::RealRun& r : runs) {
    outcome::Outcome real = outcome::classify_real_run(r);
    const bool marked_assertion =
        real.kind == outcome::Outcome::Kind::kSignal && real.code == SIGABRT &&
        std::any_of(assertion_marks.begin(), assertion_marks.end(),
                    [&](const std::string& a) { return r.err.find(a) != std::string::npos; });
    if (marked_assertion) {
      real.kind = c->model.kind;
      real.code = c->model.code;
      real.message = c->model.message;
    }
    const std::string key = real.to_string();
    ++c->real_counts[key];
    c->real_examples.emplace(key, real);
    c->real_stderr.emplace(key, r.err);
  }
}

void finish_cell(Cell* c, const emit::Emitted& e, const CPythonInstall& in) {
  c->why.clear();
  judge(c);
  if (c->verdict == Cell::Verdict::kDisagree && !e.unforceable.empty()) {
    c->verdict = Cell::Verdict::kNotApplicable;
    c->why = e.unforceable;
  }
  const bool model_use_after_free = e.model.outcome.kind == rt::Outcome::Kind::kCrash &&
                                    e.model.outcome.message.rfind("use-after-free", 0) == 0;
  bool all_real_ok = true;
  for (const auto& [k, real] : c->real_examples) all_real_ok &= real.kind == outcome::Outcome::Kind::kOk;
  if (c->verdict == Cell::Verdict::kDisagree && !in.debug && model_use_after_free && all_real_ok) {
    c->verdict = Cell::Verdict::kNotApplicable;
    c->why = "a release build need not fault on a use-after-free (the freed memory stays mapped "
             "and the access lands in it); the debug build, which fills freed memory and checks "
             "thread state pointers, is the referee";
  }
}

Cell conform_cell(const std::string& program_file, real::RealExecutor& ex, const ConformOptions& o) {
  Cell c;
  const CPythonInstall& in = ex.install();
  if (!in.missing.empty()) {
    c.why = in.missing;
    return c;
  }
  auto parsed = read_program_file(program_file);
  if (auto* err = std::get_if<ParseError>(&parsed)) {
    c.verdict = Cell::Verdict::kError;
    c.why = err->to_string();
    return c;
  }
  const Program& p = std::get<Program>(parsed);
  Schedule schedule;
  std::string err;
  if (!p.schedule.empty()) {
    if (auto s = Schedule::parse(p.schedule, &err)) schedule = *s;
  }
  emit::Emitted e;
  if (!begin_cell(p, schedule, in, program_file, /*extra_defects=*/{}, &c, &e)) return c;
  std::string run_error;
  const std::vector<outcome::RealRun> runs = ex.run(e, o.runs, o.timeout_ms, &run_error);
  if (runs.empty()) {
    c.verdict = Cell::Verdict::kError;
    c.why = run_error.empty() ? "no real run" : run_error;
    return c;
  }
  add_runs(&c, runs, read_assertion_marks(program_file, version_key(in)));
  for (const FlakyMark& m : read_flaky_marks(program_file)) {
    if (!m.applies_to(version_key(in))) continue;
    c.marked_flaky = true;
    c.marked_kinds.insert(c.marked_kinds.end(), m.kinds.begin(), m.kinds.end());
  }
  finish_cell(&c, e, in);
  return c;
}

}  // namespace ifz::harness::conform
