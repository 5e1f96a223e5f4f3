// SPDX-License-Identifier: Apache-2.0
// executor.cc — one execution of a program: a fresh runtime on a fresh platform, the oracles
// watching, and the result (outcome, findings, trace, canaries) assembled at the end.
#include "harness/exec/executor.h"

#include <algorithm>
#include <optional>
#include <sstream>
#include <string_view>

#include <unistd.h>

#include "harness/exec/contained_run.h"
#include "harness/exec/execution.h"
#include "harness/exec/flight_recorder.h"
#include "base/check.h"
#include "runtime/platform/native.h"
#include "runtime/platform/simulated.h"

namespace ifz::harness {

std::string ExecResult::outcome_summary() const {
  using K = platform::RunResult::Kind;
  if (outcome.kind == rt::Outcome::Kind::kFatal || outcome.kind == rt::Outcome::Kind::kCrash) {
    return std::string(rt::outcome_kind_name(outcome.kind)) + ": " + outcome.message;
  }
  switch (run.kind) {
    case K::kExited: return "exit " + std::to_string(run.exit_code);
    case K::kDeadlock: return "deadlock";
    case K::kStepLimit: return "hang (step limit)";
    case K::kHang: return "hang (watchdog)";
    case K::kSignaled: return "signal " + std::to_string(run.signal);
    case K::kAborted: return "abort: " + run.message;
  }
  return "?";
}

std::string describe_blocked_thread(const platform::BlockedThread& b) {
  const std::string id = "T" + std::to_string(b.thread);
  std::string out = id;
  if (!b.name.empty() && b.name != id) out += " (" + b.name + ")";
  if (b.waits_on == "runnable") return out + " runnable";
  out += " waits on " + b.waits_on;
  if (b.waits_on.rfind("join ", 0) == 0) return out;  // the joined thread is named already
  if (b.owner == b.thread) out += ", owned by itself";
  else if (b.owner != platform::kNoThread) out += ", owned by T" + std::to_string(b.owner);
  return out;
}

namespace exec_internal {

Execution::Execution(const Program& program, const ExecOptions& opts, platform::Platform& plat,
                     const rt::Profile& profile, rt::DefectSet defects)
    : program_(program), opts_(opts), plat_(plat) {
  observer_ = std::make_unique<Observer>(*this);
  runtime_ = std::make_unique<rt::Runtime>(plat, profile, defects, observer_.get());
  sink_ = std::make_unique<Sink>(*this, *runtime_, plat);
  oracles_ = make_oracles(runtime_->profile());
  script_tid_.fill(platform::kNoThread);
}

Execution::~Execution() = default;

void Execution::run_main() {
  ThreadCtx& c = ctx_[0];
  c.tid = plat_.current();
  slot_of_tid_[c.tid] = 0;
  started_[0] = true;
  if (!program_.threads.empty()) run_script(c, 0);
  end_of_main();
}

// The main script ended (or `exit`): the process ends normally. Event-based oracles judge
// what must have happened by now (accepted pending calls run, ...).
void Execution::end_of_main() {
  platform::RunResult run;
  run.kind = platform::RunResult::Kind::kExited;
  EndContext end{run, runtime_->outcome(), /*process_ended_normally=*/true};
  for (auto& o : oracles_) o->on_end(end, *sink_);
  if (remote_) {  // native: the reached canaries come back too (benchmarks, canary_log.h)
    std::unique_lock<std::recursive_mutex> lock = native_lock();
    for (const rt::DefectInfo& d : rt::all_defects()) {
      if (runtime_->canaries().reached_of(d.id) > 0) plat_.report(std::string("reached\t") + d.name + "\n");
    }
  }
}

void Execution::count_reach(const rt::Event& e) {
  using K = rt::EventKind;
  const bool shutting_down = shutting_down_;
  switch (e.kind) {
    case K::kPhase: {
      const std::string_view phase = e.text;
      // A prefix match, as the counters' wording always had it: "finalized" counts too.
      shutting_down_ = phase.substr(0, 8) == std::string_view("finalize");
      finalized_ = phase == rt::phase_name(rt::Phase::kFinalized);
      break;
    }
    case K::kForkChild: {
      reach_.bump("fork child entered");
      for (const platform::Mutex* m : runtime_->runtime_locks()) {
        if (m->owner() != platform::kNoThread && m->owner() != e.thread) {
          reach_.bump("fork while another thread held a runtime lock");
          break;
        }
      }
      if (e.interp > 0) reach_.bump("fork from a subinterpreter");
      break;
    }
    case K::kThreadExitForced:
      reach_.bump("thread forced to exit in " + e.text);
      break;
    case K::kThreadHang:
      reach_.bump("thread hung (PyThread_hang_thread) in " + e.text);
      break;
    case K::kPendingAdded:
      if (e.c != 0) reach_.bump(std::string("pending call refused") + (shutting_down ? " during finalisation" : finalized_ ? " after finalisation" : " (queue full)"));
      else if (shutting_down || finalized_) reach_.bump("pending call accepted during or after finalisation");
      break;
    case K::kPendingRun:
      reach_.bump("pending call ran");
      break;
    case K::kFatal:
      reach_.bump("fatal: " + e.text);
      break;
    case K::kThreadStarted:
      if (shutting_down) reach_.bump("thread started during finalisation");
      break;
    case K::kReinitialized:
      reach_.bump("runtime re-initialised");
      break;
    case K::kInterpDeleted:
      if (e.interp > 0) reach_.bump("subinterpreter deleted");
      break;
    case K::kError:
      reach_.bump("refused: " + e.text);
      break;
    default:
      break;
  }
}

std::unique_lock<std::recursive_mutex> Execution::native_lock() {
  // In a fork child the lock may have been held by a thread that vanished: the first use in
  // a new process re-creates it (the runtime reports the fork itself before we could).
  if (getpid() != lock_pid_) {
    new (&native_mutex_) std::recursive_mutex();
    lock_pid_ = getpid();
  }
  return std::unique_lock<std::recursive_mutex>(native_mutex_);
}

void Execution::on_event(const rt::Event& e) {
  std::unique_lock<std::recursive_mutex> lock;
  if (remote_) lock = native_lock();
  if (e.kind == rt::EventKind::kPendingRun && e.text == "forever") forever_runs_.fetch_add(1);
  if (e.kind == rt::EventKind::kDefectTriggered) {
    if (remote_) plat_.report("triggered\t" + e.text + "\n");
    return;  // a canary, not an observation: no oracle sees it
  }
  if (opts_.count_reach) count_reach(e);
  if (opts_.op_log != nullptr) opts_.op_log->events.push_back(e);
  for (auto& o : oracles_) o->on_event(e, *sink_);
  if (!opts_.trace) return;
  std::string line = std::string("   . ") + rt::event_kind_name(e.kind);
  if (e.interp >= 0) line += " I" + std::to_string(e.interp);
  if (e.kind == rt::EventKind::kPendingAdded || e.kind == rt::EventKind::kPendingRun ||
      e.kind == rt::EventKind::kPendingRunEnd || e.kind == rt::EventKind::kPendingTaken ||
      e.kind == rt::EventKind::kPendingDropped) {
    line += " #" + std::to_string(e.a);
  }
  if (e.kind == rt::EventKind::kPendingAdded) line += e.c == 0 ? " accepted" : " refused";
  if (!e.text.empty()) line += " " + e.text;
  trace_line(line);
}

void Execution::add_finding(Finding f) {
  std::unique_lock<std::recursive_mutex> lock;
  if (remote_) lock = native_lock();
  if (remote_) {
    std::ostringstream os;
    os << "finding\t" << f.kind << '\t' << f.oracle << '\t' << f.phase << '\t' << f.detail << '\t'
       << f.message << '\n';
    plat_.report(os.str());
  }
  findings_.push_back(std::move(f));
}

void Execution::note_skipped(std::string line) {
  std::unique_lock<std::recursive_mutex> lock;
  if (remote_) lock = native_lock();
  if (remote_) {
    plat_.report("skipped\t" + line + "\n");
    return;
  }
  skipped_ops_.push_back(std::move(line));
}

void Execution::trace_line(std::string line) {
  std::unique_lock<std::recursive_mutex> lock;
  if (remote_) lock = native_lock();
  if (remote_) {
    plat_.report("trace\t" + line + "\n");
    return;
  }
  trace_.push_back(std::move(line));
}

std::string Execution::thread_states_line() const {
  std::string out;
  for (size_t s = 0; s < ctx_.size(); ++s) {
    const ThreadCtx& c = ctx_[s];
    if (c.tid == platform::kNoThread || !plat_.alive(c.tid)) continue;
    out += "[T" + std::to_string(s);
    if (c.saved) out += " released";
    else if (c.gilstate_depth > 0) out += " gilstate";
    out += " in I" + std::to_string(c.bound_interp) + "] ";
  }
  return out;
}

void Execution::finish(const platform::RunResult& run, ExecResult* out) {
  // A thread still preempted inside its op when the execution ended never showed it would
  // have stopped: what it was preempted inside stays unforced.
  for (int s = 0; s < kMaxThreads; ++s) keep_preempted(s);
  out->run = run;
  out->outcome = runtime_->outcome();
  const bool died = out->outcome.kind == rt::Outcome::Kind::kCrash ||
                    out->outcome.kind == rt::Outcome::Kind::kFatal;
  if (opts_.op_log != nullptr && died && out->outcome.thread != platform::kNoThread &&
      static_cast<size_t>(out->outcome.thread) < slot_of_tid_.size()) {
    opts_.op_log->died_on_slot = slot_of_tid_[out->outcome.thread];
  }
  const bool normal = run.kind == platform::RunResult::Kind::kExited &&
                      out->outcome.kind != rt::Outcome::Kind::kFatal &&
                      out->outcome.kind != rt::Outcome::Kind::kCrash;
  rt::Outcome oc = out->outcome;
  if (oc.phase.empty()) oc.phase = runtime_->phase();
  EndContext end{run, oc, normal};
  end.program_deadlock =
      run.kind == platform::RunResult::Kind::kDeadlock && program_deadlock(run);
  if (end.program_deadlock && opts_.trace) {
    trace_line("the program's own deadlock: a wait on its lock or event nobody can end");
  }
  // Only outcome-based judgement here; event oracles judged at end_of_main already.
  if (!normal) {
    for (auto& o : oracles_) o->on_end(end, *sink_);
  }
  out->canaries = runtime_->canaries();
  for (Finding& f : findings_) {
    classify(runtime_->defects(), out->canaries, &f);
    for (const platform::BlockedThread& b : run.blocked) f.threads.push_back(describe_blocked_thread(b));
  }
  out->findings = std::move(findings_);
  out->trace = std::move(trace_);
  out->skipped_ops = std::move(skipped_ops_);
  out->ops_executed = ops_executed_;
  out->ops_skipped = ops_skipped_;
  out->reach = std::move(reach_);
  out->leaked_by_fork = runtime_->heap().live_blocks();
}

}  // namespace exec_internal

namespace {

rt::DefectSet defects_of(const Program& p) {
  rt::DefectSet set;
  for (const std::string& name : p.defects) {
    if (auto d = rt::find_defect(name)) set.set(*d);
  }
  return set;
}

// With an op log: forwards each pick and tells the execution about each switch, so that the
// log can name the ops a thread was preempted inside while it was running (OpLog::
// preempted_inside). A thread that reached a wait, a lock another thread holds or the `block`
// op's blocking call is not preempted by being switched away from: it stops there in a real
// run as well (the C's `block` waits for its turn). Other syscalls (finalisation's write(2) of
// flush_std_files) return at once in a real run: a switch there is a preemption. So is one at
// any other point, unless the next point the thread reaches once resumed stops it (a thread
// switched away from just before it waits for a GIL another holds: the C's waits there too).
class SwitchNotingChooser final : public platform::Chooser {
 public:
  explicit SwitchNotingChooser(platform::Chooser& inner) : inner_(inner) {}
  exec_internal::Execution* execution = nullptr;
  size_t pick(std::span<const platform::ThreadId> runnable, platform::ThreadId current,
              const platform::PointInfo& where) override {
    const size_t i = inner_.pick(runnable, current, where) % runnable.size();
    const platform::ThreadId to = runnable[i];
    if (execution != nullptr) {
      const bool running = std::find(runnable.begin(), runnable.end(), current) != runnable.end();
      // (a kLock point's object is the Mutex about to be taken, alive at that point)
      const auto* m = static_cast<const platform::Mutex*>(where.object);
      const bool lock_held_by_other = where.kind == platform::Point::kLock && m != nullptr &&
                                      m->locked() && m->owner() != current;
      const bool stops = !running || where.kind == platform::Point::kWait || lock_held_by_other ||
                         (where.kind == platform::Point::kSyscall && std::string_view(where.label) == "block");
      execution->note_point(current, stops);
      if (to != current) execution->note_switch(current, !stops, to);
    }
    return i;
  }

