// SPDX-License-Identifier: Apache-2.0
// native.h — the real platform: pthreads, real PyThread-style locks and fork(2), in a sandbox.
// Defines NativeOptions and NativePlatform (DESIGN D1, D2), for stress runs and ThreadSanitizer.
//
// run() forks a sandbox child and returns how it ended; the caller never gets a thread of its
// own, so it stays single-threaded and can fork again. In the sandbox:
//   * main_body is thread 0 on the child's main thread; spawn() starts detached pthreads with
//     dense ids (assigned at spawn, read back through a thread_local);
//   * points are no-ops, except a sched_yield() every N-th point of a thread when the
//     environment variable IFZ_NATIVE_YIELD=N is set (perturbs the interleaving); syscall() is
//     a sched_yield();
//   * Mutex = pthread mutex + pthread cond + owner (PyThread lock: any thread may release it,
//     relocking by the owner blocks forever); CondVar waits on the Mutex's pthread mutex, so the
//     lock is released and the wait begun atomically; wait_for uses CLOCK_MONOTONIC;
//   * the process ends with _exit (no atexit handlers or static destructors of the forked
//     image run): main_body returns → 0; exit_process(c) → c; abort_process(m) → the message in
//     an abort frame, then _exit(134); after thread 0 left by exit_thread() or vanished in a
//     fork, the last live thread to finish → 0.
//   * report(bytes) writes the bytes at once, as frames of at most PIPE_BUF bytes (each frame
//     is one atomic write), so whatever was reported before a crash reaches the parent.
// The parent reads the report pipe while waiting for the child; after watchdog_ms it SIGKILLs
// the child → kHang. Exit status → kExited(code); abort frame + status 134 → kAborted(message);
// death by signal → kSignaled(signal).
//
// fork() inside the sandbox is a real fork(2). The program owns the processes it forks (it
// waits for them and collects their outcome over its own pipe); they are not sandboxes. Two
// measures keep them from blocking run(): fork() closes the report pipe in the new child (its
// report() calls are dropped; abort_process/exit_process still end it), and the parent stops
// reading the pipe as soon as its direct child is reaped, draining only what is already there.
//
// Under TSan, give the process TSAN_OPTIONS (or __tsan_default_options) with
// halt_on_error=1 (a race must change the sandbox's exit status: _exit skips TSan's final
// verdict), atexit_sleep_ms=0 (else every _exit leaving threads behind sleeps 1 s) and
// die_after_fork=0 (programs that fork with threads and start threads in the child).
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/platform/platform.h"

namespace ifz::platform {

struct NativeOptions {
  /// Real-time budget of one sandboxed execution. A deadlock or a hang is only visible as the
  /// budget running out: the sandbox is then killed (SIGKILL) and the run reported as kHang.
  int watchdog_ms = 20000;
};

class NativePlatform final : public Platform {
 public:
  explicit NativePlatform(NativeOptions opts = {});
  ~NativePlatform() override;
  NativePlatform(const NativePlatform&) = delete;
  NativePlatform& operator=(const NativePlatform&) = delete;

  /// Runs `main_body` in a fresh sandbox process and reports how that process ended.
  /// May be called repeatedly; not from inside a sandbox.
  RunResult run(std::function<void()> main_body);
  /// Waits for a process fork() made inside the sandbox, reading its report pipe
  /// (ForkResult::child_report_fd, closed here) like run() reads the sandbox's: kExited,
  /// kAborted with the message, kSignaled, or kHang after `watchdog_ms` (then killed).
  static RunResult wait_child(int pid, int read_fd, int watchdog_ms);

  bool deterministic() const override { return false; }
  ThreadId current() const override;
  ThreadId spawn(std::string name, std::function<void()> body) override;
  void join(ThreadId t) override;
  bool alive(ThreadId t) const override;
  [[noreturn]] void exit_thread() override;
  [[noreturn]] void hang_thread(const char* why) override;
  void point(const PointInfo& where) override;
  void syscall(const char* label) override;
  ForkResult fork(ForkFollow follow) override;
  [[noreturn]] void exit_process(int code) override;
  [[noreturn]] void abort_process(std::string message) override;
  void report(std::string_view bytes) override;

  void mutex_init(Mutex& m) override;
  void mutex_destroy(Mutex& m) override;
  void mutex_lock(Mutex& m) override;
  bool mutex_try_lock(Mutex& m) override;
  void mutex_unlock(Mutex& m) override;
  void mutex_reinit(Mutex& m) override;
  void cond_init(CondVar& c) override;
  void cond_destroy(CondVar& c) override;
  bool cond_wait(CondVar& c, Mutex& m, int64_t micros) override;
  void cond_notify(CondVar& c, bool all, bool point) override;
  void cond_reinit(CondVar& c) override;

 private:
  struct Thread;  // one pthread of the sandbox (native.cc)

  [[noreturn]] void sandbox_main(std::function<void()>& main_body, int report_fd);
  RunResult wait_sandbox(pid_t pid, int read_fd);
  static void* thread_entry(void* arg);
  void finish_thread(ThreadId id);
  void write_frame(char kind, std::string_view bytes);

  NativeOptions opts_;
  int yield_every_ = 0;  // IFZ_NATIVE_YIELD; 0 = never yield at points
  // Sandbox only: write end of the report pipe; -1 in the parent and in processes forked
  // inside the sandbox.
  int report_fd_ = -1;
  bool in_sandbox_ = false;  // written once, before the sandbox has threads
  // Guards threads_ and each Thread's state; finished_ is signalled whenever a thread ends.
  mutable pthread_mutex_t table_mutex_;
  pthread_cond_t finished_;
  // invariant: threads_[i]->id == i; records live until the sandbox process ends.
  std::vector<std::unique_ptr<Thread>> threads_;
  int live_ = 0;  // threads neither finished nor vanished (guarded by table_mutex_)
};

}  // namespace ifz::platform
