// SPDX-License-Identifier: Apache-2.0
// native.cc — the sandbox process, its pthreads and PyThread locks, and the parent's watchdog.
// Defines NativePlatform (see native.h for the sandbox protocol).
#include "runtime/platform/native.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "base/check.h"

namespace ifz::platform {

namespace {

// Report frames: kind byte, payload length (4 bytes, little endian), payload.
constexpr char kReportFrame = 'R';
constexpr char kAbortFrame = 'A';
constexpr size_t kFrameHeader = 5;
// One frame per write(2) of at most PIPE_BUF bytes: atomic, so frames of concurrent threads
// never interleave.
constexpr size_t kMaxPayload = PIPE_BUF - kFrameHeader;
// The exit status of abort_process, as a shell reports a SIGABRT death (128 + 6).
constexpr int kAbortStatus = 134;

thread_local ThreadId tls_current = 0;
thread_local uint64_t tls_points = 0;

std::atomic<bool> g_aborting{false};

int yield_every_from_env() {
  const char* v = std::getenv("IFZ_NATIVE_YIELD");
  return v != nullptr ? std::max(0, std::atoi(v)) : 0;
}

[[noreturn]] void block_forever() {
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t c = PTHREAD_COND_INITIALIZER;
  pthread_mutex_lock(&m);
  for (;;) pthread_cond_wait(&c, &m);
}

timespec monotonic_deadline(int64_t micros) {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int64_t ns = ts.tv_nsec + (micros % 1'000'000) * 1000;
  ts.tv_sec += static_cast<time_t>(micros / 1'000'000 + ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  return ts;
}

void init_monotonic_cond(pthread_cond_t* c) {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(c, &attr);
  pthread_condattr_destroy(&attr);
}

bool contains(const std::vector<ThreadId>& v, ThreadId t) {
  return std::find(v.begin(), v.end(), t) != v.end();
}

// Splits the pipe's bytes into the report and the abort message. A frame cut short (a crash
// in the middle of a write cannot happen with atomic writes, but a killed writer might) keeps
// what arrived.
void parse_frames(const std::string& raw, RunResult& r, bool& aborted) {
  size_t pos = 0;
  while (raw.size() - pos >= kFrameHeader) {
    char kind = raw[pos];
    uint32_t len = 0;
    for (int i = 0; i < 4; ++i) len |= uint32_t(uint8_t(raw[pos + 1 + i])) << (8 * i);
    pos += kFrameHeader;
    size_t n = std::min<size_t>(len, raw.size() - pos);
    if (kind == kAbortFrame) {
      r.message.append(raw, pos, n);
      aborted = true;
    } else {
      r.report.append(raw, pos, n);
    }
    pos += n;
  }
}

int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  return -1;
#endif
}


// Reads the report pipe into `raw` until `pid` is reaped (its wait status in `status`) or
// `watchdog_ms` pass (then kills it and returns true). A pidfd wakes us when the child exits
// even if a grandchild keeps the pipe open; without one (old kernels) the child's status is
// polled every 2 ms. Once the child is reaped only what is already in the pipe is taken.
bool collect_until_reaped(pid_t pid, int read_fd, int watchdog_ms, std::string& raw,
                          int& status) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(watchdog_ms);
  const int pidfd = open_pidfd(pid);
  char buf[PIPE_BUF];
  bool eof = false;
  bool hung = false;
  while (waitpid(pid, &status, WNOHANG) != pid) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      hung = true;
      break;
    }
    pollfd pfd[2] = {{read_fd, POLLIN, 0}, {pidfd, POLLIN, 0}};
    const int timeout = pidfd >= 0 ? static_cast<int>(left.count()) : 2;
    // With the pipe at EOF only the pidfd is watched (pfd + 1).
    poll(eof ? pfd + 1 : pfd, eof ? (pidfd >= 0 ? 1 : 0) : 2, timeout);
    if (!eof && (pfd[0].revents & (POLLIN | POLLHUP)) != 0) {
      ssize_t n = read(read_fd, buf, sizeof buf);
      if (n > 0) raw.append(buf, static_cast<size_t>(n));
      eof = n == 0;
    }
  }
  if (pidfd >= 0) close(pidfd);
  fcntl(read_fd, F_SETFL, O_NONBLOCK);
  for (ssize_t n; !eof && (n = read(read_fd, buf, sizeof buf)) > 0;) {
    raw.append(buf, static_cast<size_t>(n));
  }
  return hung;
}
}  // namespace

struct NativePlatform::Thread {
  enum class State : uint8_t { kRunning, kFinished, kVanished };
  NativePlatform* platform = nullptr;
  ThreadId id = kNoThread;
  std::string name;
  std::function<void()> body;
  State state = State::kRunning;  // guarded by table_mutex_
};

