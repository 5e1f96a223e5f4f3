// SPDX-License-Identifier: Apache-2.0
// ops.cc — what each program operation does on the runtime, with its precondition.
// An op whose precondition fails is skipped (and traced): the program would be misusing the
// C API, which is not what interpfuzz looks for, and skipping keeps every program runnable.
// Preconditions also rule out program-level deadlocks (a join only waits for a thread with a
// higher script index) so that a deadlock finding is always the runtime's.
#include "harness/exec/contained_run.h"
#include "harness/exec/flight_recorder.h"
#include "harness/exec/execution.h"
#include "harness/exec/program_deadlock.h"
#include "harness/program/text_format.h"
#include "base/check.h"
#include "runtime/platform/native.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace ifz::harness::exec_internal {

using platform::ThreadId;

void ThreadCtx::forget_tstates() {
  home = saved = created = gilstate = nullptr;
  gilstate_depth = 0;
  own.fill(nullptr);
  prev.fill(nullptr);
}

void ThreadCtx::forget(const TstateSet& gone) {
  auto went = [&](rt::ThreadState* t) { return t != nullptr && gone.has(t); };
  for (rt::ThreadState** p : {&home, &saved, &created}) *p = went(*p) ? nullptr : *p;
  for (auto& t : own) t = went(t) ? nullptr : t;
  for (auto& t : prev) t = went(t) ? nullptr : t;
  // Ensures are released innermost first: those above a forgotten level cannot be either.
  for (int i = 0; i < gilstate_depth; ++i) {
    if (went(gilstate_tstates[i])) gilstate_depth = i;
  }
  gilstate = gilstate_depth > 0 ? gilstate_tstates[gilstate_depth - 1] : nullptr;
}

// A subinterpreter's atexit callback runs inside that interpreter's end (Py_EndInterpreter, or
// Py_FinalizeEx ending leftovers), which goes on after it on the tstate it left current: the
// callback stays in its interpreter (no swap away, no new interpreter, no fork from elsewhere).
bool Execution::in_subinterp_callback(const ThreadCtx& c) const {
  return c.in_python_callback > 0 && interp_of(c.callback_tstate) > 0;
}

bool Execution::attached(const ThreadCtx& c) const { return runtime_->current() != nullptr; }

bool Execution::tied_to_interp(int k, int64_t id) const {
  // Started there (its Thread object lives there), or holding a thread state there that it
  // has not deleted (this runtime lifetime's: an older one's were forgotten).
  if (start_interp_[k] == id && start_generation_[k] == runtime_->generation()) return true;
  const ThreadCtx& t = ctx_[k];
  return id >= 0 && id < kInterpSlots && t.lifetime == lifetime_.load(std::memory_order_acquire) &&
         t.own[id] != nullptr;
}

int64_t Execution::interp_of(const rt::ThreadState* t) const {
  if (t == nullptr || runtime_->heap().freed(t)) return -1;
  if (runtime_->heap().freed(t->interp)) return -1;
  return t->interp->id;
}

// The thread state PyGILState_GetThisThreadState() returns, as an observable.
void Execution::log_gilstate_tstate() {
  if (opts_.op_log == nullptr) return;
  const rt::ThreadState* g = runtime_->gilstate_tstate();
  const int64_t interp = interp_of(g);
  opts_.op_log->observables.push_back(
      g == nullptr ? std::string("gilstate_tstate none")
                   : "gilstate_tstate interp=" + std::to_string(interp) +
                         " current=" + (g == runtime_->current() ? "1" : "0"));
}

bool Execution::holds_a_gil() {
  const platform::ThreadId me = plat_.current();
  if (runtime_->main_gil().holder.load() == me) return true;
  const rt::ThreadState* cur = runtime_->current();
  if (interp_of(cur) < 0) return false;
  const rt::Gil* g = cur->interp->gil;
  return g != nullptr && g->holder.load() == me;
}

ThreadCtx& Execution::ctx_of_current() { return ctx_[slot_of_tid_[plat_.current()]]; }

// Invariant kept: before a thread reads its own tstates, they belong to the current runtime
// lifetime. Those of an older one were freed by Py_FinalizeEx (or leaked with it) and are
// forgotten. A released one is kept: the thread will try to re-attach it, and what happens
// then is the runtime's business (F6).
void Execution::sync_lifetime(ThreadCtx& c) {
  const int now = lifetime_.load(std::memory_order_acquire);
  if (c.lifetime == now) return;
  rt::ThreadState* saved = c.saved;
  c.forget_tstates();
  c.saved = saved;
  c.lifetime = now;
}

void Execution::run_script(ThreadCtx& c, int script) {
  const int slot = slot_of_tid_[plat_.current()];
  const Script& s = program_.threads[script];
  for (size_t n = 0; n < s.ops.size(); ++n) {
    const Op& op = s.ops[n];
    const OpContext oc = op_context(c, slot, op);
    {
      std::unique_lock<std::recursive_mutex> lock;
      if (remote_) lock = native_lock();
      for (auto& o : oracles_) o->on_op(oc, *sink_);
    }
    if (opts_.trace) trace_line(script_label(script, slot) + " " + print_op(op));
    if (opts_.op_log != nullptr) {
      note_op_boundary(slot);
      opts_.op_log->entries.push_back({OpLogEntry::Kind::kStart, script, static_cast<int>(n), slot,
                                       false, "", oc.current_interp, holds_a_gil()});
    }
    // Always a string literal: a skipped op (frequent in fuzzing) allocates nothing.
    const char* why = "";
    if (FlightRecorder* fr = active_flight_recorder()) {
      fr->note_op(plat_.current(), op.code, runtime_->phase_literal());
    }
    maybe_crash_for_test(op.code);
    sync_lifetime(c);
    const size_t events_before = opts_.op_log != nullptr ? opts_.op_log->events.size() : 0;
    c.op_script = script;
    c.op_index = static_cast<int>(n);
    ++op_depth_[slot];
    const bool done = do_op(c, slot, op, &why);
    --op_depth_[slot];
    if (done) {
      ++ops_executed_;
    } else {
      ++ops_skipped_;
      if (opts_.trace) {
        trace_line(std::string("   skipped: ") + why);
        note_skipped(skipped_op_text(script, slot, static_cast<int>(n), print_op(op), why));
      }
    }
    if (opts_.op_log != nullptr) {
      bool dropped = false;
      const auto& ev = opts_.op_log->events;
      for (size_t e = events_before; e < ev.size() && !dropped; ++e) {
        dropped = ev[e].kind == rt::EventKind::kGilDropped && ev[e].thread == plat_.current();
      }
      note_op_boundary(slot);
      opts_.op_log->entries.push_back({OpLogEntry::Kind::kEnd, script, static_cast<int>(n), slot,
                                       !done, why, -1, false, dropped});
    }
    if (rt::ThreadState* cur = runtime_->current()) c.bound_interp = interp_of(cur);
    if (opts_.trace_thread_states) trace_line("   " + thread_states_line());
  }
}

