// SPDX-License-Identifier: Apache-2.0
// ops.cc — what each program operation does on the runtime, with its precondition.
// An op whose precondition fails is skipped (and traced): the program would be misusing the
// C API, which is not what interpfuzz looks for, and skipping keeps every program runnable.
// Preconditions also rule out program-level deadlocks (a join only waits for a thread with a
// higher script index) so that a deadlock finding is always the runtime's.
#include "harness/exec/contained_run.h"
#include "harness/exec/flight_recorder.h"
#include "harness/exec/execution.h"
#include "harness/program/text_format.h"
#include "base/check.h"
#include "runtime/platform/native.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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

void ThreadCtx::forget(const std::vector<rt::ThreadState*>& gone) {
  auto went = [&](rt::ThreadState* t) {
    return t != nullptr && std::find(gone.begin(), gone.end(), t) != gone.end();
  };
  for (rt::ThreadState** p : {&home, &saved, &created}) *p = went(*p) ? nullptr : *p;
  for (auto& t : own) t = went(t) ? nullptr : t;
  for (auto& t : prev) t = went(t) ? nullptr : t;
  // Ensures are released innermost first: those above a forgotten level cannot be either.
  for (int i = 0; i < gilstate_depth; ++i) {
    if (went(gilstate_tstates[i])) gilstate_depth = i;
  }
  gilstate = gilstate_depth > 0 ? gilstate_tstates[gilstate_depth - 1] : nullptr;
}

bool Execution::attached(const ThreadCtx& c) const { return runtime_->current() != nullptr; }

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
    const bool done = do_op(c, slot, op, &why);
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
      opts_.op_log->entries.push_back({OpLogEntry::Kind::kEnd, script, static_cast<int>(n), slot,
                                       !done, why, -1, false, dropped});
    }
    if (rt::ThreadState* cur = runtime_->current()) c.bound_interp = interp_of(cur);
    if (opts_.trace_thread_states) trace_line("   " + thread_states_line());
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
    case OpCode::kAtexit:
    case OpCode::kHoldLock:
      return op_threads(c, slot, op, why);
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
  c.lifetime = lifetime_.fetch_add(1, std::memory_order_acq_rel) + 1;
  interps_this_lifetime_ = 1;
  for (auto& p : published_) p.store(false, std::memory_order_release);
  published_[0].store(true, std::memory_order_release);
  init_thread_ = plat_.current();
  rt.initialize();
  c.home = rt.current();
  c.own[0] = c.home;
  c.called_initialize = true;
  return true;
}

bool Execution::op_interp(ThreadCtx& c, const Op& op, const char** why) {
  rt::Runtime& rt = *runtime_;
  IFZ_REQUIRE(rt.initialized(), "the runtime is not initialized");
  switch (op.code) {
    case OpCode::kNewInterp: {
      IFZ_REQUIRE(attached(c), "needs an attached thread state");
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
      c.own[id] = nullptr;
      rt.end_interpreter(cur);
      rt.swap(back);
      return true;
    }
    case OpCode::kSwap: {
      IFZ_REQUIRE(attached(c), "needs an attached thread state");
      IFZ_REQUIRE(op.interp >= 0 && op.interp < kInterpSlots && c.own[op.interp] != nullptr,
                  "this thread has no thread state in that interpreter");
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
      rt.restore_thread(c.created);
      if (op.interp < kInterpSlots) c.own[op.interp] = c.created;
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
      rt.join_thread(script_tid_[op.thread]);
      return true;
    case OpCode::kAtexit: {
      IFZ_REQUIRE(rt.initialized() && attached(c) && rt.current()->interp == rt.main_interp(),
                  "atexit.register needs the main interpreter");
      IFZ_REQUIRE(op.thread > 0 && op.thread < n && !started_[op.thread],
                  "the script does not exist or was started already");
      started_[op.thread] = true;
      const int s = op.thread;
      const rt::ApiResult registered = rt.atexit_register([this, s] {
        // The callback runs on the finalizing thread and must give it back as it found it.
        ThreadCtx& fc = ctx_of_current();
        rt::ThreadState* before = runtime_->current();
        // Only the ensures the callback made are its to release: the finalizing thread may be
        // a C thread inside its own PyGILState_Ensure (a fork child's main thread).
        const int gilstate_depth_before = fc.gilstate_depth;
        rt::ThreadState* const outer_callback_tstate = fc.callback_tstate;
        fc.callback_tstate = before;  // the callback's frame lives on the finalizing tstate
        ++fc.in_python_callback;
        run_script(fc, s);
        --fc.in_python_callback;
        fc.callback_tstate = outer_callback_tstate;
        unwind_gilstate(fc, gilstate_depth_before);
        if (before != nullptr && runtime_->current() != before) runtime_->swap(before);
      });
      if (!registered.ok) {
        started_[op.thread] = false;  // the import raised: the script was not registered
        if (opts_.trace) trace_line("   raised " + registered.error);
      }
      return true;
    }
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
  // Which of this thread's tstates the child will not have, decided while they can still be
  // read (in the child they are freed).
  std::vector<rt::ThreadState*> gone;
  if (rt::ThreadState* cur = rt.current()) {
    const int64_t here = interp_of(cur);
    auto consider = [&](rt::ThreadState* t) {
      if (t == nullptr || t == cur) return;
      if (rt.profile().fork_deletes_other_interps || interp_of(t) == here) gone.push_back(t);
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
