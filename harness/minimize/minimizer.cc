// SPDX-License-Identifier: Apache-2.0
// minimizer.cc — delta debugging (Zeller & Hildebrandt, "Simplifying and Isolating
// Failure-Inducing Input", TSE 2002) over a program's ops, then its schedule and arguments.
#include "harness/minimize/minimizer.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <tuple>
#include <cstdio>
#include <cstdlib>

#include "harness/exec/checked_run.h"
#include "harness/program/text_format.h"
#include "harness/program/reductions.h"
#include "harness/program/validate.h"
#include "harness/schedule/pct_strategy.h"
#include "harness/schedule/random_strategy.h"

namespace ifz::harness {

namespace {

using Clock = std::chrono::steady_clock;

struct Minimizer {
  const MinimizeOptions& opts;
  std::string signature;
  Clock::time_point deadline;
  uint64_t executions = 0;
  Finding last_finding;

  const KeepProperty* keep = nullptr;  // keep mode (minimize_keeping) when set

  bool out_of_time() const {
    return executions >= opts.max_executions || Clock::now() > deadline ||
           (keep != nullptr && keep->exhausted && keep->exhausted());
  }

  ExecOptions exec_options(platform::Chooser* chooser) const {
    ExecOptions o;
    o.trace = false;
    o.max_steps = opts.max_steps;
    o.chooser = chooser;
    o.contain = opts.contain;
    return o;
  }

  // One run under `chooser`, recorded. True if it reproduces the signature.
  bool run_with(const Program& p, Strategy& strategy, Schedule* recorded) {
    strategy.begin_execution();
    RecordingChooser rec(strategy);
    ++executions;
    const ExecResult r = execute(p, exec_options(&rec));
    if (keep != nullptr) {
      if (!keep->holds(p, rec.schedule(), r)) return false;
      *recorded = rec.schedule();
      last_finding = kept_finding();
      return true;
    }
    for (const Finding& f : r.findings) {
      if (f.signature() == signature) {
        *recorded = rec.schedule();
        last_finding = f;
        return true;
      }
    }
    return false;
  }

  // Keep mode's stand-in for a finding: the property's name.
  Finding kept_finding() const {
    Finding f;
    f.kind = "keep";
    f.oracle = "keep";
    f.detail = keep->name;
    f.message = keep->name;
    return f;
  }

  // Does candidate `p` still fail? Tries the current schedule, sequential, then `tries` seeded
  // schedules: PCT of depths 1-3 and random ones of three stickinesses, each one strategy
  // object whose executions draw fresh streams (and whose PCT k adapts to the candidate's
  // choice points, starting from the current schedule's length).
  bool reproduces(const Program& p, const Schedule& current, Schedule* found) {
    if (validate_program(p).has_value()) return false;
    ++candidates;
    ReplayStrategy replay(current);
    if (run_with(p, replay, found)) return true;
    ReplayStrategy sequential(Schedule{});
    if (run_with(p, sequential, found)) return true;
    const int k = std::max<int>(8, static_cast<int>(current.picks.size()));
    PctStrategy pct[3] = {PctStrategy(1, 0x5eed1, k), PctStrategy(2, 0x5eed2, k),
                          PctStrategy(3, 0x5eed3, k)};
    // Sticky random schedules rarely switch: they are the ones that leave a parked thread
    // parked for a long stretch and then wake it (the daemon/finalize class).
    RandomStrategy random[3] = {RandomStrategy(0xd1ce1, 0.5), RandomStrategy(0xd1ce2, 0.9),
                                RandomStrategy(0xd1ce3, 0.98)};
    // Half of the tries repair the current schedule (shortened runs), half draw new ones.
    const std::vector<Repair> repairs = schedule_repairs(current, static_cast<size_t>(tries / 2));
    for (int i = 0, drawn = 0; i < tries && !out_of_time(); ++i) {
      if (i % 2 == 0 && static_cast<size_t>(i / 2) < repairs.size()) {
        ReplayStrategy replay_repaired(repaired(current, repairs[static_cast<size_t>(i / 2)]));
        if (run_with(p, replay_repaired, found)) return true;
        continue;
      }
      const int j = drawn++;
      Strategy& st = j % 6 < 3 ? static_cast<Strategy&>(pct[j % 6])
                               : static_cast<Strategy&>(random[j % 6 - 3]);
      if (run_with(p, st, found)) return true;
    }
    return false;
  }