int Execution::program_slot(platform::ThreadId t) const {
  // Only program threads (slot_of_tid_ maps every other id to 0).
  if (t < 0 || t >= static_cast<platform::ThreadId>(slot_of_tid_.size())) return -1;
  const int s = slot_of_tid_[t];
  return ctx_[s].tid == t ? s : -1;
}

void Execution::note_switch(platform::ThreadId from, bool preempted, platform::ThreadId to) {
  if (const int s = program_slot(from); s >= 0) preempted_[s] = preempted;
  if (const int s = program_slot(to); s >= 0) preempted_[s] = false;
}

void Execution::note_point(platform::ThreadId t, bool stops) {
  const int s = program_slot(t);
  if (s < 0 || preempted_pending_[s].empty()) return;
  if (stops) {
    preempted_pending_[s].clear();
  } else {
    keep_preempted(s);
  }
}

void Execution::keep_preempted(int slot) {
  if (opts_.op_log == nullptr) return;
  auto& v = opts_.op_log->preempted_inside;
  for (std::string& w : preempted_pending_[slot]) {
    if (std::find(v.begin(), v.end(), w) == v.end()) v.push_back(std::move(w));
  }
  preempted_pending_[slot].clear();
}

void Execution::note_op_boundary(int slot) {
  // Another thread's op starts or ends while a thread sits preempted inside its op: unless it
  // then stops at once (note_point), the C cannot keep that thread there (no lock or wait
  // holds it). This thread's own op boundary: what it was preempted inside, it ran on from.
  keep_preempted(slot);
  const int n = static_cast<int>(program_.threads.size());
  for (int s = 0; s < n; ++s) {
    if (s == slot || op_depth_[s] == 0 || !preempted_[s]) continue;
    const ThreadCtx& c = ctx_[s];
    if (c.op_script < 0 || c.op_script >= n) continue;
    const Script& sc = program_.threads[c.op_script];
    if (c.op_index < 0 || c.op_index >= static_cast<int>(sc.ops.size())) continue;
    std::string what = script_label(c.op_script, s) + " inside `" + print_op(sc.ops[c.op_index]) +
                       "` (op " + std::to_string(c.op_index + 1) + ")";
    auto& v = preempted_pending_[s];
    if (std::find(v.begin(), v.end(), what) == v.end()) v.push_back(std::move(what));
  }
}

void Execution::run_thread(int slot, bool c_thread, bool daemon) {
  ThreadCtx& c = ctx_[slot];
  c.tid = plat_.current();
  c.lifetime = lifetime_.load(std::memory_order_acquire);
  c.is_c_thread = c_thread;
  c.is_daemon = daemon || c_thread;
  slot_of_tid_[c.tid] = slot;
  if (!c_thread) {
    c.home = runtime_->current();
    const int64_t i = interp_of(c.home);
    if (i >= 0 && i < kInterpSlots) c.own[i] = c.home;
    c.bound_interp = i;  // its tstate is bound before its first op (release_gil; add_pending)
  }
  run_script(c, slot);
  if (c.fork_child_main) {
    end_of_main();
    runtime_->exit_process(0);
  }
  cleanup_thread(c);
}

// A thread's script ended: give back what it holds so that its end is the runtime's normal
// thread end (threading: the bootstrap deletes `home`), not an abandoned GIL.
void Execution::unwind_gilstate(ThreadCtx& c, int depth) {
  // An ensure of the thread's own tstate (the main thread's, after release_gil) attached it
  // while `saved` still names it: its release detaches it again before `saved` is restored,
  // as the C code's nesting does.
  while (c.gilstate_depth > depth && runtime_->current() == c.gilstate) {
    runtime_->gilstate_release(c.gilstate_states[c.gilstate_depth - 1]);
    c.pop_gilstate();
  }
  if (c.saved != nullptr && runtime_->current() == nullptr) {
    runtime_->restore_thread(c.saved);
    c.saved = nullptr;
  }
}

void Execution::cleanup_thread(ThreadCtx& c) {
  sync_lifetime(c);
  unwind_gilstate(c, 0);
  // Leave subinterpreters first: back to the tstate the thread's own API calls made.
  rt::ThreadState* base = c.gilstate_depth > 0 ? c.gilstate : c.created != nullptr ? c.created : c.home;
  if (base != nullptr && runtime_->current() != nullptr && runtime_->current() != base) {
    runtime_->swap(base);
  }
  unwind_gilstate(c, 0);
  if (c.created != nullptr && runtime_->current() == c.created) {
    runtime_->thread_state_delete_current();
    c.created = nullptr;
  }
  if (!c.is_c_thread && c.home != nullptr && runtime_->current() != c.home &&
      runtime_->current() != nullptr) {
    runtime_->swap(c.home);
  }
  // A C thread that (re)initialized the runtime holds the GIL with the tstate Py_Initialize
  // made. An embedder thread releases it before it ends (PyEval_SaveThread); otherwise every
  // other thread waits for the GIL forever: a deadlock of the program, not of the runtime.
  if (c.is_c_thread && c.home != nullptr && runtime_->current() == c.home) {
    runtime_->save_thread();
  }
  // Likewise any other thread state a C thread still has attached at its end (one its
  // new_interp made, left current after its ensures were released): an embedder's thread
  // returns without holding the GIL. The emitted C does the same (ifz_cleanup_thread).
  if (c.is_c_thread && runtime_->current() != nullptr) runtime_->save_thread();
}

