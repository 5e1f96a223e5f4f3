// SPDX-License-Identifier: Apache-2.0
// program_source.h — the programs `interpfuzz diff` runs on the model and on a real CPython
// (DESIGN D10): short lifecycle scenarios for one CPython version, each with the schedule the
// model ran it under (which is what emit-c sequences the C by). Defines GeneratedProgram and
// ProgramSource.
//
// Where programs come from, in this order:
//   1. the corpus seeds as they are (their own schedules and `# real` marks): what conform
//      checks, so a diff run starts from the known-good;
//   2. then, endlessly, half the time a seed mutated with the fuzzers' structure-aware mutator
//      (harness/program/program_mutator.h: insert/delete/swap/duplicate ops, change arguments, move ops
//      between threads, add a thread), half the time a fresh random program decoded from bytes
//      as the stress runner does; both with the op mix of one of the program fuzz targets
//      (fuzzers/targets.h: every op, pending calls, fork, shutdown) in turn.
// Generated programs are steered towards doing something: interpreter ids are reduced to the
// interpreters the program can create, and a script nothing starts gets a `start` in an
// earlier script. Every generated program is kept expressible on the version: each op emit-c's op mapping
// refuses there is changed to the first variant of its arguments it accepts (or to `yield`),
// so "not expressible" is left for what only the whole program decides (e.g. the import lock
// taken without a thread state). Programs have at most `max_ops` ops (ops beyond it are
// dropped at random) and start with `init` on T0 unless a mutation removed it.
// Schedules: sequential, seeded random (three stickinesses), PCT of depth 1–3, or the
// program's trailing input bytes (input-driven), in turn; the model runs the program once
// under it and the recorded schedule is what the program carries.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "harness/program/program.h"
#include "harness/schedule/rng.h"
#include "harness/schedule/schedule.h"

namespace ifz::harness::diff {

struct GeneratedProgram {
  Program program;         // profile "3.<minor>", defects = the what-if defects
  Schedule schedule;       // recorded on the model
  std::string origin;      // "seed NAME", "mutant of NAME (fuzz_fork mix)", "random (fuzz_shutdown mix)"
  std::string strategy;    // the schedule's origin ("pct(d=2)", "sequential", ...)
  std::string marks_file;  // an unmutated seed: its file (for its `# real` marks); else ""
};

struct Seed {
  std::string file;
  Program program;
};

/// The `.ifz` files of `dir` in name order; unreadable ones are skipped.
std::vector<Seed> load_seeds(const std::string& dir);

class ProgramSource {
 public:
  /// `first_seed, seed_stride`: this source replays seeds[first_seed], [first_seed + stride],
  /// ... unmutated before generating (parallel workers split the corpus). `extra_defects`:
  /// the what-if defects every program carries.
  ProgramSource(int minor, std::vector<Seed> seeds, uint64_t seed, size_t first_seed,
                size_t seed_stride, std::vector<std::string> extra_defects, size_t max_ops = 20);

  GeneratedProgram next();

 private:
  Program generate(std::string* origin, std::vector<uint8_t>* schedule_bytes);
  void make_meaningful(Program* p);
  void make_expressible(Program* p) const;
  void trim(Program* p);
  Schedule pick_schedule(const Program& p, const std::vector<uint8_t>& schedule_bytes,
                         std::string* strategy);

  int minor_;
  std::string profile_;
  std::vector<Seed> seeds_;
  Rng rng_;
  size_t next_seed_;
  size_t seed_stride_;
  std::vector<std::string> extra_defects_;
  size_t max_ops_;
  uint64_t count_ = 0;
};

}  // namespace ifz::harness::diff