NativePlatform::NativePlatform(NativeOptions opts)
    : opts_(opts), yield_every_(yield_every_from_env()) {
  pthread_mutex_init(&table_mutex_, nullptr);
  pthread_cond_init(&finished_, nullptr);
}

NativePlatform::~NativePlatform() {
  pthread_cond_destroy(&finished_);
  pthread_mutex_destroy(&table_mutex_);
}

// ---- the parent side ----------------------------------------------------------------------------

RunResult NativePlatform::run(std::function<void()> main_body) {
  IFZ_PRECONDITION(report_fd_ < 0, "NativePlatform::run() called inside a sandbox");
  int fds[2];
  IFZ_CHECK(pipe2(fds, O_CLOEXEC) == 0, "pipe2 failed");
  std::fflush(nullptr);  // or buffered output would be written twice, once per process
  pid_t pid = ::fork();
  IFZ_CHECK(pid >= 0, "fork failed");
  if (pid == 0) {
    // Its own process group, so that processes the program forks (a fork child that
    // deadlocked, say) die with the sandbox instead of outliving the run.
    setpgid(0, 0);
    close(fds[0]);
    sandbox_main(main_body, fds[1]);
  }
  setpgid(pid, pid);  // both sides set it: whichever runs first wins the race
  close(fds[1]);
  RunResult r = wait_sandbox(pid, fds[0]);
  kill(-pid, SIGKILL);
  return r;
}

RunResult NativePlatform::wait_child(int pid, int read_fd, int watchdog_ms) {
  NativeOptions o;
  o.watchdog_ms = watchdog_ms;
  NativePlatform waiter(o);
  return waiter.wait_sandbox(pid, read_fd);
}

RunResult NativePlatform::wait_sandbox(pid_t pid, int read_fd) {
  std::string raw;
  int status = 0;
  const bool hung = collect_until_reaped(pid, read_fd, opts_.watchdog_ms, raw, status);
  close(read_fd);
  RunResult r;
  bool aborted = false;
  parse_frames(raw, r, aborted);
  if (hung) {
    r.kind = RunResult::Kind::kHang;
    r.message = "watchdog: sandbox killed after " + std::to_string(opts_.watchdog_ms) + " ms";
  } else if (WIFSIGNALED(status)) {
    r.kind = RunResult::Kind::kSignaled;
    r.signal = WTERMSIG(status);
  } else if (aborted && WEXITSTATUS(status) == kAbortStatus) {
    r.kind = RunResult::Kind::kAborted;
  } else {
    r.kind = RunResult::Kind::kExited;
    r.exit_code = WEXITSTATUS(status);
  }
  return r;
}

// ---- the sandbox --------------------------------------------------------------------------------

void NativePlatform::sandbox_main(std::function<void()>& main_body, int report_fd) {
  report_fd_ = report_fd;
  in_sandbox_ = true;
  threads_.clear();
  auto main_thread = std::make_unique<Thread>();
  main_thread->platform = this;
  main_thread->id = 0;
  main_thread->name = "main";
  threads_.push_back(std::move(main_thread));
  live_ = 1;
  tls_current = 0;
  try {
    main_body();
  } catch (const ThreadExit&) {
    // pthread_exit in main(): the process lives on until its last thread ends.
    finish_thread(0);
    block_forever();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "==ifz== INTERNAL ERROR: exception %s escaped sandbox thread 0\n",
                 e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "==ifz== INTERNAL ERROR: unknown exception escaped sandbox thread 0\n");
    std::abort();
  }
  _exit(0);
}

void* NativePlatform::thread_entry(void* arg) {
  auto* t = static_cast<Thread*>(arg);
  tls_current = t->id;
  try {
    t->body();
  } catch (const ThreadExit&) {
    // exit_thread(): the destructors ran on the way here.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "==ifz== INTERNAL ERROR: exception %s escaped sandbox thread %d\n",
                 e.what(), t->id);
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "==ifz== INTERNAL ERROR: unknown exception escaped sandbox thread %d\n",
                 t->id);
    std::abort();
  }
  t->platform->finish_thread(t->id);
  return nullptr;
}

// Marks `id` finished. The last live thread ends the process itself, with _exit: letting the
// last pthread return would call exit() and run the forked image's atexit handlers.
void NativePlatform::finish_thread(ThreadId id) {
  pthread_mutex_lock(&table_mutex_);
  threads_[id]->state = Thread::State::kFinished;
  bool last = --live_ == 0;
  pthread_cond_broadcast(&finished_);
  pthread_mutex_unlock(&table_mutex_);
  if (last) _exit(0);
}

ThreadId NativePlatform::current() const { return tls_current; }