OpContext Execution::op_context(const ThreadCtx& c, int slot, const Op& op) const {
  OpContext oc;
  oc.thread = plat_.current();
  oc.script = slot;
  oc.op = op;
  const rt::ThreadState* cur = runtime_->current();  // no scheduling point until the op runs
  oc.current_interp = interp_of(cur);
  oc.bound_interp = c.bound_interp;
  oc.attached = cur != nullptr;
  oc.is_daemon = c.is_daemon;
  // Slot 0 is the embedding's main thread and a C thread runs C code: neither has a frame of
  // its own. A threading / _thread thread runs its target on its home tstate.
  const bool this_lifetime = c.lifetime == lifetime_.load(std::memory_order_acquire);
  const bool target_frame =
      this_lifetime && slot != 0 && !c.is_c_thread && cur != nullptr && cur == c.home;
  const bool callback_frame = c.in_python_callback > 0 && cur != nullptr && cur == c.callback_tstate;
  oc.in_python_frame = target_frame || callback_frame;
  return oc;
}

bool Execution::do_op(ThreadCtx& c, int slot, const Op& op, const char** why) {
  switch (op.code) {
    case OpCode::kInit:
    case OpCode::kReinit:
    case OpCode::kFinalize:
    case OpCode::kExit:
      return op_lifecycle(c, op, why);
    case OpCode::kNewInterp:
    case OpCode::kEndInterp:
    case OpCode::kSwap:
    case OpCode::kNewTstate:
    case OpCode::kDeleteTstate:
      return op_interp(c, op, why);
    case OpCode::kStart:
    case OpCode::kJoin:
    case OpCode::kHoldLock:
      return op_threads(c, slot, op, why);
    case OpCode::kAtexit:
    case OpCode::kThreadingAtexit:
      return op_register_callback(c, op, why);
    case OpCode::kSetSignal:
      return op_set_signal(c, why);
    case OpCode::kReleaseGil:
    case OpCode::kAcquireGil:
    case OpCode::kBlock:
    case OpCode::kRunBytecode:
    case OpCode::kGilStateEnsure:
    case OpCode::kGilStateRelease:
    case OpCode::kGilStateCheck:
    case OpCode::kYield:
      return op_gil(c, op, why);
    case OpCode::kAddPending:
    case OpCode::kMakePending:
    case OpCode::kSignal:
      return op_pending(c, op, why);
    case OpCode::kFork:
      return op_fork(c, op, why);
    case OpCode::kLockAcquire:
    case OpCode::kLockRelease:
    case OpCode::kEventSet:
    case OpCode::kEventWait:
      return op_sync(c, op, why);
  }
  *why = "unknown op";
  return false;
}

#define IFZ_REQUIRE(cond, reason) \
  do {                            \
    if (!(cond)) {                \
      *why = reason;              \
      return false;               \
    }                             \
  } while (0)

bool Execution::op_lifecycle(ThreadCtx& c, const Op& op, const char** why) {
  rt::Runtime& rt = *runtime_;
  if (op.code == OpCode::kExit) {
    end_of_main();
    rt.exit_process(op.count);
  }
  // Py_Initialize and Py_FinalizeEx are not thread-safe: the embedder serialises them. The
  // claim is taken before the preconditions are read, so natively two threads cannot both
  // pass them; it is given back when this op ends, whether it ran or was skipped.
  IFZ_REQUIRE(claim_lifecycle(), "another thread is initializing or finalizing the runtime");
  struct Release {
    std::atomic<bool>& flag;
    ~Release() { flag.store(false, std::memory_order_release); }
  } release{in_lifecycle_};
  switch (op.code) {
    case OpCode::kInit:
      IFZ_REQUIRE(!rt.initialized() && rt.generation() == 0, "the runtime was initialized before");
      break;
    case OpCode::kReinit:
      IFZ_REQUIRE(!rt.initialized() && rt.generation() > 0,
                  "re-initialisation needs a finalized runtime");
      IFZ_REQUIRE(rt.current() == nullptr && c.saved == nullptr, "this thread has a thread state");
      break;
    case OpCode::kFinalize: {
      IFZ_REQUIRE(rt.initialized(), "the runtime is not initialized");
      // Python code cannot call Py_FinalizeEx; an embedder calls it from the thread that
      // initialized the runtime (Py_FinalizeEx from a threading thread would return into a
      // thread bootstrap whose tstate it freed: API misuse, not a runtime bug).
      IFZ_REQUIRE(plat_.current() == init_thread_.load(),
                  "Py_FinalizeEx from a thread that did not initialize");
      IFZ_REQUIRE(c.in_python_callback == 0,
                  "Py_FinalizeEx from an atexit callback: Python code cannot call it");
      IFZ_REQUIRE(attached(c) && rt.current()->interp == rt.main_interp(),
                  "Py_FinalizeEx needs a thread attached to the main interpreter");
      rt.finalize();
      c.forget_tstates();
      return true;
    }
    default:
      return false;
  }
  // init / reinit: every other thread's tstates belong to the old lifetime now; each thread
  // forgets them itself before its next op (sync_lifetime).
  c.forget_tstates();
  // The new lifetime's locks and events exist before any thread can see the lifetime.
  const int next = lifetime_.load(std::memory_order_acquire) + 1;
  IFZ_REQUIRE(next <= kMaxLifetimes, "too many runtime lifetimes");
  user_sync_[next] = std::make_unique<UserSyncSet>(plat_);
  c.lifetime = lifetime_.fetch_add(1, std::memory_order_acq_rel) + 1;
  interps_this_lifetime_ = 1;
  for (auto& p : published_) p.store(false, std::memory_order_release);
  published_[0].store(true, std::memory_order_release);
  init_thread_ = plat_.current();
  rt.initialize();
  c.home = rt.current();
  c.own[0] = c.home;
  // The emitted C imports `signal` right after Py_Initialize when the program trips one
  // (ifz_install_signal_handlers): `_signal` is then in the main interpreter's sys.modules.
  if (program_trips_signals()) rt.import_signal_module();
  c.called_initialize = true;
  return true;
}

