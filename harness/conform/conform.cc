// SPDX-License-Identifier: Apache-2.0
// conform.cc — one cell of the conformance table (see conform.h).
//
// Marking a program whose real behaviour is timing-dependent: a comment line in its file,
//   # real 3.11.2: flaky ok 3/5, fatal(Fatal Python error: ...) 2/5
// (the version key of the install, or a prefix of it such as "3.11"; then the counts measured
// by `interpfuzz conform`). A marked cell whose runs differ is real-flaky, and passes when the
// model's outcome is among the real ones; an unmarked cell whose runs differ fails, so that
// timing dependence is written down, never silently skipped.
#include "harness/conform/conform.h"

#include <algorithm>
#include <fstream>
#include <regex>

#include "harness/conform/real_runner.h"
#include "harness/emit/emit_c.h"
#include "harness/outcome/model_run.h"
#include "harness/program/text_format.h"
#include "runtime/profile.h"

namespace ifz::harness::conform {

std::string Cell::short_text() const {
  switch (verdict) {
    case Verdict::kAgree: return "agree";
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

std::vector<FlakyMark> read_flaky_marks(const std::string& program_file) {
  std::vector<FlakyMark> out;
  std::ifstream in(program_file);
  std::string line;
  const std::string prefix = "# real ";
  const std::string flaky = ": flaky";
  // "ok 3/5, fatal(Fatal Python error: a, b) 2/5": each entry ends with " <n>/<m>".
  static const std::regex entry(R"(\s*(.+?) \d+/\d+(, |$))");
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    const size_t colon = line.find(flaky);
    if (colon == std::string::npos) continue;
    FlakyMark m;
    m.version = line.substr(prefix.size(), colon - prefix.size());
    const std::string list = line.substr(colon + flaky.size());
    for (std::sregex_iterator it(list.begin(), list.end(), entry), end; it != end; ++it) {
      m.kinds.push_back((*it)[1].str());
    }
    out.push_back(std::move(m));
  }
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


Cell conform_cell(const std::string& program_file, const CPythonInstall& in,
                  const ConformOptions& o, const std::string& work_dir) {
  Cell c;
  if (!in.missing.empty()) {
    c.why = in.missing;
    return c;
  }
  const std::string profile = "3." + std::to_string(in.minor);
  if (rt::find_profile(profile) == nullptr) {
    c.why = "the model has no profile " + profile;
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
  emit::EmitOptions eo;
  eo.profile = profile;
  eo.source_name = program_file;
  const emit::Emitted e = emit::emit_c(p, schedule, eo);
  if (!e.ok) {
    c.why = e.error;
    return c;
  }
  c.model = outcome::model_outcome(e.model, e.log);
  const std::string stem = work_dir + "/" + std::to_string(std::hash<std::string>{}(program_file + in.config));
  {
    std::ofstream out(stem + ".c");
    out << e.c;
  }
  const std::string cerr = compile_repro(in, stem + ".c", stem);
  if (!cerr.empty()) {
    c.verdict = Cell::Verdict::kError;
    c.why = "the emitted C does not compile: " + cerr;
    return c;
  }
  for (const outcome::RealRun& r : run_repro(stem, o.runs, o.timeout_ms)) {
    const outcome::Outcome real = outcome::classify_real_run(r);
    const std::string key = real.to_string();
    ++c.real_counts[key];
    c.real_examples.emplace(key, real);
  }
  for (const FlakyMark& m : read_flaky_marks(program_file)) {
    if (!m.applies_to(version_key(in))) continue;
    c.marked_flaky = true;
    c.marked_kinds.insert(c.marked_kinds.end(), m.kinds.begin(), m.kinds.end());
  }
  judge(&c);
  return c;
}

}  // namespace ifz::harness::conform
