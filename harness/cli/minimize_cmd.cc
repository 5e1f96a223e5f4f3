// SPDX-License-Identifier: Apache-2.0
// minimize_cmd.cc — `interpfuzz minimize` and the stress runner's auto-minimisation.
#include "harness/cli/minimize_cmd.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "fuzzers/fuzz_input.h"
#include "harness/cli/artifacts.h"
#include "harness/cli/commands.h"
#include "harness/emit/emit_c.h"
#include "runtime/profile.h"
#include "harness/exec/checked_run.h"
#include "harness/minimize/minimizer.h"
#include "harness/program/binary_codec.h"
#include "harness/program/text_format.h"
#include "runtime/profile.h"

namespace ifz::harness::cli {

namespace fs = std::filesystem;

namespace {

// A raw fuzzer input (libFuzzer's crash-/leak-/timeout- file): decoded and run exactly as
// the fuzz target `--target` did (fuzzers/fuzz_input.h: its op mix, fixed_profiles_only, the
// pinned profile and defects), with the schedule its bytes drove recorded. The profile and
// defects are --profile / --defects when given, else INTERPFUZZ_PROFILE / INTERPFUZZ_DEFECTS,
// as when fuzzing. Returns false after printing one line on stderr for bad flags/environment.
bool from_fuzzer_input(const Flags& f, const std::string& bytes, fuzz::ReplayedInput* out,
                       std::string* setup) {
  const fuzz::TargetSpec* t = fuzz::find_target(f.target);
  if (t == nullptr || t->input != fuzz::InputKind::kBinaryProgram) {
    std::string known;
    for (const fuzz::TargetSpec& s : fuzz::all_targets()) {
      if (s.input == fuzz::InputKind::kBinaryProgram) known += (known.empty() ? "" : ", ") + std::string(s.name);
    }
    input_error("interpfuzz minimize: --target: '" + f.target +
                "' is not a program fuzz target (known: " + known + ")");
    return false;
  }
  const char* env_profile = std::getenv("INTERPFUZZ_PROFILE");
  const char* env_defects = std::getenv("INTERPFUZZ_DEFECTS");
  const bool flag_profile = f.was_given("--profile");
  const bool flag_defects = f.was_given("--defects");
  const std::string profile = flag_profile ? f.profile : env_profile ? env_profile : "";
  const std::string defects = flag_defects ? f.defects : env_defects ? env_defects : "";
  std::string err;
  const std::optional<DecodeOptions> d =
      fuzz::decode_options_for(*t, profile, fuzz::split_names(defects), &err);
  if (!d) {
    const bool profile_bad = !profile.empty() && rt::find_profile(profile) == nullptr;
    const char* where = profile_bad ? (flag_profile ? "--profile" : "INTERPFUZZ_PROFILE")
                                    : (flag_defects ? "--defects" : "INTERPFUZZ_DEFECTS");
    input_error("interpfuzz minimize: " + std::string(where) + ": " + err);
    return false;
  }
  const std::vector<uint8_t> data(bytes.begin(), bytes.end());
  *out = fuzz::replay_fuzzer_input(data, *d);
  *setup = std::string(t->name) + ", profile " + (profile.empty() ? "from the input" : profile) +
           ", defects " + (defects.empty() ? "none" : defects);
  return true;
}

// The signature a text program says it yields: its `# expect:` line (minimiser output,
// regressions) or the `# SUMMARY: interpfuzz:` line of the report a stress artifact carries.
std::string recorded_signature(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  for (const char* tag : {"# expect: ", "# SUMMARY: interpfuzz: "}) {
    in.clear();
    in.seekg(0);
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.rfind(tag, 0) == 0) return line.substr(std::char_traits<char>::length(tag));
    }
  }
  return "";
}

// The classification recorded with that signature ("known: <issue>" or "new"): the comment
// line the report or the minimiser's header wrote, "" if none.
std::string recorded_classification(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '#') continue;
    const size_t b = line.find_first_not_of("# \t");
    if (b == std::string::npos) continue;
    std::string rest = line.substr(b);
    if (!rest.empty() && rest.back() == '\r') rest.pop_back();
    if (rest.rfind("known: ", 0) == 0) return rest;
  }
  return "";
}

