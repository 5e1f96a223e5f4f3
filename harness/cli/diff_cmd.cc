// SPDX-License-Identifier: Apache-2.0
// diff_cmd.cc — `interpfuzz diff` (see diff_cmd.h): the parent (flags, executors, workers,
// progress, results.jsonl, summary) and the workers (generate, judge, write, minimise).
//
// Worker -> parent lines, tab-separated (fields never hold a tab or a newline):
//   G <group>                                   a program was generated for version group <group>
//   V <install> <verdict> <signature|-> <note>  one program judged on install <install>
//   M <install> <signature> <path> <ops> <checks>  a disagreement minimised (path "" = not)
//   J <json>                                    a results.jsonl line (disagreement / real-flaky)
#include "harness/cli/diff_cmd.h"

#include "harness/cli/json.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "harness/cli/artifacts.h"
#include "harness/cli/commands.h"
#include "harness/cli/emit_cmd.h"
#include "harness/diff/diff_check.h"
#include "harness/diff/program_source.h"
#include "harness/emit/emit_c.h"
#include "harness/program/text_format.h"
#include "harness/real/real_executor.h"
#include "runtime/defects.h"
#include "runtime/profile.h"

namespace ifz::harness::cli {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

volatile sig_atomic_t g_stop = 0;
void on_stop_signal(int) { g_stop = 1; }

std::string one_field(std::string s) {
  for (char& c : s) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return s;
}


// "ok [..] 3/6, signal(11) [..] 3/6": every real outcome with its count.
std::string real_counts_text(const conform::Cell& c) {
  int total = 0;
  for (const auto& [k, n] : c.real_counts) total += n;
  std::string out;
  for (const auto& [k, n] : c.real_counts) {
    out += (out.empty() ? "" : ", ") + k + " " + std::to_string(n) + "/" + std::to_string(total);
  }
  return out;
}

// The program with the disagreement written above it as comments (never as `# real ...: flaky`
// or `...: assertion` marks, which conform would read).
std::string annotated_program(const Program& p, const std::string& title,
                              const conform::CPythonInstall& in, const diff::CheckResult& r,
                              const std::string& origin) {
  std::ostringstream os;
  os << "# " << title << "\n"
     << "# on " << in.label << " (" << in.config << "), model profile 3." << in.minor << "\n"
     << "# model: " << r.cell.model.to_string() << "\n"
     << "# real runs: " << real_counts_text(r.cell) << "\n"
     << "# from: " << origin << "\n";
  return os.str() + print_program(p);
}

struct Worker {
  const DiffOptions& o;
  int index;
  int fd;
  std::string work_dir;
  std::vector<std::unique_ptr<real::RealExecutor>> executors;  // one per install
  std::vector<int> group_of;                                   // install -> version group
  std::vector<int> group_minor;                                // group -> 3.<minor>
  std::vector<std::unique_ptr<diff::ProgramSource>> sources;   // one per group
  diff::CheckOptions check;
  const bool log = std::getenv("IFZ_DIFF_LOG") != nullptr;  // one line per judged program