bool Execution::op_interp(ThreadCtx& c, const Op& op, const char** why) {
  rt::Runtime& rt = *runtime_;
  IFZ_REQUIRE(rt.initialized(), "the runtime is not initialized");
  switch (op.code) {
    case OpCode::kNewInterp: {
      IFZ_REQUIRE(attached(c), "needs an attached thread state");
      IFZ_REQUIRE(!in_subinterp_callback(c),
                  "a subinterpreter's atexit callback making another interpreter");
      IFZ_REQUIRE(interps_this_lifetime_ <= kMaxInterp, "too many interpreters");
      rt::InterpConfig cfg;
      const bool isolated = op.variant & kInterpIsolated;
      cfg.isolated = isolated;
      cfg.own_gil = isolated || (op.variant & kInterpOwnGil);
      if (isolated && rt.profile().subinterp_thread_check == rt::SubinterpThreadCheck::kConfigFlags) {
        cfg.allow_fork = cfg.allow_exec = cfg.allow_daemon_threads = false;
      }
      rt::ThreadState* before = rt.current();
      rt::ThreadState* t = rt.new_interpreter(cfg, &c.refusal);
      IFZ_REQUIRE(t != nullptr, c.refusal.c_str());
      ++interps_this_lifetime_;
      const int64_t id = interp_of(t);
      // Ids beyond the tracked range (other threads also create interpreters) stay untracked:
      // this thread then cannot swap back into that interpreter, which only skips ops.
      if (id >= 0 && id < kInterpSlots) {
        published_[id].store(true, std::memory_order_release);
        c.own[id] = t;
        c.prev[id] = before;
      }
      return true;
    }
    case OpCode::kEndInterp: {
      rt::ThreadState* cur = rt.current();
      IFZ_REQUIRE(cur != nullptr, "needs an attached thread state");
      const int64_t id = interp_of(cur);
      IFZ_REQUIRE(id > 0 && id < kInterpSlots && c.own[id] == cur,
                  "not in a subinterpreter of this thread");
      IFZ_REQUIRE(!c.in_gilstate(cur), "its thread state is inside a gilstate_ensure");
      rt::ThreadState* back = c.prev[id];
      bool back_ok = false;
      for (int i = 0; i < kInterpSlots; ++i) back_ok |= i != id && back != nullptr && c.own[i] == back;
      if (!back_ok) {
        back = nullptr;
        for (int i = 0; i < kInterpSlots && back == nullptr; ++i) back = i != id ? c.own[i] : nullptr;
      }
      IFZ_REQUIRE(back != nullptr, "no thread state to return to after Py_EndInterpreter");
      // Its Thread objects go with it: not while another thread waits in one's join (3.14+
      // hangs a daemon of the ended interpreter for good; CPython frees the object under the
      // joiner).
      // (Not this thread itself being joined: it is the one running, and ending the
      // interpreter its target function runs in is Py_EndInterpreter's own fatal error.)
      const int slot = static_cast<int>(&c - ctx_.data());
      bool joined_here = false;
      for (int s = 0; s < kMaxThreads; ++s) {
        const int k = joining_script_[s];
        joined_here |= k >= 0 && k != slot && tied_to_interp(k, id);
      }
      IFZ_REQUIRE(!joined_here,
                  "another thread is joining a thread of this interpreter: it would wait past the interpreter's end");
      c.own[id] = nullptr;
      ending_interp_[slot] = {rt.generation(), id};
      rt.end_interpreter(cur);
      ending_interp_[slot] = {-1, -1};
      rt.swap(back);
      return true;
    }
    case OpCode::kSwap: {
      IFZ_REQUIRE(attached(c), "needs an attached thread state");
      IFZ_REQUIRE(op.interp >= 0 && op.interp < kInterpSlots && c.own[op.interp] != nullptr,
                  "this thread has no thread state in that interpreter");
      // A tstate given up with PyEval_SaveThread belongs to the embedder's acquire_gil: swapped
      // in meanwhile, it could be ended and then re-attached freed.
      IFZ_REQUIRE(c.own[op.interp] != c.saved,
                  "that thread state was released with release_gil: acquire_gil re-attaches it");
      // A subinterpreter's atexit callback runs inside that interpreter's end (Py_EndInterpreter,
      // or Py_FinalizeEx ending leftovers): it stays in its interpreter, whose end goes on
      // after it and would otherwise run on a tstate of an interpreter ended meanwhile.
      IFZ_REQUIRE(!in_subinterp_callback(c) || op.interp == interp_of(c.callback_tstate),
                  "a subinterpreter's atexit callback swapping to another interpreter");
      rt.swap(c.own[op.interp]);
      return true;
    }
    case OpCode::kNewTstate: {
      // A thread whose only other tstate is not current (its home, left by deleting the
      // subinterpreter tstate it was in) may make one too, as C code may.
      IFZ_REQUIRE(rt.current() == nullptr && c.created == nullptr && c.gilstate == nullptr &&
                      c.saved == nullptr,
                  "this thread already has a thread state");
      IFZ_REQUIRE(published(op.interp), "that interpreter's creation has not returned yet");
      rt::Interpreter* interp = rt.find_interp(op.interp);
      IFZ_REQUIRE(interp != nullptr, "no such interpreter");
      c.created = rt.thread_state_new(interp);
      IFZ_REQUIRE(c.created != nullptr, "PyThreadState_New refused: the interpreter is finalizing");
      // Held from PyThreadState_New on, also while the attach waits for the GIL (a join must
      // see the thread tied to the interpreter then: tied_to_interp).
      if (op.interp < kInterpSlots) c.own[op.interp] = c.created;
      rt.restore_thread(c.created);
      return true;
    }
    case OpCode::kDeleteTstate: {
      // The current tstate, made by new_tstate or by this thread's new_interp (never the
      // thread's own home tstate, nor one PyGILState_Ensure manages). The latter only from C
      // code that can go on without a thread state: the embedding's main thread or a C
      // thread (a Python thread returns into the eval loop, which needs one).
      rt::ThreadState* cur = rt.current();
      const int64_t id = cur ? interp_of(cur) : -1;
      const bool c_level = c.is_c_thread || c.called_initialize;  // atexit code: refused below
      const bool from_new_interp = c_level && cur != nullptr && cur != c.home &&
                                   cur != c.gilstate && id > 0 && id < kInterpSlots &&
                                   c.own[id] == cur;
      IFZ_REQUIRE(c.in_python_callback == 0,
                  "Python code (an atexit callback) cannot delete the thread state running it");
      IFZ_REQUIRE(cur != nullptr && (cur == c.created || from_new_interp),
                  "no current thread state made by new_tstate or new_interp");
      IFZ_REQUIRE(!c.in_gilstate(cur), "its thread state is inside a gilstate_ensure");
      for (auto& o : c.own) o = o == cur ? nullptr : o;
      if (from_new_interp) c.prev[id] = nullptr;
      if (c.created == cur) c.created = nullptr;
      rt.thread_state_delete_current();
      return true;
    }
    default:
      return false;
  }
}

