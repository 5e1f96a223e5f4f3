// SPDX-License-Identifier: Apache-2.0
// fuzz_target.cc — ProgramTarget and TextTarget: decode, execute, judge, and on a finding print
// a report and the program before aborting (the crash file is libFuzzer's).
#include "fuzzers/fuzz_target.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/atomic_file.h"
#include "base/stable_hash.h"
#include "harness/program/program_mutator.h"
#include "harness/exec/fuzz_input.h"
#include "harness/exec/canary_log.h"
#include "harness/exec/checked_run.h"
#include "harness/program/text_format.h"
#include "harness/program/validate.h"
#include "harness/schedule/input_driven.h"
#include "runtime/defects.h"
#include "runtime/profile.h"

// libFuzzer's own mutators (also provided by AFL++'s libFuzzer driver). Weak, so that the
// replay drivers and the unit tests link without an engine; the program mutator then flips a
// bit instead.
extern "C" __attribute__((weak)) size_t LLVMFuzzerMutate(uint8_t* data, size_t size,
                                                        size_t max_size);

namespace ifz::fuzz {
namespace {

using harness::ExecOptions;
using harness::ExecResult;
using harness::Program;

[[noreturn]] void env_error(const std::string& message) {
  std::fprintf(stderr, "interpfuzz fuzz target: %s\n", message.c_str());
  std::exit(2);
}

// Adds `extra` to `defects`, keeping defects.def order and each name once (what
// validate_program requires).
std::vector<std::string> merge_defects(const std::vector<std::string>& defects,
                                       const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  for (const rt::DefectInfo& d : rt::all_defects()) {
    const bool on = std::find(defects.begin(), defects.end(), d.name) != defects.end() ||
                    std::find(extra.begin(), extra.end(), d.name) != extra.end();
    if (on) out.emplace_back(d.name);
  }
  return out;
}

// The lines, each ended by '\n' (so {"ab"} and {"a", "b"} differ).
std::string lines_hash(const std::vector<std::string>& lines) {
  base::StableHash h;
  for (const std::string& l : lines) h.add(l).add("\n");
  return h.hex();
}

std::string summarize(const ExecResult& r) {
  const std::string hash = lines_hash(r.trace);
  std::string out = "outcome=" + r.outcome_summary() + " ops=" + std::to_string(r.ops_executed) +
                    "/" + std::to_string(r.ops_skipped) +
                    " leaked=" + std::to_string(r.leaked_by_fork) + " trace=" + hash + " findings=";
  for (const harness::Finding& f : r.findings) out += f.signature() + ";";
  return out;
}

// `# expect: <signature>` in a `.ifz` file's comments (the minimiser writes it).
std::string expected_signature(std::string_view text) {
  constexpr std::string_view kTag = "# expect: ";
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind(kTag, 0) == 0) return line.substr(kTag.size());
  }
  return "";
}

// INTERPFUZZ_CANARY_LOG (canary_log.h): when each defect's canaries first fired, for the
// bug-finding benchmark; written before a finding aborts. Null when unset.
harness::CanaryLog* target_canary_log() {
  static const std::unique_ptr<harness::CanaryLog> log = harness::CanaryLog::from_env();
  return log.get();
}

// When the process started (static initialisation): reports say how long the run took to
// get there, which is what bench/time_to_detect_fuzz measures.
const std::chrono::steady_clock::time_point g_start = std::chrono::steady_clock::now();

// A finding: run it once more while recording the schedule the strategy chose, so that the
// printed program carries a `schedule` line that `interpfuzz replay` follows exactly; written
// to `findings_dir` (if set) as <kind>-<hash>.ifz, whose path then replaces `file`.
struct Recorded {
  harness::CheckedRun run;
  std::string text;
};
Recorded record(const Program& p, harness::Strategy& strategy, const ExecResult& r,
                const std::string& findings_dir, std::string* file) {
  ExecOptions quiet;
  quiet.trace = false;
  Recorded out{harness::run_checked(p, strategy, quiet), ""};
  Program shown = p;
  shown.schedule = out.run.schedule.to_string();
  out.text = print_program(shown);
  if (!findings_dir.empty()) {
    const std::string name = "/" + r.findings[0].kind + "-" + lines_hash({out.text}) + ".ifz";
    std::error_code ec;
    std::filesystem::create_directories(findings_dir, ec);
    if (base::write_file_atomic(findings_dir + name, out.text, nullptr)) *file = findings_dir + name;
  }
  return out;
}

// The native platform has no schedule to record: the report says so and shows the program.
[[noreturn]] void report_native_and_abort(const char* target, const Program& p,
                                          const ExecResult& r, const std::string& file) {
  std::fprintf(stderr, "==ifz== %s: %zu finding(s) on the native platform (profile %s)\n",
               target, r.findings.size(), p.profile.c_str());
  for (const harness::Finding& f : r.findings) {
    std::fputs(harness::format_finding(f, harness::native_reproduce_command(file)).c_str(), stderr);
  }
  std::fprintf(stderr, "==ifz== the program:\n%s==ifz== end of program\n", print_program(p).c_str());
  std::fflush(stderr);
  std::abort();
}

