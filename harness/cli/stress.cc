// SPDX-License-Identifier: Apache-2.0
// stress.cc — the stress runner: a parent that shows progress and deduplicates, and worker
// processes that generate programs, run them under a mix of schedulers and write artifacts.
//
// Workers are processes, not threads: an execution that corrupts memory or hangs natively must
// not take the run (or the other workers) down, and native executions fork anyway. A worker
// writes a finding's artifacts (atomically: temp file + rename) *before* telling the parent,
// so a worker killed at any point loses nothing it reported.
//
// A worker the model crashes under (a signal, a sanitizer report, a failed IFZ_CHECK) is the
// containment of that crash: each worker runs its executions with a FlightRecorder the parent
// mapped before forking it, holding the program in progress and every choice made so far. The
// parent turns the death into a `model-crash` finding of that program and schedule (its
// artifacts written as any other's, then minimised, contained) and starts a new worker on a
// fresh random stream. Executions stay in-process: no per-execution cost but the record.
#include "harness/cli/stress.h"

#include "harness/cli/json.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <vector>

#include "harness/cli/artifacts.h"
#include "harness/exec/canary_log.h"
#include "harness/exec/reach.h"
#include "harness/exec/checked_run.h"
#include "harness/exec/flight_recorder.h"
#include "harness/exec/model_crash.h"
#include "harness/cli/minimize_cmd.h"
#include "harness/program/binary_codec.h"
#include "harness/program/text_format.h"
#include "harness/schedule/pct_strategy.h"
#include "harness/schedule/random_strategy.h"
#include "harness/schedule/rng.h"
#include "runtime/defects.h"
#include "runtime/profile.h"

namespace ifz::harness::cli {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// How many stop signals (SIGINT, SIGTERM) arrived: the first stops the run cleanly (workers
// finish their execution, the summary is printed), the second kills the workers at once.
volatile sig_atomic_t g_stop = 0;
void on_stop_signal(int) { g_stop = g_stop + 1; }

std::vector<std::string> stress_profiles(const StressOptions& o) {
  std::vector<std::string> out;
  if (!o.profile.empty()) {
    out.push_back(o.profile);
    return out;
  }
  for (const rt::Profile& p : rt::all_profiles()) {
    if (p.fixed) out.push_back(p.name);
  }
  return out;
}

std::vector<Program> load_seeds(const std::string& dir) {
  std::vector<Program> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".ifz") continue;
    auto parsed = read_program_file(e.path().string());
    if (auto* p = std::get_if<Program>(&parsed)) out.push_back(std::move(*p));
  }
  return out;
}

// ---- worker --------------------------------------------------------------------------------

