// SPDX-License-Identifier: Apache-2.0
// contained_run.cc — the forked execution, its result codec and the test-only crash hook.
#include "harness/exec/contained_run.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "harness/exec/flight_recorder.h"
#include "harness/exec/model_crash.h"
#include "base/check.h"

namespace ifz::harness {

// ---- codec: little-endian fixed-width integers and length-prefixed strings --------------------

namespace {

void put_u64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_str(std::string* out, const std::string& s) {
  put_u64(out, s.size());
  out->append(s);
}
void put_strs(std::string* out, const std::vector<std::string>& v) {
  put_u64(out, v.size());
  for (const std::string& s : v) put_str(out, s);
}

struct Reader {
  const std::string& in;
  size_t* pos;
  bool ok = true;
  uint64_t u64() {
    if (*pos + 8 > in.size()) {
      ok = false;
      return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in[*pos + i])) << (8 * i);
    *pos += 8;
    return v;
  }
  int64_t i64() { return static_cast<int64_t>(u64()); }
  std::string str() {
    const uint64_t n = u64();
    if (!ok || n > in.size() - *pos) {
      ok = false;
      return "";
    }
    std::string s = in.substr(*pos, n);
    *pos += n;
    return s;
  }
  std::vector<std::string> strs() {
    const uint64_t n = u64();
    std::vector<std::string> v;
    for (uint64_t i = 0; ok && i < n; ++i) v.push_back(str());
    return v;
  }
};

}  // namespace

void encode_finding(const Finding& f, std::string* out) {
  put_str(out, f.kind);
  put_str(out, f.oracle);
  put_str(out, f.phase);
  put_str(out, f.message);
  put_str(out, f.detail);
  put_strs(out, f.threads);
  put_str(out, f.classification);
  put_strs(out, f.triggered_defects);
}

bool decode_finding(const std::string& bytes, size_t* pos, Finding* f) {
  Reader r{bytes, pos};
  f->kind = r.str();
  f->oracle = r.str();
  f->phase = r.str();
  f->message = r.str();
  f->detail = r.str();
  f->threads = r.strs();
  f->classification = r.str();
  f->triggered_defects = r.strs();
  return r.ok;
}

std::string encode_exec_result(const ExecResult& r) {
  std::string out;
  put_u64(&out, static_cast<uint64_t>(r.run.kind));
  put_u64(&out, static_cast<uint64_t>(r.run.exit_code));
  put_u64(&out, static_cast<uint64_t>(r.run.signal));
  put_str(&out, r.run.message);
  put_u64(&out, r.run.blocked.size());
  for (const platform::BlockedThread& b : r.run.blocked) {
    put_u64(&out, static_cast<uint64_t>(b.thread));
    put_str(&out, b.name);
    put_str(&out, b.waits_on);
    put_u64(&out, static_cast<uint64_t>(b.owner));
  }
  put_u64(&out, r.run.steps);
  put_u64(&out, r.run.switches);
  put_u64(&out, static_cast<uint64_t>(r.outcome.kind));
  put_u64(&out, static_cast<uint64_t>(r.outcome.exit_code));
  put_str(&out, r.outcome.message);
  put_u64(&out, static_cast<uint64_t>(r.outcome.thread));
  put_str(&out, r.outcome.phase);
  put_str(&out, r.outcome.window);
  put_strs(&out, r.trace);
  put_u64(&out, r.findings.size());
  for (const Finding& f : r.findings) encode_finding(f, &out);
  put_u64(&out, rt::kDefectCount);
  for (size_t i = 0; i < rt::kDefectCount; ++i) {
    put_u64(&out, r.canaries.reached[i]);
    put_u64(&out, r.canaries.triggered[i]);
  }
  put_u64(&out, r.ops_executed);
  put_u64(&out, r.ops_skipped);
  put_u64(&out, r.leaked_by_fork);
  put_str(&out, r.reach.serialize());
  put_strs(&out, r.skipped_ops);
  return out;
}

bool decode_exec_result(const std::string& bytes, ExecResult* res) {
  size_t pos = 0;
  Reader r{bytes, &pos};
  ExecResult x;
  x.run.kind = static_cast<platform::RunResult::Kind>(r.u64());
  x.run.exit_code = static_cast<int>(r.i64());
  x.run.signal = static_cast<int>(r.i64());
  x.run.message = r.str();
  const uint64_t blocked = r.u64();
  for (uint64_t i = 0; r.ok && i < blocked; ++i) {
    platform::BlockedThread b;
    b.thread = static_cast<platform::ThreadId>(r.i64());
    b.name = r.str();
    b.waits_on = r.str();
    b.owner = static_cast<platform::ThreadId>(r.i64());
    x.run.blocked.push_back(std::move(b));
  }
  x.run.steps = r.u64();
  x.run.switches = r.u64();
  x.outcome.kind = static_cast<rt::Outcome::Kind>(r.u64());
  x.outcome.exit_code = static_cast<int>(r.i64());
  x.outcome.message = r.str();
  x.outcome.thread = static_cast<platform::ThreadId>(r.i64());
  x.outcome.phase = r.str();
  x.outcome.window = r.str();
  x.trace = r.strs();
  const uint64_t findings = r.u64();
  for (uint64_t i = 0; r.ok && i < findings; ++i) {
    Finding f;
    r.ok = decode_finding(bytes, &pos, &f);
    x.findings.push_back(std::move(f));
  }
  if (r.u64() != rt::kDefectCount) return false;
  for (size_t i = 0; r.ok && i < rt::kDefectCount; ++i) {
    x.canaries.reached[i] = static_cast<uint32_t>(r.u64());
    x.canaries.triggered[i] = static_cast<uint32_t>(r.u64());
  }
  x.ops_executed = r.u64();
  x.ops_skipped = r.u64();
  x.leaked_by_fork = r.u64();
  const std::string reach = r.str();
  x.skipped_ops = r.strs();
  if (!r.ok || pos != bytes.size()) return false;
  x.reach = ReachCounters::parse(reach);
  *res = std::move(x);
  return true;
}

