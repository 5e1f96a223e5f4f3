// SPDX-License-Identifier: Apache-2.0
// commands.cc — replay, explain, run and list.
#include "harness/cli/commands.h"

#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "harness/cli/input_file.h"
#include "harness/exec/checked_run.h"
#include "harness/oracles/oracle.h"
#include "harness/program/text_format.h"
#include "harness/program/validate.h"
#include "harness/schedule/pct_strategy.h"
#include "harness/schedule/random_strategy.h"
#include "runtime/defects.h"
#include "runtime/profile.h"

namespace ifz::harness::cli {

int input_error(const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
  return 2;
}

std::optional<Program> load_program(const Flags& f, std::string* file) {
  if (f.positional.empty()) {
    input_error("interpfuzz " + f.command + ": missing program file (see 'interpfuzz --help')");
    return std::nullopt;
  }
  *file = f.positional[0];
  auto parsed = read_program_file(*file);
  if (auto* err = std::get_if<ParseError>(&parsed)) {
    input_error(err->to_string());
    return std::nullopt;
  }
  Program p = std::get<Program>(std::move(parsed));
  if (!f.profile.empty()) {
    if (rt::find_profile(f.profile) == nullptr) {
      input_error("interpfuzz: unknown profile '" + f.profile + "' (see 'interpfuzz list profiles')");
      return std::nullopt;
    }
    p.profile = f.profile;
  }
  std::stringstream names(f.defects);
  std::string name;
  while (std::getline(names, name, ',')) {
    if (name.empty()) continue;
    if (!rt::find_defect(name)) {
      input_error("interpfuzz: unknown defect '" + name + "' (see 'interpfuzz list defects')");
      return std::nullopt;
    }
    bool dup = false;
    for (const std::string& d : p.defects) dup |= d == name;
    if (!dup) p.defects.push_back(name);
  }
  return p;
}

namespace {

ExecOptions base_options(const Flags& f) {
  ExecOptions o;
  o.max_steps = static_cast<uint64_t>(f.max_steps);
  o.platform = f.native ? ExecOptions::Platform::kNative : ExecOptions::Platform::kSimulated;
  return o;
}

void print_findings(const ExecResult& r, const std::string& file, const Schedule& s) {
  for (const Finding& fd : r.findings) std::cout << format_report(fd, file, s);
}

}  // namespace

int cmd_replay(const Flags& f, bool explain) {
  ExecOptions opts = base_options(f);
  opts.trace_thread_states = explain;
  // Contained: a crash of the model is a model-crash finding of this execution, not ours.
  opts.contain = !f.native;
  const std::optional<InputFile> in = load_input_file(f, opts);
  if (!in) return 2;
  std::string divergence;
  ExecResult r;
  if (in->raw_result) {
    r = *in->raw_result;  // the fuzz target's own execution, run while decoding
  } else if (f.native) {
    r = execute(in->program, opts);
  } else {
    r = replay_schedule(in->program, in->schedule, opts, &divergence);
  }
  if (in->raw) std::cout << "raw input " << in->path << " (" << in->raw_setup << ")\n";
  if (!f.quiet) {
    for (const std::string& line : r.trace) std::cout << line << "\n";
  }
  std::cout << "outcome: " << r.outcome_summary() << "\n";
  // explain counts the skipped ops (each is in the trace too): a skipped op is one the
  // program says and the execution did not do, so the outcome says nothing about it.
  if (explain) {
    std::cout << "ops: " << r.ops_executed << " run, " << r.ops_skipped << " skipped\n";
    for (const std::string& s : r.skipped_ops) std::cout << "  skipped " << s << "\n";
  }
  if (!divergence.empty()) {
    std::cout << "==ifz== WARNING: the execution diverged from the schedule: " << divergence << "\n";
  }
  print_findings(r, in->reproduce_name, in->schedule);
  return r.found() ? 1 : 0;
}

int cmd_run(const Flags& f) {
  std::string file;
  auto p = load_program(f, &file);
  if (!p) return 2;
  if (f.native) return input_error("interpfuzz run: --native explores no schedules; use replay --native or stress");
  std::unique_ptr<Strategy> strategy;
  const uint64_t seed = static_cast<uint64_t>(f.seed);
  if (f.strategy == "pct") {
    if (f.depth < 1 || f.depth > 8) return input_error("interpfuzz run: --depth must be 1..8");
    strategy = std::make_unique<PctStrategy>(static_cast<int>(f.depth), seed);
  } else if (f.strategy == "random") {
    strategy = std::make_unique<RandomStrategy>(seed);
  } else if (f.strategy == "sequential") {
    strategy = std::make_unique<RandomStrategy>(seed, /*stickiness=*/1.0);
  } else {
    return input_error("interpfuzz run: unknown strategy '" + f.strategy + "' (pct, random, sequential)");
  }
  ExecOptions opts = base_options(f);
  opts.trace = false;
  opts.contain = true;  // a fork per execution (contained_run.h): run's budgets are small
  struct Seen {
    int count = 0;
    std::string classification;
    std::set<std::string> triggered;  // defects whose canary fired with this signature
  };
  std::map<std::string, Seen> seen;
  bool determinism_failure = false;
  for (int64_t i = 0; i < f.iterations; ++i) {
    CheckedRun cr = run_checked(*p, *strategy, opts);
    if (!cr.reproducible) {
      determinism_failure = true;
      std::cout << "==ifz== DETERMINISM FAILURE: " << cr.divergence << "\n";
    }
    for (const Finding& fd : cr.result.findings) {
      Seen& s = seen[fd.signature()];
      s.triggered.insert(fd.triggered_defects.begin(), fd.triggered_defects.end());
      if (s.count++ == 0) {
        s.classification = fd.classification;
        std::cout << "iteration " << i << ":\n" << format_report(fd, file, cr.schedule);
      }
    }
  }
  std::cout << "summary: " << f.iterations << " executions of " << file << " on " << p->profile
            << " with " << strategy->describe() << ", " << seen.size() << " distinct finding(s)\n";
  for (const auto& [sig, s] : seen) {
    std::string triggered;
    for (const std::string& t : s.triggered) triggered += (triggered.empty() ? "" : ",") + t;
    std::cout << "  " << s.count << "x  " << sig << "  (" << s.classification
              << (triggered.empty() ? "" : "; triggered: " + triggered) << ")\n";
  }
  return (seen.empty() && !determinism_failure) ? 0 : 1;
}

int cmd_list(const Flags& f) {
  const std::string what = f.positional.empty() ? "" : f.positional[0];
  if (what == "profiles") {
    if (f.tsv) {
      std::cout << "name\tfixed\tdefects\n";
      for (const rt::Profile& p : rt::all_profiles()) {
        std::cout << p.name << "\t" << (p.fixed ? 1 : 0) << "\t" << p.defects.to_string() << "\n";
      }
      return 0;
    }
    for (const rt::Profile& p : rt::all_profiles()) {
      std::cout << p.name << (p.defects.empty() ? "" : "  defects: " + p.defects.to_string()) << "\n";
    }
  } else if (what == "defects") {
    // --tsv is what scripts read (bench/*): the benchmark profile and depth live in
    // defects.def only, never in a copy of the table.
    if (f.tsv) std::cout << "name\tissue\tversions\tprofiles\tsite\tbench_profile\tdepth\tdescription\n";
    for (const rt::DefectInfo& d : rt::all_defects()) {
      std::string versions;
      for (int m = 0; m < 32; ++m) {
        if (d.versions & (1u << m)) versions += (versions.empty() ? "3." : ",3.") + std::to_string(m);
      }
      if (f.tsv) {
        std::string profiles;  // the release profiles that enable it (`list profiles`)
        for (const rt::Profile& p : rt::all_profiles()) {
          if (p.defects.has(d.id)) profiles += (profiles.empty() ? "" : ",") + p.name;
        }
        std::cout << d.name << "\t" << d.issue << "\t" << versions << "\t" << profiles << "\t" << d.site
                  << "\t" << d.bench_profile << "\t" << d.depth << "\t" << d.mechanism << "\n";
        continue;
      }
      std::cout << d.name << "  [" << d.issue << "]  in: " << (versions.empty() ? "(injectable only)" : versions)
                << "  site: " << d.site << "  bench: " << d.bench_profile << " depth " << d.depth
                << "\n    " << d.mechanism << "\n";
    }
  } else if (what == "oracles") {
    for (const OracleDoc& o : oracle_catalogue()) std::cout << o.name << "  " << o.checks << "\n";
  } else if (what == "ops") {
    for (const OpInfo& o : all_ops()) std::cout << o.name << "  " << o.doc << "\n";
  } else {
    return input_error("interpfuzz list: expected profiles, defects, oracles or ops");
  }
  return 0;
}

}  // namespace ifz::harness::cli
