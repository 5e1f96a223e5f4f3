// SPDX-License-Identifier: Apache-2.0
// minimizer.cc — delta debugging (Zeller & Hildebrandt, "Simplifying and Isolating
// Failure-Inducing Input", TSE 2002) over a program's ops, then its schedule and arguments.
#include "harness/minimize/minimizer.h"

#include <chrono>
#include <cstdio>

#include "harness/exec/checked_run.h"
#include "harness/program/text_format.h"
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

  bool out_of_time() const {
    return executions >= opts.max_executions || Clock::now() > deadline;
  }

  ExecOptions exec_options(platform::Chooser* chooser) const {
    ExecOptions o;
    o.trace = false;
    o.max_steps = opts.max_steps;
    o.chooser = chooser;
    return o;
  }

  // One run under `chooser`, recorded. True if it reproduces the signature.
  bool run_with(const Program& p, Strategy& strategy, Schedule* recorded) {
    strategy.begin_execution();
    RecordingChooser rec(strategy);
    ++executions;
    const ExecResult r = execute(p, exec_options(&rec));
    for (const Finding& f : r.findings) {
      if (f.signature() == signature) {
        *recorded = rec.schedule();
        last_finding = f;
        return true;
      }
    }
    return false;
  }

  // Does candidate `p` still fail? Tries the current schedule, sequential, then a few seeds.
  bool reproduces(const Program& p, const Schedule& current, Schedule* found) {
    if (validate_program(p).has_value()) return false;
    ReplayStrategy replay(current);
    if (run_with(p, replay, found)) return true;
    ReplayStrategy sequential(Schedule{});
    if (run_with(p, sequential, found)) return true;
    for (int i = 0; i < opts.tries_per_candidate && !out_of_time(); ++i) {
      if (i % 3 == 2) {
        // Sticky random schedules rarely switch: they are the ones that leave a parked thread
        // parked for a long stretch and then wake it (the daemon/finalize class).
        const double stickiness = (i / 3) % 2 == 0 ? 0.5 : 0.9;
        RandomStrategy random(0xd1ce + static_cast<uint64_t>(i), stickiness);
        if (run_with(p, random, found)) return true;
      } else {
        PctStrategy pct(1 + i % 3, 0x5eed + static_cast<uint64_t>(i));
        if (run_with(p, pct, found)) return true;
      }
    }
    return false;
  }
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

// Drops thread scripts that are empty and unreferenced, renumbering references.
Program compact_threads(const Program& p) {
  Program q = p;
  for (int k = static_cast<int>(q.threads.size()) - 1; k >= 1; --k) {
    if (!q.threads[k].ops.empty()) continue;
    bool referenced = false;
    for (const Script& s : q.threads) {
      for (const Op& op : s.ops) {
        const ArgShape a = op_info(op.code).args;
        const bool refs = a == ArgShape::kStart || a == ArgShape::kThread || a == ArgShape::kFork;
        referenced |= refs && op.thread == k;
      }
    }
    if (referenced) continue;
    q.threads.erase(q.threads.begin() + k);
    for (Script& s : q.threads) {
      for (Op& op : s.ops) {
        const ArgShape a = op_info(op.code).args;
        const bool refs = a == ArgShape::kStart || a == ArgShape::kThread || a == ArgShape::kFork;
        if (refs && op.thread > k) --op.thread;
      }
    }
  }
  return q;
}

void ddmin_ops(Minimizer& m, Program* p, Schedule* s) {
  size_t n = 2;
  while (!m.out_of_time()) {
    const std::vector<OpRef> refs = op_refs(*p);
    if (refs.size() <= 1) return;
    n = std::min(n, refs.size());
    const size_t chunk = (refs.size() + n - 1) / n;
    bool reduced = false;
    for (size_t from = 0; from < refs.size() && !m.out_of_time(); from += chunk) {
      Program q = compact_threads(without(*p, refs, from, std::min(refs.size(), from + chunk)));
      Schedule found;
      if (m.reproduces(q, *s, &found)) {
        *p = q;
        *s = found;
        n = std::max<size_t>(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (reduced) continue;
    if (n >= refs.size()) return;
    n = std::min(refs.size(), n * 2);
  }
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

void simplify_args(Minimizer& m, Program* p, Schedule* s) {
  for (size_t t = 0; t < p->threads.size(); ++t) {
    for (size_t i = 0; i < p->threads[t].ops.size() && !m.out_of_time(); ++i) {
      const Op orig = p->threads[t].ops[i];
      std::vector<Op> simpler;
      if (orig.count > 1) {
        Op o = orig;
        o.count = 1;
        simpler.push_back(o);
      }
      const ArgShape a = op_info(orig.code).args;
      if (orig.variant != 0 && (a == ArgShape::kPending || a == ArgShape::kInterpCfg)) {
        Op o = orig;
        o.variant = 0;
        simpler.push_back(o);
      }
      if (a == ArgShape::kPending && orig.interp >= 0) {
        Op o = orig;
        o.interp = -1;
        simpler.push_back(o);
      }
      for (const Op& o : simpler) {
        Program q = *p;
        q.threads[t].ops[i] = o;
        Schedule found;
        if (m.reproduces(q, *s, &found)) {
          *p = q;
          *s = found;
          break;
        }
      }
    }
  }
}

size_t live_threads(const Program& p) {
  size_t n = 0;
  for (const Script& s : p.threads) n += !s.ops.empty();
  return n;
}

}  // namespace

bool find_schedule(const Program& p, const std::string& signature, int budget, uint64_t max_steps,
                   Schedule* out, Finding* finding, uint64_t* executions) {
  MinimizeOptions o;
  o.max_steps = max_steps;
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
  for (int i = 0; !ok && i < budget; ++i) {
    if (i % 4 == 3) {
      RandomStrategy r(0xfeed + static_cast<uint64_t>(i));
      ok = matches(r);
    } else {
      PctStrategy pct(1 + i % 3, 0xbeef + static_cast<uint64_t>(i));
      ok = matches(pct);
    }
  }
  if (executions) *executions += m.executions;
  return ok;
}

MinimizeResult minimize(const Program& p, const Schedule& s, const std::string& signature,
                        const MinimizeOptions& opts) {
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
                         &m.last_finding, &m.executions)) {
        res.error = m.signature.empty() ? "the program yields no finding under any schedule tried"
                                        : "could not reproduce '" + m.signature + "' under any schedule tried";
        res.executions = m.executions;
        return res;
      }
      m.signature = m.last_finding.signature();
      res.preemptions_before = current.preemptions();
    }
  }
  Program prog = p;
  ddmin_ops(m, &prog, &current);
  simplify_schedule(m, prog, &current);
  simplify_args(m, &prog, &current);
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

}  // namespace ifz::harness