// Minimises keeping `wanted` (the finding the file was reported with). A native-only finding
// (a native hang, a race the simulated search did not hit) may have no simulated schedule with
// that exact signature: then the program's first simulated finding is minimised instead, but
// only if it is attributed to the same known defect (`wanted_class`, from the canaries), and
// `*note` says so; a finding that would drift into another bug is not minimised.
MinimizeResult minimize_keeping(const Program& p, const Schedule& s, const std::string& wanted,
                                const std::string& wanted_class, const MinimizeOptions& mo,
                                std::string* note) {
  MinimizeResult r = minimize(p, s, wanted, mo);
  if (r.ok || wanted.empty() || wanted_class.empty()) return r;
  MinimizeResult other = minimize(p, s, "", mo);
  if (!other.ok || other.finding.classification != wanted_class) return r;
  *note = "the recorded finding '" + wanted +
          "' did not reproduce on the simulated platform; minimised the program's simulated "
          "finding of the same defect";
  return other;
}

std::string header_comment(const MinimizeResult& r, const std::string& note = "") {
  std::ostringstream os;
  if (!note.empty()) os << "# note: " << note << "\n";
  os << "# minimised finding: " << r.finding.signature() << "\n"
     << "# " << r.finding.message << "\n"
     << "# " << r.finding.classification << "\n"
     << "# ops " << r.ops_before << " -> " << r.ops_after << ", threads " << r.threads_before
     << " -> " << r.threads_after << ", preemptions " << r.preemptions_before << " -> "
     << r.preemptions_after << " (" << r.executions << " executions, " << r.seconds << " s)\n"
     << "# expect: " << r.finding.signature() << "\n";
  return os.str();
}

std::string trace_text(const MinimizeResult& r) {
  ExecOptions eo;
  eo.trace_thread_states = true;
  std::string div;
  const ExecResult x = replay_schedule(r.program, r.schedule, eo, &div);
  std::string out;
  for (const std::string& l : x.trace) out += l + "\n";
  out += "outcome: " + x.outcome_summary() + "\n";
  for (const Finding& f : x.findings) out += format_report(f, "<minimal>.ifz", r.schedule);
  return out;
}

std::string next_regression_path(const std::string& dir, const std::string& kind) {
  int max = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    max = std::max(max, std::atoi(e.path().filename().string().c_str()));
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d", max + 1);
  return dir + "/" + buf + "-" + kind + ".ifz";
}

}  // namespace

std::string minimize_artifact(const std::string& path) {
  auto parsed = read_program_file(path);
  auto* p = std::get_if<Program>(&parsed);
  if (p == nullptr) return "";
  std::string err;
  Schedule s;
  if (!p->schedule.empty()) {
    if (auto sp = Schedule::parse(p->schedule, &err)) s = *sp;
  }
  MinimizeOptions mo;
  mo.seconds = 10;
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::string note;
  const MinimizeResult r = minimize_keeping(*p, s, recorded_signature(text.str()),
                                            recorded_classification(text.str()), mo, &note);
  if (!r.ok) return "";
  const std::string stem = path.substr(0, path.size() - 4);
  write_file_atomic(stem + ".min.ifz", header_comment(r, note) + print_program(r.program), &err);
  write_file_atomic(stem + ".min.trace.txt", trace_text(r), &err);
  write_repro_c(stem + ".min", r.program, r.schedule);
  return stem + ".min.ifz";
}