// ---- the test-only crash hook ---------------------------------------------------------------

void maybe_crash_for_test(OpCode op) {
  // Parsed once: the environment does not change under a running process.
  static const std::string spec = [] {
    const char* e = std::getenv("IFZ_TEST_MODEL_CRASH");
    return std::string(e ? e : "");
  }();
  if (spec.empty()) return;
  const size_t colon = spec.find(':');
  if (spec.substr(0, colon) != op_info(op).name) return;
  const std::string how = colon == std::string::npos ? "segv" : spec.substr(colon + 1);
  if (how == "abort") std::abort();
  if (how == "check") IFZ_CHECK(false, "IFZ_TEST_MODEL_CRASH asked for a failed check");
  volatile int* null = nullptr;
  *null = 1;  // SIGSEGV, as a null dereference in the model would
}

// ---- the forked execution -------------------------------------------------------------------

namespace {

// Reads both pipes until both are closed (the child may fill either).
void drain(int result_fd, int err_fd, std::string* result, std::string* err) {
  pollfd fds[2] = {{result_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open_fds = 2;
  char buf[1 << 16];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        std::string* to = i == 0 ? result : err;
        to->append(buf, static_cast<size_t>(n));
        // Keep the tail of stderr only: a report is at its end, a chatty child must not grow us.
        if (i == 1 && err->size() > (size_t{1} << 20)) err->erase(0, err->size() - (size_t{1} << 19));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
}

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

}  // namespace

ExecResult execute_contained(const Program& p, const ExecOptions& opts) {
  IFZ_PRECONDITION(opts.op_log == nullptr, "execute_contained: op_log is not supported");
  // One recorder per process, reused: mapping 64 MiB per execution would cost more than the
  // fork. Not thread-safe, as nothing in the harness executes from two threads at once.
  static FlightRecorder recorder;
  recorder.begin_execution();
  int result_pipe[2], err_pipe[2];
  IFZ_CHECK(pipe(result_pipe) == 0 && pipe(err_pipe) == 0, "execute_contained: pipe failed");
  std::fflush(nullptr);
  const pid_t pid = fork();
  IFZ_CHECK(pid >= 0, "execute_contained: fork failed");
  if (pid == 0) {
    close(result_pipe[0]);
    close(err_pipe[0]);
    dup2(err_pipe[1], STDERR_FILENO);
    close(err_pipe[1]);
    set_active_flight_recorder(&recorder);
    ExecOptions inner = opts;
    inner.contain = false;
    std::unique_ptr<LoggingChooser> logging;
    if (opts.chooser != nullptr) {
      logging = std::make_unique<LoggingChooser>(*opts.chooser, recorder);
      inner.chooser = logging.get();
    }
    const ExecResult r = execute(p, inner);
    write_all(result_pipe[1], encode_exec_result(r));
    close(result_pipe[1]);
    std::fflush(nullptr);
    _exit(0);  // no destructors, no atexit: the parent owns everything that outlives this
  }
  close(result_pipe[1]);
  close(err_pipe[1]);
  std::string bytes, err;
  drain(result_pipe[0], err_pipe[0], &bytes, &err);
  close(result_pipe[0]);
  close(err_pipe[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // Whatever happened, the parent's chooser goes through the same choices as the child's copy.
  if (opts.chooser != nullptr) recorder.replay_into(*opts.chooser);
  ExecResult r;
  const bool exited_cleanly = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (exited_cleanly && decode_exec_result(bytes, &r)) {
    // A sanitizer that reports and lets the process go on (recoverable UBSan) still taints it.
    ProcessDeath d;
    d.stderr_text = err;
    if (!is_model_crash(d)) {
      if (!err.empty()) std::fputs(err.c_str(), stderr);  // what the execution printed
      return r;
    }
  }
  ProcessDeath d;
  d.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  d.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
  d.stderr_text = err;
  d.last_op = recorder.last_op_name();
  d.last_op_detail = recorder.last_op();
  Finding f = model_crash_finding(d);
  const std::string op = recorder.last_op();
  const size_t phase_at = op.find("phase ");
  if (phase_at != std::string::npos) f.phase = op.substr(phase_at + 6, op.size() - phase_at - 7);
  ExecResult crashed;
  // Not kSignaled, which is the *modelled* process's death on the native platform.
  crashed.run.kind = platform::RunResult::Kind::kAborted;
  crashed.run.signal = d.signal;
  crashed.run.exit_code = d.exit_code;
  crashed.run.message = "the model crashed: " + f.detail;
  crashed.trace.push_back("==ifz== the model crashed here: " + f.message);
  for (const std::string& l : f.threads) crashed.trace.push_back("    " + l);
  crashed.findings.push_back(std::move(f));
  return crashed;
}

}  // namespace ifz::harness
