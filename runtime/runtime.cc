// SPDX-License-Identifier: Apache-2.0
// runtime.cc — _PyRuntimeState: construction, Py_Initialize, thread-state and interpreter
// bookkeeping (CPython Python/pystate.c), and the process-ending outcomes.
#include "runtime/runtime.h"

#include <csignal>
#include <new>

#include "base/check.h"

namespace ifz::rt {

using platform::ThreadId;

namespace {
DefectSet merge(DefectSet a, const DefectSet& b) {
  for (const DefectInfo& d : all_defects()) {
    if (b.has(d.id)) a.set(d.id);
  }
  return a;
}
}  // namespace

Runtime::Runtime(platform::Platform& platform, const Profile& profile, DefectSet extra_defects,
                 RuntimeObserver* observer)
    : platform_(platform),
      profile_(profile),
      defects_(merge(profile.defects, extra_defects)),
      observer_(observer),
      head_lock_(platform, runtime_lock_info(RuntimeLock::kHead).mutex_name),
      ending_done_(platform, "interp_ending_done"),
      started_lock_(platform, "Thread._started.lock"),
      started_cond_(platform, "Thread._started.cond"),
      orphan_join_lock_(platform, "Thread._tstate_lock(vanished)"),
      orphan_join_cond_(platform, "Thread._tstate_lock(vanished).cond"),
      xid_lock_(platform, runtime_lock_info(RuntimeLock::kXidRegistry).mutex_name),
      unicode_ids_lock_(platform, runtime_lock_info(RuntimeLock::kUnicodeIds).mutex_name),
      import_lock_(platform, runtime_lock_info(RuntimeLock::kImport).mutex_name) {
  main_gil_ = std::make_unique<Gil>(platform, /*id=*/0);
  platform_.set_object_guard(&lock_guard_);
}

Runtime::~Runtime() {
  if (platform_.object_guard() == &lock_guard_) platform_.set_object_guard(nullptr);
  // Objects the model never freed (process exit, fork) are released here; the Mutexes inside
  // them need the platform, which outlives the runtime.
  heap_.release_all();
  recycle_thread_table(std::move(threads_), threads_used_.load());
}

// Tables of destroyed runtimes, each back in its initial state. Per OS thread, so no lock: a
// runtime destroyed on another thread than it was made on just feeds that thread's pool.
std::vector<Runtime::ThreadTable>& Runtime::spare_thread_tables() {
  thread_local std::vector<ThreadTable> spare;
  return spare;
}

Runtime::ThreadTable Runtime::take_thread_table() {
  std::vector<ThreadTable>& spare = spare_thread_tables();
  if (spare.empty()) return std::make_unique<PerThread[]>(kMaxThreads);
  ThreadTable table = std::move(spare.back());
  spare.pop_back();
  return table;
}

void Runtime::recycle_thread_table(ThreadTable table, int used) {
  constexpr size_t kKept = 4;
  std::vector<ThreadTable>& spare = spare_thread_tables();
  if (table == nullptr || spare.size() >= kKept) return;
  // invariant (per_thread): slots at or above `used` were never written.
  for (int i = 0; i < used; ++i) new (&table[i]) PerThread();
  spare.push_back(std::move(table));
}

// ---------------------------------------------------------------------------------------------
// helpers

Runtime::PerThread& Runtime::per_thread(ThreadId t) {
  IFZ_CHECK(static_cast<unsigned>(t) < kMaxThreads,  // also rejects t < 0: one comparison
            "thread id out of range (raise Runtime::kMaxThreads)");
  int used = threads_used_.load(std::memory_order_relaxed);
  while (used <= t && !threads_used_.compare_exchange_weak(used, static_cast<int>(t) + 1)) {
  }
  return threads_[t];
}
const Runtime::PerThread& Runtime::per_thread(ThreadId t) const {
  IFZ_CHECK(static_cast<unsigned>(t) < kMaxThreads,  // also rejects t < 0: one comparison
            "thread id out of range (raise Runtime::kMaxThreads)");
  return threads_[t];
}

bool Runtime::another_thread_inside(const Gil* g) const {
  const ThreadId self = platform_.current();
  for (int t = 0, n = threads_used_.load(); t < n; ++t) {
    if (t != self && threads_[t].inside_gil.load() == g) return true;
  }
  return false;
}

ThreadState* Runtime::current() const { return per_thread(platform_.current()).current.load(); }
ThreadState* Runtime::gilstate_tstate() const { return per_thread(platform_.current()).gilstate.load(); }

int Runtime::gilstate_check() const {
  // PyGILState_Check: 1 whenever it cannot tell (checks disabled, no key: before Py_Initialize
  // and after finalisation; a thread-local key always exists), 0 without a current tstate,
  // else whether the current tstate is the one the GILState key names for this thread. Reads
  // no thread-state memory.
  if (!gilstate_check_enabled_.load()) return 1;
  if (!profile_.gilstate_key_thread_local && !gilstate_key_created_.load()) return 1;
  const PerThread& pt = per_thread(platform_.current());
  const ThreadState* cur = pt.current.load();
  if (cur == nullptr) return 0;
  return cur == pt.gilstate.load() ? 1 : 0;
}
ThreadState* Runtime::current_of(ThreadId t) const { return per_thread(t).current.load(); }

bool Runtime::defect(Defect d) {
  reach(d);
  return defects_.has(d);
}

void Runtime::set_phase(Phase p) {
  const char* const phase = phase_name(p);  // a literal: phase_ and the point keep the pointer
  phase_ = phase;
  emit(EventKind::kPhase, 0, 0, 0, phase);
  // Every lifecycle phase boundary is a scheduling point (DESIGN D1): parked threads may wake
  // between any two phases.
  platform_.point({platform::Point::kPhase, phase, nullptr});
}

void Runtime::emit(EventKind k, int64_t a, int64_t b, int64_t c, std::string_view text,
                   const ThreadState* t, const Interpreter* i) {
  if (observer_ == nullptr) return;
  emit_ids(k, a, b, c, text, t ? t->id : -1, i ? i->id : -1);
}

void Runtime::emit_ids(EventKind k, int64_t a, int64_t b, int64_t c, std::string_view text,
                       int64_t tstate_id, int64_t interp_id) {
  if (observer_ == nullptr) return;
  // The Event is reused, per OS thread: its text keeps its capacity, so an event allocates
  // nothing (phase names are longer than std::string's inline buffer, and the fuzzers emit a
  // dozen phases per execution). An observer cannot emit (it sees a const Runtime), and no
  // scheduling point runs inside on_event; `in_use` keeps a nested emit correct regardless.
  thread_local Event reused;
  thread_local bool in_use = false;
  Event fresh;
  Event& e = in_use ? fresh : reused;
  const bool outer = !in_use;
  in_use = true;
  e.kind = k;
  e.thread = platform_.current();
  e.tstate = tstate_id;
  e.interp = interp_id;
  e.a = a;
  e.b = b;
  e.c = c;
  e.text.assign(text);
  observer_->on_event(e);
  if (outer) in_use = false;
}

void Runtime::LockLifetimeGuard::before_use(const void* object, const char* op) {
  if (!rt_.heap_.freed(object)) return;
  // "use-after-free: lock interp->ceval.pending.lock (freed PyInterpreterState)": the site
  // (operation + lock) is the finding's signature, as for touch().
  const char* name = rt_.heap_.part_name(object);
  rt_.crash(std::string("use-after-free: ") + op + " " + (*name ? name : "a runtime lock") +
            " (freed " + rt_.heap_.label(object) + ")");
}

void Runtime::name_interp_locks(Interpreter* i) {
  heap_.name_part(&i->id_mutex, "interp->id_mutex");
  heap_.name_part(&i->pending.lock, "interp->ceval.pending.lock");
  heap_.name_part(&i->pending.done, "interp->ceval.pending.done");
}

void Runtime::name_gil_locks(Gil* g) {
  heap_.name_part(&g->mutex, "gil->mutex");
  heap_.name_part(&g->cond, "gil->cond");
  heap_.name_part(&g->switch_mutex, "gil->switch_mutex");
  heap_.name_part(&g->switch_cond, "gil->switch_cond");
}

void Runtime::touch(const void* p, const char* what) {
  if (p == nullptr) crash(std::string("NULL dereference: ") + what);
  for (size_t i = 0, n = reset_tstates_used_.load(); i < n && i < kMaxResetTstates; ++i) {
    if (reset_tstates_[i].load() == p) {
      crash(std::string("NULL dereference: ") + what +
            " (the thread state was reset to _PyThreadState_INIT by another thread's "
            "free_threadstate: interp NULL)");
    }
  }
  if (heap_.freed(p)) {
    crash(std::string("use-after-free: ") + what + " (freed " + heap_.label(p) + ")");
  }
}

// The process-ending paths keep nothing heap-owning in locals: abort_process() never returns
// and the simulated platform abandons this coroutine's frames, so a std::string local here
// would leak (LeakSanitizer). Everything goes into outcome_, a member.
void Runtime::fatal(const char* func, const char* msg, int exit_code) {
  outcome_.kind = Outcome::Kind::kFatal;
  outcome_.exit_code = exit_code;
  outcome_.message = fatal_text(func, msg);
  emit(EventKind::kFatal, exit_code, 0, 0, outcome_.message);
  end_process();
}

void Runtime::crash(std::string what) {
  outcome_.kind = Outcome::Kind::kCrash;
  outcome_.exit_code = 128 + SIGSEGV;
  outcome_.message = std::move(what);
  if (const char* w = per_thread(platform_.current()).window.load()) outcome_.window = w;
  emit(EventKind::kCrash, 0, 0, 0, outcome_.message);
  end_process();
}

void Runtime::end_process() {
  outcome_.thread = platform_.current();
  outcome_.phase = phase_;
  platform_.report("outcome " + std::string(outcome_kind_name(outcome_.kind)) + " " +
                   std::to_string(outcome_.exit_code) + " " + outcome_.message + "\n");
  if (outcome_.kind == Outcome::Kind::kFatal && outcome_.exit_code != 134) {
    platform_.exit_process(outcome_.exit_code);
  }
  platform_.abort_process(outcome_.message);
}

void Runtime::exit_process(int code) {
  outcome_.kind = Outcome::Kind::kExit;
  outcome_.exit_code = code;
  outcome_.thread = platform_.current();
  outcome_.phase = phase_;
  platform_.exit_process(code);
}

// ---------------------------------------------------------------------------------------------
// thread states

ThreadState* Runtime::new_tstate(Interpreter* interp, ThreadKind kind, bool daemon) {
  // new_threadstate() reads interp->runtime first: the caller's pointer may be stale (its
  // holder was parked while a finalizing thread freed the interpreter).
  touch(interp, "new_threadstate: interp");
  auto* t = heap_.make<ThreadState>("PyThreadState", next_tstate_id_++, interp, kind, daemon);
  t->runtime_generation = generation_;
  t->holder = platform_.current();
  heap_.set_tag(t, t->runtime_generation);  // readable after the free (must_exit_before_gil)
  // kTstateCreated is reported by link_tstate, under HEAD_LOCK: once the lock is released,
  // others see the tstate in its interpreter's list (Py_EndInterpreter's last-thread check)
  // and the interpreter (and even `t`) may be freed by a finalising thread.
  if (!link_tstate(t)) {
    heap_.destroy(t);  // never visible to anyone
    // Only a foreign thread is refused by design; for the others the interpreter was deleted
    // while this thread waited for HEAD_LOCK: CPython links the tstate into freed memory.
    const bool foreign = kind == ThreadKind::kForeignC || kind == ThreadKind::kGilState;
    if (!foreign) {
      touch(interp, "new_threadstate: interp->threads.head");
      crash("use-after-free: new_threadstate: interp->threads.head (deleted PyInterpreterState)");
    }
    return nullptr;
  }
  return t;
}

bool Runtime::link_tstate(ThreadState* t) {
  // CPython new_threadstate(): HEAD_LOCK protects every interpreter's thread list.
  head_lock_.lock();
  // A C thread making a tstate races with Py_EndInterpreter / Py_FinalizeEx of its target
  // (HEAD_LOCK is a scheduling point): decided under the lock, a finalizing or deleted
  // interpreter gets no new thread state (pointer comparison only: no access to freed memory).
  const bool foreign = t->kind == ThreadKind::kForeignC || t->kind == ThreadKind::kGilState;
  if (!interp_alive(t->interp) ||
      (foreign && (t->interp->finalizing.load() || finalizing_thread_ != platform::kNoThread))) {
    head_lock_.unlock();
    return false;
  }
  if (profile_.static_initial_storage && t->interp->tstate_head == nullptr) {
    take_initial_tstate_storage(t);  // may end the process (HEAD_LOCK held, as in CPython)
  }
  t->next = t->interp->tstate_head;
  if (t->next) t->next->prev = t;
  t->interp->tstate_head = t;
  emit(EventKind::kTstateCreated, 0, 0, 0, thread_kind_name(t->kind), t, t->interp);
  head_lock_.unlock();
  return true;
}

void Runtime::take_initial_tstate_storage(ThreadState* t) {
  // 3.11+ new_threadstate(): an interpreter with no thread state gets its embedded
  // _initial_thread, and init_threadstate() refuses one already initialised. 3.11/3.12 never
  // reset it when it is deleted, so a second "first" thread state is fatal ([EXP] 3.11.2,
  // 3.11.7, 3.12.1); 3.13's free_threadstate() restores it to the initial state. Called with
  // HEAD_LOCK held.
  Interpreter* i = t->interp;
  if (i->initial_tstate_in_use) {
    // Its occupant is unlinked but not yet deleted. 3.13.x after PR gh-126989 hands the
    // storage out as a token (interp->threads_preallocated, taken by an atomic exchange and
    // put back only after the reset): a new tstate is allocated instead. 3.13.0 takes "the
    // list is empty" to mean "the storage is free" (gh-126914).
    if (!defect(Defect::kGh126914InitialTstateTakenWhileDeleted)) return;
    trigger(Defect::kGh126914InitialTstateTakenWhileDeleted, __PRETTY_FUNCTION__);
  }
  if (i->initial_tstate_initialized && defect(Defect::kInitialTstateNotReset)) {
    trigger(Defect::kInitialTstateNotReset, __PRETTY_FUNCTION__);
    fatal("init_threadstate", "thread state already initialized");
  }
  i->initial_tstate_in_use = true;
  i->initial_tstate_initialized = true;
  i->initial_tstate_occupant = t;
  t->embedded = true;
}

void Runtime::unlink_tstate(ThreadState* t) {
  head_lock_.lock();
  // Taking HEAD_LOCK is a scheduling point: another thread may have freed t meanwhile
  // (finalisation deleting a daemon's tstate); the access below is then a use-after-free.
  touch(t, "tstate_delete_common: tstate");
  touch(t->interp, "tstate_delete_common: tstate->interp");
  // The neighbours too: with two threads deleting one interpreter's thread states (defect
  // finalize_ends_claimed_interp), a neighbour may already be freed.
  if (t->prev) touch(t->prev, "tstate_delete_common: tstate->prev->next");
  if (t->next) touch(t->next, "tstate_delete_common: tstate->next->prev");
  if (t->prev) t->prev->next = t->next;
  else t->interp->tstate_head = t->next;
  if (t->next) t->next->prev = t->prev;
  t->prev = t->next = nullptr;
  head_lock_.unlock();
}

void Runtime::clear_tstate(ThreadState* t) {
  t->cleared = true;
  t->frames = 0;
}

void Runtime::free_tstate(ThreadState* t) {
  touch(t, "free_threadstate: tstate (double free)");  // unlinking ended with a scheduling point
  // The OS thread's slots must not keep pointing at freed memory *for the runtime's own
  // bookkeeping*; a parked thread still holds its own copy of the pointer, as in CPython.
  if (t->thread != platform::kNoThread) {
    PerThread& pt = per_thread(t->thread);
    ThreadState* expected = t;
    pt.gilstate.compare_exchange_strong(expected, nullptr);
    expected = t;
    pt.bound.compare_exchange_strong(expected, nullptr);  // routing must not follow it (P3)
  }
  // Its interpreter may be gone too (two threads deleting one interpreter: an embedded
  // tstate is storage inside it); CPython's free_threadstate reads tstate->interp.
  touch(t->interp, "free_threadstate: tstate->interp");
  emit(EventKind::kTstateDeleted, 0, 0, 0, {}, t, t->interp);
  // The fixed design keeps runtime->main_tstate from dangling; CPython (the defect) leaves it.
  if (main_tstate_.load() == t && !defects_.has(Defect::kForkChildStaleMainTstate)) {
    main_tstate_ = nullptr;
  }
  if (t->embedded) {
    // Storage inside the interpreter: it stays readable until the interpreter is freed. The
    // slot is free again; whether it counts as initialised is take_initial_tstate_storage's
    // business (the defect keeps the flag).
    Interpreter* i = t->interp;
    // Two threads deleting one interpreter (finalize_ends_claimed_interp) both zap its threads:
    // the storage is retired once; CPython's second free_threadstate of it frees nothing either
    // (what the second deleter reads is the use-after-free and fatal oracles' business).
    if (t->deleted) return;
    t->deleted = true;
    ThreadState* const occupant = i->initial_tstate_occupant;
    if (occupant != t && occupant != nullptr && !occupant->deleted) {
      // Only with gh126914: a live tstate took the storage after `t` was unlinked. 3.13.0's
      // free_threadstate resets the storage without HEAD_LOCK, i.e. that tstate's fields
      // (interp NULL): its thread's next read of them is a NULL dereference. The storage stays
      // taken (the live tstate is still linked) and is no longer initialised.
      const size_t slot = reset_tstates_used_.load();
      if (slot < kMaxResetTstates) {
        reset_tstates_[slot].store(occupant);
        reset_tstates_used_.store(slot + 1);
      }
      i->initial_tstate_initialized = false;
      t->next = i->retired_initial_tstates;
      i->retired_initial_tstates = t;
      return;
    }
    i->initial_tstate_in_use = false;
    i->initial_tstate_occupant = nullptr;
    if (!defects_.has(Defect::kInitialTstateNotReset)) i->initial_tstate_initialized = false;
    t->next = i->retired_initial_tstates;
    i->retired_initial_tstates = t;
    return;
  }
  heap_.destroy(t);
}

std::vector<ThreadState*> Runtime::thread_states(const Interpreter* i) const {
  std::vector<ThreadState*> out;
  for (ThreadState* t = i->tstate_head; t != nullptr; t = t->next) out.push_back(t);
  return out;
}

// ---------------------------------------------------------------------------------------------
// interpreters

Interpreter* Runtime::alloc_interpreter(const InterpConfig& cfg, bool claim_for_creator) {
  const bool ring = profile_.pending_capacity == PendingCapacity::kRing32;
  head_lock_.lock();
  const int64_t id = next_interp_id_++;  // S3: monotonic within a runtime lifetime
  head_lock_.unlock();
  auto* i = heap_.make<Interpreter>("PyInterpreterState", platform_, id, cfg, ring,
                                    ring ? PendingQueue::kRingSize - 1 : 300);
  name_interp_locks(i);
  if (profile_.per_interp_gil && cfg.own_gil) {
    i->own_gil = heap_.make<Gil>("GIL", platform_, id);
    name_gil_locks(i->own_gil);
    create_gil(*i->own_gil);
    i->gil = i->own_gil;
  } else {
    i->gil = main_gil_.get();
  }
  head_lock_.lock();
  if (claim_for_creator) {
    i->creating_thread = platform_.current();
    per_thread(platform_.current()).creating_interp = true;
  }
  i->next = head_;
  head_ = i;
  // Reported while HEAD_LOCK is held: from its release on, others see it in the list.
  emit(EventKind::kInterpCreated, 0, 0, 0, {}, nullptr, i);
  head_lock_.unlock();
  return i;
}

void Runtime::free_interpreter(Interpreter* i) {
  const bool was_main = i == main_;
  if (was_main) main_ = nullptr;  // PyInterpreterState_Delete: interpreters->main = NULL
  emit(EventKind::kInterpDeleted, 0, 0, 0, {}, nullptr, i);
  drop_queue(i->pending);
  // An own GIL lives inside the interpreter in CPython (interp->_gil) and goes with it, even
  // while another thread still waits on it: a daemon in drop_gil's FORCE_SWITCHING wait, which
  // a finalizing thread's take_gil just satisfied, wakes on freed memory (3.13 with
  // finalize_subinterpreters). The -fixed twins keep GIL storage until the runtime object
  // goes, as the main GIL's storage is static: a late waiter then finds a GIL and, taking it,
  // the must-exit check.
  if (i->own_gil && defect(Defect::kOwnGilFreedWithWaiters)) {
    if (another_thread_inside(i->own_gil)) trigger(Defect::kOwnGilFreedWithWaiters, __PRETTY_FUNCTION__);
    heap_.destroy(i->own_gil);
  }
  // 3.11+ the main interpreter is _PyRuntime._main_interpreter: never freed (a thread still
  // holding it reads live memory; re-initialisation builds a new one here, CPython resets the
  // same storage). Its initial thread states go with it, i.e. stay too.
  if (profile_.static_initial_storage && was_main) {
    i->deleted = true;
    return;
  }
  for (ThreadState* t = i->retired_initial_tstates; t != nullptr;) {
    ThreadState* next = t->next;
    heap_.destroy(t);
    t = next;
  }
  heap_.destroy(i);
}

Interpreter* Runtime::find_interp(int64_t id) const {
  for (Interpreter* i = head_; i != nullptr; i = i->next) {
    if (i->id == id) return i;
  }
  return nullptr;
}

std::vector<Interpreter*> Runtime::interpreters() const {
  std::vector<Interpreter*> out;
  for (Interpreter* i = head_; i != nullptr; i = i->next) out.push_back(i);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Py_Initialize

void Runtime::initialize() {
  IFZ_PRECONDITION(!initialized_, "Py_Initialize on an initialized runtime");
  const ThreadId self = platform_.current();
  // _PyRuntimeState_Init: a new runtime lifetime. finalizing is cleared, the id counter
  // restarts (S3: ids repeat across lifetimes), the main thread is the caller.
  ++generation_;
  finalizing_thread_ = platform::kNoThread;
  finalizing_tstate_ = nullptr;
  next_interp_id_ = 0;
  main_thread_ = self;
  // PyInit__signal runs again at the lifetime's first import (_PyImport_Fini dropped the
  // extension's copy).
  signal_module_loaded_ = false;
  signal_main_thread_ = platform::kNoThread;
  if (generation_ == 1 || profile_.gilstate_check_reenabled_by_init) gilstate_check_enabled_ = true;
  set_phase(generation_ == 1 ? Phase::kInit : Phase::kReinit);
  // bpo-20891 (3.7): the GIL is created eagerly by Py_Initialize. Its storage is static in
  // CPython, so threads still parked on it from an earlier lifetime stay parked on it.
  create_gil(*main_gil_);
  const bool ring = profile_.pending_capacity == PendingCapacity::kRing32;
  if (runtime_pending_) {
    drop_queue(*runtime_pending_);
    runtime_pending_->reset();
  } else {
    runtime_pending_ = std::make_unique<PendingQueue>(
        platform_, /*owner_interp=*/-1, ring, ring ? PendingQueue::kRingSize - 1 : 32);
  }
  main_ = alloc_interpreter(InterpConfig{});
  main_.load()->main_thread = self;
  // pycore_create_interpreter: nobody can reach the new main interpreter before it is done.
  main_.load()->creation = Interpreter::Creation::kReady;
  ThreadState* t = new_tstate(main_, ThreadKind::kMain, /*daemon=*/false);
  t->thread = self;
  t->bound = true;
  t->bound_gilstate = true;
  per_thread(self).gilstate.store(t);
  gilstate_key_created_ = true;  // _PyGILState_Init
  main_tstate_ = t;  // pyinit_core: runtime->main_tstate
  take_gil(t);
  attach(t);
  // The queues open last: a call accepted while the queues are being reset (a C thread
  // racing the re-initialisation) would be dropped with the old contents.
  pending_closed_ = false;
  initialized_ = true;
  if (generation_ > 1) emit(EventKind::kReinitialized, generation_);
  set_phase(Phase::kRunning);
}

}  // namespace ifz::rt