  // A removed op took its choice points with it, so the current schedule is misaligned from
  // where it was: the preemptions after it come too late. Repairs of `s`, described by an
  // edit and made one at a time (a schedule may be long): first without the picks of one
  // thread (a removed thread), later ids one lower (ids are given in creation order) or not;
  // then one run of identical picks shortened by d choices (the whole run when it is not
  // longer), runs in order, d = 1, 2, 3, 4, 6, 8, 12, 16, 24, 32. At most `max` edits.
  struct Repair {
    platform::ThreadId gone = 0;  // > 0: drop this thread's picks
    bool renumber = false;
    size_t run_end = 0, cut = 0;  // else: erase [run_end - cut, run_end)
  };
  static std::vector<Repair> schedule_repairs(const Schedule& s, size_t max) {
    std::vector<Repair> out;
    platform::ThreadId max_id = 0;
    for (platform::ThreadId t : s.picks) max_id = std::max(max_id, t);
    for (platform::ThreadId gone = max_id; gone >= 1 && out.size() < max; --gone) {
      out.push_back({gone, true, 0, 0});
      // Without renumbering it differs only when a later id exists.
      if (gone < max_id && out.size() < max) out.push_back({gone, false, 0, 0});
    }
    std::vector<std::pair<size_t, size_t>> runs;  // [begin, end)
    for (size_t i = 0; i < s.picks.size();) {
      size_t j = i;
      while (j < s.picks.size() && s.picks[j] == s.picks[i]) ++j;
      runs.emplace_back(i, j);
      i = j;
    }
    size_t prev_d = 0;
    for (size_t d : {1, 2, 3, 4, 6, 8, 12, 16, 24, 32}) {
      for (const auto& [b, e] : runs) {
        if (out.size() >= max) return out;
        if (e - b <= prev_d) continue;  // the whole run already went at a smaller d
        out.push_back({0, false, e, std::min(d, e - b)});
      }
      prev_d = d;
    }
    return out;
  }
  static Schedule repaired(const Schedule& s, const Repair& r) {
    Schedule v;
    if (r.gone > 0) {
      for (platform::ThreadId t : s.picks) {
        if (t != r.gone) v.picks.push_back(r.renumber && t > r.gone ? t - 1 : t);
      }
      return v;
    }
    v = s;
    v.picks.erase(v.picks.begin() + static_cast<std::ptrdiff_t>(r.run_end - r.cut),
                  v.picks.begin() + static_cast<std::ptrdiff_t>(r.run_end));
    return v;
  }

  // Replaces (p, s) by candidate q (after dropping the threads it no longer uses) if q still
  // yields the signature.
  bool accept(Program* p, Schedule* s, const Program& q);

