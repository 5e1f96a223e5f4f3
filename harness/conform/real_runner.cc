// SPDX-License-Identifier: Apache-2.0
// real_runner.cc — see real_runner.h.
#include "harness/conform/real_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>

namespace ifz::harness::conform {

std::string c_compiler() {
  return std::filesystem::exists("/usr/bin/clang-14") ? "/usr/bin/clang-14" : "cc";
}

std::string c_compiler(const CPythonInstall& in) {
  // Inside a root, its own compiler: the host's clang would link against the host's libc.
  return in.root.empty() ? c_compiler() : "cc";
}

std::string compile_repro(const CPythonInstall& in, const std::string& c_file,
                          const std::string& binary) {
  const std::string cmd =
      in.shell(c_compiler(in) + " -Wall -Werror -O1 -g '" + in.inside(c_file) + "' " + in.cflags +
               " " + in.ldflags + " -lpthread -o '" + in.inside(binary) + "'") + " 2>&1";
  int st = 0;
  std::string out = shell_output(cmd, &st);
  if (st == 0) return "";
  if (out.size() > 600) out = out.substr(0, 600) + "...";
  return out.empty() ? "compiler failed" : out;
}

namespace {

struct Child {
  pid_t pid = -1;
  int out_fd = -1, err_fd = -1;
  bool ended = false;
  outcome::RealRun run;
};

Child spawn(const CPythonInstall& in, const std::string& binary) {
  int out[2], err[2];
  Child c;
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return c;
  c.pid = fork();
  if (c.pid == 0) {
    setpgid(0, 0);
    // A chroot install's binary runs against that root's libc and libpython.
    if (!in.enter_root_in_child()) _exit(126);
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execl(binary.c_str(), binary.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  setpgid(c.pid, c.pid);  // also here: no race with the kill below
  close(out[1]);
  close(err[1]);
  c.out_fd = out[0];
  c.err_fd = err[0];
  fcntl(c.out_fd, F_SETFL, O_NONBLOCK);
  fcntl(c.err_fd, F_SETFL, O_NONBLOCK);
  return c;
}

void drain(int fd, std::string* into) {
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) into->append(buf, static_cast<size_t>(n));
}

}  // namespace

std::vector<outcome::RealRun> run_repro(const std::string& binary, int runs, int timeout_ms) {
  return run_repro(CPythonInstall{}, binary, runs, timeout_ms);
}

std::vector<outcome::RealRun> run_repro(const CPythonInstall& in, const std::string& binary,
                                        int runs, int timeout_ms) {
  using Clock = std::chrono::steady_clock;
  std::vector<Child> children;
  for (int i = 0; i < runs; ++i) children.push_back(spawn(in, in.inside(binary)));
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  size_t alive = children.size();
  while (alive > 0) {
    std::vector<pollfd> fds;
    for (Child& c : children) {
      if (c.ended) continue;
      fds.push_back({c.out_fd, POLLIN, 0});
      fds.push_back({c.err_fd, POLLIN, 0});
    }
    poll(fds.data(), fds.size(), 20);
    const bool late = Clock::now() >= deadline;
    for (Child& c : children) {
      if (c.ended) continue;
      drain(c.out_fd, &c.run.out);
      drain(c.err_fd, &c.run.err);
      int st = 0;
      const pid_t r = c.pid > 0 ? waitpid(c.pid, &st, WNOHANG) : -1;
      if (r == c.pid || r < 0) {
        c.run.wait_status = r < 0 ? (127 << 8) : st;
      } else if (late) {
        c.run.timed_out = true;
        kill(-c.pid, SIGKILL);
        waitpid(c.pid, &st, 0);
      } else {
        continue;
      }
      // Whatever the group left behind (a hung fork child) goes with it; its output so far
      // is kept.
      kill(-c.pid, SIGKILL);
      drain(c.out_fd, &c.run.out);
      drain(c.err_fd, &c.run.err);
      close(c.out_fd);
      close(c.err_fd);
      c.ended = true;
      --alive;
    }
  }
  std::vector<outcome::RealRun> out;
  for (Child& c : children) out.push_back(std::move(c.run));
  return out;
}

}  // namespace ifz::harness::conform
