// SPDX-License-Identifier: Apache-2.0
// runtime.h — the reference runtime: CPython's _PyRuntimeState and the C-API lifecycle calls
// a program can make (Py_Initialize … Py_FinalizeEx), on a Platform, following a Profile.
// Defines Runtime, ForkKind, ForkOutcome and ApiResult (the runtime locks: locks.def).
//
// Each public call is named after the CPython function it models and runs on the calling
// platform thread. Implementation files follow CPython's split:
//   runtime.cc      runtime state, thread-state and interpreter bookkeeping, Py_Initialize
//   gil.cc          take_gil / drop_gil, Save/RestoreThread, Swap, the "must exit" checks
//   eval.cc         the eval loop's breaker: GIL drop requests, pending calls, signals
//   pending_calls.cc  Py_AddPendingCall routing, make_pending_calls, _Py_FinishPendingCalls
//   threads.cc      threading / _thread / C threads, join, GILState
//   interp_lifecycle.cc  Py_NewInterpreter, Py_EndInterpreter
//   fork.cc         PyOS_BeforeFork / AfterFork_Parent / AfterFork_Child, refusal matrix
//   finalize.cc     Py_FinalizeEx as ordered phases
//
// Process-ending outcomes (fatal error, crash on freed memory) record outcome() and end the
// platform "process"; they never throw through harness code.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/defects.h"
#include "runtime/events.h"
#include "runtime/phases.h"
#include "runtime/locks.h"
#include "runtime/thread_records.h"
#include "runtime/user_sync.h"
#include "runtime/gil.h"
#include "runtime/heap.h"
#include "runtime/interpreter.h"
#include "runtime/outcome.h"
#include "runtime/pending_calls.h"
#include "runtime/platform/platform.h"
#include "runtime/profile.h"
#include "runtime/thread_state.h"

namespace ifz::rt {

/// What `fork` models (K4): os.fork, subprocess without / with preexec_fn.
enum class ForkKind : uint8_t { kFork, kForkExec, kForkPreexec };
const char* fork_kind_name(ForkKind k);

/// Result of an API call that may raise a Python exception instead of proceeding.
struct ApiResult {
  bool ok = true;
  std::string error;  // "RuntimeError: fork not supported for subinterpreters"
  static ApiResult fail(std::string e) { return {false, std::move(e)}; }
};

struct ForkOutcome {
  ApiResult result;     // refused in the parent (RuntimeError) or ok
  bool in_child = false;
  int child_pid = 0;
  int child_report_fd = -1;  // native parent: the child's report pipe (platform::ForkResult)
};

class Runtime {
 public:
  Runtime(platform::Platform& platform, const Profile& profile, DefectSet extra_defects = {},
          RuntimeObserver* observer = nullptr);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // ---- lifecycle (runtime.cc, finalize.cc) -------------------------------------------------
  /// Py_Initialize on the calling thread: main interpreter (id 0), main tstate current, GIL
  /// held. Also a re-initialisation after finalize() (a new runtime lifetime, ids restart).
  void initialize();
  /// Py_FinalizeEx from the calling thread (which must hold the GIL with a current tstate).
  int finalize();
  bool initialized() const { return initialized_.load(); }

  // ---- interpreters (interp_lifecycle.cc) ----------------------------------------------------
  /// Py_NewInterpreter (cfg default) / Py_NewInterpreterFromConfig. The caller must hold the
  /// GIL; on success the new tstate is current. Returns null and sets `error` on refusal.
  ThreadState* new_interpreter(const InterpConfig& cfg, std::string* error);
  /// Py_EndInterpreter(t). Contract checks are CPython's fatal errors.
  void end_interpreter(ThreadState* t);

  // ---- thread states and the GIL (gil.cc) ----------------------------------------------------
  ThreadState* current() const;           // _PyThreadState_GET on this OS thread
  ThreadState* gilstate_tstate() const;   // PyGILState_GetThisThreadState on this OS thread
  int gilstate_check() const;             // PyGILState_Check on this OS thread (0 or 1)
  ThreadState* swap(ThreadState* t);      // PyThreadState_Swap (GIL held unless t is null)
  ThreadState* save_thread();             // PyEval_SaveThread: detach, drop the GIL
  void restore_thread(ThreadState* t);    // PyEval_RestoreThread: take the GIL, attach
  /// Py_BEGIN_ALLOW_THREADS; a blocking syscall; Py_END_ALLOW_THREADS.
  void block(const char* label);
  /// PyThreadState_New(interp) from a thread without a tstate (foreign C thread).
  ThreadState* thread_state_new(Interpreter* interp);
  /// PyThreadState_Clear + PyThreadState_DeleteCurrent: drops the GIL.
  void thread_state_delete_current();