[[noreturn]] void report_and_abort(const char* target, const Program& p,
                                   harness::Strategy& strategy, const ExecResult& r,
                                   const std::string& findings_dir, std::string file) {
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - g_start;
  const Recorded rec = record(p, strategy, r, findings_dir, &file);
  const harness::CheckedRun& again = rec.run;
  const std::string& text = rec.text;
  std::fprintf(stderr, "==ifz== %s: %zu finding(s) in this input (profile %s), %.2f s in\n",
               target, r.findings.size(), p.profile.c_str(), elapsed.count());
  for (const harness::Finding& f : r.findings) {
    std::fputs(format_report(f, file, again.schedule).c_str(), stderr);
  }
  if (!again.reproducible) {
    std::fprintf(stderr, "==ifz== WARNING: not reproducible: %s\n", again.divergence.c_str());
  }
  std::fprintf(stderr, "==ifz== the program (%s):\n%s==ifz== end of program\n", file.c_str(),
               text.c_str());
  std::fflush(stderr);
  std::abort();
}

[[noreturn]] void text_invariant_broken(const std::string& what, std::string_view input,
                                        const std::string& printed) {
  // The same shape as every other finding (format_finding); the input and the printed text
  // come first, the report last, so SUMMARY stays the final line.
  std::fprintf(stderr, "==ifz== input (%zu bytes):\n%.*s\n==ifz== printed:\n%s", input.size(),
               static_cast<int>(std::min<size_t>(input.size(), 4096)), input.data(),
               printed.c_str());
  harness::Finding f;
  f.kind = "text-format";
  f.oracle = "round-trip";
  f.message = what;
  f.detail = what;
  f.classification = "new";
  std::fputs(harness::format_finding(f, "run this fuzz target on the crash file libFuzzer writes "
                                        "(build/fuzz/bin/fuzz_program_text crash-<sha1>)").c_str(), stderr);
  std::fflush(stderr);
  std::abort();
}

}  // namespace

ProgramTarget::ProgramTarget(const TargetSpec& spec) : spec_(spec) {
  set_engine_byte_mutator(LLVMFuzzerMutate);  // null without an engine
  // The decoding rules are fuzz_input.h's, shared with `interpfuzz minimize CRASH-FILE`.
  std::string error;
  std::optional<harness::DecodeOptions> d = env_decode_options(spec, &error);
  if (!d) env_error(error);
  decode_ = std::move(*d);
  if (const char* dir = std::getenv("INTERPFUZZ_FINDINGS")) findings_dir_ = dir;
  if (const char* a = std::getenv("INTERPFUZZ_ABORT_ON"); a != nullptr && *a != '\0') {
    const std::string v = a;
    if (v == "all") abort_on_ = AbortOn::kAll;
    else if (v == "known") abort_on_ = AbortOn::kKnown;
    else if (v == "none") abort_on_ = AbortOn::kNone;
    else env_error("INTERPFUZZ_ABORT_ON: expected all, known or none, got '" + v + "'");
  }
}

void ProgramTarget::note(const Program& p, harness::Strategy& strategy, const ExecResult& r) {
  const std::string sig = r.findings[0].signature();
  if (std::find(noted_.begin(), noted_.end(), sig) != noted_.end()) return;
  noted_.push_back(sig);
  // For the benchmark (bench/bugs): a finding not attributed to an enabled defect, once.
  if (harness::CanaryLog* log = target_canary_log(); log && r.findings[0].classification == "new") {
    log->note("false", sig);
  }
  std::string file = "(set INTERPFUZZ_FINDINGS to keep it)";
  record(p, strategy, r, findings_dir_, &file);
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - g_start;
  std::fprintf(stderr, "==ifz== %s: not aborting (INTERPFUZZ_ABORT_ON), %.2f s in, %s, %s, "
               "signature=%s\n", spec_.name, elapsed.count(),
               r.findings[0].classification.c_str(), file.c_str(), sig.c_str());
}

ExecOptions ProgramTarget::exec_options(harness::Strategy* strategy) const {
  ExecOptions eo = input_exec_options(strategy);
  eo.trace = summaries_;
  if (native_) {
    eo.platform = ExecOptions::Platform::kNative;  // real threads; no chooser, no schedule
    eo.chooser = nullptr;
  }
  return eo;
}