  int tries = 48;       // seeded schedules per candidate (escalates, see minimize())
  bool backward = false;  // the second descent scans ops from the end (see minimize())
  uint64_t candidates = 0;
};

// The ops of a program as a flat list of (thread, index), for ddmin.
struct OpRef {
  size_t thread, index;
};
std::vector<OpRef> op_refs(const Program& p) {
  std::vector<OpRef> out;
  for (size_t t = 0; t < p.threads.size(); ++t) {
    for (size_t i = 0; i < p.threads[t].ops.size(); ++i) out.push_back({t, i});
  }
  return out;
}

Program without(const Program& p, const std::vector<OpRef>& refs, size_t from, size_t to) {
  Program q = p;
  for (auto& s : q.threads) s.ops.clear();
  for (size_t k = 0; k < refs.size(); ++k) {
    if (k >= from && k < to) continue;
    q.threads[refs[k].thread].ops.push_back(p.threads[refs[k].thread].ops[refs[k].index]);
  }
  return q;
}

bool Minimizer::accept(Program* p, Schedule* s, const Program& q) {
  const Program c = compact_threads(q);
  Schedule found;
  if (!reproduces(c, *s, &found)) return false;
  if (std::getenv("IFZ_MINIMIZE_LOG")) {
    std::fprintf(stderr, "[minimize] %zu -> %zu ops (tries %d, %llu executions, %llu candidates)\n",
                 p->op_count(), c.op_count(), tries, static_cast<unsigned long long>(executions),
                 static_cast<unsigned long long>(candidates));
  }
  *p = c;
  *s = found;
  return true;
}

// Delta debugging over the flat op list: remove chunks, halving their size down to single ops.
bool ddmin_ops(Minimizer& m, Program* p, Schedule* s) {
  bool any = false;
  size_t n = 2;
  while (!m.out_of_time()) {
    const std::vector<OpRef> refs = op_refs(*p);
    if (refs.size() <= 1) return any;
    n = std::min(n, refs.size());
    const size_t chunk = (refs.size() + n - 1) / n;
    bool reduced = false;
    const size_t chunks = (refs.size() + chunk - 1) / chunk;
    for (size_t c = 0; c < chunks && !m.out_of_time(); ++c) {
      const size_t from = (m.backward ? chunks - 1 - c : c) * chunk;
      if (m.accept(p, s, without(*p, refs, from, std::min(refs.size(), from + chunk)))) {
        n = std::max<size_t>(n - 1, 2);
        reduced = any = true;
        break;
      }
    }
    if (reduced) continue;
    if (n >= refs.size()) return any;
    n = std::min(refs.size(), n * 2);
  }
  return any;
}

// Two ops at a time, anywhere in the program: ddmin's single-op step cannot remove a pair whose
// ops are only useless together (a `start` and the op that joins it, two ops whose removal
// keeps the interleaving only if both go). Quadratic, so only on short programs.
bool remove_pairs(Minimizer& m, Program* p, Schedule* s, size_t max_ops) {
  bool any = false;
  for (bool again = true; again && !m.out_of_time();) {
    again = false;
    const std::vector<OpRef> refs = op_refs(*p);
    if (refs.size() < 3 || refs.size() > max_ops) return any;
    for (size_t a = 0; a < refs.size() && !again && !m.out_of_time(); ++a) {
      for (size_t b = a + 1; b < refs.size() && !again && !m.out_of_time(); ++b) {
        const size_t i = m.backward ? refs.size() - 1 - b : a;
        const size_t j = m.backward ? refs.size() - 1 - a : b;
        Program q = *p;
        // Erase the later one first: both indices stay valid (same thread or not).
        q.threads[refs[j].thread].ops.erase(q.threads[refs[j].thread].ops.begin() +
                                            static_cast<std::ptrdiff_t>(refs[j].index));
        q.threads[refs[i].thread].ops.erase(q.threads[refs[i].thread].ops.begin() +
                                            static_cast<std::ptrdiff_t>(refs[i].index));
        again = m.accept(p, s, q);
      }
    }
    any |= again;
  }
  return any;
}

// Script k's ops moved into the thread that starts it, at the end of that thread or in place
// of the op that joins k (`start` and `join` go), optionally after a `swap I<m>`: the helper
// ran in the interpreter its starter was in when it started, which the starter may have left
// since (a subinterpreter created after the start). Smallest candidates first.
std::vector<Program> inline_later_variants(const Program& p, int k) {
  std::vector<Program> out;
  int interps = 0;
  for (const Script& sc : p.threads) {
    for (const Op& op : sc.ops) interps += op.code == OpCode::kNewInterp;
  }
  for (size_t t = 0; t < p.threads.size(); ++t) {
    if (static_cast<int>(t) == k) continue;
    const std::vector<Op>& ops = p.threads[t].ops;
    size_t start = ops.size(), join = ops.size();
    for (size_t i = 0; i < ops.size(); ++i) {
      if (ops[i].code == OpCode::kStart && ops[i].thread == k && start == ops.size()) start = i;
      if (ops[i].code == OpCode::kJoin && ops[i].thread == k && start < i && join == ops.size()) join = i;
    }
    if (start == ops.size()) continue;
    for (int m = -1; m <= std::min(interps, kMaxInterp); ++m) {
      std::vector<Op> body;
      if (m >= 0) {
        Op sw = make_op(OpCode::kSwap);
        sw.interp = m;
        body.push_back(sw);
      }
      body.insert(body.end(), p.threads[k].ops.begin(), p.threads[k].ops.end());
      Program q = p;
      std::vector<Op>& into = q.threads[t].ops;
      // In place of the join (or at the end), then without the start.
      if (join < ops.size()) {
        into.erase(into.begin() + static_cast<std::ptrdiff_t>(join));
        into.insert(into.begin() + static_cast<std::ptrdiff_t>(join), body.begin(), body.end());
      } else {
        into.insert(into.end(), body.begin(), body.end());
      }
      into.erase(into.begin() + static_cast<std::ptrdiff_t>(start));
      q.threads[k].ops.clear();
      q = drop_thread(q, k);
      bool fits = true;
      for (const Script& sc : q.threads) fits &= sc.ops.size() <= static_cast<size_t>(kMaxOpsPerThread);
      if (fits) out.push_back(std::move(q));
    }
    break;
  }
  std::stable_sort(out.begin(), out.end(), [](const Program& a, const Program& b) {
    return a.op_count() < b.op_count();
  });
  return out;
}

// (ops, threads) lexicographically: what every structural reduction must decrease.
bool smaller(const Program& a, const Program& b) {
  return a.op_count() < b.op_count() ||
         (a.op_count() == b.op_count() && a.threads.size() < b.threads.size());
}

// Whole threads: inline a helper into the op that starts it (or later into its starter, see
// inline_later_variants), or drop it with the ops naming it.
bool thread_passes(Minimizer& m, Program* p, Schedule* s) {
  bool any = false;
  for (int k = static_cast<int>(p->threads.size()) - 1; k >= 1 && !m.out_of_time(); --k) {
    if (k >= static_cast<int>(p->threads.size())) continue;
    if (auto q = inline_thread(*p, k); q && smaller(*q, *p) && m.accept(p, s, *q)) {
      any = true;
      continue;
    }
    bool done = false;
    for (const Program& q : inline_later_variants(*p, k)) {
      if (m.out_of_time()) break;
      if (smaller(q, *p) && m.accept(p, s, q)) {
        done = any = true;
        break;
      }
    }
    if (done) continue;
    const Program q = drop_thread(*p, k);
    if (smaller(q, *p) && m.accept(p, s, q)) any = true;
  }
  return any;
}

// Ops replaced by a plain scheduling point (`yield`): keeps the interleaving's anchor where the
// op was, so a later round may remove the yield under a schedule found for the simpler program.
bool replace_by_yield(Minimizer& m, Program* p, Schedule* s) {
  bool any = false;
  for (size_t t = 0; t < p->threads.size(); ++t) {
    for (size_t i = 0; i < p->threads[t].ops.size() && !m.out_of_time(); ++i) {
      const Op orig = p->threads[t].ops[i];
      if (orig.code == OpCode::kYield || refers_to_thread(orig)) continue;
      Program q = *p;
      q.threads[t].ops[i] = make_op(OpCode::kYield);
      any |= m.accept(p, s, q);
    }
  }
  return any;
}

void simplify_schedule(Minimizer& m, const Program& p, Schedule* s) {
  Schedule found;
  ReplayStrategy seq(Schedule{});
  if (m.run_with(p, seq, &found)) {
    *s = found;
    return;
  }
  // Remove preemptions one at a time: make choice i continue with the previous thread.
  for (size_t i = 1; i < s->picks.size() && !m.out_of_time(); ++i) {
    if (s->picks[i] == s->picks[i - 1]) continue;
    Schedule cand = *s;
    cand.picks[i] = cand.picks[i - 1];
    ReplayStrategy replay(cand);
    if (m.run_with(p, replay, &found) && found.preemptions() < s->preemptions()) *s = found;
  }
  // Truncate: past its end a schedule continues sequentially.
  size_t lo = 0, hi = s->picks.size();
  while (lo < hi && !m.out_of_time()) {
    const size_t mid = (lo + hi) / 2;
    Schedule cand = *s;
    cand.picks.resize(mid);
    ReplayStrategy replay(cand);
    if (m.run_with(p, replay, &found)) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  if (hi < s->picks.size()) {
    Schedule cand = *s;
    cand.picks.resize(hi);
    ReplayStrategy replay(cand);
    if (m.run_with(p, replay, &found)) *s = found;
  }
}

// Simpler arguments, each strictly closer to the op's defaults (so rounds terminate): counts
// down to 1, variants (thread kind, callback, fork mode, lock, interpreter flags) to the first,
// explicit targets and fork children dropped, interpreter ids lowered.
std::vector<Op> simpler_args(const Op& orig) {
  std::vector<Op> out;
  const Op base = make_op(orig.code);
  auto add = [&](const Op& o) {
    if (!(o == orig) && std::find(out.begin(), out.end(), o) == out.end()) out.push_back(o);
  };
  const ArgShape a = op_info(orig.code).args;
  if (orig.count > base.count) {
    Op o = orig;
    o.count = base.count;
    add(o);
    o.count = orig.count - 1;
    add(o);
  }
  if (orig.variant != base.variant && a != ArgShape::kNone) {
    Op o = orig;
    o.variant = base.variant;
    add(o);
  }
  if (a == ArgShape::kSync && (orig.variant & kSyncTimeout) != 0) {
    Op o = orig;  // the untimed wait first: a timeout is a schedule choice more
    o.variant &= static_cast<uint8_t>(~kSyncTimeout);
    add(o);
  }
  if (a == ArgShape::kPending && orig.interp >= 0) {
    Op o = orig;
    o.interp = -1;
    add(o);
  }
  if (a == ArgShape::kInterp && orig.interp > 0) {
    Op o = orig;
    o.interp = 0;
    add(o);
    o.interp = orig.interp - 1;
    add(o);
  }
  if (a == ArgShape::kFork) {
    Op o = orig;
    o.thread = -1;
    add(o);
    o = orig;
    o.follow_child = base.follow_child;
    add(o);
  }
  return out;
}

bool simplify_args(Minimizer& m, Program* p, Schedule* s) {
  bool any = false;
  for (size_t t = 0; t < p->threads.size(); ++t) {
    for (size_t i = 0; i < p->threads[t].ops.size() && !m.out_of_time(); ++i) {
      for (const Op& o : simpler_args(p->threads[t].ops[i])) {
        Program q = *p;
        q.threads[t].ops[i] = o;
        if (m.accept(p, s, q)) {
          any = true;
          break;
        }
      }
    }
  }
  return any;
}

size_t live_threads(const Program& p) {
  size_t n = 0;
  for (const Script& s : p.threads) n += !s.ops.empty();
  return n;
}

// One descent: rounds of every reduction until a round changes nothing; such a round is
// repeated with four times the schedules per candidate (a bigger budget when the budget
// allows: a candidate may need an interleaving the cheap search did not find), up to
// max_tries_per_candidate. Ends with the schedule simplified. m.last_finding is the result's.
void descend(Minimizer& m, Program* prog, Schedule* current) {
  m.tries = m.opts.tries_per_candidate;
  while (!m.out_of_time()) {
    bool changed = ddmin_ops(m, prog, current);
    changed |= thread_passes(m, prog, current);
    changed |= remove_pairs(m, prog, current, m.opts.pair_max_ops);
    changed |= replace_by_yield(m, prog, current);
    changed |= simplify_args(m, prog, current);
    // Fewer preemptions make the schedule sturdier under the next round's removals.
    if (changed) {
      simplify_schedule(m, *prog, current);
      continue;
    }
    if (m.tries >= m.opts.max_tries_per_candidate) break;
    m.tries = std::min(m.opts.max_tries_per_candidate, m.tries * 4);
  }
  simplify_schedule(m, *prog, current);
}

}  // namespace

bool find_schedule(const Program& p, const std::string& signature, int budget, uint64_t max_steps,
                   Schedule* out, Finding* finding, uint64_t* executions, bool contain) {
  MinimizeOptions o;
  o.max_steps = max_steps;
  o.contain = contain;
  Minimizer m{o, signature, Clock::now() + std::chrono::seconds(60)};
  auto matches = [&](Strategy& st) {
    st.begin_execution();
    RecordingChooser rec(st);
    ++m.executions;
    const ExecResult r = execute(p, m.exec_options(&rec));
    for (const Finding& f : r.findings) {
      if (signature.empty() || f.signature() == signature) {
        *out = rec.schedule();
        *finding = f;
        return true;
      }
    }
    return false;
  };
  ReplayStrategy seq(Schedule{});
  bool ok = matches(seq);
  // One strategy object per kind, so that each execution draws a fresh stream and PCT's k
  // adapts to the program's choice points (a fresh PctStrategy per try keeps k = 200 and, in a
  // short program, rarely places a change point inside the execution).
  PctStrategy pct[3] = {PctStrategy(1, 0xbeef1), PctStrategy(2, 0xbeef2), PctStrategy(3, 0xbeef3)};
  RandomStrategy random[3] = {RandomStrategy(0xfeed1, 0.5), RandomStrategy(0xfeed2, 0.9),
                              RandomStrategy(0xfeed3, 0.98)};
  for (int i = 0; !ok && i < budget; ++i) {
    ok = i % 6 < 3 ? matches(pct[i % 6]) : matches(random[i % 6 - 3]);
  }
  if (executions) *executions += m.executions;
  return ok;
}

namespace {
// The descents shared by both entry points, from a (p, current) that has the property.
MinimizeResult descend_from(Minimizer& m, const Program& p, Schedule current,
                            Clock::time_point start, MinimizeResult res);
}  // namespace

MinimizeResult minimize(const Program& p, const Schedule& s, const std::string& signature,
                        const MinimizeOptions& options) {
  // A crash of the model is kept like any signature, but only contained executions survive
  // the candidates that reproduce it.
  MinimizeOptions opts = options;
  if (signature.rfind("model-crash/", 0) == 0) opts.contain = true;
  const auto start = Clock::now();
  MinimizeResult res;
  res.ops_before = p.op_count();
  res.threads_before = live_threads(p);
  res.preemptions_before = s.preemptions();
  Minimizer m{opts, signature, start + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(opts.seconds))};
  // The starting point must reproduce; find out the signature if none was given.
  Schedule current = s;
  {
    std::string div;
    ExecOptions eo = m.exec_options(nullptr);
    const ExecResult r = replay_schedule(p, s, eo, &div);
    ++m.executions;
    bool hit = false;
    for (const Finding& f : r.findings) {
      if (m.signature.empty() || f.signature() == m.signature) {
        m.signature = f.signature();
        m.last_finding = f;
        hit = true;
        break;
      }
    }
    if (!hit) {
      res.schedule_searched = true;
      if (!find_schedule(p, m.signature, opts.search_budget, opts.max_steps, &current,
                         &m.last_finding, &m.executions, opts.contain)) {
        res.error = m.signature.empty() ? "the program yields no finding under any schedule tried"
                                        : "could not reproduce '" + m.signature + "' under any schedule tried";
        res.executions = m.executions;
        return res;
      }
      m.signature = m.last_finding.signature();
      res.preemptions_before = current.preemptions();
    }
  }
  return descend_from(m, p, current, start, std::move(res));
}

MinimizeResult minimize_keeping(const Program& p, const Schedule& s, const KeepProperty& keep,
                                const MinimizeOptions& opts) {
  const auto start = Clock::now();
  MinimizeResult res;
  res.ops_before = p.op_count();
  res.threads_before = live_threads(p);
  res.preemptions_before = s.preemptions();
  Minimizer m{opts, keep.name, start + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(opts.seconds))};
  m.keep = &keep;
  Schedule current;
  ReplayStrategy replay(s);
  if (!m.run_with(p, replay, &current)) {
    res.error = "the input does not have the property '" + keep.name + "' under its schedule";
    res.executions = m.executions;
    return res;
  }
  return descend_from(m, p, current, start, std::move(res));
}