bool Execution::op_threads(ThreadCtx& c, int slot, const Op& op, const char** why) {
  rt::Runtime& rt = *runtime_;
  const int n = static_cast<int>(program_.threads.size());
  switch (op.code) {
    case OpCode::kStart: {
      IFZ_REQUIRE(rt.initialized(), "the runtime is not initialized");
      IFZ_REQUIRE(op.thread > 0 && op.thread < n && !started_[op.thread],
                  "the script does not exist or was started already");
      const auto kind = static_cast<StartKind>(op.variant);
      const int s = op.thread;
      start_order_[s] = ++starts_;
      start_generation_[s] = rt.generation();
      start_interp_[s] = kind == StartKind::kCThread ? -1 : interp_of(rt.current());
      start_is_threading_[s] = kind == StartKind::kThreading || kind == StartKind::kDaemon;
      if (kind == StartKind::kCThread) {
        started_[s] = true;
        script_tid_[s] = rt.start_c_thread([this, s] { run_thread(s, true, true); });
        return true;
      }
      IFZ_REQUIRE(attached(c), "threading needs an attached thread state");
      started_[s] = true;
      const bool daemon = kind != StartKind::kThreading;
      auto r = rt.start_thread(kind == StartKind::kRaw ? rt::ThreadKind::kRaw
                                                       : rt::ThreadKind::kThreading,
                               kind == StartKind::kDaemon,
                               [this, s, daemon] { run_thread(s, false, daemon); });
      if (!r.result.ok) {
        started_[s] = false;
        if (opts_.trace) trace_line("   raised " + r.result.error);
      }
      script_tid_[s] = r.thread;
      // threading.Thread.start() returns once the thread has started (a `raw` thread is
      // _thread.start_new_thread: no wait).
      if (r.result.ok && kind != StartKind::kRaw) rt.wait_thread_started(r.thread);
      return true;
    }
    case OpCode::kJoin:
      IFZ_REQUIRE(attached(c), "join is Python code: needs an attached thread state");
      // Only a thread started after this one: waits then always go from older to younger
      // threads, so no program-level join cycle can form (script indexes would not do: a
      // thread may start a script with a lower index).
      IFZ_REQUIRE(op.thread > 0 && op.thread < n && started_[op.thread] &&
                      script_tid_[op.thread] != platform::kNoThread &&
                      start_order_[op.thread] > start_order_[slot],
                  "only a thread started after this one can be joined");
      // A Thread object of an earlier runtime lifetime went with that lifetime's interpreter
      // (threading is imported again after re-initialisation): nothing can join it.
      IFZ_REQUIRE(start_generation_[op.thread] == rt.generation(),
                  "the thread belongs to an earlier runtime lifetime");
      // A Thread object lives in the interpreter that started it: once Py_EndInterpreter ended
      // that interpreter, nothing holds it to join (3.14+'s shut-down threads hang for good).
      IFZ_REQUIRE(start_interp_[op.thread] < 0 || rt.find_interp(start_interp_[op.thread]) != nullptr,
                  "the thread's interpreter was ended: its Thread object went with it");
      // Nor one tied to an interpreter that was ended or is being ended (that rule's other half
      // is in kEndInterp): a thread state Py_EndInterpreter shuts down hangs its thread for good
      // at its next GIL take (3.14+), so the wait would never end.
      for (int64_t i = 1; i < kInterpSlots; ++i) {
        if (!tied_to_interp(op.thread, i)) continue;
        IFZ_REQUIRE(rt.find_interp(i) != nullptr,
                    "the thread has a thread state in an interpreter that was ended");
        for (int s = 0; s < kMaxThreads; ++s) {
          IFZ_REQUIRE(ending_interp_[s] != std::make_pair(rt.generation(), i),
                      "the thread is tied to an interpreter being ended");
        }
      }
      joining_script_[slot] = op.thread;
      if (!start_is_threading_[op.thread]) {
        rt.join_thread(script_tid_[op.thread]);
      } else if (const rt::ApiResult r = rt.join_threading_thread(script_tid_[op.thread]); !r.ok) {
        if (opts_.trace) trace_line("   raised " + r.error);
      }
      joining_script_[slot] = -1;
      return true;
    case OpCode::kHoldLock:
      IFZ_REQUIRE(rt.generation() > 0, "the runtime was never initialized");
      IFZ_REQUIRE(c.saved == nullptr, "hold_lock with a released tstate");
      // A lock the version does not have (locks.def's `since`: UNICODE_IDS before 3.10,
      // bpo-39465's per-runtime _Py_Identifier index) cannot be held.
      IFZ_REQUIRE(rt.has_lock(static_cast<rt::RuntimeLock>(op.variant)),
                  rt::runtime_lock_info(static_cast<rt::RuntimeLock>(op.variant)).missing);
      // hold_lock HEAD stands for a thread inside pystate.c making and deleting thread states
      // (the only way a real program holds HEAD_LOCK, and what the emitted C does): that needs
      // a live interpreter, so not between Py_FinalizeEx and the next Py_Initialize.
      IFZ_REQUIRE(static_cast<rt::RuntimeLock>(op.variant) != rt::RuntimeLock::kHead ||
                      rt.initialized(),
                  "HEAD_LOCK is held by a thread making thread states: no interpreter after finalize");
    {
      auto log = [this, &c](OpLogEntry::Kind kind) {
        if (opts_.op_log == nullptr) return;
        OpLogEntry e;
        e.kind = kind;
        e.script = c.op_script;
        e.index = c.op_index;
        e.thread_slot = slot_of_tid_[plat_.current()];
        opts_.op_log->entries.push_back(std::move(e));
      };
      rt.hold_lock(static_cast<rt::RuntimeLock>(op.variant), op.count,
                   [&] { log(OpLogEntry::Kind::kLockTaken); },
                   [&] { log(OpLogEntry::Kind::kLockReleased); });
      return true;
    }
    default:
      return false;
  }
}