  // ---- eval loop (eval.cc) -------------------------------------------------------------------
  /// `iterations` eval-loop iterations of the current thread; each checks the eval breaker.
  void run_bytecode(int iterations);
  /// Py_MakePendingCalls from the current thread (GIL held).
  int make_pending_calls();
  /// A C signal handler runs on this OS thread (trip_signal): flags only (bpo-30703).
  void trip_signal(int signum);

  // ---- pending calls (pending_calls.cc) ------------------------------------------------------
  /// Py_AddPendingCall (target null) or the internal per-interpreter add (target set, 3.9+).
  /// Callable with or without the GIL, from any thread. Returns 0 accepted, -1 refused.
  /// `event_text`: the kPendingAdded event's text instead of the kind's name (a forever call's
  /// re-add says "forever:again", an `adds` call's add "noop:from-call", so that observers can
  /// tell them from a program's add).
  int add_pending(PendingKind kind, Interpreter* target = nullptr, const char* event_text = nullptr);

  // ---- threads (threads.cc) ------------------------------------------------------------------
  /// threading.Thread(...).start() / _thread.start_new_thread from the current thread (GIL
  /// held). `body` runs in the new thread with its tstate attached. Thread id or error.
  struct Started {
    ApiResult result;
    platform::ThreadId thread = platform::kNoThread;
  };
  Started start_thread(ThreadKind kind, bool daemon, std::function<void()> body);
  /// threading.Thread.start()'s wait for the new thread's `_started` event (start_thread
  /// alone is _thread.start_new_thread). Needs the GIL.
  void wait_thread_started(platform::ThreadId tid);
  /// An OS thread with no thread state (C library thread, signal handler thread).
  platform::ThreadId start_c_thread(std::function<void()> body);
  /// The join of a thread without Python code around the wait (a C thread's pthread_join,
  /// threading._shutdown's lock waits): the GIL is released while waiting.
  void join_thread(platform::ThreadId t);
  /// threading.Thread.join() from the current thread (GIL held): Python code that checks the
  /// eval breaker on entry and again once the wait returned. A failing pending call at entry
  /// raises out before anything is joined; after the wait it raises out of the finished join.
  ApiResult join_threading_thread(platform::ThreadId t);
  /// PyGILState_Ensure / PyGILState_Release.
  int gilstate_ensure();
  void gilstate_release(int state);
  /// Holds a runtime lock across `points` scheduling points, GIL released (hold_lock).
  /// `taken` / `released` (optional) run as soon as the lock is taken / given back (the op log
  /// of emit-c: the GIL drop before and the GIL wait after are scheduling points).
  void hold_lock(RuntimeLock which, int points, const std::function<void()>& taken = {},
                 const std::function<void()>& released = {});
  /// `import atexit; atexit.register(fn)`: fn runs during finalisation with the GIL held.
  /// The first import in an interpreter is Python code (eval breaker): a failing pending
  /// call raises out of it and nothing is registered.
  ApiResult atexit_register(std::function<void()> fn);
  /// `threading._register_atexit(fn)` (profile has_threading_register_atexit): fn runs in the
  /// current interpreter's threading._shutdown, before its non-daemon threads are joined
  /// (LIFO). A Python call (eval breaker); RuntimeError once _shutdown started there.
  ApiResult threading_register_atexit(std::function<void()> fn);
  /// `import _signal; _signal.signal(SIGUSR2, _signal.getsignal(SIGUSR2))` from the current
  /// thread: ValueError off the signal module's main thread (and, per profile, outside the
  /// main interpreter). The first import in an interpreter checks the eval breaker.
  ApiResult set_signal_handler();
  /// `_signal` imported into the current interpreter without an eval-breaker check (what an
  /// embedding does before any Python code can be pending: interpfuzz's prelude at init).
  void import_signal_module();