// A worker's program: its pinned profile, a newline, the bytes it decoded (with the defects of
// the run); decoding is deterministic, so the parent rebuilds the exact program from this.
Program program_of_record(const std::string& record, const std::vector<std::string>& defects) {
  const size_t nl = record.find('\n');
  DecodeOptions d;
  d.pinned_profile = record.substr(0, nl);
  d.extra_defects = defects;
  const std::string bytes = nl == std::string::npos ? "" : record.substr(nl + 1);
  Program p = decode_program(std::span<const uint8_t>(
                                 reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
                             d)
                  .program;
  p.schedule.clear();
  p.defects = defects;  // the profile's own defects plus --defects, never random ones
  return p;
}

struct Worker {
  const StressOptions& opts;
  int index;
  int out_fd;
  FlightRecorder& recorder;
  Rng rng;
  std::vector<Program> seeds;
  std::vector<std::string> profiles;
  std::vector<std::string> extra_defects;
  std::set<std::string> seen;
  ReachCounters reach;
  std::unique_ptr<CanaryLog> canary_log = CanaryLog::from_env();  // INTERPFUZZ_CANARY_LOG

  void send(const std::string& line) {
    const std::string l = line + "\n";
    ssize_t off = 0;
    while (off < static_cast<ssize_t>(l.size())) {
      ssize_t n = write(out_fd, l.data() + off, l.size() - off);
      if (n <= 0) return;
      off += n;
    }
  }

  // A program and, in `record`, what rebuilds it (program_of_record): cheaper than its text,
  // which would be printed for every execution.
  Program next_program(std::string* record) {
    std::vector<uint8_t> bytes;
    const bool from_seed = !seeds.empty() && !opts.native_only_uniform && rng.next_u64() % 2 == 0;
    if (from_seed) {
      bytes = encode_program(seeds[rng.next_u64() % seeds.size()]);
      const int flips = 1 + static_cast<int>(rng.next_u64() % 4);
      for (int i = 0; i < flips && !bytes.empty(); ++i) {
        bytes[rng.next_u64() % bytes.size()] = static_cast<uint8_t>(rng.next_u64());
      }
    } else {
      bytes.resize(16 + rng.next_u64() % 160);
      for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng.next_u64());
    }
    DecodeOptions d;
    d.pinned_profile = profiles[rng.next_u64() % profiles.size()];
    d.extra_defects = extra_defects;
    record->assign(d.pinned_profile);
    record->push_back('\n');
    record->append(bytes.begin(), bytes.end());
    return program_of_record(*record, extra_defects);
  }

  void report(const Program& p, const ExecResult& r, const Schedule& s, const char* engine) {
    for (const Finding& f : r.findings) {
      const std::string sig = f.signature();
      if (!seen.insert(sig).second) continue;
      const bool native = std::string(engine) == "native";
      ArtifactPaths paths = write_finding_artifacts(opts.artifacts, p, s, f, r, native);
      send("F\t" + sig + "\t" + f.classification + "\t" + paths.program + "\t" + engine + "\t" +
           paths.report);
    }
  }

  void run_one() {
    std::string record;
    const Program p = next_program(&record);
    recorder.begin_execution();
    recorder.note_program(record);
    run_program(p);
    recorder.end_execution();
  }

  void run_program(const Program& p) {
    ExecOptions eo;
    eo.trace = false;
    eo.max_steps = opts.max_steps;
    const uint64_t pick = rng.next_u64() % 10;
    const bool mix = opts.strategy.empty();
    if (opts.native_only_uniform || (mix && opts.native && pick == 0)) {
      eo.platform = ExecOptions::Platform::kNative;
      eo.native_watchdog_ms = 3000;
      const ExecResult r = execute(p, eo);
      if (canary_log) canary_log->observe(r);
      reach.merge(r.reach);
      report(p, r, Schedule{}, "native");
      return;
    }
    std::unique_ptr<Strategy> st;
    const bool random = mix ? pick < 4 : opts.strategy == "random";
    if (random) st = std::make_unique<RandomStrategy>(rng.next_u64());
    else st = std::make_unique<PctStrategy>(1 + static_cast<int>(rng.next_u64() % 3), rng.next_u64());
    LoggingChooser logged(*st, recorder);  // the schedule so far, should the model crash
    const CheckedRun cr = run_checked(p, logged, eo);
    if (canary_log) canary_log->observe(cr.result);
    reach.merge(cr.result.reach);
    if (!cr.reproducible) send("D\t" + cr.divergence);
    report(p, cr.result, cr.schedule, random ? "random" : "pct");
  }

  int run() {
    const auto deadline = Clock::now() + std::chrono::duration<double>(opts.seconds);
    uint64_t execs = 0;
    auto last = Clock::now();
    while (!g_stop && Clock::now() < deadline) {
      run_one();
      ++execs;
      if (Clock::now() - last > std::chrono::milliseconds(200)) {
        send("E\t" + std::to_string(execs));
        execs = 0;
        last = Clock::now();
      }
    }
    send("E\t" + std::to_string(execs));
    send("R\t" + reach.serialize());
    return 0;
  }
};

// ---- parent --------------------------------------------------------------------------------

struct Distinct {
  std::string classification;
  std::string artifact;
  std::string engine;
  int count = 0;
  std::string minimized;  // the .min.ifz, "" if none
  size_t minimized_ops = 0;
};

// The progress line, on stderr. On a terminal it is redrawn in place (\r) at most 4 times a
// second; anywhere else (a log file, a pipe) it is a plain line at most every 10 s, so a long
// run logs a handful of lines instead of one per redraw.
class ProgressLine {
 public:
  explicit ProgressLine(bool enabled) : enabled_(enabled), tty_(isatty(STDERR_FILENO) == 1) {}

  void show(const std::string& text) {
    if (!enabled_) return;
    const Clock::time_point now = Clock::now();
    if (tty_) {
      if (now - last_ < std::chrono::milliseconds(250)) return;
      std::fprintf(stderr, "\r%s   ", text.c_str());
      partial_ = true;
    } else {
      if (now - last_ < std::chrono::seconds(10)) return;
      std::fprintf(stderr, "%s\n", text.c_str());
    }
    std::fflush(stderr);
    last_ = now;
  }