std::function<void()> Execution::script_callback(int s) {
  return [this, s] {
    // The callback runs on the thread that calls it (the finalizing thread, or the thread
    // ending a subinterpreter) and must give it back as it found it.
    ThreadCtx& fc = ctx_of_current();
    rt::ThreadState* before = runtime_->current();
    // Only the ensures the callback made are its to release: the calling thread may be a C
    // thread inside its own PyGILState_Ensure (a fork child's main thread).
    const int gilstate_depth_before = fc.gilstate_depth;
    rt::ThreadState* const outer_callback_tstate = fc.callback_tstate;
    fc.callback_tstate = before;  // the callback's frame lives on the calling tstate
    ++fc.in_python_callback;
    run_script(fc, s);
    --fc.in_python_callback;
    fc.callback_tstate = outer_callback_tstate;
    unwind_gilstate(fc, gilstate_depth_before);
    if (before != nullptr && runtime_->current() != before) runtime_->swap(before);
  };
}

bool Execution::op_register_callback(ThreadCtx& c, const Op& op, const char** why) {
  rt::Runtime& rt = *runtime_;
  const int n = static_cast<int>(program_.threads.size());
  const bool threading_hook = op.code == OpCode::kThreadingAtexit;
  // Not a refusal of the runtime: the function does not exist before 3.9 (emit-c refuses it
  // by name there).
  IFZ_REQUIRE(!threading_hook || rt.profile().has_threading_register_atexit,
              "threading._register_atexit exists from 3.9 (bpo-39812)");
  // Python code: any interpreter's (a subinterpreter's callbacks run at its Py_EndInterpreter).
  IFZ_REQUIRE(attached(c) && (rt.initialized() || c.in_python_callback > 0),
              "registering a callback is Python code: needs an attached thread state");
  IFZ_REQUIRE(op.thread > 0 && op.thread < n && !started_[op.thread],
              "the script does not exist or was started already");
  started_[op.thread] = true;
  const int s = op.thread;
  const rt::ApiResult registered = threading_hook
                                       ? rt.threading_register_atexit(script_callback(s))
                                       : rt.atexit_register(script_callback(s));
  if (!registered.ok) {
    started_[op.thread] = false;  // it raised: the script was not registered
    if (opts_.trace) trace_line("   raised " + registered.error);
  }
  return true;
}

bool Execution::program_trips_signals() const {
  for (const Script& s : program_.threads) {
    for (const Op& op : s.ops) {
      if (op.code == OpCode::kSignal) return true;
    }
  }
  return false;
}

bool Execution::op_set_signal(ThreadCtx& c, const char** why) {
  rt::Runtime& rt = *runtime_;
  // Also inside a callback that finalisation runs after SetFinalizing (3.13+ ends leftover
  // subinterpreters there, running their atexit callbacks).
  IFZ_REQUIRE(attached(c) && (rt.initialized() || c.in_python_callback > 0),
              "signal.signal is Python code: needs an attached thread state");
  const rt::ApiResult r = rt.set_signal_handler();
  if (!r.ok) {
    if (opts_.trace) trace_line("   raised " + r.error);
  } else if (opts_.op_log != nullptr) {
    opts_.op_log->observables.push_back("set_signal ok");
  }
  return true;
}

bool Execution::op_gil(ThreadCtx& c, const Op& op, const char** why) {
  rt::Runtime& rt = *runtime_;
  switch (op.code) {
    case OpCode::kReleaseGil:
      IFZ_REQUIRE(attached(c) && c.saved == nullptr, "needs an attached thread state");
      c.saved = rt.save_thread();
      return true;
    case OpCode::kAcquireGil: {
      IFZ_REQUIRE(c.saved != nullptr, "nothing released");
      // Inside a gilstate_ensure that re-attached a tstate: PyEval_RestoreThread would wait
      // for the GIL this thread holds.
      IFZ_REQUIRE(!attached(c), "a thread state is attached (gilstate_ensure): release it first");
      rt::ThreadState* t = c.saved;
      c.saved = nullptr;
      rt.restore_thread(t);
      return true;
    }
    case OpCode::kBlock:
      if (attached(c)) rt.block("block");
      else plat_.syscall("block");
      return true;
    case OpCode::kRunBytecode:
      IFZ_REQUIRE(attached(c), "needs an attached thread state");
      rt.run_bytecode(op.count);
      return true;
    case OpCode::kGilStateEnsure: {
      // A C thread may call it after Py_FinalizeEx returned: it cannot know the runtime is
      // gone (gh-124619, gh-131185: a crash up to 3.14, the thread made to exit on 3.15). Not
      // during finalisation (initialized() is false from SetFinalizing on, while the main
      // interpreter still exists), and not on a thread the process waits for (the one that
      // called Py_Initialize, a fork child's only thread): the embedding's own misuse, which
      // 3.15 answers by hanging that thread, and so the process, for good.
      IFZ_REQUIRE(rt.initialized() || (c.is_c_thread && !c.called_initialize && !c.fork_child_main &&
                                       rt.generation() > 0 && rt.main_interp() == nullptr),
                  "the runtime is not initialized");
      IFZ_REQUIRE(c.gilstate_depth < 16, "PyGILState_Ensure nested more than 16 deep");
      // PyGILState_Ensure uses the GILState tstate of this OS thread (any interpreter's: the
      // runtime decides which one the key names, per version). Current: nested, LOCKED. Not
      // current and nothing attached: PyEval_RestoreThread of it, UNLOCKED. Another tstate
      // current (≤3.11 in a subinterpreter, the key still names the first tstate): CPython
      // would wait for the GIL this thread holds, for ever [EXP 3.7–3.11]; the GILState API
      // predates subinterpreters (bpo-15751), so no embedder can do this.
      const rt::ThreadState* cur = rt.current();
      IFZ_REQUIRE(cur == nullptr || cur == rt.gilstate_tstate(),
                  "PyGILState_Ensure while another tstate than this thread's GILState one is "
                  "current: it would wait for the GIL this thread holds");
      c.gilstate_states[c.gilstate_depth] = rt.gilstate_ensure();
      c.gilstate = c.gilstate_tstates[c.gilstate_depth++] = rt.current();
      log_gilstate_tstate();
      return true;
    }
    case OpCode::kGilStateRelease:
      IFZ_REQUIRE(c.gilstate_depth > 0 && rt.current() == c.gilstate &&
                      rt.gilstate_tstate() == c.gilstate,
                  "no matching ensure (its thread state is not current and the GILState one)");
      rt.gilstate_release(c.gilstate_states[c.gilstate_depth - 1]);
      c.pop_gilstate();
      log_gilstate_tstate();
      return true;
    case OpCode::kGilStateCheck:
      if (opts_.op_log != nullptr) {
        opts_.op_log->observables.push_back("gilstate_check " + std::to_string(rt.gilstate_check()));
      }
      if (opts_.trace) trace_line("   returned " + std::to_string(rt.gilstate_check()));
      return true;
    case OpCode::kYield:
      plat_.point({platform::Point::kYield, "yield", nullptr});
      return true;
    default:
      return false;
  }
}