int ProgramTarget::run(std::span<const uint8_t> input) {
  harness::CanaryLog* canary_log = target_canary_log();
  const harness::Decoded d = harness::decode_program(input, decode_);
  harness::InputDrivenStrategy strategy(d.schedule_bytes);
  const ExecResult r = run_input(d, strategy, exec_options(&strategy));
  if (canary_log) canary_log->observe(r);
  if (summaries_) summary_ = summarize(r);
  if (r.found()) {
    const bool known = std::any_of(r.findings.begin(), r.findings.end(), [](const auto& f) {
      return f.classification.rfind("known:", 0) == 0;
    });
    if (native_) report_native_and_abort(spec_.name, d.program, r, "finding.ifz");
    if (abort_on_ == AbortOn::kAll || (abort_on_ == AbortOn::kKnown && known)) {
      report_and_abort(spec_.name, d.program, strategy, r, findings_dir_, "finding.ifz");
    }
    note(d.program, strategy, r);
  }
  return 0;
}

int ProgramTarget::replay(const std::string& path, std::span<const uint8_t> bytes) {
  if (!looks_like_text_program(path, bytes)) return run(bytes);
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  auto parsed = harness::parse_program(text, path);
  if (const auto* err = std::get_if<harness::ParseError>(&parsed)) {
    std::fprintf(stderr, "%s\n", err->to_string().c_str());
    return 1;
  }
  Program p = std::get<Program>(std::move(parsed));
  if (!decode_.pinned_profile.empty()) p.profile = decode_.pinned_profile;
  p.defects = merge_defects(p.defects, decode_.extra_defects);
  harness::Schedule schedule;
  if (!p.schedule.empty()) {
    std::string err;
    auto s = harness::Schedule::parse(p.schedule, &err);
    if (!s) {
      std::fprintf(stderr, "%s: bad schedule: %s\n", path.c_str(), err.c_str());
      return 1;
    }
    schedule = *s;
  }
  harness::ReplayStrategy strategy(schedule);
  strategy.begin_execution();
  const ExecResult r = harness::execute(p, exec_options(&strategy));
  if (summaries_) summary_ = summarize(r);
  const std::string expect = expected_signature(text);
  if (expect.empty()) {
    if (r.found() && native_) report_native_and_abort(spec_.name, p, r, path);
    if (r.found()) report_and_abort(spec_.name, p, strategy, r, findings_dir_, path);
    return 0;
  }
  for (const harness::Finding& f : r.findings) {
    if (f.signature() == expect) return 0;
    // Natively a deadlock is seen by the watchdog only, which cannot name the wait: an
    // expected deadlock shows as the native hang.
    if (native_ && expect.rfind("deadlock/", 0) == 0 && f.signature().rfind("hang/deadlock/", 0) == 0) {
      return 0;
    }
  }
  // Natively the interleaving is the OS's: the expected finding may not happen, but nothing
  // else may.
  if (native_ && !r.found()) return 0;
  if (native_) report_native_and_abort(spec_.name, p, r, path);
  std::fprintf(stderr, "%s: expected the finding %s, got %s (outcome: %s)\n", path.c_str(),
               expect.c_str(), r.found() ? r.findings[0].signature().c_str() : "none",
               r.outcome_summary().c_str());
  return 1;
}

size_t ProgramTarget::mutate(uint8_t* data, size_t size, size_t max_size, unsigned seed) const {
  return mutate_program_bytes(data, size, max_size, seed, spec_.ops);
}

size_t ProgramTarget::cross_over(std::span<const uint8_t> a, std::span<const uint8_t> b,
                                 uint8_t* out, size_t max_out, unsigned seed) const {
  return cross_over_program_bytes(a, b, out, max_out, seed);
}

int TextTarget::run(std::span<const uint8_t> input) {
  const std::string_view text(reinterpret_cast<const char*>(input.data()), input.size());
  auto parsed = harness::parse_program(text, "<input>");
  if (const auto* err = std::get_if<harness::ParseError>(&parsed)) {
    // Errors are values (third tier): they must still say where and what.
    if (err->message.empty() || err->line < 0 || err->col < 0) {
      text_invariant_broken("a parse error without a message or position", text, "");
    }
    if (summaries_) summary_ = "error: " + err->to_string();
    return 0;
  }
  const Program& p = std::get<Program>(parsed);
  if (auto why = harness::validate_program(p)) {
    text_invariant_broken("parse_program returned an invalid program: " + *why, text, "");
  }
  const std::string printed = harness::print_program(p);
  auto again = harness::parse_program(printed, "<printed>");
  if (const auto* err = std::get_if<harness::ParseError>(&again)) {
    text_invariant_broken("the canonical print does not parse: " + err->to_string(), text,
                          printed);
  }
  if (!(std::get<Program>(again) == p)) {
    text_invariant_broken("parse(print(p)) != p", text, printed);
  }
  if (harness::print_program(std::get<Program>(again)) != printed) {
    text_invariant_broken("printing is not a fixed point", text, printed);
  }
  // The binary form holds every program but the schedule token (binary_codec.h).
  Program bare = p;
  bare.schedule.clear();
  if (!(harness::decode_program(harness::encode_program(bare)).program == bare)) {
    text_invariant_broken("decode(encode(p)) != p", text, printed);
  }
  if (summaries_) summary_ = "ok: " + std::to_string(p.op_count()) + " ops";
  return 0;
}

}  // namespace ifz::fuzz
