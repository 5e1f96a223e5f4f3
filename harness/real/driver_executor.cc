// SPDX-License-Identifier: Apache-2.0
// driver_executor.cc — make_driver_executor (real_executor.h): builds the driver of
// driver_source.h once per install under the cache dir, keeps one driver process per
// executor, and speaks wire_format.h with it.
//
// The cache key is a hash of everything the binary depends on: the driver's C text (the
// prelude included), the install's config script, its exact version and flags, and the
// compiler; a change to any of them builds a new driver beside the old ones. The build writes
// to a temporary name and renames, so that a concurrent interpfuzz never runs a half-written
// binary.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "base/atomic_file.h"
#include "base/stable_hash.h"
#include "harness/conform/real_runner.h"
#include "harness/real/driver_source.h"
#include "harness/real/real_executor.h"
#include "harness/real/wire_format.h"

namespace ifz::harness::real {

namespace fs = std::filesystem;

namespace {


// The config script's identity stands for the install's: reinstalling or upgrading a package
// replaces it.
std::string file_identity(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return "?";
  return std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec);
}

// The driver binary for `in`, built if needed; "" with `error` set when it cannot be built.
std::string built_driver(const conform::CPythonInstall& in, const std::string& cache_dir,
                         std::string* error) {
  const std::string key = driver_c_source() + "\n" + in.root + in.config + "\n" + file_identity(in.root + in.config) +
                          "\n" + in.label + "\n" + in.cflags + "\n" + in.ldflags + "\n" +
                          conform::c_compiler(in);
  // A chroot install's driver is built and run inside its root: its cache is there too.
  const fs::path base = in.root.empty() ? fs::path(cache_dir) : fs::path(in.root) / "var/cache/interpfuzz-driver";
  // A stable hash: std::hash may differ between builds, and then every build would compile its
  // own driver (or, worse, two keys could swap meanings).
  const fs::path dir = base / ifz::base::stable_hash_hex(key);
  const fs::path binary = dir / "driver";
  std::error_code ec;
  if (fs::exists(binary, ec)) return binary.string();
  fs::create_directories(dir, ec);
  if (ec) {
    *error = "cannot create " + dir.string() + ": " + ec.message();
    return "";
  }
  const std::string tmp = (dir / ("driver." + std::to_string(getpid()) + ".c")).string();
  {
    std::ofstream out(tmp);
    out << driver_c_source();
    if (!out) {
      *error = "cannot write " + tmp;
      return "";
    }
  }
  const std::string tmp_bin = (dir / ("driver." + std::to_string(getpid()) + ".bin")).string();
  // -O2: the driver's own loop and the prelude; CPython is the install's.
  const std::string compiler_out = conform::compile_repro(in, tmp, tmp_bin);
  if (!compiler_out.empty()) {
    fs::remove(tmp, ec);
    *error = "the driver does not compile against " + in.label + ": " + compiler_out;
    return "";
  }
  // The source beside the binary is for a reader; the binary is committed last, so that a
  // directory with a `driver` is complete.
  std::string commit_error;
  if (!ifz::base::commit_file(tmp, (dir / "driver.c").string(), &commit_error) ||
      !ifz::base::commit_file(tmp_bin, binary.string(), &commit_error)) {
    fs::remove(tmp_bin, ec);
    *error = "cannot install " + binary.string() + ": " + commit_error;
    return "";
  }
  return binary.string();
}

class DriverExecutor : public RealExecutor {
 public:
  DriverExecutor(conform::CPythonInstall in, std::string binary)
      : in_(std::move(in)), binary_(std::move(binary)) {}
  ~DriverExecutor() override { stop(); }

  const conform::CPythonInstall& install() const override { return in_; }