  void send(const std::string& line) {
    const std::string l = line + "\n";
    size_t off = 0;
    while (off < l.size()) {
      const ssize_t n = ::write(fd, l.data() + off, l.size() - off);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }

  // The first worker to claim (install, signature) minimises it; O_EXCL makes the claim atomic
  // across processes.
  bool claim(size_t install, const std::string& sig) {
    const std::string path = work_dir + "/claims/" + std::to_string(install) + "-" + signature_hash(sig);
    const int f = open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    if (f < 0) return false;
    close(f);
    return true;
  }

  bool save(const std::string& path, const std::string& text) {
    std::string err;
    if (write_file_atomic(path, text, &err)) return true;
    std::fprintf(stderr, "\ninterpfuzz diff: %s\n", err.c_str());
    return false;
  }

  std::string outcomes_text(const diff::CheckResult& r, const conform::CPythonInstall& in,
                            const std::string& title) {
    std::ostringstream os;
    os << title << "\n  install: " << in.label << " (" << in.config << ")\n"
       << "  model (profile 3." << in.minor << "): " << r.cell.model.to_string() << "\n";
    int total = 0;
    for (const auto& [k, n] : r.cell.real_counts) total += n;
    for (const auto& [k, n] : r.cell.real_counts) os << "  real " << n << "/" << total << ": " << k << "\n";
    if (!r.why.empty()) os << "  why: " << r.why << "\n";
    return os.str();
  }

  std::string stderr_text(const diff::CheckResult& r) {
    std::string out;
    for (const auto& [k, err] : r.cell.real_stderr) {
      out += "==== stderr of a real run with outcome " + k + " (" +
             std::to_string(r.cell.real_counts.at(k)) + " run(s)) ====\n" + err +
             (err.empty() || err.back() == '\n' ? "" : "\n");
    }
    return out;
  }

  // Writes <base>.outcomes.txt, .stderr.txt, .repro.c, then <base>.ifz last (an .ifz means a
  // complete artifact).
  void write_artifact(const std::string& base, const Program& p, const diff::CheckResult& r,
                      const conform::CPythonInstall& in, const std::string& title,
                      const std::string& origin) {
    save(base + ".outcomes.txt", outcomes_text(r, in, title));
    save(base + ".stderr.txt", stderr_text(r));
    if (!r.c_source.empty()) save(base + ".repro.c", r.c_source);
    save(base + ".ifz", annotated_program(p, title, in, r, origin));
  }

  std::string json_line(size_t install, const diff::GeneratedProgram& g, const diff::CheckResult& r,
                        const std::string& artifact, const Program* minimised, uint64_t checks) {
    const conform::CPythonInstall& in = executors[install]->install();
    std::ostringstream os;
    os << "{\"install\":" << json_string(in.label) << ",\"version\":" << json_string(conform::version_key(in))
       << ",\"verdict\":" << json_string(diff::verdict_name(r.verdict))
       << ",\"signature\":" << json_string(r.signature.to_string())
       << ",\"model\":" << json_string(r.cell.model.to_string()) << ",\"real\":{";
    const char* sep = "";
    for (const auto& [k, n] : r.cell.real_counts) {
      os << sep << json_string(k) << ":" << n;
      sep = ",";
    }
    Program shown = g.program;
    shown.schedule = g.schedule.picks.empty() ? "" : g.schedule.to_string();
    os << "},\"why\":" << json_string(r.why) << ",\"origin\":" << json_string(g.origin)
       << ",\"strategy\":" << json_string(g.strategy) << ",\"ops\":" << g.program.op_count()
       << ",\"program\":" << json_string(print_program(shown))
       << ",\"artifact\":" << json_string(artifact);
    if (minimised != nullptr) {
      os << ",\"minimised_ops\":" << minimised->op_count()
         << ",\"minimised_program\":" << json_string(print_program(*minimised))
         << ",\"minimise_real_checks\":" << checks;
    }
    os << "}";
    return os.str();
  }

  void on_disagreement(size_t install, const diff::GeneratedProgram& g, const diff::CheckResult& r) {
    real::RealExecutor& ex = *executors[install];
    const conform::CPythonInstall& in = ex.install();
    const std::string sig = r.signature.to_string();
    if (!claim(install, sig)) {
      send("V\t" + std::to_string(install) + "\tdisagree\t" + one_field(sig) + "\tdup");
      send("J\t" + json_line(install, g, r, "", nullptr, 0));
      return;
    }
    const std::string base = o.artifacts + "/diff-" + signature_hash(conform::version_key(in) + " " + sig);
    Program original = g.program;
    original.schedule = g.schedule.picks.empty() ? "" : g.schedule.to_string();
    // Safe on disk before anything else happens with it.
    write_artifact(base, original, r, in, sig, g.origin + ", schedule by " + g.strategy);
    send("V\t" + std::to_string(install) + "\tdisagree\t" + one_field(sig) + "\t" + base + ".ifz");
    if (!o.minimize || g_stop) {
      send("J\t" + json_line(install, g, r, base + ".ifz", nullptr, 0));
      return;
    }
    const int budget = o.minimize_real_checks > 0 ? o.minimize_real_checks : (o.use_driver ? 400 : 40);
    diff::DisagreementProperty prop(ex, r.signature, check, budget);
    MinimizeOptions mo;
    mo.seconds = o.minimize_seconds;
    // Each candidate schedule that reaches the model's outcome costs a real run: few tries.
    mo.tries_per_candidate = 2;
    mo.max_tries_per_candidate = 2;
    mo.pair_max_ops = 12;
    // The step limit emit-c's model run uses (ExecOptions' default): with the minimiser's own,
    // lower one a long program would end as a hang in the minimiser and not in emit-c.
    mo.max_steps = ExecOptions{}.max_steps;
    const MinimizeResult m = minimize_keeping(original, g.schedule, prop.property(), mo);
    // The input fails its own check when 2 more real runs differ from the first 1 + --runs:
    // then it is timing-dependent after all.
    std::string note = m.ok ? "" : m.error + " (if the real outcome varies, it is real-flaky after all)";
    if (m.ok && m.ops_after < m.ops_before) {
      // The result must stand on its own, with the full re-run policy.
      const diff::CheckResult again = diff::check_program(m.program, m.schedule, ex, check);
      if (again.verdict == diff::Verdict::kDisagree && again.signature == r.signature) {
        save(base + ".original.ifz", annotated_program(original, sig + " (before minimisation)", in, r,
                                                       g.origin + ", schedule by " + g.strategy));
        write_artifact(base, m.program, again, in, sig,
                       "minimised from " + g.origin + " (" + std::to_string(m.ops_before) + " ops)");
        send("M\t" + std::to_string(install) + "\t" + one_field(sig) + "\t" + base + ".ifz\t" +
             std::to_string(m.ops_after) + "\t" + std::to_string(prop.real_checks()));
        send("J\t" + json_line(install, g, r, base + ".ifz", &m.program, prop.real_checks()));
        return;
      }
      note = std::string("the minimised program did not confirm (") + diff::verdict_name(again.verdict) + ")";
    }
    send("M\t" + std::to_string(install) + "\t" + one_field(sig) + "\t\t" +
         std::to_string(original.op_count()) + "\t" + std::to_string(prop.real_checks()) + "\t" +
         one_field(note));
    send("J\t" + json_line(install, g, r, base + ".ifz", nullptr, prop.real_checks()));
  }

  void on_flaky(size_t install, const diff::GeneratedProgram& g, const diff::CheckResult& r) {
    const conform::CPythonInstall& in = executors[install]->install();
    Program shown = g.program;
    shown.schedule = g.schedule.picks.empty() ? "" : g.schedule.to_string();
    const std::string text = print_program(shown);
    const std::string path = o.artifacts + "/flaky/flaky-" +
                             signature_hash(conform::version_key(in) + "\n" + text) + ".ifz";
    save(path, annotated_program(shown, "real-flaky: " + r.signature.to_string(), in, r,
                                  g.origin + ", schedule by " + g.strategy));
    send("V\t" + std::to_string(install) + "\treal-flaky\t" + one_field(r.signature.to_string()) +
         "\t" + one_field(real_counts_text(r.cell)));
    send("J\t" + json_line(install, g, r, path, nullptr, 0));
  }

  void run_one(size_t group) {
    const diff::GeneratedProgram g = sources[group]->next();
    send("G\t" + std::to_string(group));
    for (size_t i = 0; i < executors.size() && !g_stop; ++i) {
      if (group_of[i] != static_cast<int>(group)) continue;
      const diff::CheckResult r = diff::check_program(g.program, g.schedule, *executors[i], check, g.marks_file);
      if (log) {
        std::fprintf(stderr, "[diff w%d] %s: %zu ops, %s, %s; model %s%s%s\n", index,
                     diff::verdict_name(r.verdict), g.program.op_count(), g.origin.c_str(),
                     g.strategy.c_str(), r.cell.model.to_string().c_str(),
                     r.why.empty() ? "" : "; ", r.why.c_str());
      }
      switch (r.verdict) {
        case diff::Verdict::kDisagree: on_disagreement(i, g, r); break;
        case diff::Verdict::kRealFlaky: on_flaky(i, g, r); break;
        default:
          send("V\t" + std::to_string(i) + "\t" + diff::verdict_name(r.verdict) + "\t-\t" + one_field(r.why));
      }
    }
  }

  int run() {
    const auto deadline = Clock::now() + std::chrono::duration<double>(o.seconds);
    for (size_t n = 0; !g_stop && Clock::now() < deadline; ++n) {
      if (o.max_programs > 0 && n >= o.max_programs) break;
      run_one(n % sources.size());
    }
    return 0;
  }
};

int worker_main(const DiffOptions& o, int index, int jobs, int fd, const std::string& work_dir) {
  Worker w{o, index, fd, work_dir};
  w.check.runs = o.runs;
  w.check.timeout_ms = o.timeout_ms;
  w.check.extra_defects = o.extra_defects;
  const std::vector<diff::Seed> seeds = diff::load_seeds(o.corpus);
  for (const conform::CPythonInstall& in : o.installs) {
    std::unique_ptr<real::RealExecutor> ex;
    if (o.use_driver) {
      std::string err;
      ex = real::make_driver_executor(in, driver_cache_dir(), &err);
    }
    if (!ex) ex = real::make_compiling_executor(in, work_dir);
    w.executors.push_back(std::move(ex));
    auto g = std::find(w.group_minor.begin(), w.group_minor.end(), in.minor);
    if (g == w.group_minor.end()) {
      w.group_minor.push_back(in.minor);
      // Worker i replays seeds i, i + jobs, ... first: the corpus is split, not repeated.
      w.sources.push_back(std::make_unique<diff::ProgramSource>(
          in.minor, seeds, o.seed * 1000003u + static_cast<uint64_t>(in.minor),
          static_cast<size_t>(index), static_cast<size_t>(jobs), o.extra_defects, o.max_ops));
      g = w.group_minor.end() - 1;
    }
    w.group_of.push_back(static_cast<int>(g - w.group_minor.begin()));
  }
  return w.run();
}

// ---- parent ------------------------------------------------------------------------------

struct SignatureStats {
  int count = 0;
  std::string artifact;
  std::string minimised;  // path, or "" with `note`
  std::string ops;
  std::string checks;
  std::string note;
  std::string example;    // real-flaky: one program's counts
};

struct InstallStats {
  std::map<std::string, int> verdicts;  // verdict name -> programs
  std::map<std::string, SignatureStats> disagreements;
  std::map<std::string, SignatureStats> flaky;
  std::vector<std::string> errors;      // the first few reasons
};

struct Parent {
  const DiffOptions& o;
  std::vector<InstallStats> per_install;
  uint64_t generated = 0;
  int fd_results = -1;
  bool tty = isatty(2) != 0;
  Clock::time_point last_plain = Clock::now();