 private:
  platform::Chooser& inner_;
};

ExecResult execute_simulated(const Program& p, const rt::Profile& profile,
                             const ExecOptions& opts) {
  platform::SimOptions so;
  so.max_steps = opts.max_steps;
  std::optional<SwitchNotingChooser> noting;
  platform::Chooser* chooser = opts.chooser;
  if (opts.op_log != nullptr && chooser != nullptr) chooser = &noting.emplace(*chooser);
  platform::SimulatedPlatform plat(chooser, so);
  ExecResult res;
  {
    exec_internal::Execution ex(p, opts, plat, profile, defects_of(p));
    if (noting) noting->execution = &ex;
    // A contained child or a stress worker notes which thread a fatal signal hit.
    if (active_flight_recorder() != nullptr) set_running_platform(&plat);
    const platform::RunResult run = plat.run("T0", [&] { ex.run_main(); });
    set_running_platform(nullptr);
    ex.finish(run, &res);
  }
  return res;
}

}  // namespace

// Native: the execution lives in the sandbox process; findings, trace lines and the runtime's
// outcome come back as report lines, and the parent judges the outcome itself.
void exec_internal::parse_native_report(const std::string& report, ExecResult* res) {
  std::istringstream in(report);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::istringstream ls(line);
    std::string field;
    while (std::getline(ls, field, '\t')) f.push_back(field);
    if (f.empty()) continue;
    if (f[0] == "trace" && f.size() >= 2) res->trace.push_back(f[1]);
    if (f[0] == "skipped" && f.size() >= 2) res->skipped_ops.push_back(f[1]);
    if (f[0] == "triggered" && f.size() >= 2) {
      if (auto d = rt::find_defect(f[1])) res->canaries.trigger(*d);
    }
    if (f[0] == "reached" && f.size() >= 2) {
      if (auto d = rt::find_defect(f[1])) res->canaries.reach(*d);
    }
    if (f[0] == "finding" && f.size() >= 6) {
      Finding fd;
      fd.kind = f[1];
      fd.oracle = f[2];
      fd.phase = f[3];
      fd.detail = f[4];
      fd.message = f[5];
      res->findings.push_back(fd);
    }
    if (line.rfind("outcome ", 0) == 0) {
      std::istringstream os(line.substr(8));
      std::string kind;
      os >> kind >> res->outcome.exit_code;
      res->outcome.kind = kind == "fatal" ? rt::Outcome::Kind::kFatal : rt::Outcome::Kind::kCrash;
      std::getline(os, res->outcome.message);
      if (!res->outcome.message.empty()) res->outcome.message.erase(0, 1);
    }
  }
}

