// SPDX-License-Identifier: Apache-2.0
// checked_run.cc — recorded execution with the determinism self-check.
#include "harness/exec/checked_run.h"

namespace ifz::harness {

ExecResult replay_schedule(const Program& p, const Schedule& schedule, const ExecOptions& base,
                           std::string* divergence) {
  ReplayStrategy replay(schedule);
  replay.begin_execution();
  ExecOptions opts = base;
  opts.platform = ExecOptions::Platform::kSimulated;
  opts.chooser = &replay;
  ExecResult r = execute(p, opts);
  if (divergence != nullptr) *divergence = replay.divergence_message();
  return r;
}

CheckedRun run_checked(const Program& p, Strategy& strategy, const ExecOptions& base) {
  CheckedRun out;
  strategy.begin_execution();
  RecordingChooser rec(strategy);
  ExecOptions opts = base;
  opts.platform = ExecOptions::Platform::kSimulated;
  opts.chooser = &rec;
  out.result = execute(p, opts);
  out.schedule = rec.schedule();
  if (!out.result.found()) return out;
  std::string div;
  ExecOptions quiet = base;
  quiet.trace = false;
  const ExecResult again = replay_schedule(p, out.schedule, quiet, &div);
  const std::string want = out.result.findings[0].signature();
  const std::string got = again.found() ? again.findings[0].signature() : "(nothing)";
  if (!div.empty() || got != want) {
    out.reproducible = false;
    out.divergence = "replay of the recorded schedule gave '" + got + "' instead of '" + want +
                     "'" + (div.empty() ? "" : " (" + div + ")");
  }
  return out;
}

std::string format_finding(const Finding& f, const std::string& reproduce) {
  std::string out = "==ifz== FINDING: " + f.kind + " [" + f.oracle + "]\n";
  out += "    " + f.message + "\n";
  if (!f.phase.empty()) out += "    phase: " + f.phase + "\n";
  for (const std::string& t : f.threads) out += "    " + t + "\n";
  out += "    " + f.classification + "\n";
  out += "    reproduce: " + reproduce + "\n";
  out += "SUMMARY: interpfuzz: " + f.signature() + "\n";
  return out;
}

std::string replay_command(const std::string& program_file, const Schedule& schedule) {
  return "interpfuzz replay " + program_file + " --schedule " + schedule.to_string();
}

std::string native_reproduce_command(const std::string& program_file) {
  return "interpfuzz replay " + program_file +
         " --native  (timing-dependent, no recorded schedule: 'interpfuzz minimize' looks for one)";
}

std::string format_report(const Finding& f, const std::string& program_file,
                          const Schedule& schedule) {
  return format_finding(f, replay_command(program_file, schedule));
}

}  // namespace ifz::harness