  void on_line(const std::string& line) {
    std::vector<std::string> f;  // empty fields kept (a trailing one too)
    for (size_t from = 0;;) {
      const size_t tab = line.find('\t', from);
      f.push_back(line.substr(from, tab == std::string::npos ? std::string::npos : tab - from));
      if (tab == std::string::npos) break;
      from = tab + 1;
    }
    if (f[0] == "G") ++generated;
    if (f[0] == "J" && f.size() >= 2 && fd_results >= 0) {
      const std::string l = f[1] + "\n";
      if (::write(fd_results, l.data(), l.size()) == static_cast<ssize_t>(l.size())) fsync(fd_results);
    }
    if (f[0] == "V" && f.size() >= 5) {
      InstallStats& s = per_install.at(std::stoul(f[1]));
      ++s.verdicts[f[2]];
      if (f[2] == "disagree") {
        SignatureStats& d = s.disagreements[f[3]];
        if (d.count++ == 0 || d.artifact.empty()) {
          if (f[4] != "dup") d.artifact = f[4];
        }
        if (d.count == 1 && !o.quiet) {
          std::fprintf(stderr, "%s==ifz== DISAGREEMENT on %s: %s\n", tty ? "\n" : "",
                       o.installs[std::stoul(f[1])].label.c_str(), f[3].c_str());
        }
      } else if (f[2] == "real-flaky") {
        SignatureStats& d = s.flaky[f[3]];
        if (d.count++ == 0) d.example = f[4];
      } else if (f[2] == "error" && s.errors.size() < 3) {
        s.errors.push_back(f[4]);
      }
    }
    if (f[0] == "M" && f.size() >= 6) {
      SignatureStats& d = per_install.at(std::stoul(f[1])).disagreements[f[2]];
      d.minimised = f[3];
      d.ops = f[4];
      d.checks = f[5];
      if (f.size() >= 7) d.note = f[6];
    }
  }