bool Execution::op_pending(ThreadCtx& c, const Op& op, const char** why) {
  rt::Runtime& rt = *runtime_;
  IFZ_REQUIRE(rt.generation() > 0, "the runtime was never initialized");
  switch (op.code) {
    case OpCode::kAddPending: {
      rt::Interpreter* target = nullptr;
      if (op.interp >= 0) {
        IFZ_REQUIRE(published(op.interp), "that interpreter's creation has not returned yet");
        target = rt.initialized() ? rt.find_interp(op.interp) : nullptr;
        IFZ_REQUIRE(target != nullptr, "no such interpreter");
      }
      const int rc = rt.add_pending(static_cast<rt::PendingKind>(op.variant), target);
      if (opts_.trace) trace_line(std::string("   returned ") + std::to_string(rc));
      return true;
    }
    case OpCode::kMakePending: {
      IFZ_REQUIRE(attached(c), "needs an attached thread state");
      const uint64_t before = forever_runs_.load();
      rt.make_pending_calls();
      // The pass's count of `forever` runs: the observable of the per-pass bound (the emitted
      // C prints the same line around its Py_MakePendingCalls).
      const uint64_t ran = forever_runs_.load() - before;
      if (ran > 0 && opts_.op_log != nullptr) {
        opts_.op_log->observables.push_back("pending_forever_runs n=" + std::to_string(ran));
      }
      return true;
    }
    case OpCode::kSignal:
      rt.trip_signal(op.count);
      return true;
    default:
      return false;
  }
}

bool Execution::op_fork(ThreadCtx& c, const Op& op, const char** why) {
  rt::Runtime& rt = *runtime_;
  IFZ_REQUIRE(rt.initialized() && attached(c), "needs an attached thread state");
  // An atexit callback is Python code of the interpreter running it: its os.fork() runs there.
  // One that swapped to another interpreter's tstate and forks would leave the Py_FinalizeEx or
  // Py_EndInterpreter below it to go on in a child that no longer has its interpreter.
  IFZ_REQUIRE(c.in_python_callback == 0 || rt.current() == c.callback_tstate,
              "fork from an atexit callback away from the callback's own thread state");
  // Which of this thread's tstates the child will not have, decided while they can still be
  // read (in the child they are freed).
  TstateSet gone;
  if (rt::ThreadState* cur = rt.current()) {
    const int64_t here = interp_of(cur);
    auto consider = [&](rt::ThreadState* t) {
      if (t == nullptr || t == cur) return;
      if (rt.profile().fork_deletes_other_interps || interp_of(t) == here) gone.add(t);
    };
    consider(c.home);
    consider(c.saved);
    consider(c.created);
    for (int i = 0; i < c.gilstate_depth; ++i) consider(c.gilstate_tstates[i]);
    for (rt::ThreadState* t : c.own) consider(t);
    for (rt::ThreadState* t : c.prev) consider(t);
  }
  const int n = static_cast<int>(program_.threads.size());
  const int child = op.thread > 0 && op.thread < n && !started_[op.thread] ? op.thread : -1;
  const auto follow = op.follow_child ? platform::ForkFollow::kChild : platform::ForkFollow::kParent;
  rt::ForkOutcome f = rt.fork(static_cast<rt::ForkKind>(op.variant), follow);
  if (!f.result.ok) {
    if (opts_.trace) trace_line("   raised " + f.result.error);
    return true;
  }
  if (!f.in_child) {
    if (!plat_.deterministic() && f.child_pid > 0) wait_native_child(f.child_pid, f.child_report_fd);
    return true;
  }
  if (opts_.op_log != nullptr) {
    ++opts_.op_log->fork_child_returns;
    // The child's main thread is the forking one (PyOS_AfterFork_Child); signal handlers (and
    // main-thread pending calls) run on it when it is in the main interpreter.
    const rt::Interpreter* main = rt.main_interp();
    const bool main_thread = rt.main_thread() == plat_.current() && main != nullptr &&
                             interp_of(rt.current()) == main->id;
    opts_.op_log->observables.push_back(std::string("fork_child main_thread=") + (main_thread ? "1" : "0"));
  }
  // K1: in the child the forking thread is the runtime's main thread (PyOS_AfterFork_Child
  // sets _PyRuntime.main_thread, every version). When that thread runs the embedding's C code
  // (a C thread), the embedding may finalise the child from it. A threading thread may not:
  // its Python bootstrap would return into a freed thread state (Python code cannot call
  // Py_FinalizeEx).
  if (c.is_c_thread) init_thread_ = plat_.current();
  c.fork_child_main = true;
  // The program's locks and events: their waiters vanished; their state stays.
  for (auto& set : user_sync_) {
    if (set == nullptr) continue;
    for (auto* group : {&set->locks, &set->events}) {
      for (auto& o : *group) o->after_fork_child();
    }
  }
  // K3: the child keeps, of this thread's tstates, the current one and (3.7 only) those of
  // other interpreters; the rest were freed with the other threads' (DeleteExcept) and the other
  // interpreters (3.8+ DeleteExceptMain). The embedder's pointers to them dangle: it forgets
  // them, as the emitted C does (ifz_forget_forked_away).
  c.forget(gone);
  if (child >= 0) {
    started_[child] = true;
    run_script(c, child);
    end_of_main();
    rt.exit_process(0);
  }
  return true;
}