  // ---- Python-level synchronisation of the program (user_sync.cc) ---------------------------
  /// L.acquire() / L.acquire(timeout=...) from the current thread (GIL held). A free lock is
  /// taken at once, GIL kept (acquire_timed's non-blocking try); otherwise the GIL is released
  /// while the thread waits and taken back after (a daemon thread waking after finalisation
  /// started exits or hangs there, per version). `timed`: the wait may expire (simulated: a
  /// scheduling choice) and returns false. `keep_waiting` (native untimed waits only): asked
  /// after each timeout slice; false gives up as a timed wait would.
  bool user_lock_acquire(UserSync& l, bool timed, const std::function<bool()>& keep_waiting = {});
  /// L.release(): false (RuntimeError raised: kError) when it is not locked. Any thread may.
  bool user_lock_release(UserSync& l);
  /// E.set(): wakes every waiter. Python code: fails when a pending call fails at its entry.
  ApiResult user_event_set(UserSync& e);
  /// E.wait() / E.wait(timeout=...): `*flag` = what it returns. Python code, as user_event_set;
  /// the wait releases the GIL as user_lock_acquire's does.
  ApiResult user_event_wait(UserSync& e, bool timed, bool* flag,
                            const std::function<bool()>& keep_waiting = {});

  // ---- fork (fork.cc) ------------------------------------------------------------------------
  /// os.fork / subprocess from the current thread (GIL held). In the child the caller returns
  /// with only itself alive; kForkExec children exec at once (the process ends).
  ForkOutcome fork(ForkKind kind, platform::ForkFollow follow);

  // ---- process -------------------------------------------------------------------------------
  [[noreturn]] void exit_process(int code);

  // ---- inspection (oracles, traces, tests) --------------------------------------------------
  const Profile& profile() const { return profile_; }
  const DefectSet& defects() const { return defects_; }
  const Canaries& canaries() const { return canaries_; }
  const Outcome& outcome() const { return outcome_; }
  std::string phase() const { return phase_.load(); }
  /// The same without a copy: always a string literal (for records written at every op).
  const char* phase_literal() const { return phase_.load(); }
  platform::Platform& platform() const { return platform_; }
  Heap& heap() { return heap_; }
  Interpreter* main_interp() const { return main_.load(); }
  Interpreter* interp_head() const { return head_; }
  Interpreter* find_interp(int64_t id) const;
  std::vector<Interpreter*> interpreters() const;
  std::vector<ThreadState*> thread_states(const Interpreter* i) const;
  Gil& main_gil() { return *main_gil_; }
  int64_t main_gil_id() const { return main_gil_->id; }
  platform::ThreadId main_thread() const { return main_thread_.load(); }
  bool finalizing() const { return finalizing_thread_ != platform::kNoThread; }
  platform::ThreadId finalizing_thread() const { return finalizing_thread_; }
  int64_t generation() const { return generation_.load(); }
  /// The ids of every pending call still queued: the runtime queue and each live
  /// interpreter's (inspection for the accounting at a process end: simulated platform, or a
  /// process whose other threads are gone).
  std::vector<int64_t> queued_pending_calls() const;
  /// Every runtime lock with its name (fork reinit and the fork oracle walk this one list).
  std::vector<const platform::Mutex*> runtime_locks() const;
  const platform::Mutex& lock(RuntimeLock l) const;
  /// Whether this version has lock `l` (locks.def's `since`).
  bool has_lock(RuntimeLock l) const;
  /// G1: no two threads hold one GIL. Returns "" or a description of the violation.
  /// G1 over every GIL, or over the main GIL only (main_gil_only: the only one a native
  /// caller can read consistently, holding that GIL's mutex, without walking the
  /// interpreter list that other threads change).
  std::string check_gil_holder_unique(bool main_gil_only = false) const;