  int total(const char* verdict) const {
    int n = 0;
    for (const InstallStats& s : per_install) {
      auto it = s.verdicts.find(verdict);
      if (it != s.verdicts.end()) n += it->second;
    }
    return n;
  }

  size_t distinct_disagreements() const {
    size_t n = 0;
    for (const InstallStats& s : per_install) n += s.disagreements.size();
    return n;
  }

  void progress(double elapsed, bool final_line) {
    if (o.quiet) return;
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "[diff] %5.0fs / %.0fs  programs %llu  agree %d (+%d with skips)  real-flaky %d  "
                  "not-expressible %d  n/a %d  errors %d  disagreements %zu",
                  elapsed, o.seconds, static_cast<unsigned long long>(generated), total("agree"),
                  total("agree-skips"),
                  total("real-flaky"), total("not-expressible"), total("n/a"), total("error"),
                  distinct_disagreements());
    if (tty) {
      std::fprintf(stderr, "\r%s   ", buf);
      if (final_line) std::fprintf(stderr, "\n");
    } else if (final_line || Clock::now() - last_plain >= std::chrono::seconds(10)) {
      std::fprintf(stderr, "%s\n", buf);
      last_plain = Clock::now();
    }
    std::fflush(stderr);
  }
};

void print_summary(const Parent& p, const DiffOptions& o, double elapsed, int jobs,
                   const std::string& executor) {
  std::printf("interpfuzz diff: %llu programs in %.1f s (%.2f/s), %d worker(s), executor %s%s\n",
              static_cast<unsigned long long>(p.generated), elapsed,
              elapsed > 0 ? static_cast<double>(p.generated) / elapsed : 0.0, jobs, executor.c_str(),
              o.extra_defects.empty() ? "" : ", what-if defects in the model");
  std::printf("%-24s %9s %7s %11s %10s %15s %5s %6s %9s\n", "CPython", "programs", "agree",
              "agree-skips", "real-flaky", "not-expressible", "n/a", "errors", "disagree");
  for (size_t i = 0; i < o.installs.size(); ++i) {
    const InstallStats& s = p.per_install[i];
    auto n = [&](const char* v) {
      auto it = s.verdicts.find(v);
      return it == s.verdicts.end() ? 0 : it->second;
    };
    int programs = 0;
    for (const auto& [k, c] : s.verdicts) programs += c;
    std::printf("%-24s %9d %7d %11d %10d %15d %5d %6d %9d\n", o.installs[i].label.c_str(), programs,
                n("agree"), n("agree-skips"), n("real-flaky"), n("not-expressible"), n("n/a"),
                n("error"), n("disagree"));
  }
  bool any_flaky = false, any_disagreement = false, any_error = false;
  for (const InstallStats& s : p.per_install) {
    any_flaky |= !s.flaky.empty();
    any_disagreement |= !s.disagreements.empty();
    any_error |= !s.errors.empty();
  }
  if (any_flaky) {
    std::printf("real-flaky (the real outcome varied across the runs; not disagreements):\n");
    for (size_t i = 0; i < o.installs.size(); ++i) {
      for (const auto& [sig, d] : p.per_install[i].flaky) {
        std::printf("  %-20s %4dx  %s\n      e.g. %s\n", o.installs[i].label.c_str(), d.count,
                    sig.c_str(), d.example.c_str());
      }
    }
  }
  if (any_error) {
    std::printf("errors (the real side could not run the program):\n");
    for (size_t i = 0; i < o.installs.size(); ++i) {
      for (const std::string& e : p.per_install[i].errors) {
        std::printf("  %-20s %s\n", o.installs[i].label.c_str(), e.c_str());
      }
    }
  }
  std::printf("disagreements by signature:%s\n", any_disagreement ? "" : " none");
  for (size_t i = 0; i < o.installs.size(); ++i) {
    for (const auto& [sig, d] : p.per_install[i].disagreements) {
      std::printf("  %-20s %4dx  %s\n      artifact: %s\n", o.installs[i].label.c_str(), d.count,
                  sig.c_str(), d.artifact.c_str());
      if (!d.minimised.empty()) {
        std::printf("      minimised: %s ops, %s real checks\n", d.ops.c_str(), d.checks.c_str());
      } else if (!d.note.empty() || !d.checks.empty()) {
        std::printf("      not minimised: %s\n", d.note.empty() ? "no smaller program kept it" : d.note.c_str());
      }
    }
  }
  std::printf("results: %s/results.jsonl (each disagreeing or real-flaky program), %s/runs.jsonl (this run's totals)\n",
              o.artifacts.c_str(), o.artifacts.c_str());
}

// One line per run appended to <artifacts>/runs.jsonl: the per-install totals an agreement
// table is built from (results.jsonl holds only the disagreeing and real-flaky programs).
void append_run_line(const Parent& p, const DiffOptions& o, double elapsed, int jobs,
                     const std::string& executor) {
  std::ostringstream os;
  os << "{\"seconds\":" << static_cast<int64_t>(elapsed) << ",\"jobs\":" << jobs
     << ",\"executor\":" << json_string(executor) << ",\"seed\":" << o.seed
     << ",\"what_if_defects\":" << (o.extra_defects.empty() ? "false" : "true") << ",\"installs\":[";
  for (size_t i = 0; i < o.installs.size(); ++i) {
    const InstallStats& s = p.per_install[i];
    int programs = 0;
    for (const auto& [k, c] : s.verdicts) programs += c;
    os << (i ? "," : "") << "{\"install\":" << json_string(o.installs[i].label)
       << ",\"version\":" << json_string(conform::version_key(o.installs[i])) << ",\"programs\":" << programs;
    for (const char* v : {"agree", "real-flaky", "not-expressible", "n/a", "error", "disagree",
                          "agree-skips"}) {
      auto it = s.verdicts.find(v);
      os << "," << json_string(v) << ":" << (it == s.verdicts.end() ? 0 : it->second);
    }
    os << ",\"signatures\":[";
    const char* sep = "";
    for (const auto& [sig, d] : s.disagreements) {
      os << sep << "{\"signature\":" << json_string(sig) << ",\"programs\":" << d.count << "}";
      sep = ",";
    }
    os << "]}";
  }
  os << "]}\n";
  const std::string path = o.artifacts + "/runs.jsonl";
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  const std::string line = os.str();
  if (::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size())) fsync(fd);
  close(fd);
}

}  // namespace