namespace {

MinimizeResult descend_from(Minimizer& m, const Program& p, Schedule current,
                            Clock::time_point start, MinimizeResult res) {
  const MinimizeOptions& opts = m.opts;
  // Descents: rounds of reductions until none applies. The result depends on which removals
  // succeed first, so when the first descent used less than half the budget a second one
  // starts again from the input scanning ops from the end, and the smaller result is kept.
  Program prog = p;
  // A searched or fuzzer-driven schedule has preemptions nothing needs; the fewer it has, the
  // better it survives the removals below.
  simplify_schedule(m, prog, &current);
  const Program start_prog = prog;
  const Schedule start_schedule = current;
  descend(m, &prog, &current);
  Finding finding = m.last_finding;
  const bool half_left = m.executions < opts.max_executions / 2 &&
                         Clock::now() - start < std::chrono::duration<double>(opts.seconds / 2);
  if (half_left && prog.op_count() > 1) {
    Program other = start_prog;
    Schedule other_schedule = start_schedule;
    m.backward = true;
    descend(m, &other, &other_schedule);
    const auto key = [](const Program& q, const Schedule& sc) {
      return std::make_tuple(q.op_count(), live_threads(q), sc.preemptions());
    };
    if (key(other, other_schedule) < key(prog, current)) {
      prog = other;
      current = other_schedule;
      finding = m.last_finding;
    }
  }
  m.last_finding = finding;
  prog.schedule = current.picks.empty() ? "" : current.to_string();
  res.ok = true;
  res.program = prog;
  res.schedule = current;
  res.finding = m.last_finding;
  res.ops_after = prog.op_count();
  res.threads_after = live_threads(prog);
  res.preemptions_after = current.preemptions();
  res.executions = m.executions;
  res.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return res;
}

}  // namespace

}  // namespace ifz::harness
