// SPDX-License-Identifier: Apache-2.0
// platform.h — the one door through which the runtime touches threads, locks and time.
// Defines ThreadId, Point, Chooser, Mutex, CondVar and the abstract Platform (DESIGN D1).
//
// Every lock, condition variable, thread start/exit, blocking "syscall" and scheduling point of
// runtime/ goes through this interface; there is never a raw std::mutex in the runtime. Two
// backends implement it:
//   * SimulatedPlatform (simulated.h): every runtime thread is a stackful coroutine on one OS
//     thread; a Chooser decides who runs at each scheduling point, so an execution is a pure
//     function of (program, choices). Deadlock = nothing runnable while threads are blocked.
//   * NativePlatform (native.h): real pthreads, real locks, real fork(2); for stress and TSan.
//
// Locks are CPython "PyThread locks", not C++ mutexes: non-reentrant (re-locking by the owner
// deadlocks, as HEAD_LOCK does in bpo-39958), releasable by any thread, and re-initialisable in
// a fork child (`reinit`, CPython's `_PyThread_at_fork_reinit`). Each records its owner so the
// fork oracle can ask "is this lock free or held by the forking thread?" (cpython-notes K2).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <pthread.h>

namespace ifz::platform {

/// Dense thread id within one execution. 0 is the thread that started the execution (the
/// process's main thread); ids are never reused within an execution.
using ThreadId = int32_t;
inline constexpr ThreadId kNoThread = -1;

/// Why a scheduling point happens. Strategies (PCT) and traces use it.
enum class Point : uint8_t {
  kLock,          // about to acquire a Mutex
  kUnlock,        // just released a Mutex
  kWait,          // about to wait on a CondVar
  kNotify,        // just notified a CondVar
  kThreadStart,   // a thread was just spawned (the new thread may run first)
  kThreadExit,    // a thread is about to finish
  kSyscall,       // the thread sits in a blocking call outside the runtime (GIL released)
  kPhase,         // a lifecycle phase boundary (finalisation step, fork step)
  kFork,          // just before fork(2)
  kYield,         // any other interleaving point (one eval-loop iteration, an op boundary)
  kWindow,        // between two steps CPython does not make atomic, with no lock or wait in
                  // between: only an OS preemption stops a real thread there
};
const char* point_name(Point p);

/// Where a scheduling point is: kind, a static label ("take_gil", "finalize:DeleteExcept")
/// and the object concerned (a lock, or null).
struct PointInfo {
  Point kind = Point::kYield;
  const char* label = "";
  const void* object = nullptr;
};

/// The scheduler hook. Called by the simulated backend only when there is a real choice (two
/// or more runnable threads), so that recorded schedules stay short. Implemented by harness/
/// strategies (input-driven, random, PCT, replay); runtime/ never includes them.
class Chooser {
 public:
  virtual ~Chooser() = default;
  /// `runnable` is sorted ascending and has >= 2 entries; `current` is the thread that reached
  /// the point (it is in `runnable` unless it just blocked or finished). Returns an index into
  /// `runnable`. Out-of-range answers are reduced modulo runnable.size().
  virtual size_t pick(std::span<const ThreadId> runnable, ThreadId current,
                      const PointInfo& where) = 0;
};

class Platform;

/// Asked before a Mutex or CondVar operation touches the object, so that the owner of the
/// memory it lives in (the runtime's heap: a lock inside an interpreter or a GIL) can turn a
/// use after that memory was freed into the modelled process's crash — reported with the
/// lock's name — instead of letting the backend read freed memory (DESIGN D6). `object` is
/// only compared, never read. before_use() returns when the object is alive; otherwise it
/// ends the process and does not return.
class ObjectGuard {
 public:
  virtual ~ObjectGuard() = default;
  virtual void before_use(const void* object, const char* op) = 0;
};

/// A CPython-style lock (PyThread_type_lock) with owner tracking. Not reentrant.
/// invariant: owner() == kNoThread <=> the lock is free.
class Mutex {
 public:
  Mutex(Platform& platform, const char* name);
  ~Mutex();
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock();
  bool try_lock();
  void unlock();
  /// Fork child only: make the lock free again without waking anybody
  /// (CPython `_PyThread_at_fork_reinit`). Threads that waited on it vanished with the fork.
  void reinit();

  ThreadId owner() const { return owner_.load(std::memory_order_relaxed); }
  bool locked() const { return owner() != kNoThread; }
  const char* name() const { return name_; }
  Platform& platform() const { return *platform_; }