int run_diff(const DiffOptions& o) {
  std::error_code ec;
  fs::create_directories(o.artifacts + "/flaky", ec);
  if (ec) return input_error("interpfuzz diff: cannot create " + o.artifacts + ": " + ec.message());
  char dir_template[] = "/tmp/ifz-diff-XXXXXX";
  const char* dir = mkdtemp(dir_template);
  if (dir == nullptr) return input_error("interpfuzz diff: cannot create a work folder in /tmp");
  const std::string work_dir = dir;
  fs::create_directories(work_dir + "/claims", ec);

  // The driver is built once per install here, before the workers exist (they would race to
  // build it); each worker then starts its own fork server from the cache.
  DiffOptions opts = o;
  std::string executor = "driver";
  if (opts.use_driver) {
    for (const conform::CPythonInstall& in : opts.installs) {
      std::string err;
      if (real::make_driver_executor(in, driver_cache_dir(), &err) == nullptr) {
        std::fprintf(stderr,
                     "interpfuzz diff: warning: %s: %s; falling back to the compiling executor "
                     "(one compile per program: slow)\n",
                     in.label.c_str(), err.c_str());
        opts.use_driver = false;
        executor = "compile (driver unavailable)";
        break;
      }
    }
  } else {
    executor = "compile";
  }
  const int jobs = opts.jobs > 0 ? opts.jobs : std::max(1, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::fflush(stdout);
  std::fflush(stderr);

  std::vector<pid_t> pids;
  std::vector<int> fds;
  for (int i = 0; i < jobs; ++i) {
    int pipefd[2];
    if (pipe(pipefd) != 0) return input_error("interpfuzz diff: cannot create a pipe");
    const pid_t pid = fork();
    if (pid == 0) {
      close(pipefd[0]);
      for (int fd : fds) close(fd);
      _exit(worker_main(opts, i, jobs, pipefd[1], work_dir));
    }
    close(pipefd[1]);
    pids.push_back(pid);
    fds.push_back(pipefd[0]);
  }
  Parent parent{opts, std::vector<InstallStats>(opts.installs.size())};
  const std::string results = opts.artifacts + "/results.jsonl";
  parent.fd_results = open(results.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  std::vector<std::string> partial(fds.size());
  std::vector<bool> alive(pids.size(), true);
  size_t running = pids.size();
  const auto start = Clock::now();
  // Generation ends at --time; a worker may still be minimising (bounded by
  // minimize_seconds per disagreement) or in a real run (bounded by the timeout).
  const double grace = opts.minimize_seconds * 2 + opts.timeout_ms / 1000.0 * (opts.runs + 2) + 30;
  const auto hard_deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opts.seconds + grace));
  bool forwarded = false;
  auto drain = [&](size_t i) {
    char buf[65536];
    for (;;) {
      pollfd pfd{fds[i], POLLIN, 0};
      if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & (POLLIN | POLLHUP))) return;
      const ssize_t n = read(fds[i], buf, sizeof buf);
      if (n <= 0) return;
      partial[i].append(buf, static_cast<size_t>(n));
      size_t nl;
      while ((nl = partial[i].find('\n')) != std::string::npos) {
        parent.on_line(partial[i].substr(0, nl));
        partial[i].erase(0, nl + 1);
      }
    }
  };
  while (running > 0) {
    if ((g_stop && !forwarded) || Clock::now() > hard_deadline) {
      for (size_t i = 0; i < pids.size(); ++i) {
        if (alive[i]) kill(pids[i], Clock::now() > hard_deadline ? SIGKILL : SIGTERM);
      }
      forwarded = true;
    }
    std::vector<pollfd> pfds;
    for (int fd : fds) pfds.push_back({fd, POLLIN, 0});
    poll(pfds.data(), pfds.size(), 250);
    for (size_t i = 0; i < fds.size(); ++i) drain(i);
    for (size_t i = 0; i < pids.size(); ++i) {
      int status = 0;
      if (!alive[i] || waitpid(pids[i], &status, WNOHANG) != pids[i]) continue;
      alive[i] = false;
      --running;
      drain(i);
    }
    parent.progress(std::chrono::duration<double>(Clock::now() - start).count(), false);
  }
  for (int fd : fds) close(fd);
  if (parent.fd_results >= 0) close(parent.fd_results);
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  parent.progress(elapsed, true);
  print_summary(parent, opts, elapsed, jobs, executor);
  append_run_line(parent, opts, elapsed, jobs, executor);
  fs::remove_all(work_dir, ec);
  return parent.distinct_disagreements() > 0 || parent.total("error") > 0 ? 1 : 0;
}