  bool start(std::string* error) {
    int to[2], from[2];
    if (pipe2(to, O_CLOEXEC) != 0 || pipe2(from, O_CLOEXEC) != 0) {
      *error = "cannot create the driver's pipes";
      return false;
    }
    const std::string path = in_.inside(binary_);  // before fork: the child allocates nothing
    pid_ = fork();
    if (pid_ < 0) {
      *error = "cannot fork the driver";
      return false;
    }
    if (pid_ == 0) {
      dup2(to[0], 0);
      dup2(from[1], 1);
      if (!in_.enter_root_in_child()) _exit(126);
      execl(path.c_str(), path.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(to[0]);
    close(from[1]);
    to_ = to[1];
    from_ = from[0];
    pending_.clear();
    return true;
  }

  std::vector<outcome::RealRun> run(const emit::Emitted& e, int runs, int timeout_ms,
                                    std::string* error) override {
    if (!e.ok) {
      *error = "the program was not emitted: " + e.error;
      return {};
    }
    if (runs < 1 || runs > kMaxRuns || timeout_ms < 1) {
      *error = "runs must be 1.." + std::to_string(kMaxRuns) + " and the timeout positive";
      return {};
    }
    if (pid_ <= 0 && !start(error)) return {};
    const std::string request = print_request(driver_program(e), runs, timeout_ms);
    if (!write_all(request)) {
      *error = "the driver (" + binary_ + ") is gone: " + ended_how();
      return {};
    }
    std::vector<outcome::RealRun> out;
    // The driver's own watchdog ends every run by timeout_ms; beyond that plus the time to
    // kill and collect, the driver itself is stuck.
    const int patience_ms = timeout_ms + 30000;
    while (static_cast<int>(out.size()) < runs) {
      size_t used = 0;
      outcome::RealRun r;
      std::string why;
      const ReplyStatus st = parse_reply(pending_, &used, &r, &why);
      if (st == ReplyStatus::kResult) {
        pending_.erase(0, used);
        out.push_back(std::move(r));
        continue;
      }
      if (st == ReplyStatus::kError) {
        pending_.erase(0, used);
        *error = "driver: " + why;
        if (!out.empty() || why.rfind("driver program", 0) != 0) stop();  // out of step
        return {};
      }
      if (!read_more(patience_ms)) {
        *error = "the driver (" + binary_ + ") stopped answering: " + ended_how();
        return {};
      }
    }
    return out;
  }

 private:
  bool write_all(const std::string& s) {
    const char* p = s.data();
    size_t n = s.size();
    while (n > 0) {
      const ssize_t w = write(to_, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }

  bool read_more(int patience_ms) {
    pollfd fd{from_, POLLIN, 0};
    const int r = poll(&fd, 1, patience_ms);
    if (r <= 0) return false;
    char buf[65536];
    const ssize_t n = read(from_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) return false;
    pending_.append(buf, static_cast<size_t>(n));
    return true;
  }

  // Why the driver ended (it is stopped and reaped here).
  std::string ended_how() {
    const pid_t pid = pid_;
    stop();
    if (last_status_ < 0) return "no status";
    if (WIFEXITED(last_status_)) return "exit status " + std::to_string(WEXITSTATUS(last_status_)) + " (pid " + std::to_string(pid) + ")";
    if (WIFSIGNALED(last_status_)) return "signal " + std::to_string(WTERMSIG(last_status_));
    return "unknown";
  }

  void stop() {
    if (pid_ <= 0) return;
    close(to_);  // the driver ends at the end of its requests
    close(from_);
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == 0) {
      usleep(10000);
      r = waitpid(pid_, &st, WNOHANG);
    }
    if (r == 0) {
      kill(pid_, SIGKILL);
      r = waitpid(pid_, &st, 0);
    }
    last_status_ = r == pid_ ? st : -1;
    pid_ = -1;
    to_ = from_ = -1;
  }

  conform::CPythonInstall in_;
  std::string binary_;
  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
  int last_status_ = -1;
  std::string pending_;
};

}  // namespace

std::unique_ptr<RealExecutor> make_driver_executor(const conform::CPythonInstall& in,
                                                   const std::string& cache_dir,
                                                   std::string* error) {
  if (!in.missing.empty()) {
    *error = in.missing;
    return nullptr;
  }
  const std::string binary = built_driver(in, cache_dir, error);
  if (binary.empty()) return nullptr;
  auto d = std::make_unique<DriverExecutor>(in, binary);
  if (!d->start(error)) return nullptr;
  return d;
}

}  // namespace ifz::harness::real