ThreadId NativePlatform::spawn(std::string name, std::function<void()> body) {
  IFZ_PRECONDITION(in_sandbox_, "NativePlatform::spawn() outside run()");
  auto t = std::make_unique<Thread>();
  t->platform = this;
  t->name = std::move(name);
  t->body = std::move(body);
  Thread* raw = t.get();
  pthread_mutex_lock(&table_mutex_);
  t->id = static_cast<ThreadId>(threads_.size());
  threads_.push_back(std::move(t));
  ++live_;
  pthread_mutex_unlock(&table_mutex_);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t handle;
  int rc = pthread_create(&handle, &attr, &thread_entry, raw);
  pthread_attr_destroy(&attr);
  IFZ_CHECK(rc == 0, "pthread_create failed");
  point({Point::kThreadStart, raw->name.c_str(), nullptr});
  return raw->id;
}

void NativePlatform::join(ThreadId t) {
  pthread_mutex_lock(&table_mutex_);
  while (t >= 0 && static_cast<size_t>(t) < threads_.size() &&
         threads_[t]->state == Thread::State::kRunning) {
    pthread_cond_wait(&finished_, &table_mutex_);
  }
  pthread_mutex_unlock(&table_mutex_);
}

bool NativePlatform::alive(ThreadId t) const {
  pthread_mutex_lock(&table_mutex_);
  bool running = t >= 0 && static_cast<size_t>(t) < threads_.size() &&
                 threads_[t]->state == Thread::State::kRunning;
  pthread_mutex_unlock(&table_mutex_);
  return running;
}

void NativePlatform::exit_thread() { throw ThreadExit{}; }

void NativePlatform::hang_thread(const char* why) { block_forever(); }

void NativePlatform::point(const PointInfo& where) {
  if (yield_every_ > 0 && ++tls_points % static_cast<uint64_t>(yield_every_) == 0) {
    sched_yield();
  }
}

void NativePlatform::syscall(const char* label) { sched_yield(); }

// ---- process ------------------------------------------------------------------------------------

ForkResult NativePlatform::fork(ForkFollow follow) {
  // Holding the table lock across fork(2) means no other thread holds it in the child.
  pthread_mutex_lock(&table_mutex_);
  // The child gets a report pipe of its own: the sandbox's belongs to the parent process.
  int child_fds[2] = {-1, -1};
  if (pipe2(child_fds, O_CLOEXEC) != 0) child_fds[0] = child_fds[1] = -1;
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    pthread_mutex_unlock(&table_mutex_);
    abort_process(std::string("fork(2) failed: ") + std::strerror(errno));
  }
  if (pid > 0) {
    pthread_mutex_unlock(&table_mutex_);
    if (child_fds[1] >= 0) close(child_fds[1]);
    return {false, static_cast<int>(pid), child_fds[0]};
  }
  if (child_fds[0] >= 0) close(child_fds[0]);
  // The child: only the calling thread exists. Waiters on finished_ vanished with their
  // threads, so the condition is re-initialised rather than trusted.
  for (auto& t : threads_) {
    if (t->id != tls_current && t->state == Thread::State::kRunning) {
      t->state = Thread::State::kVanished;
    }
  }
  live_ = 1;
  pthread_cond_init(&finished_, nullptr);
  if (report_fd_ >= 0) close(report_fd_);
  report_fd_ = child_fds[1];
  pthread_mutex_unlock(&table_mutex_);
  return {true, 0};
}

void NativePlatform::exit_process(int code) { _exit(code); }

void NativePlatform::abort_process(std::string message) {
  // One fatal error per process: a second one racing with the first waits to be killed by the
  // first one's _exit, so the two messages never interleave.
  if (g_aborting.exchange(true)) block_forever();
  write_frame(kAbortFrame, message);
  _exit(kAbortStatus);
}

void NativePlatform::report(std::string_view bytes) { write_frame(kReportFrame, bytes); }

void NativePlatform::write_frame(char kind, std::string_view bytes) {
  if (report_fd_ < 0) return;
  char frame[PIPE_BUF];
  do {
    size_t n = std::min(bytes.size(), kMaxPayload);
    frame[0] = kind;
    for (int i = 0; i < 4; ++i) frame[1 + i] = static_cast<char>((n >> (8 * i)) & 0xff);
    std::memcpy(frame + kFrameHeader, bytes.data(), n);
    ssize_t w;
    do {
      w = write(report_fd_, frame, kFrameHeader + n);
    } while (w < 0 && errno == EINTR);
    bytes.remove_prefix(n);
  } while (!bytes.empty());
}

// ---- PyThread locks -----------------------------------------------------------------------------

void NativePlatform::mutex_init(Mutex& m) {
  pthread_mutex_init(&m.native_mutex_, nullptr);
  pthread_cond_init(&m.native_cond_, nullptr);
}