 private:
  friend class SimulatedPlatform;
  friend class NativePlatform;
  friend class CondVar;
  Platform* platform_;
  const char* name_;
  // Atomic (relaxed) because oracles and "do I hold it?" checks read it without the lock; with
  // real threads a plain field is a data race that TSan reports.
  std::atomic<ThreadId> owner_{kNoThread};
  // Simulated backend: threads blocked in lock(), in arrival order.
  std::vector<ThreadId> waiters_;
  // Native backend: PyThread lock built from a pthread mutex + condition + flag.
  pthread_mutex_t native_mutex_;
  pthread_cond_t native_cond_;
};

/// A condition variable used with one Mutex at a time.
class CondVar {
 public:
  CondVar(Platform& platform, const char* name);
  ~CondVar();
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  /// Releases `m`, waits for a notification, re-acquires `m`. No spurious wake-ups.
  void wait(Mutex& m);
  /// Like wait, but may also return on timeout: returns true if it timed out. Simulated: the
  /// timeout is a scheduling choice (a timed waiter is runnable; picking it = the timeout fires),
  /// `micros` is ignored. Native: real time.
  bool wait_for(Mutex& m, int64_t micros);
  void notify_one();
  void notify_all();
  /// notify_all without the scheduling point after it, for a thread unwinding to its exit
  /// (ThreadExit): an execution ending at such a point would abandon the coroutine
  /// mid-unwind and leak the exception object.
  void notify_all_while_exiting();
  /// Fork child only: forget all waiters (they vanished).
  void reinit();
  const char* name() const { return name_; }

 private:
  friend class SimulatedPlatform;
  friend class NativePlatform;
  Platform* platform_;
  const char* name_;
  // Simulated backend: waiting threads in arrival order. Native backend: the threads not yet
  // notified, guarded by native_bound_->native_mutex_ (waiters loop until they leave this list,
  // which is what rules out spurious wake-ups).
  std::vector<ThreadId> waiters_;
  pthread_cond_t native_cond_;
  // Native backend: the Mutex current waiters wait with. notify() has no Mutex argument but must
  // take that Mutex's internal pthread mutex to edit waiters_.
  std::atomic<Mutex*> native_bound_{nullptr};
};

/// Thrown by Platform::exit_thread(): unwinds the calling thread to its entry, running C++
/// destructors on the way, as glibc's pthread_exit does (cpython-notes bpo-42969: "exit is an
/// unwinding event"). Caught by the backend; never catch it in runtime code.
struct ThreadExit {};

/// How a blocked thread is blocked, for deadlock reports.
struct BlockedThread {
  ThreadId thread = kNoThread;
  std::string name;      // the name given at spawn
  std::string waits_on;  // "lock HEAD_LOCK", "cond gil.cond (lock gil.mutex)", "join T2", "hang"
  ThreadId owner = kNoThread;  // owner of the lock waited on, if any
};

/// How an execution (a simulated or sandboxed "process") ended.
struct RunResult {
  enum class Kind : uint8_t {
    kExited,     // exit_process(code) or the main thread returned (code 0)
    kAborted,    // abort_process(message): CPython's Py_FatalError → SIGABRT
    kDeadlock,   // simulated: nothing runnable while threads are blocked (see `blocked`)
    kStepLimit,  // simulated: more than SimOptions::max_steps scheduling points (livelock?)
    kSignaled,   // native: the sandbox died of a signal (`signal`)
    kHang,       // native: the watchdog killed the sandbox
  };
  Kind kind = Kind::kExited;
  int exit_code = 0;
  int signal = 0;
  std::string message;                // abort message, or a one-line reason
  std::vector<BlockedThread> blocked;  // deadlock / hang / step-limit: every live thread
  std::string report;                 // native: bytes the sandbox sent with report()
  uint64_t steps = 0;                 // scheduling points passed
  uint64_t switches = 0;              // context switches between threads
};
const char* run_result_kind_name(RunResult::Kind k);

/// Result of Platform::fork() in the process that continues.
struct ForkResult {
  bool in_child = false;
  int child_pid = 0;  // parent side: the child's pid (simulated: a fake, positive, stable id)
  /// Native parent side: the read end of the child's own report pipe (the child's report()
  /// and abort_process() write there); collect it with NativePlatform::wait_child. -1 else.
  int child_report_fd = -1;
};

/// Which side of a fork a simulated execution keeps running (DESIGN D2).
enum class ForkFollow : uint8_t { kParent, kChild };

class Platform {
 public:
  virtual ~Platform() = default;