 private:
  friend class RuntimeTestPeer;
  // runtime.cc
  void set_phase(Phase p);
  void emit(EventKind k, int64_t a = 0, int64_t b = 0, int64_t c = 0, std::string_view text = {},
            const ThreadState* t = nullptr, const Interpreter* i = nullptr);
  /// Same, with ids read earlier (for objects another thread may free meanwhile).
  void emit_ids(EventKind k, int64_t a, int64_t b, int64_t c, std::string_view text,
                int64_t tstate_id, int64_t interp_id);
  ThreadState* current_of(platform::ThreadId t) const;
  /// new_threadstate(): a tstate linked into `interp`. Null only for the kinds a finalizing
  /// or ending interpreter refuses (foreign C threads, PyGILState_Ensure); for the others a
  /// deleted `interp` is the modelled process's crash, as CPython's read of it would be.
  ThreadState* new_tstate(Interpreter* interp, ThreadKind kind, bool daemon);
  bool link_tstate(ThreadState* t);
  void unlink_tstate(ThreadState* t);
  void free_tstate(ThreadState* t);
  void take_initial_tstate_storage(ThreadState* t);
  void clear_tstate(ThreadState* t);
  /// PyInterpreterState_New: allocated and linked into the runtime's list; with
  /// claim_for_creator, Interpreter::creating_thread is set in the same HEAD_LOCK section.
  Interpreter* alloc_interpreter(const InterpConfig& cfg, bool claim_for_creator = false);
  /// -fixed: the creator attached to its new interpreter (Interpreter::creating_thread).
  void give_up_creation_claim(Interpreter* i);
  void free_interpreter(Interpreter* i);
  void delete_interp_tstates(Interpreter* i);
  bool defect(Defect d);
  void reach(Defect d) { canaries_.reach(d); }
  // `function` is the caller's __PRETTY_FUNCTION__: recorded as the canary's site, which the
  // canary-site test checks against defects.def's `site`.
  void trigger(Defect d, const char* function) {
    canaries_.trigger_at(d, function);
    // Reported as an event too: a native process that hangs or dies never returns its
    // canaries, so the harness collects them as they fire (for "known:" labels only).
    emit(EventKind::kDefectTriggered, static_cast<int64_t>(d), 0, 0, defect_info(d).name);
  }
  /// An access through `p` is about to happen. If `p` points into freed runtime memory the
  /// modelled process crashes (SIGSEGV) right here, as CPython would; otherwise returns.
  void touch(const void* p, const char* what);
  [[noreturn]] void fatal(const char* func, const char* msg, int exit_code = 134);
  [[noreturn]] void crash(std::string what);
  [[noreturn]] void end_process();  // outcome_ filled in

  // gil.cc
  Gil* gil_for(const Interpreter* i) const;
  bool interp_alive(const Interpreter* i) const;  // by the heap's record: never dereferences
  Ceval& ceval_for(const Interpreter* i);
  Gil* make_gil(int64_t id);
  void create_gil(Gil& g);
  void take_gil(ThreadState* t);
  /// `ceval` (the eval state found before the release) is required when `t` is given.
  void drop_gil(Gil& g, ThreadState* t, Ceval* ceval = nullptr);
  Ceval* ceval_of_attached(ThreadState* t);
  bool must_exit_before_gil(ThreadState* t);
  [[noreturn]] void exit_for_finalization(ThreadState* t, Gil* g, bool holds_gil_mutex);
  void release_claims_of_exiting_thread();  // -fixed only: before exit_for_finalization exits
  void attach(ThreadState* t);

  // user_sync.cc: the entry of an Event method (Python code); false when it raised.
  bool enter_event_code(UserSync& e, ThreadState* t);

  // eval.cc
  // True when a pending call failed: its exception is raised in the code that checked the
  // breaker (ceval's `goto error`). Callers that model Python code other than run_bytecode
  // still go on as if it had not (their own op's outcome is not modelled for it yet).
  bool handle_eval_breaker(ThreadState* t);
  bool can_handle_signals(const ThreadState* t) const;
  // COMPUTE_EVAL_BREAKER(interp) on the calling thread (defect breaker_not_set_off_main_thread;
  // a no-op otherwise).
  void compute_eval_breaker(Interpreter* interp);
  void handle_signals(ThreadState* t);
  void clear_tripped_signals();
  /// CPython prints an exception on stderr (_PyErr_Print, PyErr_WriteUnraisable): writing it
  /// goes through PyObject_Str, whose first act is PyErr_CheckSignals.
  void print_exception(ThreadState* t);