int cmd_minimize(const Flags& f) {
  if (f.positional.empty()) return input_error("interpfuzz minimize: missing FILE");
  const std::string path = f.positional[0];
  std::error_code ec;
  if (fs::is_directory(path, ec)) return input_error("interpfuzz minimize: " + path + " is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return input_error("interpfuzz minimize: cannot read " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return input_error("interpfuzz minimize: cannot read " + path);
  const std::string bytes = buf.str();
  Program prog;
  Schedule schedule;
  std::string signature;  // "" = the first finding of the program as given
  std::string classification;  // recorded with it, "" if none
  std::string raw_setup;  // raw input: how it was decoded, for the report
  const std::span<const uint8_t> span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (fuzz::looks_like_text_program(path, span)) {
    std::string file;
    auto p = load_program(f, &file);
    if (!p) return 2;
    prog = *p;
    std::string err;
    if (!prog.schedule.empty()) {
      auto sp = Schedule::parse(prog.schedule, &err);
      if (!sp) return input_error("interpfuzz minimize: bad schedule in " + path + ": " + err);
      schedule = *sp;
    }
    signature = recorded_signature(bytes);
    classification = recorded_classification(bytes);
  } else {
    fuzz::ReplayedInput in;
    if (!from_fuzzer_input(f, bytes, &in, &raw_setup)) return 2;
    if (!in.result.found()) {
      std::cout << "interpfuzz minimize: " << path << " (raw input, " << raw_setup
                << ") yields no finding: outcome " << in.result.outcome_summary()
                << "; a libFuzzer crash file replays only with the target, profile and defects "
                   "it was fuzzed with (--target, --profile/--defects or INTERPFUZZ_PROFILE/"
                   "INTERPFUZZ_DEFECTS), and a sanitizer-only crash has no oracle finding\n";
      return 0;
    }
    prog = in.program;
    schedule = in.schedule;
    signature = in.result.findings[0].signature();  // the finding the fuzz target reported
  }
  MinimizeOptions mo;
  mo.seconds = static_cast<double>(f.was_given("--time") ? f.time : 25);
  std::string note;
  const MinimizeResult r = minimize_keeping(prog, schedule, signature, classification, mo, &note);
  if (!r.ok) {
    std::cout << "interpfuzz minimize: " << r.error << "\n";
    return 0;
  }
  const std::string dir = f.out.empty() ? fs::path(path).parent_path().string() : f.out;
  const std::string stem = (dir.empty() ? "." : dir) + "/" + fs::path(path).stem().string();
  std::error_code mkdir_error;
  if (!dir.empty()) fs::create_directories(dir, mkdir_error);
  std::string err;
  const std::string text = header_comment(r, note) + print_program(r.program);
  if (!write_file_atomic(stem + ".min.ifz", text, &err) ||
      !write_file_atomic(stem + ".min.trace.txt", trace_text(r), &err)) {
    return input_error("interpfuzz minimize: " + err);
  }
  const std::string repro = write_repro_c(stem + ".min", r.program, r.schedule);
  std::string regression;
  if (!f.regressions.empty()) {
    fs::create_directories(f.regressions);
    regression = next_regression_path(f.regressions, r.finding.kind);
    if (!write_file_atomic(regression, text, &err)) return input_error("interpfuzz minimize: " + err);
    write_repro_c(regression.substr(0, regression.size() - 4), r.program, r.schedule);
  }
  std::cout << "minimised " << path << (raw_setup.empty() ? "" : " (raw input, " + raw_setup + ")")
            << " in " << r.seconds << " s (" << r.executions
            << " executions)" << (r.schedule_searched ? ", schedule found by search" : "") << "\n"
            << "  ops " << r.ops_before << " -> " << r.ops_after << " (removed "
            << r.ops_before - r.ops_after << "), threads " << r.threads_before << " -> "
            << r.threads_after << ", preemptions " << r.preemptions_before << " -> "
            << r.preemptions_after << "\n"
            << "  signature: " << r.finding.signature() << " (" << r.finding.classification << ")\n"
            << (note.empty() ? "" : "  note: " + note + "\n")
            << "  wrote " << stem << ".min.ifz, " << stem << ".min.trace.txt"
            << (repro.empty() ? "" : ", " + repro)
            << (regression.empty() ? "" : ", " + regression) << "\n";
  if (repro.size() > 2 && repro.substr(repro.size() - 2) == ".c") {
    std::cout << "  build the C reproducer against an installed CPython: see its header, e.g.\n    "
              << emit::build_command(repro, "python3." + std::to_string(
                                                   rt::find_profile(r.program.profile)->minor) + "-config",
                                     stem + ".min.repro")
              << "\n";
  }
  return 1;
}

}  // namespace ifz::harness::cli
