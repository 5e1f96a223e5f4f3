// SPDX-License-Identifier: Apache-2.0
// execution.h — internal to the executor: the state of one execution (one modelled process)
// and of each program thread in it. Defines ThreadCtx and Execution.
//
// Everything here is owned by the Execution object, never by a coroutine stack: a thread that
// vanishes in a fork or is abandoned at process exit must not leak (DESIGN D2), so the
// per-thread contexts are a fixed array here (their members are plain pointers, or owned here).
#pragma once

#include <array>
#include <atomic>
#include <mutex>

#include <unistd.h>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "harness/exec/executor.h"
#include "harness/oracles/oracle.h"
#include "harness/oracles/oracle_factories.h"
#include "harness/program/program.h"
#include "runtime/runtime.h"

namespace ifz::harness::exec_internal {

inline constexpr int kInterpSlots = kMaxInterp + 1;

/// A few thread states, without allocating (a fork child's process may end before a
/// destructor runs: an allocation made before the fork would then leak).
struct TstateSet {
  std::array<rt::ThreadState*, 3 + 16 + 2 * kInterpSlots> at{};
  int n = 0;
  void add(rt::ThreadState* t) {
    if (t != nullptr && !has(t) && n < static_cast<int>(at.size())) at[n++] = t;
  }
  bool has(const rt::ThreadState* t) const {
    for (int i = 0; i < n; ++i) {
      if (at[i] == t) return true;
    }
    return false;
  }
};

/// What the program knows about one of its threads (a script being run by an OS thread).
struct ThreadCtx {
  platform::ThreadId tid = platform::kNoThread;
  bool is_c_thread = false;
  bool is_daemon = false;
  rt::ThreadState* home = nullptr;     // the tstate it started with (threading/raw/main)
  rt::ThreadState* saved = nullptr;    // released with release_gil
  rt::ThreadState* created = nullptr;  // made with new_tstate (C thread)
  rt::ThreadState* gilstate = nullptr; // the innermost gilstate_ensure's tstate (null: none)
  int gilstate_depth = 0;
  std::array<int, 16> gilstate_states{};  // PyGILState_STATE per ensure level
  // The tstate each ensure level made current or found current: a release must find it current
  // again (CPython: "thread state must be current when releasing").
  std::array<rt::ThreadState*, 16> gilstate_tstates{};
  void pop_gilstate() {
    --gilstate_depth;
    gilstate = gilstate_depth > 0 ? gilstate_tstates[gilstate_depth - 1] : nullptr;
  }
  /// Whether `t` is the tstate of one of this thread's open ensures.
  bool in_gilstate(const rt::ThreadState* t) const {
    for (int i = 0; i < gilstate_depth; ++i) {
      if (gilstate_tstates[i] == t) return true;
    }
    return false;
  }
  std::array<rt::ThreadState*, kInterpSlots> own{};   // this thread's tstate per interpreter id
  std::array<rt::ThreadState*, kInterpSlots> prev{};  // where end_interp of interp i returns
  int64_t bound_interp = -1;  // interpreter it last ran in
  bool called_initialize = false;  // the embedding's thread that ran Py_Initialize (C code)
  // It forked and is running on in the child, where it is the only thread of the fork: the
  // child ends with its script, as a Python child ends with os._exit (the process does not
  // wait for threads it started there; 3.14+ hangs some of those for good by design).
  bool fork_child_main = false;
  int op_script = -1, op_index = -1;  // the op this thread runs now (for the op log)
  int in_python_callback = 0;  // > 0 while it runs a script as Python code (an atexit callback)
  rt::ThreadState* callback_tstate = nullptr;  // the tstate the innermost callback runs on
  // The runtime lifetime (Execution::lifetime_) its tstates belong to. Only the owning thread
  // touches its context, so a re-initialisation by another thread does not clear it there
  // (that would race with the owner, natively); the owner forgets them before its next use.
  int lifetime = 0;
  // The runtime's refusal text of this thread's last failed op: the skip reason points into
  // it until the thread's next op (every other reason is a string literal).
  std::string refusal;
  void forget_tstates();
  /// Forgets every pointer to one of `gone` (tstates a fork child does not have); of the open
  /// ensures, those from the first forgotten level up.
  void forget(const TstateSet& gone);
};

/// Native: reads the report lines of a sandbox (or fork child) into `res`.
void parse_native_report(const std::string& report, ExecResult* res);
/// Labels `f` "known: <issue>" for each enabled defect whose trigger canary fired.
void classify(const rt::DefectSet& enabled, const rt::Canaries& canaries, Finding* f);
/// Native: the outcome-based oracles (crash, fatal, deadlock, hang) judged in the parent.
void judge_native_outcome(const rt::Profile& profile, ExecResult* res);

class Execution {
 public:
  Execution(const Program& program, const ExecOptions& opts, platform::Platform& plat,
            const rt::Profile& profile, rt::DefectSet defects);
  ~Execution();

