// SPDX-License-Identifier: Apache-2.0
// artifacts.cc — atomic artifact files (see artifacts.h).
#include "harness/cli/artifacts.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/stable_hash.h"
#include "harness/emit/emit_c.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include "harness/exec/checked_run.h"
#include "harness/program/text_format.h"

namespace ifz::harness::cli {

std::string signature_hash(const std::string& signature) { return base::stable_hash_hex(signature); }

ArtifactPaths write_finding_artifacts(const std::string& dir, const Program& p, const Schedule& s,
                                      const Finding& f, const ExecResult& r, bool native) {
  const std::string base = dir + "/" + f.kind + "-" + signature_hash(f.signature());
  ArtifactPaths out{base + ".ifz", base + ".report.txt"};
  Program with_schedule = p;
  with_schedule.schedule = s.picks.empty() ? "" : s.to_string();
  const std::string report = native ? format_finding(f, native_reproduce_command(out.program))
                                    : format_report(f, out.program, s);
  std::string text;
  for (size_t start = 0; start < report.size();) {
    const size_t nl = report.find('\n', start);
    text += "# " + report.substr(start, nl - start) + "\n";
    start = nl == std::string::npos ? report.size() : nl + 1;
  }
  text += print_program(with_schedule);
  // The report first, the program last: an `.ifz` in the folder means a complete artifact.
  std::string err;
  std::string full = report + "outcome: " + r.outcome_summary() + "\n";
  if (!write_file_atomic(out.report, full, &err)) std::fprintf(stderr, "interpfuzz: %s\n", err.c_str());
  if (!write_file_atomic(out.program, text, &err)) std::fprintf(stderr, "interpfuzz: %s\n", err.c_str());
  return out;
}

std::string write_repro_c(const std::string& stem, const Program& p, const Schedule& s) {
  emit::EmitOptions o;
  o.source_name = stem + ".ifz";
  // emit_c runs the model to place the threads: in a child process, so that a program that
  // crashes the model (a model-crash finding) costs its reproducer, not the tool.
  std::string text;
  bool ok = false;
  bool started = false;
  const std::optional<std::string> bytes = output_of_child(
      [&] {
        const emit::Emitted e = emit::emit_c(p, s, o);
        return (e.ok ? "1" : "0") + (e.ok ? e.c : e.error);
      },
      &started);
  if (started) {
    if (bytes && !bytes->empty()) {
      ok = (*bytes)[0] == '1';
      text = ok ? bytes->substr(1) : "no repro.c for " + o.source_name + ": " + bytes->substr(1) + "\n";
    } else {
      text = "no repro.c for " + o.source_name + ": running the model to emit it crashed the "
             "model (a model-crash finding: a bug of interpfuzz, nothing to run on CPython)\n";
    }
  }
  std::string err;
  const std::string path = stem + (ok ? ".repro.c" : ".repro.txt");
  if (!write_file_atomic(path, text, &err)) {
    std::fprintf(stderr, "interpfuzz: %s\n", err.c_str());
    return "";
  }
  return path;
}

std::optional<std::string> output_of_child(const std::function<std::string()>& compute,
                                           bool* started) {
  *started = false;
  int fds[2];
  if (pipe(fds) != 0) return std::nullopt;
  std::fflush(nullptr);  // nothing buffered is written twice
  const pid_t pid = fork();
  if (pid < 0) {  // treated as a child that died: the caller's fallback is the safe one
    close(fds[0]);
    close(fds[1]);
    *started = true;
    return std::nullopt;
  }
  if (pid == 0) {
    close(fds[0]);
    const std::string out = compute();
    for (size_t off = 0; off < out.size();) {
      const ssize_t n = write(fds[1], out.data() + off, out.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    _exit(0);
  }
  *started = true;
  close(fds[1]);
  std::string bytes;
  char buf[1 << 16];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    bytes.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return bytes;
}

}  // namespace ifz::harness::cli
