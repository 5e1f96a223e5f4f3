// SPDX-License-Identifier: Apache-2.0
// conform.h — the differential run (DESIGN D9): each program on each real CPython (emitted C,
// compiled, run N times) against the model on that version's profile, in the shared outcome
// vocabulary. Defines ConformOptions, Cell, FlakyMark and run_conform().
#pragma once

#include <map>
#include <string>
#include <vector>

#include "harness/conform/cpython_install.h"
#include "harness/emit/emit_c.h"
#include "harness/outcome/outcome.h"
#include "harness/outcome/real_run.h"
#include "harness/program/program.h"
#include "harness/schedule/schedule.h"

namespace ifz::harness::real {
class RealExecutor;
}

namespace ifz::harness::real {
class RealExecutor;
}

namespace ifz::harness::conform {

struct ConformOptions {
  int runs = 5;
  int timeout_ms = 10000;
};

/// One table cell: program × CPython install.
struct Cell {
  enum class Verdict : uint8_t { kAgree, kDisagree, kRealFlaky, kNotApplicable, kError };
  Verdict verdict = Verdict::kNotApplicable;
  std::string why;                          // n/a or error: the reason
  outcome::Outcome model;
  std::map<std::string, int> real_counts;   // real outcome text -> runs
  std::map<std::string, outcome::Outcome> real_examples;
  std::map<std::string, std::string> real_stderr;  // real outcome text -> its first run's stderr
  bool marked_flaky = false;                // the program file says so for this install
  std::vector<std::string> marked_kinds;    // the outcome kinds its marks list ("ok", "signal(11)")
  // The ops the model skipped (their precondition did not hold; the emitted C skips them too),
  // as "T0 op 3 `gilstate_ensure`: <why>". Every skipped op counts: each is something the
  // program says that neither side did, so an agreement says nothing about it. An agreeing
  // cell with skips reads "agree (2 ops skipped)", never a plain "agree".
  std::vector<std::string> skipped_ops;
  /// "agree", "agree (1 op skipped)", "DISAGREE", "real-flaky 3/5 + 2/5", "n/a", "ERROR".
  std::string short_text() const;
  /// The summary's key: "agree", "agree-skips" (agree with skipped ops), "DISAGREE", ...
  std::string total_key() const;
  bool passes() const { return verdict != Verdict::kDisagree && verdict != Verdict::kError; }
};

/// Whether a mark's version ("3.11.2", "3.11.2-dbg", or a prefix such as "3.11") covers the
/// install whose version key is `version_key` ("3.11.2-dbg").
inline bool version_applies(const std::string& mark_version, const std::string& version_key) {
  return version_key.rfind(mark_version, 0) == 0;
}

/// One `# real <version>: flaky <kind> <n>/<m>, ...` comment line of a program file (see docs
/// in conform.cc): the real behaviour is timing-dependent on that version, with those outcome
/// kinds ("ok", "signal(11)", "fatal(...)").
struct FlakyMark {
  std::string version;             // "3.11.2", "3.11.2-dbg", or a prefix such as "3.11"
  std::vector<std::string> kinds;  // the outcome kinds it lists
  bool applies_to(const std::string& version_key) const { return version_applies(version, version_key); }
};
std::vector<FlakyMark> read_flaky_marks(const std::string& program_file);

/// The `# real <version>: assertion <text>` marks of a program that apply to an install
/// (see conform.cc): stderr texts of a debug build's assertion that stands for the model's
/// outcome.
std::vector<std::string> read_assertion_marks(const std::string& program_file,
                                              const std::string& version_key);

/// Sets c->verdict (and c->why) from its model outcome, real counts and marks. A marked cell
/// is real-flaky when the model's outcome is among the real ones, or when every real run and
/// the model had outcome kinds the mark lists (a short streak of one marked outcome).
void judge(Cell* c);

/// The version key of an install label ("3.11.2-dbg (Debian)" -> "3.11.2-dbg").
std::string version_key(const CPythonInstall& in);

/// Runs one program file on the install of `ex` (its `# real` marks applied).
Cell conform_cell(const std::string& program_file, real::RealExecutor& ex, const ConformOptions& o);

// The steps of a cell, shared by conform_cell and `interpfuzz diff` (one path for both):
//   begin_cell   emit (p, s) for the install's version profile ("3.<minor>", the release with
//                its own defects; `extra_defects` added to the model only, a what-if) and
//                fill c.model; when that fails the cell is n/a with the reason, and
//                e->error is non-empty when emit-c refused an op (not expressible there);
//   add_runs     count real runs (an abort with a listed assertion text counts as the model's
//                outcome: see read_assertion_marks);
//   finish_cell  judge (see judge()), then the two n/a rules of this file's header comment
//                (an unforceable window; a use-after-free a release build need not fault on).
/// Returns false (cell n/a with c.why) when there is nothing to run on the real side.
bool begin_cell(const Program& p, const Schedule& s, const CPythonInstall& in,
                const std::string& source_name, const std::vector<std::string>& extra_defects,
                Cell* c, emit::Emitted* e);
void add_runs(Cell* c, const std::vector<outcome::RealRun>& runs,
              const std::vector<std::string>& assertion_marks);
void finish_cell(Cell* c, const emit::Emitted& e, const CPythonInstall& in);

}  // namespace ifz::harness::conform