  /// Before anything else is written to stderr: ends a line being redrawn.
  void break_line() {
    if (!partial_) return;
    std::fputc('\n', stderr);
    partial_ = false;
  }

 private:
  bool enabled_;
  bool tty_;
  bool partial_ = false;  // the cursor is at the end of a redrawn line
  // Not "now": on a log file the first line comes after 10 s, not at once.
  Clock::time_point last_ = Clock::now();
};

// The finding report as the worker wrote it (.report.txt): the one shape every front end prints
// (format_finding), up to its SUMMARY line.
std::string report_text(const std::string& report_path) {
  std::ifstream in(report_path);
  std::string out, line;
  while (std::getline(in, line)) {
    out += line + "\n";
    if (line.rfind("SUMMARY: ", 0) == 0) break;
  }
  return out;
}

struct Parent {
  const StressOptions& opts;
  ProgressLine progress_line{!opts.quiet};
  std::map<std::string, Distinct> findings;
  ReachCounters reach;
  uint64_t execs = 0;
  int divergences = 0;
  bool known_found = false;  // a finding attributed to an enabled defect (--stop-on-known)

  void on_line(const std::string& line) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string x;
    while (std::getline(ss, x, '\t')) f.push_back(x);
    if (f.empty()) return;
    if (f[0] == "E" && f.size() >= 2) execs += std::stoull(f[1]);
    if (f[0] == "R" && f.size() >= 2) reach.merge(ReachCounters::parse(f[1]));
    if (f[0] == "D") {
      ++divergences;
      progress_line.break_line();
      std::fprintf(stderr, "==ifz== DETERMINISM FAILURE: %s\n", f.size() > 1 ? f[1].c_str() : "");
    }
    if (f[0] == "F" && f.size() >= 6) {
      Distinct& d = findings[f[1]];
      if (d.count++ == 0) {
        d.classification = f[2];
        d.artifact = f[3];
        d.engine = f[4];
        if (f[2].rfind("known:", 0) == 0) known_found = true;
        progress_line.break_line();
        std::string report = report_text(f[5]);
        if (report.empty()) {  // the report file is gone: still one finding-shaped line
          report = "==ifz== FINDING: " + f[1] + " (" + f[2] + ")\n    reproduce: interpfuzz replay " +
                   f[3] + "\nSUMMARY: interpfuzz: " + f[1] + "\n";
        }
        std::fputs(report.c_str(), stderr);
        std::fflush(stderr);
      }
    }
  }

  void progress(double elapsed) {
    const double rate = elapsed > 0 ? static_cast<double>(execs) / elapsed : 0;
    char text[200];
    std::snprintf(text, sizeof text, "[stress] %5.1fs / %.0fs  executions %llu (%.0f/s)  distinct findings %zu",
                  elapsed, opts.seconds, static_cast<unsigned long long>(execs), rate, findings.size());
    progress_line.show(text);
  }
};


int worker_main(const StressOptions& opts, int index, int fd, FlightRecorder& recorder) {
  set_active_flight_recorder(&recorder);
  Worker w{opts, index, fd, recorder, Rng::stream(opts.seed, static_cast<uint64_t>(index))};
  w.seeds = load_seeds(opts.seeds_dir);
  w.profiles = stress_profiles(opts);
  std::stringstream ss(opts.defects);
  std::string d;
  while (std::getline(ss, d, ',')) {
    if (!d.empty()) w.extra_defects.push_back(d);
  }
  return w.run();
}

}  // namespace

