// SPDX-License-Identifier: Apache-2.0
// program_source.cc — see program_source.h.
#include "harness/diff/program_source.h"

#include <algorithm>
#include <filesystem>

#include "harness/program/program_mutator.h"
#include "harness/program/fuzz_targets.h"
#include "harness/emit/c_ops.h"
#include "harness/exec/executor.h"
#include "harness/program/binary_codec.h"
#include "harness/program/text_format.h"
#include "harness/program/validate.h"
#include "harness/schedule/input_driven.h"
#include "harness/schedule/pct_strategy.h"
#include "harness/schedule/random_strategy.h"
#include "runtime/defects.h"

namespace ifz::harness::diff {

namespace fs = std::filesystem;

std::vector<Seed> load_seeds(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".ifz") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  std::vector<Seed> out;
  for (const std::string& f : files) {
    auto parsed = read_program_file(f);
    if (auto* p = std::get_if<Program>(&parsed)) out.push_back({f, std::move(*p)});
  }
  return out;
}

namespace {

// The program fuzz targets' op mixes (harness/program/fuzz_targets.h), taken in turn.
std::vector<const fuzz::TargetSpec*> program_targets() {
  std::vector<const fuzz::TargetSpec*> out;
  for (const fuzz::TargetSpec& t : fuzz::all_targets()) {
    if (t.input == fuzz::InputKind::kBinaryProgram) out.push_back(&t);
  }
  return out;
}

// The argument variants of `op` to try, in order, when emit-c's mapping refuses it: only the
// fields its shape has, each within the range the decoder and the parser allow.
std::vector<Op> argument_variants(const Op& op) {
  std::vector<Op> out;
  switch (op_info(op.code).args) {
    case ArgShape::kInterpCfg:
    case ArgShape::kLock:
      for (int v = 0; v < (op_info(op.code).args == ArgShape::kLock ? kLockKinds : 4); ++v) {
        Op q = op;
        q.variant = static_cast<uint8_t>(v);
        out.push_back(q);
      }
      break;
    case ArgShape::kPending: {
      Op q = op;
      q.interp = -1;  // Py_AddPendingCall's own routing instead of the per-interpreter add
      out.push_back(q);
      break;
    }
    case ArgShape::kCount:
      for (int c = min_count(op.code); c <= kMaxCount; ++c) {
        Op q = op;
        q.count = c;
        out.push_back(q);
      }
      break;
    default:
      break;
  }
  return out;
}

bool expressible(const Op& op, int minor) {
  emit::OpEmitContext x;
  x.minor = minor;
  emit::CallOp call;
  std::string api, error;
  return emit::lower_op(op, x, &call, &api, &error);
}

}  // namespace

ProgramSource::ProgramSource(int minor, std::vector<Seed> seeds, uint64_t seed, size_t first_seed,
                             size_t seed_stride, std::vector<std::string> extra_defects,
                             size_t max_ops)
    : minor_(minor),
      profile_("3." + std::to_string(minor)),
      seeds_(std::move(seeds)),
      rng_(Rng::stream(seed, first_seed)),
      next_seed_(first_seed),
      seed_stride_(std::max<size_t>(1, seed_stride)),
      max_ops_(max_ops) {
  // defects.def order, each once: what validate_program requires of Program::defects.
  for (const rt::DefectInfo& d : rt::all_defects()) {
    if (std::find(extra_defects.begin(), extra_defects.end(), d.name) != extra_defects.end()) {
      extra_defects_.emplace_back(d.name);
    }
  }
}

void ProgramSource::make_expressible(Program* p) const {
  for (Script& s : p->threads) {
    for (Op& op : s.ops) {
      if (expressible(op, minor_)) continue;
      Op replacement = make_op(OpCode::kYield);
      for (const Op& q : argument_variants(op)) {
        if (expressible(q, minor_)) {
          replacement = q;
          break;
        }
      }
      op = replacement;
    }
  }
}

void ProgramSource::make_meaningful(Program* p) {
  // Interpreter ids beyond those the program can create name nothing: the op is skipped.
  int interps = 1;
  for (const Script& sc : p->threads) {
    for (const Op& op : sc.ops) interps += op.code == OpCode::kNewInterp;
  }
  for (Script& sc : p->threads) {
    for (Op& op : sc.ops) {
      const ArgShape a = op_info(op.code).args;
      if ((a == ArgShape::kInterp || (a == ArgShape::kPending && op.interp >= 0)) && op.interp >= interps) {
        op.interp %= interps;
      }
    }
  }
  // A script nothing starts is dead code: start it from an earlier script.
  for (int k = 1; k < static_cast<int>(p->threads.size()); ++k) {
    bool runs = false;
    for (const Script& sc : p->threads) {
      for (const Op& op : sc.ops) {
        const bool refers = op.code == OpCode::kStart || op.code == OpCode::kAtexit ||
                            op.code == OpCode::kThreadingAtexit ||
                            (op.code == OpCode::kFork && op.follow_child);
        runs |= refers && op.thread == k;
      }
    }
    if (runs || p->threads[k].ops.empty()) continue;
    Op start = make_op(OpCode::kStart);
    start.thread = k;
    start.variant = static_cast<uint8_t>(rng_.below(kStartKinds));
    std::vector<Op>& into = p->threads[rng_.below(static_cast<size_t>(k))].ops;
    // After a leading init: a thread started before the runtime exists does nothing.
    const size_t lo = !into.empty() && into[0].code == OpCode::kInit ? 1 : 0;
    if (into.size() >= static_cast<size_t>(kMaxOpsPerThread)) continue;
    into.insert(into.begin() + static_cast<std::ptrdiff_t>(lo + rng_.below(into.size() - lo + 1)), start);
  }
}