  // pending_calls.cc
  PendingQueue* route_pending(Interpreter* target, ThreadState* caller, Interpreter** run_in);
  bool can_handle_pending(const ThreadState* t, const PendingQueue& q) const;
  int run_pending_queue(ThreadState* t, PendingQueue& q, int maxloop);
  void run_one_pending(ThreadState* t, const PendingQueue& q, const PendingCall& c);
  void finish_pending_calls(ThreadState* t);
  void drain_until_empty(ThreadState* t, PendingQueue& q);
  int pass_max(const PendingQueue& q) const;  // the profile's per-pass bound for this queue
  void drop_queue(PendingQueue& q);
  void signal_pending(PendingQueue& q, Interpreter* owner);

  // threads.cc
  void thread_bootstrap(ThreadState* t, const std::function<void()>& body);
  void wait_for_thread_shutdown(ThreadState* t);
  ApiResult can_start_thread(ThreadState* caller, bool daemon) const;

  // fork.cc
  ApiResult fork_refusal(ThreadState* t, ForkKind kind) const;
  void before_fork(ThreadState* t);
  void after_fork_parent(ThreadState* t);
  void after_fork_child(ThreadState* t);
  void reinit_runtime_locks();
  void delete_threads_except(ThreadState* keep);
  /// -fixed: a non-daemon thread inside a leftover subinterpreter, which the early
  /// finalize_subinterpreters joins before ending it (HEAD_LOCK held; docs/design-notes.md §16).
  platform::ThreadId nondaemon_thread_inside(Interpreter* victim);
  /// 3.14 (gh-124878): keeps `p` allocated and marked shutting down for its live OS thread;
  /// false when the profile has no refcount or no live thread holds it (then it is freed).
  bool shut_down_for_owner(ThreadState* p);
  /// The thread ending leftover subinterpreters or finalizing (the -fixed claims' arbiter).
  bool is_finalizer(platform::ThreadId th) const {
    return th == finalizing_thread_.load() || th == subinterp_finalizer_.load();
  }
  bool finalizer_waits() const {
    return finalizing_thread_.load() != platform::kNoThread ||
           subinterp_finalizer_.load() != platform::kNoThread;
  }
  void delete_interps_except_main(ThreadState* t);

  // finalize.cc
  void run_atexit(ThreadState* t);
  void close_pending_queues(Interpreter* interp);
  /// Records the finalizing thread as the leftovers' ender (the claims' arbiter) around
  /// finalize_subinterpreters, CPython's function (the defects' site).
  void end_leftover_subinterpreters(ThreadState* t);
  void finalize_subinterpreters(ThreadState* t);
  /// resolve_final_tstate (3.13+, knob finalize_resolves_main_tstate): Py_FinalizeEx's first
  /// step reads runtime->main_tstate when called on the main thread from another tstate.
  void resolve_final_tstate(ThreadState* t);
  void interpreter_clear(Interpreter* i, ThreadState* caller);
  void interpreter_delete(Interpreter* i);
  void runtime_fini();

  // A lock, condition or queue inside a freed interpreter or GIL, used: the modelled
  // process's crash, named after the lock (Heap::name_part), never a read of freed memory.
  class LockLifetimeGuard final : public platform::ObjectGuard {
   public:
    explicit LockLifetimeGuard(Runtime& rt) : rt_(rt) {}
    void before_use(const void* object, const char* op) override;
   private:
    Runtime& rt_;
  };
  /// Names the locks inside a heap block for LockLifetimeGuard's reports.
  void name_interp_locks(Interpreter* i);
  void name_gil_locks(Gil* g);

  platform::Platform& platform_;
  const Profile profile_;
  DefectSet defects_;
  RuntimeObserver* observer_;
  Canaries canaries_;
  Outcome outcome_;
  // Read by parked threads as they exit (events, outcomes) while the finaliser moves on:
  // atomic, and always a string literal.
  std::atomic<const char*> phase_{phase_name(Phase::kPreInit)};  // a phases.def label
  Heap heap_;
  LockLifetimeGuard lock_guard_{*this};