int cmd_diff(const Flags& f) {
  if (!f.positional.empty()) {
    return input_error("interpfuzz diff: takes no FILE (it generates its programs; see --corpus)");
  }
  if (f.time <= 0) return input_error("interpfuzz diff: --time must be positive");
  if (f.runs < 1 || f.runs > 100) return input_error("interpfuzz diff: --runs must be 1..100");
  if (f.timeout < 1) return input_error("interpfuzz diff: --timeout must be positive");
  if (f.jobs < 0) return input_error("interpfuzz diff: --jobs must be 0 (one per core) or more");
  if (f.executor != "driver" && f.executor != "compile") {
    return input_error("interpfuzz diff: --executor must be driver or compile, got '" + f.executor + "'");
  }
  DiffOptions o;
  o.use_driver = f.executor == "driver";
  o.seconds = static_cast<double>(f.time);
  o.jobs = static_cast<int>(f.jobs);
  o.runs = static_cast<int>(f.runs);
  o.timeout_ms = static_cast<int>(f.timeout * 1000);
  o.seed = static_cast<uint64_t>(f.seed);
  o.minimize = !f.no_minimize;
  o.quiet = f.quiet;
  if (f.was_given("--iterations")) {
    if (f.iterations < 1) return input_error("interpfuzz diff: --iterations must be positive");
    o.max_programs = static_cast<uint64_t>(f.iterations);
  }
  if (f.was_given("--artifacts")) o.artifacts = f.artifacts;
  o.corpus = f.corpus;
  std::error_code ec;
  if (f.was_given("--corpus") && !fs::is_directory(o.corpus, ec)) {
    return input_error("interpfuzz diff: --corpus: " + o.corpus + " is not a directory");
  }
  std::stringstream names(f.defects);
  std::string name;
  while (std::getline(names, name, ',')) {
    if (name.empty()) continue;
    if (!rt::find_defect(name)) {
      return input_error("interpfuzz diff: unknown defect '" + name + "' (see 'interpfuzz list defects')");
    }
    o.extra_defects.push_back(name);
  }
  const std::vector<std::string> specs = f.cpython.empty() ? std::vector<std::string>{"debian-3.11"} : f.cpython;
  for (const std::string& spec : specs) {
    std::string err;
    const std::optional<conform::CPythonInstall> in = conform::find_install(spec, &err);
    if (!in) return input_error("interpfuzz diff: --cpython: " + err);
    if (!in->missing.empty()) return input_error("interpfuzz diff: --cpython " + spec + ": " + in->missing);
    if (rt::find_profile("3." + std::to_string(in->minor)) == nullptr) {
      return input_error("interpfuzz diff: --cpython " + spec + ": the model has no profile 3." +
                         std::to_string(in->minor));
    }
    o.installs.push_back(*in);
  }
  return run_diff(o);
}

}  // namespace ifz::harness::cli