void ProgramSource::trim(Program* p) {
  while (p->op_count() > max_ops_) {
    // Any op but T0's leading init (without it nothing else happens).
    size_t pick = rng_.below(p->op_count());
    for (size_t t = 0; t < p->threads.size(); ++t) {
      std::vector<Op>& ops = p->threads[t].ops;
      if (pick >= ops.size()) {
        pick -= ops.size();
        continue;
      }
      const bool leading_init = t == 0 && pick == 0 && ops[0].code == OpCode::kInit;
      if (!leading_init) ops.erase(ops.begin() + static_cast<std::ptrdiff_t>(pick));
      break;
    }
  }
}

Program ProgramSource::generate(std::string* origin, std::vector<uint8_t>* schedule_bytes) {
  static const std::vector<const fuzz::TargetSpec*> targets = program_targets();
  const fuzz::TargetSpec& target = *targets[rng_.below(targets.size())];
  std::vector<uint8_t> bytes;
  if (!seeds_.empty() && rng_.below(2) == 0) {
    const Seed& s = seeds_[rng_.below(seeds_.size())];
    Program base = s.program;
    base.schedule.clear();
    bytes = encode_program(base);
    const size_t max_size = bytes.size() + 64;
    bytes.resize(max_size);
    size_t size = max_size - 64;
    for (int i = 0, n = 1 + static_cast<int>(rng_.below(4)); i < n; ++i) {
      size = fuzz::mutate_program_bytes(bytes.data(), size, max_size,
                                        static_cast<unsigned>(rng_.next_u64()), target.ops);
    }
    bytes.resize(size);
    *origin = "mutant of " + fs::path(s.file).stem().string() + " (" + target.name + " mix)";
  } else {
    // The stress runner's random program, shaped: 1-4 threads, 3-20 records, `init` first.
    const size_t records = 3 + rng_.below(18);
    bytes.assign(kCodecHeaderSize, 0);
    bytes[kCodecThreadsByte] = static_cast<uint8_t>(rng_.below(4));
    bytes[kCodecCountByte] = static_cast<uint8_t>(records);
    for (size_t i = 0; i < records; ++i) {
      uint8_t rec[kCodecRecordSize];
      for (uint8_t& b : rec) b = static_cast<uint8_t>(rng_.next_u64());
      if (i == 0 && rng_.below(10) != 0) {
        rec[0] = 0;
        rec[1] = static_cast<uint8_t>(OpCode::kInit);
      }
      bytes.insert(bytes.end(), rec, rec + kCodecRecordSize);
    }
    for (size_t i = 0, n = rng_.below(33); i < n; ++i) {
      bytes.push_back(static_cast<uint8_t>(rng_.below(kMaxThreads)));
    }
    *origin = std::string("random (") + target.name + " mix)";
  }
  // The input's defect bits never apply: the model is the release plus the what-if defects.
  for (size_t i = 1; i <= kCodecDefectBytes && i < bytes.size(); ++i) bytes[i] = 0;
  DecodeOptions d;
  d.pinned_profile = profile_;
  d.ops = target.ops;
  Decoded decoded = decode_program(bytes, d);
  *schedule_bytes = std::move(decoded.schedule_bytes);
  Program p = std::move(decoded.program);
  p.profile = profile_;
  p.defects = extra_defects_;
  p.schedule.clear();
  return p;
}

Schedule ProgramSource::pick_schedule(const Program& p, const std::vector<uint8_t>& schedule_bytes,
                                      std::string* strategy) {
  std::unique_ptr<Strategy> st;
  switch (rng_.below(4)) {
    case 0: st = std::make_unique<RandomStrategy>(rng_.next_u64(), /*stickiness=*/1.0); break;
    case 1: {
      const double stickiness[] = {0.5, 0.9, 0.98};
      st = std::make_unique<RandomStrategy>(rng_.next_u64(), stickiness[rng_.below(3)]);
      break;
    }
    case 2:
      // A short program has few choice points: PCT's k near them puts its change points
      // inside the execution.
      st = std::make_unique<PctStrategy>(1 + static_cast<int>(rng_.below(3)), rng_.next_u64(),
                                         /*expected_steps=*/40);
      break;
    default: st = std::make_unique<InputDrivenStrategy>(schedule_bytes); break;
  }
  *strategy = st->describe();
  st->begin_execution();
  RecordingChooser rec(*st);
  ExecOptions eo;  // emit-c replays with the defaults; so does this recording
  eo.trace = false;
  eo.count_reach = false;
  eo.chooser = &rec;
  execute(p, eo);
  return rec.schedule();
}

GeneratedProgram ProgramSource::next() {
  ++count_;
  GeneratedProgram g;
  if (next_seed_ < seeds_.size()) {
    const Seed& s = seeds_[next_seed_];
    next_seed_ += seed_stride_;
    g.program = s.program;
    g.program.defects = extra_defects_;
    g.origin = "seed " + fs::path(s.file).stem().string();
    g.marks_file = s.file;
    std::string err;
    if (!s.program.schedule.empty()) {
      if (auto sch = Schedule::parse(s.program.schedule, &err)) g.schedule = *sch;
    }
    g.strategy = s.program.schedule.empty() ? "sequential" : "the seed's schedule";
    g.program.profile = profile_;
    return g;
  }
  std::vector<uint8_t> schedule_bytes;
  g.program = generate(&g.origin, &schedule_bytes);
  trim(&g.program);
  make_meaningful(&g.program);
  make_expressible(&g.program);
  g.schedule = pick_schedule(g.program, schedule_bytes, &g.strategy);
  g.program.schedule = g.schedule.picks.empty() ? "" : g.schedule.to_string();
  return g;
}

}  // namespace ifz::harness::diff
