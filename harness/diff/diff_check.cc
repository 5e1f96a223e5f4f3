// SPDX-License-Identifier: Apache-2.0
// diff_check.cc — see diff_check.h.
#include "harness/diff/diff_check.h"

#include "base/stable_hash.h"

namespace ifz::harness::diff {

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kAgree: return "agree";
    case Verdict::kAgreeSkips: return "agree-skips";
    case Verdict::kNotExpressible: return "not-expressible";
    case Verdict::kNotApplicable: return "n/a";
    case Verdict::kRealFlaky: return "real-flaky";
    case Verdict::kDisagree: return "disagree";
    case Verdict::kError: return "error";
  }
  return "?";
}

namespace {

using conform::Cell;

// The real outcome to name a disagreement by: the most frequent one that does not agree with
// the model (ties: the first in text order).
const outcome::Outcome* disagreeing_real(const Cell& c) {
  const outcome::Outcome* best = nullptr;
  int best_n = 0;
  for (const auto& [key, n] : c.real_counts) {
    const outcome::Outcome& real = c.real_examples.at(key);
    if (outcome::agrees(c.model, real) || n <= best_n) continue;
    best = &real;
    best_n = n;
  }
  return best;
}

// An agreeing cell: plain, or with skipped ops (conform.h: Cell::skipped_ops).
Verdict agreement(const Cell& c) { return c.skipped_ops.empty() ? Verdict::kAgree : Verdict::kAgreeSkips; }

bool first_run(const std::string& marks_file, const CheckOptions& o, real::RealExecutor& ex,
               const emit::Emitted& e, int runs, Cell* c, std::string* error) {
  const std::vector<outcome::RealRun> r = ex.run(e, runs, o.timeout_ms, error);
  if (r.empty()) return false;
  const std::vector<std::string> assertions =
      marks_file.empty() ? std::vector<std::string>{}
                         : conform::read_assertion_marks(marks_file, conform::version_key(ex.install()));
  conform::add_runs(c, r, assertions);
  return true;
}

}  // namespace

CheckResult check_program(const Program& p, const Schedule& s, real::RealExecutor& ex,
                          const CheckOptions& o, const std::string& marks_file) {
  CheckResult res;
  Cell& c = res.cell;
  const conform::CPythonInstall& in = ex.install();
  emit::Emitted e;
  if (!conform::begin_cell(p, s, in, marks_file.empty() ? "a generated program" : marks_file,
                           o.extra_defects, &c, &e)) {
    res.verdict = e.error.empty() ? Verdict::kNotApplicable : Verdict::kNotExpressible;
    res.why = c.why;
    return res;
  }
  res.c_source = e.c;
  if (!marks_file.empty()) {
    for (const conform::FlakyMark& m : conform::read_flaky_marks(marks_file)) {
      if (!m.applies_to(conform::version_key(in))) continue;
      c.marked_flaky = true;
      c.marked_kinds.insert(c.marked_kinds.end(), m.kinds.begin(), m.kinds.end());
    }
  }
  std::string error;
  if (!first_run(marks_file, o, ex, e, 1, &c, &error)) {
    res.why = error.empty() ? "no real run" : error;
    return res;
  }
  conform::finish_cell(&c, e, in);
  if (c.verdict == Cell::Verdict::kAgree) {
    res.verdict = agreement(c);
    return res;
  }
  if (c.verdict == Cell::Verdict::kNotApplicable) {
    res.verdict = Verdict::kNotApplicable;
    res.why = c.why;
    return res;
  }
  // A first run that disagrees: is it the program or the timing?
  if (o.runs > 0 && !first_run(marks_file, o, ex, e, o.runs, &c, &error)) {
    res.why = error.empty() ? "no real run" : error;
    return res;
  }
  conform::finish_cell(&c, e, in);
  const outcome::Outcome* other = disagreeing_real(c);
  if (other != nullptr) res.signature = diff_signature(c.model, *other);
  if (c.verdict == Cell::Verdict::kNotApplicable) {
    res.verdict = Verdict::kNotApplicable;
    res.why = c.why;
  } else if (c.real_counts.size() > 1 || c.verdict == Cell::Verdict::kRealFlaky) {
    res.verdict = Verdict::kRealFlaky;
  } else if (c.verdict == Cell::Verdict::kAgree) {
    res.verdict = agreement(c);  // (a marked assertion can turn the later runs into agreement)
  } else {
    res.verdict = Verdict::kDisagree;
    res.why = c.why;
  }
  return res;
}

DisagreementProperty::DisagreementProperty(real::RealExecutor& ex, DiffSignature sig,
                                           CheckOptions o, int budget, int confirm_runs)
    : ex_(ex), sig_(std::move(sig)), o_(std::move(o)), budget_(budget), confirm_runs_(confirm_runs) {}

KeepProperty DisagreementProperty::property() {
  KeepProperty k;
  k.name = sig_.to_string();
  k.holds = [this](const Program& p, const Schedule& s, const ExecResult&) { return holds(p, s); };
  k.exhausted = [this] { return used_ >= budget_; };
  return k;
}

bool DisagreementProperty::holds(const Program& p, const Schedule& s) {
  Cell c;
  emit::Emitted e;
  if (!conform::begin_cell(p, s, ex_.install(), "a minimisation candidate", o_.extra_defects, &c, &e)) {
    return false;
  }
  // The model side costs nothing: check it before spending a real run.
  if (outcome_class(c.model) != sig_.model_class) return false;
  // The header comment names the program and the schedule; two candidates whose C bodies are
  // the same run the same on the real side.
  const size_t body = e.c.find("#define PY_SSIZE_T_CLEAN");
  const uint64_t h = base::stable_hash(std::string_view(e.c).substr(body == std::string::npos ? 0 : body));
  if (auto it = cache_.find(h); it != cache_.end()) return it->second;
  if (used_ >= budget_) return false;
  ++used_;
  std::string error;
  const std::vector<outcome::RealRun> runs = ex_.run(e, confirm_runs_, o_.timeout_ms, &error);
  bool ok = false;
  if (!runs.empty()) {
    conform::add_runs(&c, runs, {});
    conform::finish_cell(&c, e, ex_.install());
    ok = c.verdict == Cell::Verdict::kDisagree && c.real_counts.size() == 1 &&
         diff_signature(c.model, c.real_examples.begin()->second) == sig_;
  }
  cache_[h] = ok;
  return ok;
}

}  // namespace ifz::harness::diff