  /// The body of thread 0 (the process's main thread).
  void run_main();
  /// Outcome-based oracles and result assembly once the platform run returned.
  void finish(const platform::RunResult& run, ExecResult* out);
  /// A scheduling switch from `from` to `to` (the op log's chooser wrapper, executor.cc):
  /// `preempted` when `from` was still running (not entering a wait, a lock or a syscall).
  void note_switch(platform::ThreadId from, bool preempted, platform::ThreadId to);
  /// `t` reached a scheduling point (the first since it resumed, or a later one): `stops`
  /// when it is a wait, a lock held by another or the `block` op's syscall. The ops it was
  /// preempted inside (pending) are kept if it ran on to this point, forgotten if it stops.
  void note_point(platform::ThreadId t, bool stops);
  /// Native sandbox: events/findings/trace are sent to the parent as report lines.
  void set_remote(bool remote) {
    remote_ = remote;
    lock_pid_ = getpid();
  }

  // Called by the runtime observer and the oracle sink.
  void on_event(const rt::Event& e);
  void add_finding(Finding f);

 private:
  // ops.cc
  void run_script(ThreadCtx& c, int script);
  void run_thread(int slot, bool c_thread, bool daemon);
  void cleanup_thread(ThreadCtx& c);
  /// Releases the ensures above `depth` whose tstate is current, and re-attaches a tstate the
  /// script released: what a C caller does before it returns (thread end, atexit callback).
  void unwind_gilstate(ThreadCtx& c, int depth);
  bool in_subinterp_callback(const ThreadCtx& c) const;
  bool do_op(ThreadCtx& c, int slot, const Op& op, const char** why_skipped);
  bool op_lifecycle(ThreadCtx& c, const Op& op, const char** why);
  bool op_interp(ThreadCtx& c, const Op& op, const char** why);
  bool op_threads(ThreadCtx& c, int slot, const Op& op, const char** why);
  /// Script `s` as a Python callback (atexit, threading._register_atexit): it runs on the
  /// calling thread with that thread's context and gives the thread back as it found it.
  std::function<void()> script_callback(int s);
  /// The registration ops (atexit, threading_atexit): script T becomes a callback.
  bool op_register_callback(ThreadCtx& c, const Op& op, const char** why);
  bool op_set_signal(ThreadCtx& c, const char** why);
  /// The program trips a signal: interpfuzz's prelude imports `signal` at every init (the
  /// emitted C's ifz_install_signal_handlers), which the model mirrors.
  bool program_trips_signals() const;
  bool op_gil(ThreadCtx& c, const Op& op, const char** why);
  bool op_pending(ThreadCtx& c, const Op& op, const char** why);
  bool op_fork(ThreadCtx& c, const Op& op, const char** why);
  bool op_sync(ThreadCtx& c, const Op& op, const char** why);
  /// The deadlock oracle's EndContext::program_deadlock for the threads blocked in `run`.
  bool program_deadlock(const platform::RunResult& run) const;
  /// Native: a user-level wait longer than this ends the run as the program's deadlock.
  bool keep_waiting_natively(int64_t started_ms);
  void wait_native_child(int pid, int report_fd);
  bool attached(const ThreadCtx& c) const;
  int64_t interp_of(const rt::ThreadState* t) const;
  /// Whether the calling thread holds a GIL (the main one, or its interpreter's own): the op
  /// log's holds_gil.
  bool holds_a_gil();
  void log_gilstate_tstate();
  OpContext op_context(const ThreadCtx& c, int slot, const Op& op) const;
  ThreadCtx& ctx_of_current();
  void sync_lifetime(ThreadCtx& c);

  // executor.cc
  void trace_line(std::string line);
  std::string thread_states_line() const;
  void end_of_main();