namespace {

// Each object's name: a static string (platform objects keep the pointer), the first word
// rt::kUserSyncPrefix so that a deadlock report shows it as the program's.
constexpr std::array<const char*, kSyncObjects> kLockNames = {"user L0", "user L1", "user L2", "user L3"};
constexpr std::array<const char*, kSyncObjects> kEventNames = {"user E0", "user E1", "user E2", "user E3"};
static_assert(kSyncObjects == 4, "one name per object");

// Native: how long a user-level wait may last before the run is judged the program's
// deadlock (well under the native watchdogs: a fork child gets half of the run's 3 s; far over
// any wait a releaser that runs needs).
constexpr int64_t kNativeProgramDeadlockMs = 400;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Execution::UserSyncSet::UserSyncSet(platform::Platform& p) {
  for (int i = 0; i < kSyncObjects; ++i) {
    locks[i] = std::make_unique<rt::UserSync>(p, rt::UserSync::Kind::kLock, kLockNames[i]);
    events[i] = std::make_unique<rt::UserSync>(p, rt::UserSync::Kind::kEvent, kEventNames[i]);
  }
}

bool Execution::keep_waiting_natively(int64_t started_ms) {
  if (now_ms() - started_ms < kNativeProgramDeadlockMs) return true;
  // Natively nothing can tell who could still release the object: a wait this long is taken
  // for the program's own deadlock. The run ends as an `exit 0` would (no finding); a
  // deadlock inside the runtime is still the simulated runs' to find.
  if (opts_.trace) trace_line("   the program's own deadlock: a user-level wait never ended");
  end_of_main();
  runtime_->exit_process(0);
}

// Python code of the program using its own locks and events (user_sync.h). They live in the
// main interpreter (made there lazily by their first op): an op needs a thread state of the
// main interpreter attached, as Python code holding the object runs there.
bool Execution::op_sync(ThreadCtx& c, const Op& op, const char** why) {
  rt::Runtime& rt = *runtime_;
  IFZ_REQUIRE(rt.initialized(), "the runtime is not initialized");
  const rt::ThreadState* cur = rt.current();
  IFZ_REQUIRE(cur != nullptr && cur->interp == rt.main_interp(),
              "the program's locks and events live in the main interpreter: needs its thread "
              "state attached");
  IFZ_REQUIRE(c.lifetime > 0 && c.lifetime <= kMaxLifetimes && user_sync_[c.lifetime] != nullptr,
              "no runtime lifetime");
  UserSyncSet& set = *user_sync_[c.lifetime];
  const int index = op.variant & ~kSyncTimeout;
  const bool timed = (op.variant & kSyncTimeout) != 0;
  const std::string name = std::string(1, sync_letter(op.code)) + std::to_string(index);
  std::function<bool()> keep_waiting;
  if (!plat_.deterministic() && !timed) {
    const int64_t started = now_ms();
    keep_waiting = [this, started] { return keep_waiting_natively(started); };
  }
  auto observe = [&](const std::string& what, bool value) {
    if (opts_.op_log != nullptr) {
      opts_.op_log->observables.push_back(what + " " + name + " returned=" + (value ? "1" : "0"));
    }
    if (opts_.trace) trace_line(std::string("   returned ") + (value ? "True" : "False"));
  };
  switch (op.code) {
    case OpCode::kLockAcquire: {
      const bool got = rt.user_lock_acquire(*set.locks[index], timed, keep_waiting);
      if (timed) observe("lock_acquire", got);
      return true;
    }
    case OpCode::kLockRelease:
      if (!rt.user_lock_release(*set.locks[index]) && opts_.trace) {
        trace_line("   raised RuntimeError: release unlocked lock");
      }
      return true;
    case OpCode::kEventSet: {
      const rt::ApiResult r = rt.user_event_set(*set.events[index]);
      if (!r.ok && opts_.trace) trace_line("   raised " + r.error);
      return true;
    }
    case OpCode::kEventWait: {
      bool flag = false;
      const rt::ApiResult r = rt.user_event_wait(*set.events[index], timed, &flag, keep_waiting);
      if (!r.ok) {
        if (opts_.trace) trace_line("   raised " + r.error);
      } else if (timed) {
        observe("event_wait", flag);
      }
      return true;
    }
    default:
      return false;
  }
}

// EndContext::program_deadlock: program_deadlock.h's rule on this execution's stuck threads.
bool Execution::program_deadlock(const platform::RunResult& run) const {
  const int now = lifetime_.load(std::memory_order_acquire);
  std::vector<StuckThread> stuck;
  for (const platform::BlockedThread& b : run.blocked) {
    StuckThread t;
    t.waits_on = b.waits_on;
    const int slot =
        b.thread >= 0 && static_cast<size_t>(b.thread) < slot_of_tid_.size() ? slot_of_tid_[b.thread] : -1;
    if (slot >= 0 && ctx_[slot].tid == b.thread && ctx_[slot].op_script >= 0) {
      const ThreadCtx& c = ctx_[slot];
      const std::vector<Op>& ops = program_.threads[c.op_script].ops;
      t.current_lifetime = c.lifetime == now;
      t.ops_left = std::span<const Op>(ops).subspan(std::min(static_cast<size_t>(std::max(c.op_index, 0)), ops.size()));
    }
    stuck.push_back(std::move(t));
  }
  return is_program_deadlock(stuck);
}

// Native platform: the fork child is a real process; its outcome is judged from its wait
// status (its report pipe is closed in the child, see native.h), a child that does not end
// within the deadline is a hang — both in the deadlock oracle's vocabulary.
void Execution::wait_native_child(int pid, int report_fd) {
  ExecResult child;
  child.run = platform::NativePlatform::wait_child(pid, report_fd, opts_.native_watchdog_ms / 2);
  parse_native_report(child.run.report, &child);
  judge_native_outcome(runtime_->profile(), &child);
  for (const rt::DefectInfo& d : rt::all_defects()) {  // the child's canaries are ours too
    const uint32_t n = child.canaries.triggered[static_cast<size_t>(d.id)];
    for (uint32_t k = 0; k < n; ++k) plat_.report(std::string("triggered\t") + d.name + "\n");
    if (child.canaries.reached[static_cast<size_t>(d.id)] > 0) {
      plat_.report(std::string("reached\t") + d.name + "\n");
    }
  }
  for (Finding& f : child.findings) {
    f.phase = "fork-child: " + f.phase;
    add_finding(std::move(f));
  }
}

}  // namespace ifz::harness::exec_internal
