// SPDX-License-Identifier: Apache-2.0
// simulated.h — the deterministic platform: runtime threads as coroutines on one OS thread.
// Defines SimOptions and SimulatedPlatform (DESIGN D1, D2).
//
// Each runtime thread, thread 0 included, is a stackful coroutine (Boost.Context fcontext on a
// pooled stack). run() drives them from a scheduler loop on the calling OS thread's own stack:
// a coroutine that reaches a scheduling point computes the sorted runnable list, asks the
// Chooser when there are two or more, and when somebody else is picked jumps to the scheduler,
// which jumps into the chosen coroutine. So an execution is a pure function of the program and
// the Chooser's answers: same answers ⇒ same sequence of (point, current, runnable).
//
// Thread states, and who leaves them:
//
//   runnable ──lock() on a held Mutex──▶ blocked on lock ──unlock() by anyone──▶ runnable (retries)
//   runnable ──CondVar::wait──▶ waiting on cond ──notify──▶ runnable (re-acquires the Mutex)
//   runnable ──CondVar::wait_for──▶ timed wait: *still runnable*; picked before a notify = the
//                                   timeout fired (wait_for returns true), notified = false
//   runnable ──join(t)──▶ joining ──t finishes──▶ runnable
//   runnable ──hang_thread──▶ hung (forever)        runnable ──body returns/ThreadExit──▶ finished
//   any live thread ──fork() following the child, in another thread──▶ vanished (never unwound)
//
// How a run ends (RunResult):
//   * thread 0's body returns → kExited(0); exit_process(c) → kExited(c); abort_process(m) →
//     kAborted(m). Other threads are abandoned mid-flight, never unwound, like exit(3).
//   * thread 0 gone by exit_thread() or by vanishing in a fork child: the process ends when the
//     last non-vanished thread finishes → kExited(0) (as after pthread_exit in main()).
//   * nothing runnable while some thread is blocked → kDeadlock, `blocked` = every live thread;
//     a waits-for report: waits_on is "lock X" / "cond Y (lock Z)" / "cond Y (lock Z), timed" /
//     "join Tn" / "hang: why" / "runnable", and `owner` is the thread it waits for (the owner of
//     the lock, or the joined thread).
//   * only timed waiters runnable and nothing but timeouts for 2·(their number)+2 steps in a row
//     → kDeadlock, message "livelock: only timed waits make progress".
//   * nothing runnable and every live thread hung → kHang (the process would sleep forever; not
//     a deadlock: nobody waits for anybody).
//   * more than SimOptions::max_steps scheduling points → kStepLimit, `blocked` = live threads.
//
// Outside run() the calling OS thread acts as thread 0 of a process with one thread: points are
// no-ops and anything that would have to block is a precondition failure.
//
// Exceptions: the C++ runtime keeps "exceptions being caught" per OS thread; every switch swaps
// that record per coroutine, so `catch (...) { m.unlock(); throw; }` is safe across switches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/platform/platform.h"

namespace ifz::platform {

struct SimOptions {
  /// Scheduling points after which the run stops as kStepLimit: a spin loop that never blocks,
  /// or a schedule that starves the thread everyone waits for.
  uint64_t max_steps = 2'000'000;
  /// Usable bytes per coroutine stack; 0 = FiberStackPool::default_stack_size()
  /// (64 KiB, 256 KiB under sanitizers).
  size_t stack_size = 0;
};

class SimulatedPlatform final : public Platform {
 public:
  /// `chooser` null: keep running the current thread while it is runnable, else the lowest
  /// runnable id (a sequential, "no preemption" schedule). Not owned; must outlive run().
  explicit SimulatedPlatform(Chooser* chooser = nullptr, SimOptions opts = {});
  ~SimulatedPlatform() override;
  SimulatedPlatform(const SimulatedPlatform&) = delete;
  SimulatedPlatform& operator=(const SimulatedPlatform&) = delete;

  /// Runs one execution: `main_body` is thread 0, named `main_name`. One call per instance.
  RunResult run(std::string main_name, std::function<void()> main_body);

  bool deterministic() const override { return true; }
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

  void mutex_init(Mutex& m) override {}
  void mutex_destroy(Mutex& m) override {}
  void mutex_lock(Mutex& m) override;
  bool mutex_try_lock(Mutex& m) override;
  void mutex_unlock(Mutex& m) override;
  void mutex_reinit(Mutex& m) override;
  void cond_init(CondVar& c) override {}
  void cond_destroy(CondVar& c) override {}
  bool cond_wait(CondVar& c, Mutex& m, int64_t micros) override;
  void fresh_timed_wait() override;
  void cond_notify(CondVar& c, bool all, bool point) override;
  void cond_reinit(CondVar& c) override;

 private:
  struct Thread;  // one coroutine: state, stack, saved context (simulated.cc)

  /// One side of a context switch: a coroutine or the scheduler on the OS thread's stack.
  struct Context {
    void* fctx = nullptr;        // Boost fcontext_t to resume; null until first entered
    void* fake_stack = nullptr;  // ASan: this side's saved fake stack (use-after-return mode)
    const void* bottom = nullptr;  // ASan: stack bounds, told to __sanitizer_start_switch_fiber
    size_t size = 0;
    void* eh_caught = nullptr;     // C++ runtime: this side's caught-exceptions stack ...
    unsigned eh_uncaught = 0;      // ... and std::uncaught_exceptions()
    void* tsan_fiber = nullptr;    // TSan: fiber handle
    SimulatedPlatform* platform = nullptr;
  };

  static void jump(Context& from, Context& to, bool from_finished);
  static void coroutine_entry(void* transfer_fctx, void* transfer_data);
  [[noreturn]] void thread_main();
  void resume(ThreadId id);
  void release_coroutines();

  ThreadId add_thread(std::string name, std::function<void()> body);
  Thread& self();
  void schedule(const PointInfo& where);
  ThreadId decide(const PointInfo& where);
  size_t collect_runnable();
  [[noreturn]] void end_run(RunResult::Kind kind, int code, std::string message);
  [[noreturn]] void end_stuck();
  void list_live_threads();
  BlockedThread describe(const Thread& t) const;

  void acquire(Mutex& m);
  void release(Mutex& m);
  void wake_joiners(ThreadId finished);

  Chooser* chooser_;
  SimOptions opts_;
  // invariant: threads_[i]->id == i; records are never removed before the destructor.
  std::vector<std::unique_ptr<Thread>> threads_;
  Context main_ctx_;
  // invariant: while in_run_, current_ is the coroutine that is running (or being resumed).
  ThreadId current_ = kNoThread;
  ThreadId next_ = kNoThread;  // set by a coroutine before it jumps to the scheduler
  bool ran_ = false;
  bool in_run_ = false;
  bool ended_ = false;
  int forks_ = 0;
  // Steps in a row whose only event was a timed wait timing out (the livelock guard).
  uint64_t progress_ = 0;  // non-wait scheduling points so far (fair timeouts)
  std::vector<ThreadId> runnable_;  // scratch, reused at every step
  RunResult result_;
};

}  // namespace ifz::platform