  // ---- _PyRuntimeState ----
  // The fields other threads read without the GIL (C threads in Py_AddPendingCall, daemons
  // in take_gil's must-exit check) are atomics, as CPython's _finalizing is; plain fields
  // are written and read with the GIL or HEAD_LOCK held.
  std::atomic<bool> initialized_{false};
  // gilstate.check_enabled: Py_NewInterpreter clears it (issues 10915/15751: the GILState API
  // does not know subinterpreters), _PyRuntimeState_Init sets it (see the profile's knob).
  std::atomic<bool> gilstate_check_enabled_{true};
  // The GILState TSS key exists: from Py_Initialize (_PyGILState_Init) to _PyRuntime_Finalize.
  std::atomic<bool> gilstate_key_created_{false};
  std::atomic<int64_t> generation_{0};  // runtime lifetimes started (re-initialisation increments)
  std::atomic<platform::ThreadId> finalizing_thread_{platform::kNoThread};
  std::atomic<ThreadState*> finalizing_tstate_{nullptr};  // compared only (gh-109793)
  std::atomic<platform::ThreadId> subinterp_finalizer_{platform::kNoThread};
  std::atomic<platform::ThreadId> main_thread_{platform::kNoThread};
  // runtime->main_tstate (3.13+): the main thread's tstate as Py_Initialize made it. CPython
  // never updates it after a fork (defect fork_child_stale_main_tstate); the fixed design
  // points it at the forking thread's tstate, which is the child's main thread's, and forgets
  // it when it is deleted (free_tstate): null = nothing to swap to.
  std::atomic<ThreadState*> main_tstate_{nullptr};
  Interpreter* head_ = nullptr;
  std::atomic<Interpreter*> main_{nullptr};  // null after finalisation (PyInterpreterState_Delete)
  // Live thread states whose (embedded) storage another thread's free_threadstate reset to
  // _PyThreadState_INIT under them (defect gh126914): their interp reads NULL from then on.
  // touch() checks them; a handful at most per execution, added and never removed.
  static constexpr size_t kMaxResetTstates = 8;
  std::array<std::atomic<const void*>, kMaxResetTstates> reset_tstates_{};
  std::atomic<size_t> reset_tstates_used_{0};
  int64_t next_interp_id_ = 0;
  std::atomic<int64_t> next_tstate_id_{0};  // C threads create tstates without the GIL
  std::atomic<int64_t> next_call_id_{0};
  std::unique_ptr<Gil> main_gil_;  // static storage in CPython: survives finalisation
  Ceval runtime_ceval_;            // ≤3.8 eval breaker; 3.12+ main-thread pending signal
  std::unique_ptr<PendingQueue> runtime_pending_;  // ≤3.8 global queue / 3.12+ main-thread queue
  std::atomic<bool> signal_tripped_{false};
  std::array<std::atomic<bool>, 65> tripped_signals_{};  // by signal number (async-signal-safe)
  std::atomic<bool> pending_busy_global_{false};  // 3.9–3.11 `static int busy` in make_pending_calls
  platform::Mutex head_lock_;
  // -fixed: signalled (with head_lock_) when an interpreter being ended by some thread is
  // unlinked or its ender exits; finalize_subinterpreters waits on it (Interpreter::ending_thread).
  platform::CondVar ending_done_;
  // threading.Thread.start() waits on the new thread's `_started` Event (a lock and a
  // condition in CPython): one pair for every thread, the flag is PerThread::started.
  platform::Mutex started_lock_;
  platform::CondVar started_cond_;
  platform::Mutex orphan_join_lock_;  // waited on by a join that can never return (3.7 fork)
  platform::CondVar orphan_join_cond_;
  platform::Mutex xid_lock_;          // locks.def: named there, found through Runtime::lock
  platform::Mutex unicode_ids_lock_;
  platform::Mutex import_lock_;
  // Per OS thread (indexed by platform::ThreadId), fixed size so that native threads never
  // race on a resize. Each slot is written only by its own thread (or a fork child / the
  // finaliser once that thread can no longer run).
  static constexpr int kMaxThreads = 1024;
  struct PerThread {
    std::atomic<ThreadState*> current{nullptr};   // _PyThreadState_GET
    std::atomic<ThreadState*> bound{nullptr};     // last tstate attached here (kept when detached)
    std::atomic<bool> ending_interp{false};       // inside Py_EndInterpreter (a claim unless finalize_ends_claimed_interp)
    std::atomic<bool> creating_interp{false};     // inside Py_NewInterpreter (a claim unless finalize_ends_claimed_interp)
    std::atomic<bool> started{false};             // threading.Thread._started was set (ids are never reused)
    std::atomic<bool> start_failed{false};        // made to exit before it started
    std::atomic<bool> has_starter{false};         // a threading thread: Thread.start() waits for it
    // The GIL this thread is inside take_gil / drop_gil of (it holds the pointer): what the
    // canaries of defects that free or hand over a GIL under another thread look at.
    std::atomic<const Gil*> inside_gil{nullptr};
    std::atomic<ThreadState*> gilstate{nullptr};  // the autoTSS key (main-interpreter tstates only)
    // Set while the thread acts on what it found before a preemption in an instruction
    // window (Point::kWindow) changed it: a crash then needed that preemption (Outcome::window).
    std::atomic<const char*> window{nullptr};
  };
  PerThread& per_thread(platform::ThreadId t);
  const PerThread& per_thread(platform::ThreadId t) const;
  /// A thread other than the caller is inside take_gil / drop_gil of `g` (canaries only).
  bool another_thread_inside(const Gil* g) const;
  // A table in its initial state: recycled from a runtime this OS thread destroyed earlier, or
  // new. A fuzzer makes a runtime per execution, and initialising 1024 slots (32 KiB) each
  // time showed in its profile; a destroyed runtime re-initialises only the slots below its
  // threads_used_ (the others were never touched) and hands its table back.
  using ThreadTable = std::unique_ptr<PerThread[]>;
  static ThreadTable take_thread_table();
  static void recycle_thread_table(ThreadTable table, int used);
  static std::vector<ThreadTable>& spare_thread_tables();  // this OS thread's: no lock
  ThreadTable threads_ = take_thread_table();
  // One past the highest thread id per_thread() was asked for: entries above it were never
  // touched, so whole-table sweeps (runtime_fini) stop here. Only grows.
  std::atomic<int> threads_used_{0};
  std::atomic<bool> pending_closed_{false};  // finalisation's last drain ran: Add must refuse (P6)
  // The thread running Py_FinalizeEx's own pending-call drain (finish_pending_calls), while it
  // does. A call that thread's pending calls add meanwhile would feed the drain it runs in:
  // without defect pending_add_after_finalize it is refused as after the close (3.15's
  // pre-finalisation loop drains with the queues still open, so a call that re-adds itself
  // would keep finalisation alive for good); with it, accepted (real CPython 3.13+ never
  // returns from such a drain).
  std::atomic<platform::ThreadId> finalize_drain_thread_{platform::kNoThread};
  // Python callbacks run at an interpreter's shutdown, each with the id of the interpreter it
  // was registered in (ids are unique within a runtime lifetime, S3): atexit.register's, run
  // by Py_FinalizeEx (main) or Py_EndInterpreter; threading._register_atexit's, run by that
  // interpreter's threading._shutdown. Leftovers of interpreters never ended go with the
  // runtime (runtime_fini).
  struct ShutdownHook {
    int64_t interp_id = 0;
    std::function<void()> fn;
  };
  std::vector<ShutdownHook> atexit_;
  std::vector<ShutdownHook> threading_atexit_;
  /// Takes the newest hook of `interp_id` out of `hooks` (LIFO, as atexit runs them).
  static bool pop_hook(std::vector<ShutdownHook>& hooks, int64_t interp_id, std::function<void()>* out);
  static bool has_hook(const std::vector<ShutdownHook>& hooks, int64_t interp_id);
  // 3.7 signalmodule.c's own main_thread (signal_main_thread_is_first_importer): the thread of
  // the lifetime's first `_signal` import, or the forking thread in a fork child.
  std::atomic<platform::ThreadId> signal_main_thread_{platform::kNoThread};
  bool signal_module_loaded_ = false;  // PyInit__signal ran in this lifetime
  ThreadRecords threading_threads_;
  // 3.7 keeps the other interpreters in a fork child without running their
  // threading._after_fork (fork_orphans_other_interp_threads): their vanished threads become
  // ThreadRecord::orphaned.
  bool fork_orphans_threads() const {
    return !profile_.fork_deletes_other_interps &&
           defects_.has(Defect::kForkOrphansOtherInterpThreads);
  }
};

}  // namespace ifz::rt