void NativePlatform::mutex_destroy(Mutex& m) {
  pthread_cond_destroy(&m.native_cond_);
  pthread_mutex_destroy(&m.native_mutex_);
}

void NativePlatform::mutex_lock(Mutex& m) {
  point({Point::kLock, m.name(), &m});
  pthread_mutex_lock(&m.native_mutex_);
  // Not reentrant: the owner waits for itself forever, like CPython's HEAD_LOCK (bpo-39958).
  while (m.locked()) pthread_cond_wait(&m.native_cond_, &m.native_mutex_);
  m.owner_.store(current(), std::memory_order_relaxed);
  pthread_mutex_unlock(&m.native_mutex_);
}

bool NativePlatform::mutex_try_lock(Mutex& m) {
  point({Point::kLock, m.name(), &m});
  pthread_mutex_lock(&m.native_mutex_);
  bool took = !m.locked();
  if (took) m.owner_.store(current(), std::memory_order_relaxed);
  pthread_mutex_unlock(&m.native_mutex_);
  return took;
}

void NativePlatform::mutex_unlock(Mutex& m) {
  pthread_mutex_lock(&m.native_mutex_);
  m.owner_.store(kNoThread, std::memory_order_relaxed);
  pthread_cond_signal(&m.native_cond_);
  pthread_mutex_unlock(&m.native_mutex_);
  point({Point::kUnlock, m.name(), &m});
}

void NativePlatform::mutex_reinit(Mutex& m) {
  // _PyThread_at_fork_reinit: the old pthread objects may be held by vanished threads.
  pthread_mutex_init(&m.native_mutex_, nullptr);
  pthread_cond_init(&m.native_cond_, nullptr);
  m.owner_.store(kNoThread, std::memory_order_relaxed);
}

void NativePlatform::cond_init(CondVar& c) { init_monotonic_cond(&c.native_cond_); }

// Deliberately not pthread_cond_destroy: glibc's waits for the cond's waiters to leave, and a
// waiter abandoned by exit or parked for good (a program that destroys a CondVar while a thread
// still waits on it) would hang the destroying thread. A Linux pthread cond owns no resources.
void NativePlatform::cond_destroy(CondVar& c) {}

// Waiters sit in c.waiters_ until a notify removes them: leaving that list, not a return from
// pthread_cond_wait, is what ends the wait, so there are no spurious wake-ups.
bool NativePlatform::cond_wait(CondVar& c, Mutex& m, int64_t micros) {
  point({Point::kWait, c.name(), &c});
  const ThreadId me = current();
  const bool timed = micros >= 0;
  const timespec deadline = timed ? monotonic_deadline(micros) : timespec{};
  pthread_mutex_lock(&m.native_mutex_);
  c.native_bound_.store(&m, std::memory_order_release);
  // Release the PyThread lock and start waiting under one pthread mutex: no notify can slip
  // in between.
  m.owner_.store(kNoThread, std::memory_order_relaxed);
  pthread_cond_signal(&m.native_cond_);
  c.waiters_.push_back(me);
  bool timed_out = false;
  while (contains(c.waiters_, me)) {
    if (!timed) {
      pthread_cond_wait(&c.native_cond_, &m.native_mutex_);
    } else if (pthread_cond_timedwait(&c.native_cond_, &m.native_mutex_, &deadline) ==
                   ETIMEDOUT &&
               contains(c.waiters_, me)) {
      c.waiters_.erase(std::find(c.waiters_.begin(), c.waiters_.end(), me));
      timed_out = true;
    }
  }
  while (m.locked()) pthread_cond_wait(&m.native_cond_, &m.native_mutex_);
  m.owner_.store(me, std::memory_order_relaxed);
  pthread_mutex_unlock(&m.native_mutex_);
  return timed_out;
}

void NativePlatform::cond_notify(CondVar& c, bool all, bool /*point: no scheduler here*/) {
  // Whoever waited stored the Mutex before releasing it; a notifier that took that Mutex since
  // sees it. Null: nobody ever waited, so there is nobody to wake.
  Mutex* m = c.native_bound_.load(std::memory_order_acquire);
  if (m != nullptr) {
    pthread_mutex_lock(&m->native_mutex_);
    if (!c.waiters_.empty()) {
      if (all) {
        c.waiters_.clear();
      } else {
        c.waiters_.erase(c.waiters_.begin());
      }
      // Broadcast: only the waiter that left the list must return, and only it knows.
      pthread_cond_broadcast(&c.native_cond_);
    }
    pthread_mutex_unlock(&m->native_mutex_);
  }
  point({Point::kNotify, c.name(), &c});
}

void NativePlatform::cond_reinit(CondVar& c) {
  init_monotonic_cond(&c.native_cond_);
  c.waiters_.clear();
  c.native_bound_.store(nullptr, std::memory_order_relaxed);
}

}  // namespace ifz::platform
