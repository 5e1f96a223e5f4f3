// SPDX-License-Identifier: Apache-2.0
// property_bench.cc — the properties engine of bench/bugs: the contract properties run as in a
// default run (every contract of cpython-notes §4 in order, RapidCheck's 100 cases each), round
// after round with fresh seeds, on one profile with the given defects enabled, until a property
// fails with a finding attributed to an enabled defect (its canary triggered in the failing
// execution) or the budget is used up.
//
//   properties_bench --profile P [--defects a,b] [--seed N] [--budget SECONDS] [--any-failure]
//
// Prints one line: "detected <defect> <contract> after <s> s, shrunk to <ops> ops" or
// "censored after <s> s". With --any-failure (bench/mutation_score: a mutated runtime on a
// -fixed profile, no defect, where every failure is the mutation's doing) the first failing
// property ends the run instead: "failed <contract> after <s> s (first failing execution at
// <t> s), shrunk to <ops> ops: <signature> (<file>)", exit 0; <t> is -1 when the property's
// own check failed on an execution without a finding. With INTERPFUZZ_CANARY_LOG set, every execution's canaries go to that
// log (harness/exec/canary_log.h) and the shrunk size as "minimised\t<signature>\t<ops>".
// Exit status: 0 detected, 1 censored, 2 usage error.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "harness/exec/canary_log.h"
#include "properties/contract_property.h"
#include "runtime/defects.h"
#include "runtime/profile.h"

namespace {

using Clock = std::chrono::steady_clock;
using ifz::harness::CanaryLog;

std::unique_ptr<CanaryLog> g_log;
Clock::time_point g_start;
double g_budget = 60;
double g_first_finding = -1;  // elapsed time of the first execution with a finding

double elapsed() { return std::chrono::duration<double>(Clock::now() - g_start).count(); }

// Called for every execution a property case runs: log its canaries; end the trial when the
// budget is used up (a property's 100 cases cannot be interrupted otherwise).
void observe(const ifz::harness::ExecResult& r) {
  if (g_log) g_log->observe(r);
  if (g_first_finding < 0 && r.found()) g_first_finding = elapsed();
  if (elapsed() > g_budget) {
    std::printf("censored after %.2f s\n", elapsed());
    std::fflush(stdout);
    _exit(1);
  }
}

int usage(const std::string& why) {
  std::fprintf(stderr, "properties_bench: %s (usage: properties_bench --profile P "
               "[--defects a,b] [--seed N] [--budget SECONDS] [--any-failure])\n", why.c_str());
  return 2;
}

uint64_t mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ifz;
  std::string profile, defects;
  uint64_t seed = 1;
  bool any_failure = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--any-failure") {
      any_failure = true;
      continue;
    }
    if (i + 1 >= argc) return usage("option '" + a + "' needs a value or is unknown");
    const std::string v = argv[++i];
    char* end = nullptr;
    if (a == "--profile") profile = v;
    else if (a == "--defects") defects = v;
    else if (a == "--seed") seed = std::strtoull(v.c_str(), &end, 10);
    else if (a == "--budget") g_budget = std::strtod(v.c_str(), &end);
    else return usage("unknown option '" + a + "'");
    if (end != nullptr && (*end != '\0' || v.empty())) return usage("bad number '" + v + "'");
  }
  if (profile.empty()) return usage("missing --profile");
  if (rt::find_profile(profile) == nullptr) return usage("unknown profile '" + profile + "'");
  properties::PropertyConfig cfg;
  cfg.profiles = {profile};
  std::vector<std::string> wanted;
  std::stringstream ss(defects);
  for (std::string d; std::getline(ss, d, ',');) {
    if (d.empty()) continue;
    if (!rt::find_defect(d)) return usage("unknown defect '" + d + "'");
    wanted.push_back(d);
  }
  for (const rt::DefectInfo& d : rt::all_defects()) {  // defects.def order (Program::defects)
    if (std::find(wanted.begin(), wanted.end(), d.name) != wanted.end()) cfg.defects.push_back(d.name);
  }
  cfg.tag = cfg.defects.empty() ? "fixed" : cfg.defects[0] + (cfg.defects.size() > 1 ? "+" : "");

  g_log = CanaryLog::from_env();
  properties::set_execution_observer(&observe);
  g_start = Clock::now();
  for (uint64_t round = 0;; ++round) {
    for (const properties::Contract& c : properties::all_contracts()) {
      rc::detail::TestParams params;  // RapidCheck's defaults, a fresh seed per property and round
      params.seed = mix(mix(seed) ^ (round << 8) ^ static_cast<uint64_t>(&c - properties::all_contracts().data()));
      params.maxSuccess = 100;
      params.maxSize = 100;
      params.maxDiscardRatio = 10;
      const properties::PropertyResult r = properties::check_contract(c, cfg, &params);
      if (any_failure && !r.passed) {
        // A failure of the contract's own check (P2 capacity, F0 phase order) has no oracle
        // signature: its violation text stands in, under the contract's name.
        std::string sig = r.shrunk ? r.shrunk->finding_signature : "";
        if (sig.empty()) {
          sig = std::string("contract-check/") + c.id + "/" +
                (r.shrunk ? r.shrunk->violation : r.message.substr(0, r.message.find('\n')));
        }
        std::printf("failed %s after %.2f s (first failing execution at %.2f s), shrunk to %zu ops: %s (%s)\n",
                    c.id, elapsed(), g_first_finding, r.shrunk ? r.shrunk->program.op_count() : 0,
                    sig.c_str(), r.saved_as.c_str());
        return 0;
      }
      if (r.passed || !r.shrunk) continue;
      // A failure counts when it is an enabled defect's doing (its canary triggered in the
      // failing execution); another failure is a false finding of the model: go on.
      const auto& hit = r.shrunk->triggered_defects;
      const auto it = std::find_first_of(hit.begin(), hit.end(), cfg.defects.begin(), cfg.defects.end());
      if (it == hit.end()) {
        std::fprintf(stderr, "properties_bench: %s failed, not attributed to an enabled defect: %s\n",
                     c.id, r.shrunk->finding_signature.c_str());
        if (g_log) g_log->note("false", std::string(c.id) + " " + r.shrunk->finding_signature);
        continue;
      }
      const size_t ops = r.shrunk->program.op_count();
      if (g_log) g_log->note("minimised", r.shrunk->finding_signature + "\t" + std::to_string(ops));
      std::printf("detected %s %s after %.2f s, shrunk to %zu ops (%s)\n", it->c_str(), c.id,
                  elapsed(), ops, r.saved_as.c_str());
      return 0;
    }
  }
}
