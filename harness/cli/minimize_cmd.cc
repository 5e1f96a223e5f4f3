// SPDX-License-Identifier: Apache-2.0
// minimize_cmd.cc — `interpfuzz minimize` and the stress runner's auto-minimisation.
#include "harness/cli/minimize_cmd.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <sys/wait.h>
#include <unistd.h>

#include "harness/cli/artifacts.h"
#include "harness/cli/commands.h"
#include "harness/cli/input_file.h"
#include "harness/exec/contained_run.h"
#include "harness/exec/fuzz_input.h"
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

// MinimizeResult across minimize_safely's pipe: the program as text, the schedule as a string.
std::string encode_minimize_result(const MinimizeResult& r) {
  std::string out;
  auto put = [&](const std::string& x) { out += std::to_string(x.size()) + ":" + x; };
  put(r.ok ? "1" : "0");
  put(r.error);
  // A failed minimisation carries no program (print_program wants a valid one).
  put(r.ok ? print_program(r.program) : std::string());
  put(r.schedule.to_string());
  encode_finding(r.finding, &out);
  for (uint64_t v : {uint64_t{r.ops_before}, uint64_t{r.ops_after}, uint64_t{r.threads_before},
                     uint64_t{r.threads_after}, uint64_t{r.preemptions_before},
                     uint64_t{r.preemptions_after}, r.executions,
                     uint64_t{r.schedule_searched}}) {
    put(std::to_string(v));
  }
  put(std::to_string(r.seconds));
  return out;
}

bool decode_minimize_result(const std::string& in, size_t* pos, MinimizeResult* r) {
  bool ok = true;
  auto get = [&]() -> std::string {
    const size_t colon = in.find(':', *pos);
    if (!ok || colon == std::string::npos) {
      ok = false;
      return "";
    }
    const size_t n = std::strtoull(in.c_str() + *pos, nullptr, 10);
    if (n > in.size() - colon - 1) {
      ok = false;
      return "";
    }
    std::string x = in.substr(colon + 1, n);
    *pos = colon + 1 + n;
    return x;
  };
  r->ok = get() == "1";
  r->error = get();
  const std::string program = get();
  const std::string schedule = get();
  if (!ok) return false;
  if (r->ok) {
    auto parsed = parse_program(program, "<minimised>");
    auto* prog = std::get_if<Program>(&parsed);
    auto sched = Schedule::parse(schedule, nullptr);
    if (prog == nullptr || !sched) return false;
    r->program = *prog;
    r->schedule = *sched;
  }
  if (!decode_finding(in, pos, &r->finding)) return false;
  size_t* fields[] = {&r->ops_before, &r->ops_after, &r->threads_before, &r->threads_after,
                      &r->preemptions_before, &r->preemptions_after};
  for (size_t* f : fields) *f = std::strtoull(get().c_str(), nullptr, 10);
  r->executions = std::strtoull(get().c_str(), nullptr, 10);
  r->schedule_searched = get() == "1";
  r->seconds = std::strtod(get().c_str(), nullptr);
  return ok;
}

// minimize_keeping, never taken down by a crash of the model. A model-crash signature is
// minimised with every execution contained (a fork each). Anything else runs at full speed in
// a child process; if that child dies (some candidate crashed the model), the minimisation
// starts again with every execution contained, where such a candidate is a finding of another
// signature and is simply not kept.
MinimizeResult minimize_safely(const Program& p, const Schedule& s, const std::string& wanted,
                               const std::string& wanted_class, MinimizeOptions mo,
                               std::string* note) {
  if (wanted.rfind("model-crash/", 0) == 0) mo.contain = true;
  if (mo.contain) return minimize_keeping(p, s, wanted, wanted_class, mo, note);
  bool started = false;
  const std::optional<std::string> bytes = output_of_child(
      [&] {
        std::string child_note;
        const MinimizeResult r = minimize_keeping(p, s, wanted, wanted_class, mo, &child_note);
        return encode_minimize_result(r) + child_note;
      },
      &started);
  if (!started) return minimize_keeping(p, s, wanted, wanted_class, mo, note);
  MinimizeResult r;
  size_t pos = 0;
  if (bytes && decode_minimize_result(*bytes, &pos, &r)) {
    *note = bytes->substr(pos);
    return r;
  }
  mo.contain = true;
  r = minimize_keeping(p, s, wanted, wanted_class, mo, note);
  const std::string why = "a candidate crashed the model during minimisation; minimised again "
                          "with every execution in a child process";
  *note = note->empty() ? why : *note + "; " + why;
  return r;
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
  eo.contain = true;  // the minimal program may crash the model: that is its finding
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
  const MinimizeResult r = minimize_safely(*p, s, recorded_signature(text.str()),
                                            recorded_classification(text.str()), mo, &note);
  if (!r.ok) return "";
  const std::string stem = path.substr(0, path.size() - 4);
  write_file_atomic(stem + ".min.ifz", header_comment(r, note) + print_program(r.program), &err);
  write_file_atomic(stem + ".min.trace.txt", trace_text(r), &err);
  write_repro_c(stem + ".min", r.program, r.schedule);
  return stem + ".min.ifz";
}

int cmd_minimize(const Flags& f) {
  ExecOptions decode_eo = fuzz::input_exec_options(nullptr);
  decode_eo.contain = true;  // a raw input that crashes the model is a model-crash finding
  const std::optional<InputFile> in = load_input_file(f, decode_eo);
  if (!in) return 2;
  const std::string& path = in->path;
  const Program& prog = in->program;
  const Schedule& schedule = in->schedule;
  std::string signature;  // "" = the first finding of the program as given
  std::string classification;  // recorded with it, "" if none
  const std::string raw_setup = in->raw_setup;  // raw input: how it was decoded, for the report
  if (!in->raw) {
    signature = recorded_signature(in->bytes);
    classification = recorded_classification(in->bytes);
    if (signature.empty() && !in->schedule.picks.empty()) {
      // The program's own first finding, found contained: if it is a crash of the model, the
      // minimisation knows from the start that it must contain every execution.
      ExecOptions eo;
      eo.trace = false;
      eo.contain = true;
      std::string divergence;
      const ExecResult first = replay_schedule(prog, schedule, eo, &divergence);
      if (first.found()) signature = first.findings[0].signature();
    }
  } else if (in->raw_result) {
    if (!in->raw_result->found()) {
      std::cout << "interpfuzz minimize: " << path << " (raw input, " << raw_setup
                << ") yields no finding: outcome " << in->raw_result->outcome_summary()
                << "; a libFuzzer crash file replays only with the target, profile and defects "
                   "it was fuzzed with (--target, --profile/--defects or INTERPFUZZ_PROFILE/"
                   "INTERPFUZZ_DEFECTS), and a sanitizer-only crash of the modelled process has "
                   "no oracle finding\n";
      return 0;
    }
    signature = in->raw_result->findings[0].signature();  // what the fuzz target reported
  }
  MinimizeOptions mo;
  mo.seconds = static_cast<double>(f.was_given("--time") ? f.time : 25);
  std::string note;
  const MinimizeResult r = minimize_safely(prog, schedule, signature, classification, mo, &note);
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
