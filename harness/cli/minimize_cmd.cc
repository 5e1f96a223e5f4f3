// SPDX-License-Identifier: Apache-2.0
// minimize_cmd.cc — `interpfuzz minimize` and the stress runner's auto-minimisation.
#include "harness/cli/minimize_cmd.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "harness/cli/artifacts.h"
#include "harness/cli/commands.h"
#include "harness/emit/emit_c.h"
#include "runtime/profile.h"
#include "harness/exec/checked_run.h"
#include "harness/minimize/minimizer.h"
#include "harness/program/binary_codec.h"
#include "harness/program/text_format.h"
#include "harness/schedule/input_driven.h"

namespace ifz::harness::cli {

namespace fs = std::filesystem;

namespace {

bool looks_like_text(const std::string& path, const std::string& bytes) {
  if (fs::path(path).extension() == ".ifz") return true;
  return bytes.rfind("interpfuzz-program", 0) == 0 || bytes.rfind("#", 0) == 0;
}

// A raw fuzzer input: decode it as the fuzz targets do (INTERPFUZZ_PROFILE / _DEFECTS apply)
// and record the schedule its bytes drive.
Program from_fuzzer_input(const std::string& bytes, Schedule* schedule) {
  DecodeOptions d;
  if (const char* p = std::getenv("INTERPFUZZ_PROFILE")) d.pinned_profile = p;
  if (const char* ds = std::getenv("INTERPFUZZ_DEFECTS")) {
    std::stringstream ss(ds);
    std::string name;
    while (std::getline(ss, name, ',')) {
      if (!name.empty()) d.extra_defects.push_back(name);
    }
  }
  const std::vector<uint8_t> data(bytes.begin(), bytes.end());
  Decoded dec = decode_program(data, d);
  InputDrivenStrategy input(dec.schedule_bytes);
  RecordingChooser rec(input);
  ExecOptions eo;
  eo.trace = false;
  eo.chooser = &rec;
  execute(dec.program, eo);
  *schedule = rec.schedule();
  return dec.program;
}

std::string header_comment(const MinimizeResult& r) {
  std::ostringstream os;
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
  const MinimizeResult r = minimize(*p, s, "", mo);
  if (!r.ok) return "";
  const std::string stem = path.substr(0, path.size() - 4);
  write_file_atomic(stem + ".min.ifz", header_comment(r) + print_program(r.program), &err);
  write_file_atomic(stem + ".min.trace.txt", trace_text(r), &err);
  write_repro_c(stem + ".min", r.program, r.schedule);
  return stem + ".min.ifz";
}

int cmd_minimize(const Flags& f) {
  if (f.positional.empty()) return input_error("interpfuzz minimize: missing FILE");
  const std::string path = f.positional[0];
  std::ifstream in(path, std::ios::binary);
  if (!in) return input_error("interpfuzz minimize: cannot read " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string bytes = buf.str();
  Program prog;
  Schedule schedule;
  if (looks_like_text(path, bytes)) {
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
  } else {
    prog = from_fuzzer_input(bytes, &schedule);
  }
  MinimizeOptions mo;
  mo.seconds = static_cast<double>(f.was_given("--time") ? f.time : 25);
  const MinimizeResult r = minimize(prog, schedule, "", mo);
  if (!r.ok) {
    std::cout << "interpfuzz minimize: " << r.error << "\n";
    return 0;
  }
  const std::string dir = f.out.empty() ? fs::path(path).parent_path().string() : f.out;
  const std::string stem = (dir.empty() ? "." : dir) + "/" + fs::path(path).stem().string();
  std::error_code mkdir_error;
  if (!dir.empty()) fs::create_directories(dir, mkdir_error);
  std::string err;
  const std::string text = header_comment(r) + print_program(r.program);
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
  std::cout << "minimised " << path << " in " << r.seconds << " s (" << r.executions
            << " executions)" << (r.schedule_searched ? ", schedule found by search" : "") << "\n"
            << "  ops " << r.ops_before << " -> " << r.ops_after << " (removed "
            << r.ops_before - r.ops_after << "), threads " << r.threads_before << " -> "
            << r.threads_after << ", preemptions " << r.preemptions_before << " -> "
            << r.preemptions_after << "\n"
            << "  signature: " << r.finding.signature() << " (" << r.finding.classification << ")\n"
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