void exec_internal::classify(const rt::DefectSet& enabled, const rt::Canaries& canaries,
                             Finding* f) {
  for (const rt::DefectInfo& d : rt::all_defects()) {
    if (!enabled.has(d.id) || canaries.triggered[static_cast<size_t>(d.id)] == 0) continue;
    f->triggered_defects.push_back(d.name);
    if (f->classification == "new") f->classification = std::string("known: ") + d.issue;
  }
}

void exec_internal::judge_native_outcome(const rt::Profile& profile, ExecResult* res) {
  const bool normal = res->run.kind == platform::RunResult::Kind::kExited &&
                      res->outcome.kind == rt::Outcome::Kind::kRunning;
  if (normal) return;
  EndContext end{res->run, res->outcome, false};
  struct ParentSink : OracleSink {
    using OracleSink::OracleSink;
    void report(Finding f) override { out->push_back(std::move(f)); }
    std::vector<Finding>* out = nullptr;
  };
  platform::SimulatedPlatform dummy;  // no runtime runs here; outcome oracles only read `end`
  rt::Runtime parent_rt(dummy, profile);
  ParentSink sink(parent_rt, dummy);
  sink.out = &res->findings;
  for (auto& o : make_oracles(profile)) o->on_end(end, sink);
}

namespace {

ExecResult execute_native(const Program& p, const rt::Profile& profile, const ExecOptions& opts) {
  platform::NativeOptions no;
  no.watchdog_ms = opts.native_watchdog_ms;
  platform::NativePlatform plat(no);
  ExecResult res;
  res.run = plat.run([&] {
    // Never destroyed: when the main thread returns the sandbox _exit()s, and other threads may
    // still be running on this runtime; tearing it down first would crash them (a model-level
    // use-after-free of our own making, reported as signal 11).
    auto* ex = new exec_internal::Execution(p, opts, plat, profile, defects_of(p));
    ex->set_remote(true);  // before any thread exists
    ex->run_main();
  });
  exec_internal::parse_native_report(res.run.report, &res);
  exec_internal::judge_native_outcome(profile, &res);
  rt::DefectSet enabled = defects_of(p);
  for (const rt::DefectInfo& d : rt::all_defects()) {
    if (profile.defects.has(d.id)) enabled.set(d.id);
  }
  for (Finding& f : res.findings) exec_internal::classify(enabled, res.canaries, &f);
  return res;
}

}  // namespace

ExecResult execute(const Program& program, const ExecOptions& opts) {
  const rt::Profile* profile = rt::find_profile(program.profile);
  IFZ_PRECONDITION(profile != nullptr, "execute: unknown profile (validate programs first)");
  if (opts.contain && opts.platform == ExecOptions::Platform::kSimulated) {
    return execute_contained(program, opts);
  }
  return opts.platform == ExecOptions::Platform::kSimulated
             ? execute_simulated(program, *profile, opts)
             : execute_native(program, *profile, opts);
}

}  // namespace ifz::harness