int run_stress(const StressOptions& opts) {
  if (!opts.strategy.empty() && opts.strategy != "pct" && opts.strategy != "random") {
    std::fprintf(stderr, "interpfuzz stress: unknown strategy '%s' (pct, random)\n",
                 opts.strategy.c_str());
    return 2;
  }
  {
    std::stringstream ds(opts.defects);
    std::string d;
    while (std::getline(ds, d, ',')) {
      if (!d.empty() && !rt::find_defect(d)) {
        std::fprintf(stderr, "interpfuzz stress: unknown defect '%s' (see 'interpfuzz list defects')\n",
                     d.c_str());
        return 2;
      }
    }
  }
  for (const std::string& p : stress_profiles(opts)) {
    if (!rt::find_profile(p)) {
      std::fprintf(stderr, "interpfuzz stress: unknown profile '%s'\n", p.c_str());
      return 2;
    }
  }
  std::error_code ec;
  fs::create_directories(opts.artifacts, ec);
  if (ec) {
    std::fprintf(stderr, "interpfuzz stress: cannot create %s: %s\n", opts.artifacts.c_str(),
                 ec.message().c_str());
    return 2;
  }
  const int jobs = opts.jobs > 0 ? opts.jobs : std::max(1, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  std::vector<pid_t> pids(jobs);
  std::vector<int> fds(jobs, -1);
  std::vector<int> err_fds(jobs, -1);
  std::vector<std::string> err_tail(jobs);
  std::vector<std::unique_ptr<FlightRecorder>> recorders;
  for (int i = 0; i < jobs; ++i) recorders.push_back(std::make_unique<FlightRecorder>());
  int streams = 0;  // random streams used: a replacement worker never repeats one
  // Starts worker `i` (again), stdout-free: progress on its pipe, stderr on another, whose
  // tail says how it died.
  auto spawn = [&](int i) -> bool {
    int pipefd[2], errfd[2];
    if (pipe(pipefd) != 0 || pipe(errfd) != 0) return false;
    const int stream = streams++;
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
      close(pipefd[0]);
      close(errfd[0]);
      dup2(errfd[1], STDERR_FILENO);
      close(errfd[1]);
      _exit(worker_main(opts, stream, pipefd[1], *recorders[i]));
    }
    close(pipefd[1]);
    close(errfd[1]);
    pids[i] = pid;
    fds[i] = pipefd[0];
    err_fds[i] = errfd[0];
    err_tail[i].clear();
    return true;
  };
  for (int i = 0; i < jobs; ++i) {
    if (!spawn(i)) return 2;
  }
  Parent parent{opts};
  std::vector<std::string> partial(fds.size());
  std::vector<bool> alive(pids.size(), true);
  // A pipe at end of file is polled no more: poll() reports it readable at once, forever, and
  // would turn the wait below into a busy loop.
  std::vector<bool> at_eof(fds.size(), false);
  int worker_failures = 0;
  int model_crashes = 0;
  const auto start = Clock::now();
  const Clock::time_point deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opts.seconds));
  size_t running = pids.size();
  // A worker's stderr goes on to ours; its last 64 KiB are kept for the crash report.
  auto drain_err = [&](size_t i) {
    pollfd pfd{err_fds[i], POLLIN, 0};
    while (err_fds[i] >= 0 && poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLIN | POLLHUP))) {
      char buf[4096];
      const ssize_t n = read(err_fds[i], buf, sizeof buf);
      if (n <= 0) {
        close(err_fds[i]);
        err_fds[i] = -1;
        break;
      }
      fwrite(buf, 1, static_cast<size_t>(n), stderr);
      err_tail[i].append(buf, static_cast<size_t>(n));
      if (err_tail[i].size() > 65536) err_tail[i].erase(0, err_tail[i].size() - 65536);
    }
  };
  // Worker i died in the middle of an execution: that execution crashed the model.
  auto report_model_crash = [&](size_t i, int status) {
    const FlightRecorder& rec = *recorders[i];
    ProcessDeath d;
    d.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    d.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    d.stderr_text = err_tail[i];
    d.last_op = rec.last_op_name();
    d.last_op_detail = rec.last_op();
    std::vector<std::string> defects;
    std::stringstream ds(opts.defects);
    for (std::string x; std::getline(ds, x, ',');) {
      if (!x.empty()) defects.push_back(x);
    }
    if (rec.program().empty()) return false;
    const Program program = program_of_record(rec.program(), defects);
    const Program* p = &program;
    Finding f = model_crash_finding(d);
    ExecResult r;
    r.run.kind = platform::RunResult::Kind::kAborted;
    r.run.message = "the model crashed: " + f.detail;
    const ArtifactPaths paths = write_finding_artifacts(opts.artifacts, *p, rec.schedule(), f, r);
    parent.on_line("F\t" + f.signature() + "\t" + f.classification + "\t" + paths.program +
                   "\tworker\t" + paths.report);
    ++model_crashes;
    return true;
  };
  bool forwarded = false;
  std::vector<bool> killed(pids.size(), false);
  // Workers are watched by pid, not by pipe EOF: a process a native execution forked may
  // still hold a copy of a worker's pipe.
  auto drain = [&](size_t i, int timeout_ms) {
    if (at_eof[i]) return;
    pollfd pfd{fds[i], POLLIN, 0};
    while (poll(&pfd, 1, timeout_ms) > 0 && (pfd.revents & POLLIN)) {
      char buf[4096];
      const ssize_t n = read(fds[i], buf, sizeof buf);
      if (n == 0) at_eof[i] = true;
      if (n <= 0) break;
      partial[i].append(buf, static_cast<size_t>(n));
      size_t nl;
      while ((nl = partial[i].find('\n')) != std::string::npos) {
        parent.on_line(partial[i].substr(0, nl));
        partial[i].erase(0, nl + 1);
      }
      timeout_ms = 0;
    }
  };
  // A worker gets until the deadline plus a grace period; one stuck in a single execution
  // (which would be a bug of the harness: simulated executions are step-bounded) is killed.
  const Clock::time_point hard_deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opts.seconds + 15));
  Clock::time_point stop_time = hard_deadline;
  bool stopped_early = false;  // --stop-on-known: not an interruption, findings get minimised
  while (running > 0) {
    if (opts.stop_on_known && parent.known_found && !stopped_early && !forwarded) {
      for (pid_t p : pids) kill(p, SIGTERM);
      stopped_early = true;
      stop_time = std::min<Clock::time_point>(hard_deadline, Clock::now() + std::chrono::seconds(5));
    }
    if (g_stop && !forwarded) {
      parent.progress_line.break_line();
      std::fprintf(stderr, "==ifz== interrupted: stopping the workers (a second Ctrl-C kills them)\n");
      for (size_t i = 0; i < pids.size(); ++i) {
        if (alive[i]) kill(pids[i], SIGTERM);
      }
      forwarded = true;
      stop_time = std::min<Clock::time_point>(hard_deadline, Clock::now() + std::chrono::seconds(5));
    }
    if (g_stop >= 2) stop_time = std::min(stop_time, Clock::now());
    if (Clock::now() >= stop_time) {
      for (size_t i = 0; i < pids.size(); ++i) {
        if (alive[i] && !killed[i]) {
          kill(pids[i], SIGKILL);
          killed[i] = true;
          parent.progress_line.break_line();
          std::fprintf(stderr, "==ifz== worker %zu did not stop in time: killed\n", i);
        }
      }
    }
    std::vector<pollfd> pfds;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!alive[i]) continue;
      if (!at_eof[i]) pfds.push_back({fds[i], POLLIN, 0});
      if (err_fds[i] >= 0) pfds.push_back({err_fds[i], POLLIN, 0});
    }
    poll(pfds.data(), pfds.size(), 250);  // with no pipe left open: a plain 250 ms wait
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!alive[i]) continue;
      drain(i, 0);
      drain_err(i);
    }
    for (size_t i = 0; i < pids.size(); ++i) {
      int status = 0;
      if (!alive[i] || waitpid(pids[i], &status, WNOHANG) != pids[i]) continue;
      alive[i] = false;
      --running;
      drain(i, 50);
      drain_err(i);
      if (err_fds[i] >= 0) close(err_fds[i]);
      err_fds[i] = -1;
      close(fds[i]);
      partial[i].clear();
      const bool failed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
      // SIGKILL never comes from the model (a fault is SIGSEGV/SIGBUS, a failed check or a
      // sanitizer aborts or exits): it is the OOM killer or a user, so a worker failure.
      const bool killed_from_outside = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
      if (failed && !killed_from_outside && recorders[i]->in_execution() &&
          report_model_crash(i, status)) {
        // Contained: the run goes on with a new worker, unless it is ending anyway.
        const bool ending = g_stop || forwarded || stopped_early || Clock::now() >= deadline;
        if (!ending && spawn(static_cast<int>(i))) {
          alive[i] = true;
          at_eof[i] = false;  // a new pipe
          ++running;
        }
      } else if (failed) {
        ++worker_failures;
      }
    }
    parent.progress(std::chrono::duration<double>(Clock::now() - start).count());
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  parent.progress_line.break_line();
  const bool interrupted = g_stop != 0;

  // Minimise each new finding (after the run: the artifacts are already safe on disk).
  int fresh = 0;
  std::unique_ptr<CanaryLog> canary_log = CanaryLog::from_env();
  std::printf("interpfuzz stress: %llu executions in %.1f s (%.0f/s), %d worker(s), profiles: %s%s\n",
              static_cast<unsigned long long>(parent.execs), elapsed,
              elapsed > 0 ? parent.execs / elapsed : 0.0, jobs,
              opts.profile.empty() ? "all -fixed" : opts.profile.c_str(),
              interrupted ? " (interrupted: findings not minimised)" : "");
  std::printf("%-10s %-6s %-10s %s\n", "class", "count", "engine", "signature / artifact");
  for (auto& [sig, d] : parent.findings) {
    if (d.classification == "new") ++fresh;
    std::string minimized;
    if (opts.minimize && !g_stop) minimized = minimize_artifact(d.artifact);
    std::string note;
    if (!minimized.empty()) {
      note = "\n    minimised: " + minimized;
      auto parsed = read_program_file(minimized);
      if (const auto* mp = std::get_if<Program>(&parsed)) {
        note += " (" + std::to_string(mp->op_count()) + " ops)";
        d.minimized = minimized;
        d.minimized_ops = mp->op_count();
        if (canary_log) canary_log->note("minimised", sig + "\t" + std::to_string(mp->op_count()));
      }
    } else if (opts.minimize && !g_stop) {
      // Native findings have no schedule; the minimiser searched simulated ones first.
      note = "\n    no replayable simulated schedule found within the budget: the " + d.engine +
             " report is kept next to the artifact";
    }
    std::printf("%-10s %-6d %-10s %s\n    %s%s\n", d.classification == "new" ? "NEW" : "known",
                d.count, d.engine.c_str(), sig.c_str(), d.artifact.c_str(), note.c_str());
    if (d.classification != "new") std::printf("    %s\n", d.classification.c_str());
  }
  if (parent.findings.empty()) std::printf("(no findings)\n");
  std::printf("reachability (how often interesting states were reached):\n%s",
              parent.reach.table().c_str());
  if (worker_failures > 0) std::printf("warning: %d worker(s) did not exit cleanly\n", worker_failures);
  if (model_crashes > 0) {
    std::printf("the model crashed %d time(s) (model-crash findings above); each crashed worker "
                "was replaced\n", model_crashes);
  }
  if (parent.divergences > 0) {
    std::printf("DETERMINISM FAILURES: %d (a recorded schedule did not replay)\n", parent.divergences);
  }
  // The exit status (usage(), README): findings attributed to a defect the run enabled (the
  // profile's own known defects, --defects) are expected and listed as "known"; what fails
  // the run is what nobody expected.
  const int status = (fresh > 0 || parent.divergences > 0 || worker_failures > 0) ? 1 : 0;
  if (!opts.json.empty()) {
    std::string out;
    for (const auto& [sig, d] : parent.findings) {
      out += "{\"type\": \"finding\", \"class\": " + json_string(d.classification == "new" ? "new" : "known") +
             ", \"classification\": " + json_string(d.classification) + ", \"signature\": " +
             json_string(sig) + ", \"count\": " + std::to_string(d.count) + ", \"engine\": " +
             json_string(d.engine) + ", \"artifact\": " + json_string(d.artifact) +
             ", \"minimised\": " + json_string(d.minimized) +
             ", \"minimised_ops\": " + std::to_string(d.minimized_ops) + "}\n";
    }
    char rate[64];
    std::snprintf(rate, sizeof rate, "%.3f", elapsed);
    out += "{\"type\": \"summary\", \"executions\": " + std::to_string(parent.execs) +
           ", \"seconds\": " + rate + ", \"workers\": " + std::to_string(jobs) +
           ", \"profiles\": " + json_string(opts.profile.empty() ? "all -fixed" : opts.profile) +
           ", \"distinct_findings\": " + std::to_string(parent.findings.size()) +
           ", \"new_findings\": " + std::to_string(fresh) +
           ", \"worker_failures\": " + std::to_string(worker_failures) +
           ", \"determinism_failures\": " + std::to_string(parent.divergences) +
           ", \"interrupted\": " + (interrupted ? "true" : "false") +
           ", \"exit_status\": " + std::to_string(status) + "}\n";
    std::string err;
    if (!write_file_atomic(opts.json, out, &err)) {
      std::fprintf(stderr, "interpfuzz stress: %s\n", err.c_str());
      return 2;
    }
  }
  return status;
}

}  // namespace ifz::harness::cli