  const Program& program_;
  const ExecOptions& opts_;
  platform::Platform& plat_;
  struct Observer;
  struct Sink;
  std::unique_ptr<Observer> observer_;
  std::unique_ptr<rt::Runtime> runtime_;
  std::unique_ptr<Sink> sink_;
  std::vector<std::unique_ptr<Oracle>> oracles_;
  std::vector<Finding> findings_;
  std::vector<std::string> trace_;
  std::vector<std::string> skipped_ops_;  // with the trace on: each skipped op, and why
  void note_skipped(std::string line);
  std::array<ThreadCtx, kMaxThreads> ctx_{};
  // The program's locks L0..L3 and events E0..E3 (ops lock_acquire … event_wait), one set per
  // runtime lifetime (index: lifetime_), made by the init op that starts it (serialised by
  // claim_lifecycle) and kept to the execution's end: a thread still waiting on an older
  // lifetime's object holds a pointer to it, as a daemon holds its Python object.
  struct UserSyncSet {
    UserSyncSet(platform::Platform& p);
    std::array<std::unique_ptr<rt::UserSync>, kSyncObjects> locks, events;
  };
  static constexpr int kMaxLifetimes = kMaxThreads * kMaxOpsPerThread + 1;
  std::array<std::unique_ptr<UserSyncSet>, kMaxLifetimes + 1> user_sync_{};
  std::array<bool, kMaxThreads> started_{};
  std::array<int, kMaxThreads> start_order_{};  // 0 = main / never started; increasing
  std::array<int64_t, kMaxThreads> start_generation_{};  // runtime lifetime it was started in
  // The interpreter a Python-level thread was started from (-1: a C thread). Its Thread
  // object lives there and goes when that interpreter is ended.
  std::array<int64_t, kMaxThreads> start_interp_{};
  // Started as a threading.Thread (`threading`, `daemon`): its join is Thread.join(), Python
  // code; a `raw` or `c` thread's join is a C wait.
  std::array<bool, kMaxThreads> start_is_threading_{};
  // Op log only (OpLog::preempted_inside): per slot, how many ops it is inside (an atexit or
  // fork-child script's op runs inside the finalize or fork op of that thread) and whether the
  // schedule switched away from it while it was running.
  std::array<int, kMaxThreads> op_depth_{};
  std::array<bool, kMaxThreads> preempted_{};
  // Per slot: ops it was preempted inside while others' ops ran, until it shows whether it
  // ran on (kept, OpLog::preempted_inside) or stopped at once (forgotten): note_point.
  std::array<std::vector<std::string>, kMaxThreads> preempted_pending_{};
  void note_op_boundary(int slot);
  void keep_preempted(int slot);
  int program_slot(platform::ThreadId t) const;
  // One rule (ops.cc, kJoin / kEndInterp): no join waits past the end of an interpreter its
  // thread is tied to (its Thread object lives there, or its thread state, which 3.14+ shuts
  // down: the thread hangs for good). The script each thread is joining now (-1: none), and the
  // interpreter (runtime lifetime, id) each thread is ending now (-1: none).
  std::array<int, kMaxThreads> joining_script_ = filled<int, kMaxThreads>(-1);
  /// Script k's thread was started in interpreter `id` or holds a thread state there.
  bool tied_to_interp(int k, int64_t id) const;
  std::array<std::pair<int64_t, int64_t>, kMaxThreads> ending_interp_ =
      filled<std::pair<int64_t, int64_t>, kMaxThreads>({-1, -1});
  template <typename T, size_t N>
  static constexpr std::array<T, N> filled(T v) {
    std::array<T, N> a{};
    a.fill(v);
    return a;
  }
  int starts_ = 0;
  std::array<platform::ThreadId, kMaxThreads> script_tid_{};
  std::array<int, 1024> slot_of_tid_{};  // OS thread → ctx slot
  // Py_Initialize / Py_FinalizeEx in progress on some thread: the embedder serialises these
  // (they are not thread-safe), so no second lifecycle call starts meanwhile.
  // Atomic: natively, program threads check and claim it concurrently (claim_lifecycle).
  std::atomic<bool> in_lifecycle_{false};
  std::atomic<platform::ThreadId> init_thread_{platform::kNoThread};  // who called Py_Initialize last
  std::atomic<int> interps_this_lifetime_{0};
  // Interpreter ids whose new_interp returned in this lifetime (0: Py_Initialize's). A
  // program names an interpreter (new_tstate I<n>, add_pending to I<n>) only once its creation
  // returned, as an embedder holds it only then: one still being created is linked in the
  // runtime's list before its GIL exists, and acting on it is API misuse, not a runtime bug.
  // The emitted C keeps the same rule (ifz_published). Ids ≥ kInterpSlots are not tracked.
  std::array<std::atomic<bool>, kInterpSlots> published_{};
  bool published(int64_t id) const {
    return id < 0 || id >= kInterpSlots || published_[id].load(std::memory_order_acquire);
  }
  bool claim_lifecycle() {
    bool expected = false;
    return in_lifecycle_.compare_exchange_strong(expected, true, std::memory_order_acq_rel);
  }
  // Bumped by every Py_Initialize; a ThreadCtx from an older lifetime is stale (sync_lifetime).
  std::atomic<int> lifetime_{0};
  bool remote_ = false;
  // Native threads report events concurrently; oracles and the trace are not thread-safe.
  std::recursive_mutex native_mutex_;
  int lock_pid_ = 0;  // the process native_mutex_ belongs to
  std::unique_lock<std::recursive_mutex> native_lock();
  // Counted by every program thread as its ops end: concurrently on the native platform.
  std::atomic<uint64_t> ops_executed_{0};
  std::atomic<uint64_t> ops_skipped_{0};
  std::atomic<uint64_t> forever_runs_{0};  // runs of `forever` pending calls (kPendingRun events)
  ReachCounters reach_;
  // Where the lifecycle is, from the last kPhase event (count_reach's wording only): kept as
  // two flags so that no event pays for a string copy or comparison.
  bool shutting_down_ = false;  // a phase starting with "finalize" ("finalized" included)
  bool finalized_ = false;      // the "finalized" phase
  void count_reach(const rt::Event& e);
};

struct Execution::Observer : rt::RuntimeObserver {
  explicit Observer(Execution& ex) : ex(ex) {}
  void on_event(const rt::Event& e) override { ex.on_event(e); }
  Execution& ex;
};

struct Execution::Sink : OracleSink {
  Sink(Execution& ex, const rt::Runtime& rt, platform::Platform& p) : OracleSink(rt, p), ex(ex) {}
  void report(Finding f) override { ex.add_finding(std::move(f)); }
  Execution& ex;
};

}  // namespace ifz::harness::exec_internal
