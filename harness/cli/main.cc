// SPDX-License-Identifier: Apache-2.0
// main.cc — the `interpfuzz` command: dispatch to a subcommand (commands.h).
#include <cstdio>
#include <iostream>

#include "harness/cli/commands.h"
#include "harness/cli/diff_cmd.h"
#include "harness/cli/emit_cmd.h"
#include "harness/cli/flags.h"
#include "harness/cli/minimize_cmd.h"
#include "harness/cli/stress.h"

int main(int argc, char** argv) {
  using namespace ifz::harness::cli;
  std::string error;
  auto flags = parse_flags(argc, argv, &error);
  if (!flags) return input_error(error);
  if (flags->help || flags->command == "help") {
    std::cout << usage();
    return 0;
  }
  const std::string& c = flags->command;
  if (c == "replay") return cmd_replay(*flags, /*explain=*/false);
  if (c == "explain") return cmd_replay(*flags, /*explain=*/true);
  if (c == "run") return cmd_run(*flags);
  if (c == "list") return cmd_list(*flags);
  if (c == "minimize") return cmd_minimize(*flags);
  if (c == "emit-c") return cmd_emit_c(*flags);
  if (c == "conform") return cmd_conform(*flags);
  if (c == "diff") return cmd_diff(*flags);
  if (c == "stress") {
    StressOptions o;
    o.seconds = static_cast<double>(flags->time);
    o.jobs = static_cast<int>(flags->jobs);
    o.profile = flags->profile;
    o.defects = flags->defects;
    o.seed = static_cast<uint64_t>(flags->seed);
    o.artifacts = flags->artifacts;
    o.seeds_dir = flags->corpus;
    o.minimize = !flags->no_minimize;
    o.native_only_uniform = flags->baseline;
    o.quiet = flags->quiet;
    if (flags->was_given("--strategy")) o.strategy = flags->strategy;
    o.stop_on_known = flags->stop_on_known;
    o.json = flags->json;
    if (o.seconds <= 0) return input_error("interpfuzz stress: --time must be positive");
    return run_stress(o);
  }
  if (c.empty()) return input_error("interpfuzz: missing command (see 'interpfuzz --help')");
  return input_error("interpfuzz: unknown command '" + c + "' (see 'interpfuzz --help')");
}