  /// True for the simulated backend: executions are reproducible from the choices.
  virtual bool deterministic() const = 0;

  /// The guard every Mutex / CondVar operation on this platform's threads asks first (null:
  /// none). Consulted on the simulated backend (its run() makes this platform the one its
  /// OS thread's lock operations ask); the native backend leaves a stale lock to the real
  /// signal it causes.
  void set_object_guard(ObjectGuard* g) { object_guard_ = g; }
  ObjectGuard* object_guard() const { return object_guard_; }

  // ---- threads -------------------------------------------------------------------------------
  /// Id of the calling thread.
  virtual ThreadId current() const = 0;
  /// Starts a new thread running `body`. A scheduling point (kThreadStart) follows.
  virtual ThreadId spawn(std::string name, std::function<void()> body) = 0;
  /// Blocks until `t` has finished (returned, exited, or vanished in a fork).
  virtual void join(ThreadId t) = 0;
  /// True while `t` has not finished and did not vanish.
  virtual bool alive(ThreadId t) const = 0;
  /// Ends the calling thread by unwinding (throws ThreadExit). CPython PyThread_exit_thread.
  [[noreturn]] virtual void exit_thread() = 0;
  /// Blocks the calling thread forever without unwinding (3.14 PyThread_hang_thread, or a
  /// daemon parked in take_gil in 3.7/3.8). Not a deadlock by itself.
  [[noreturn]] virtual void hang_thread(const char* why) = 0;

  // ---- scheduling ----------------------------------------------------------------------------
  /// A scheduling point: the simulated backend may switch to another runnable thread here.
  virtual void point(const PointInfo& where) = 0;
  /// The calling thread sits in a blocking call (GIL released). Simulated: a scheduling point
  /// after which the thread is runnable again ("the syscall returned whenever it is picked").
  virtual void syscall(const char* label) = 0;

  // ---- process -------------------------------------------------------------------------------
  /// fork(2). Native: a real fork. Simulated: in-process; following the child drops every other
  /// thread *without unwinding it* (their stacks and the locks they hold stay), following the
  /// parent changes nothing. Only the calling thread survives in the child.
  virtual ForkResult fork(ForkFollow follow) = 0;
  /// Ends the process now (exit(code)). Other threads are abandoned, not unwound.
  [[noreturn]] virtual void exit_process(int code) = 0;
  /// Ends the process with SIGABRT after a fatal error (CPython's Py_FatalError).
  [[noreturn]] virtual void abort_process(std::string message) = 0;
  /// The calling thread starts a timed wait of its own, not a retry in a loop (a program's
  /// `lock.acquire(timeout=...)`): simulated, that timeout may fire at once even if the
  /// thread's previous one just did (the fair-timeout rule holds back retries only). Native:
  /// nothing to do.
  virtual void fresh_timed_wait() {}
  /// Native sandbox: sends bytes to the parent immediately (survives a later crash).
  /// Simulated: appended to RunResult::report.
  virtual void report(std::string_view bytes) = 0;

  // ---- lock backend (called by Mutex/CondVar; not for direct use) --------------------------------
  virtual void mutex_init(Mutex& m) = 0;
  virtual void mutex_destroy(Mutex& m) = 0;
  virtual void mutex_lock(Mutex& m) = 0;
  virtual bool mutex_try_lock(Mutex& m) = 0;
  virtual void mutex_unlock(Mutex& m) = 0;
  virtual void mutex_reinit(Mutex& m) = 0;
  virtual void cond_init(CondVar& c) = 0;
  virtual void cond_destroy(CondVar& c) = 0;
  virtual bool cond_wait(CondVar& c, Mutex& m, int64_t micros /* <0: untimed */) = 0;
  /// `point`: the notify is a scheduling point (simulated) — false only while a thread unwinds.
  virtual void cond_notify(CondVar& c, bool all, bool point) = 0;
  virtual void cond_reinit(CondVar& c) = 0;

 private:
  ObjectGuard* object_guard_ = nullptr;
};

namespace internal {
/// The platform whose guard this OS thread's lock operations ask (set by SimulatedPlatform::run
/// for its duration). Read without touching the lock object, which may be freed memory.
extern thread_local Platform* tls_guarded_platform;
/// Asks that platform's guard about `object` before an operation `op` touches it (backends
/// call it again when a thread resumes from a wait on the object: it may have been freed
/// while the thread waited).
void guard_object(const void* object, const char* op);
}  // namespace internal

}  // namespace ifz::platform
