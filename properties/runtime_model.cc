// SPDX-License-Identifier: Apache-2.0
// runtime_model.cc — the model's transitions, one block per operation, each rule with the
// cpython-notes §4 item it comes from.
#include "properties/runtime_model.h"

#include <algorithm>

namespace ifz::properties {

using harness::ForkMode;
using harness::Op;
using harness::OpCode;
using harness::StartKind;

namespace {

constexpr int kNoop = 0, kRearm = 2, kFail = 3, kAdds = 5;

std::string fatal_text(const char* func, const char* msg) {
  return std::string("Fatal Python error: ") + func + ": " + msg;
}

// P2: ≤3.12 a ring of 32 with one slot empty; 3.13 the main-thread queue holds 32, an
// interpreter's queue 300.
size_t capacity(const Model& m, bool runtime_queue) {
  if (m.minor >= 13) return runtime_queue ? 32 : 300;
  return 31;
}

size_t capacity(const Model& m, bool runtime_queue);
bool has_runtime_queue(const Model& m);

// Py_AddPendingCall(no-op) from inside a call run in interpreter `in` (an `adds` call): the
// public add's routing (≤3.8 the runtime queue, 3.9–3.11 the caller's interpreter, 3.12+ the
// main thread's queue) and refusals: a full queue, the interpreter's queue closed for
// Py_EndInterpreter's drain, every queue closed from Py_FinalizeEx's last drain on (P6).
void add_from_call(Model& m, Expect& e, int64_t in) {
  if (m.adds_refused) return;
  const bool runtime_queue = has_runtime_queue(m);
  if (!runtime_queue && in == m.closed_interp) return;
  std::vector<ModelCall>& q = runtime_queue ? m.runtime_queue : m.find(in)->queue;
  if (q.size() >= capacity(m, runtime_queue)) return;
  q.push_back({m.next_logical++, kNoop});
  e.rearmed.push_back(q.back().logical);
}

// P3/P4: one pass of make_pending_calls over `q`, run in interpreter `in`: the call is popped,
// a rearm call queues its follow-up first (into the same queue), an `adds` call adds one as it
// runs (add_from_call), a failing call ends the pass (and re-signals). True when a failing
// call ended it (its exception is raised where the pass ran).
bool run_queue(Model& m, Expect& e, std::vector<ModelCall>& q, int64_t in, int maxloop) {
  for (int n = 0; (maxloop == 0 || n < maxloop) && !q.empty(); ++n) {
    const ModelCall call = q.front();
    q.erase(q.begin());
    if (call.kind == kRearm) {
      q.push_back({m.next_logical++, kNoop});
      e.rearmed.push_back(q.back().logical);
    }
    e.runs.emplace_back(call.logical, in);
    if (call.kind == kAdds) add_from_call(m, e, in);
    if (call.kind == kFail) return true;
  }
  return false;
}

// _Py_FinishPendingCalls / Py_EndInterpreter: until the queue is empty (gh-118297's fix: a
// failing call does not strand the calls behind it).
// A failing call's exception is printed there, and printing starts with PyErr_CheckSignals
// (PyObject_Str): tripped signals are handled by a thread that may handle them (the main
// thread; 3.8+ in the main interpreter).
void drain(Model& m, Expect& e, std::vector<ModelCall>& q, int64_t in) {
  while (!q.empty()) {
    const bool failed = run_queue(m, e, q, in, 0);
    if (failed && (in == 0 || !m.signals_in_main_interp_only) && !m.tripped.empty()) {
      e.signals.insert(e.signals.end(), m.tripped.begin(), m.tripped.end());
      m.tripped.clear();
    }
  }
}

bool has_runtime_queue(const Model& m) { return m.minor <= 8 || m.minor >= 12; }

// The eval breaker of the main thread in its current interpreter (P3, P5): signals only in
// the main interpreter (3.7: in any, bpo-35724); ≤3.8 the global queue in any interpreter; 3.12+ the main-thread queue
// only in the main interpreter; 3.9+ the current interpreter's own queue (3.13: 100 per pass).
// True when a failing pending call raised (ceval's `goto error`: the code that checked the
// breaker stops there).
bool eval_pass(Model& m, Expect& e, int64_t c) {
  if ((c == 0 || !m.signals_in_main_interp_only) && !m.tripped.empty()) {
    e.signals.insert(e.signals.end(), m.tripped.begin(), m.tripped.end());
    m.tripped.clear();
  }
  // One pass runs at most 32 calls (≤3.12 NPENDINGCALLS; 3.13 the main thread's queue), 100
  // from a 3.13 interpreter's queue; the rest waits for the next check.
  if (has_runtime_queue(m) && (m.minor <= 8 || c == 0) && run_queue(m, e, m.runtime_queue, c, 32)) {
    return true;
  }
  return m.minor >= 9 && run_queue(m, e, m.find(c)->queue, c, m.minor >= 13 ? 100 : 32);
}

bool eval_pass(Model& m, Expect& e) { return eval_pass(m, e, m.current); }

// wait_for_thread_shutdown(): if `threading` was ever imported there, threading._shutdown
// (Python code) checks the eval breaker as it starts, joins the non-daemon threading threads,
// and checks it again (F1).
// The main thread waited: every helper that had not run yet runs now, a worker to its end.
void main_waited(Model& m) {
  for (ModelInterp& i : m.interps) i.unrun_workers = 0;
}

void thread_shutdown(Model& m, Expect& e, ModelInterp& i) {
  // A failing pending call raises out of _shutdown as it starts: nothing is joined, and
  // wait_for_thread_shutdown reports it as unraisable (no refusal seen by the caller). The
  // workers that have not run keep their thread states in the interpreter (F1 is owed only
  // by a join that ran: runtime event threads_join_skipped).
  if (i.threading_imported && eval_pass(m, e, i.id)) return;
  if (i.unrun_workers > 0) main_waited(m);  // joining a live worker waits for it
  i.workers = 0;
  if (i.threading_imported) eval_pass(m, e, i.id);
}

void end_process_fatal(Model& m, Expect& e, std::string text) {
  m.ended = true;
  e.end = Expect::End::kFatal;
  e.fatal = std::move(text);
}

void end_process_exit(Model& m, Expect& e, int code) {
  m.ended = true;
  e.end = Expect::End::kExit;
  e.exit_code = code;
}

void start_lifetime(Model& m, Expect& e) {
  ++m.generation;
  m.initialized = true;
  m.next_id = 1;  // S3: the main interpreter is 0 again, the first subinterpreter 1 again
  m.interps = {ModelInterp{}};
  m.current = 0;
  m.released = false;
  m.runtime_queue.clear();
  m.gilstate_interp = 0;  // _PyGILState_Init binds the main tstate
  // 3.8+ _PyRuntimeState_Init at every initialisation; 3.7 once per process [EXP 3.7.16].
  if (m.generation == 1 || m.minor >= 8) m.gilstate_check_enabled = true;
  m.ensures.clear();
  m.locked = {};
  m.event_set = {};
  m.event_made = {};
  e.created_interp = 0;
}

// Event.set / Event.wait: Python code whose entry checks the eval breaker; the first use of an
// Event also makes it (import threading, threading.Event(): one more check). A failing
// pending call raises out of either: the op does nothing more. False when it raised.
bool enter_event_code(Model& m, Expect& e, int index) {
  if (!m.event_made[index]) {
    if (eval_pass(m, e)) {
      e.error = "RuntimeError";
      return false;
    }
    m.event_made[index] = true;
    m.find(0)->threading_imported = true;
  }
  if (eval_pass(m, e)) {
    e.error = "RuntimeError";
    return false;
  }
  return true;
}

// 3.12+ tstate_activate: attaching a tstate binds the GILState key to it.
void attached_to(Model& m, int64_t interp) {
  m.current = interp;
  if (m.minor >= 12) m.gilstate_interp = interp;
}

void add_pending(Model& m, Expect& e, const Op& op) {
  e.add_result = -1;
  if (!m.initialized) return;  // P6: after finalisation's last drain the call would never run
  std::vector<ModelCall>* q = nullptr;
  bool runtime_queue = false;
  if (op.interp >= 0 && m.minor >= 9) {
    q = &m.find(op.interp)->queue;  // the internal per-interpreter add
  } else if (m.minor <= 8 || m.minor >= 12) {
    q = &m.runtime_queue;  // ≤3.8 global; 3.12+ main thread of the main interpreter (gh-104812)
    runtime_queue = true;
  } else {
    q = &m.find(m.current)->queue;  // 3.9–3.11: the caller's interpreter (bpo-39984)
  }
  if (q->size() >= capacity(m, runtime_queue)) return;
  q->push_back({m.next_logical++, op.variant});
  e.add_result = 0;
  e.added_logical = q->back().logical;
}

void end_interp(Model& m, Expect& e) {
  ModelInterp& i = *m.find(m.current);
  thread_shutdown(m, e, i);  // S1: non-daemon threading threads are joined first
  m.closed_interp = i.id;  // closed for the drain: an `adds` call's add into it is refused
  if (m.minor >= 9) drain(m, e, i.queue, i.id);  // P1: no accepted call is lost with its queue
  // S1: only the caller's tstate may be left (3.14+: the others are shut down, and hang).
  if ((i.sleepers > 0 || i.unrun_workers > 0) && !m.end_interp_shuts_down_others) {
    end_process_fatal(m, e, fatal_text("Py_EndInterpreter", "not the last thread"));
    return;
  }
  m.closed_interp = -1;
  const int64_t id = i.id, prev = i.prev;
  m.interps.erase(std::find_if(m.interps.begin(), m.interps.end(),
                               [id](const ModelInterp& x) { return x.id == id; }));
  attached_to(m, m.find(prev) ? prev : 0);  // PyThreadState_Swap back
}

void start(Model& m, Expect& e, const Op& op) {
  ModelInterp& i = *m.find(m.current);
  // threading.Thread(...) is Python code: one eval-breaker pass before anything starts.
  const auto kind = static_cast<StartKind>(op.variant);
  // A failing pending call raises out of start(): no thread.
  if ((kind == StartKind::kThreading || kind == StartKind::kDaemon) && eval_pass(m, e)) {
    e.error = "RuntimeError";
    return;
  }
  // 3.9–3.11: _thread refuses every thread in an isolated subinterpreter (bpo-40453).
  if (m.minor >= 9 && m.minor <= 11 && i.isolated &&
      static_cast<StartKind>(op.variant) != StartKind::kCThread) {
    e.error = "RuntimeError";
    return;
  }
  switch (static_cast<StartKind>(op.variant)) {
    case StartKind::kThreading:
      ++i.workers;
      ++i.unrun_workers;
      i.threading_imported = true;
      break;
    case StartKind::kDaemon:
      // S2: 3.12+ isolated interpreters have allow_daemon_threads=0 (gh-98610).
      if (m.minor >= 12 && i.isolated) {
        e.error = "RuntimeError";
        return;
      }
      ++i.sleepers;
      i.threading_imported = true;
      main_waited(m);  // the start handshake
      break;
    case StartKind::kCThread:
    case StartKind::kRaw:
      ++i.sleepers;
      main_waited(m);  // the start handshake
      break;
  }
}

void fork(Model& m, Expect& e, const Op& op) {
  const ForkMode mode = static_cast<ForkMode>(op.variant);
  const ModelInterp& here = *m.find(m.current);
  // os.fork() / subprocess.run() are called from Python code: one eval-breaker pass first,
  // before any refusal; a failing pending call raises there and nothing forks.
  if (eval_pass(m, e)) {
    e.error = "RuntimeError";
    return;
  }
  if (m.current != 0) {
    // K4: preexec_fn refused in subinterpreters from 3.8 (bpo-37951); os.fork refused in
    // isolated ones (3.9+) and, as 3.8 and the documentation say, in legacy ones from 3.8.
    const bool refused = mode == ForkMode::kPreexec ? m.minor >= 8
                         : mode == ForkMode::kFork  ? (m.minor >= 9 && here.isolated) || m.minor >= 8
                                                    : false;
    if (refused) {
      e.error = "RuntimeError";
      return;
    }
  }
  if (!op.follow_child) return;
  if (mode == ForkMode::kExec) {
    end_process_exit(m, e, 0);  // the child execs at once
    return;
  }
  e.fork_child = true;
  // K1: only the forking thread survives; its interpreter's other tstates are deleted.
  m.find(m.current)->workers = 0;
  m.find(m.current)->unrun_workers = 0;
  m.find(m.current)->sleepers = 0;
  if (m.minor >= 8) {
    // K3: only the main interpreter survives (the forking thread is in it: K4 refused others).
    for (const ModelInterp& i : m.interps) {
      if (i.id == 0) continue;
      for (const ModelCall& c : i.queue) m.uncertain.push_back(c.logical);
    }
    m.interps.erase(m.interps.begin() + 1, m.interps.end());
  } else {
    // 3.7 keeps every interpreter; the vanished threads' tstates stay linked in them. A daemon
    // or C thread's tstate then makes Py_EndInterpreter fatal ("not the last thread"). A worker
    // had maybe already finished (its tstate deleted) or not (threading._after_fork ran only
    // in the forking interpreter, so threading._shutdown would wait for it forever): which one
    // depends on the schedule before the fork, so that interpreter is no longer predicted.
    for (ModelInterp& i : m.interps) {
      if (i.workers > 0) i.vanished_workers = true;
      i.workers = 0;
      i.unrun_workers = 0;
    }
  }
  if (mode == ForkMode::kPreexec) {
    eval_pass(m, e);  // preexec_fn is Python code in the child, then it execs
    end_process_exit(m, e, 0);
  }
}

void finalize(Model& m, Expect& e) {
  thread_shutdown(m, e, *m.find(0));  // F1
  m.adds_refused = true;  // P6: the queues close before _Py_FinishPendingCalls
  // P6: _Py_FinishPendingCalls (the runtime queue, then the main interpreter's).
  if (has_runtime_queue(m)) drain(m, e, m.runtime_queue, 0);
  if (m.minor >= 9) drain(m, e, m.find(0)->queue, 0);
  if (m.interps.size() > 1) {
    if (m.minor <= 12) {  // F4: [EXP] 3.7–3.12
      end_process_fatal(m, e, fatal_text("PyInterpreterState_Delete", "remaining subinterpreters"));
      return;
    }
    // 3.13 finalize_subinterpreters (gh-113433), oldest first; one with a second thread state
    // aborts in Py_EndInterpreter ([EXP] 3.13.0). The -fixed twin deletes the daemons' thread
    // states as Py_FinalizeEx does its own, and ends the interpreter.
    for (size_t n = 1; n < m.interps.size(); ++n) {
      ModelInterp& i = m.interps[n];
      thread_shutdown(m, e, i);
      drain(m, e, i.queue, i.id);
      if ((i.sleepers > 0 || i.unrun_workers > 0) && !m.fixed && !m.end_interp_shuts_down_others) {
        end_process_fatal(m, e, fatal_text("Py_EndInterpreter", "not the last thread"));
        return;
      }
    }
  }
  m.initialized = false;
  m.adds_refused = false;  // a reinit opens them again
  m.gilstate_interp = -1;  // _PyGILState_Fini: the key is gone
  m.interps.clear();
  m.current = -1;
  m.released = false;
}

}  // namespace

const ModelInterp* Model::find(int64_t id) const {
  for (const ModelInterp& i : interps) {
    if (i.id == id) return &i;
  }
  return nullptr;
}

ModelInterp* Model::find(int64_t id) {
  return const_cast<ModelInterp*>(static_cast<const Model*>(this)->find(id));
}

bool model_allows(const Model& m, const Op& op) {
  if (m.ended) return op.code == OpCode::kYield;
  switch (op.code) {
    case OpCode::kYield:
      return true;
    case OpCode::kInit:
      return m.generation == 0;
    case OpCode::kReinit:
      return m.generation > 0 && !m.initialized;
    case OpCode::kNewInterp:
      return m.attached() && m.interps.size() < 5 && m.ensures.empty();
    case OpCode::kEndInterp:
      return m.attached() && m.current > 0 && !m.find(m.current)->vanished_workers &&
             m.ensures.empty();
    case OpCode::kGilStateEnsure:
      // Another tstate current than the GILState one (≤3.11 in a subinterpreter): CPython
      // waits for the GIL its own thread holds; the executor refuses it as no embedder can.
      return m.initialized && m.ensures.size() < 8 && m.current == m.gilstate_interp;
    case OpCode::kGilStateRelease:
      return m.attached() && !m.ensures.empty() && m.ensures.back().first == m.current &&
             m.gilstate_interp == m.current;
    case OpCode::kGilStateCheck:
      return true;
    case OpCode::kLockAcquire:
    case OpCode::kLockRelease:
    case OpCode::kEventSet:
    case OpCode::kEventWait: {
      // Only the main interpreter's objects, and never a wait that nobody would end (the main
      // thread is the only one that uses them here): a timed one, or one that returns at once.
      if (!m.attached() || m.current != 0) return false;
      const int i = op.variant & ~harness::kSyncTimeout;
      const bool timed = (op.variant & harness::kSyncTimeout) != 0;
      if (op.code == OpCode::kLockAcquire) return timed || !m.locked[i];
      if (op.code == OpCode::kEventWait) return timed || m.event_set[i];
      return true;
    }
    case OpCode::kSetSignal:
      return m.attached();
    case OpCode::kSwap:
      return m.attached() && op.interp != m.current && m.find(op.interp) != nullptr;
    case OpCode::kReleaseGil:
    case OpCode::kBlock:
    case OpCode::kRunBytecode:
      return m.attached();
    case OpCode::kAcquireGil:
      return m.initialized && m.released;
    case OpCode::kAddPending:
      return m.generation > 0 && (op.variant <= kFail || op.variant == kAdds) &&
             (op.interp < 0 || (m.initialized && m.find(op.interp) != nullptr));
    case OpCode::kSignal:
      return m.generation > 0;
    case OpCode::kStart:
      return m.attached() && static_cast<StartKind>(op.variant) != StartKind::kRaw;
    case OpCode::kFork: {
      if (!m.attached() || !m.ensures.empty()) return false;
      // Unverified in cpython-notes: subprocess (no preexec_fn) in a 3.9–3.11 isolated
      // interpreter. Not modelled.
      const bool isolated = m.find(m.current)->isolated;
      return !(static_cast<ForkMode>(op.variant) == ForkMode::kExec && isolated && m.minor <= 11);
    }
    case OpCode::kFinalize: {
      if (!m.attached() || m.current != 0 || m.find(0)->vanished_workers || !m.ensures.empty()) {
        return false;
      }
      // 3.13 ends subinterpreters by freeing their newest tstate first, which may be a live
      // non-daemon thread's (gh-128639 territory, not specified by the notes): not modelled.
      if (m.minor >= 13) {
        for (const ModelInterp& i : m.interps) {
          if (i.id != 0 && i.workers > 0) return false;
        }
      }
      return true;
    }
    default:
      return false;
  }
}

std::pair<Model, Expect> model_step(const Model& s0, const Op& op) {
  Model m = s0;
  Expect e;
  switch (op.code) {
    case OpCode::kInit:
    case OpCode::kReinit:
      start_lifetime(m, e);
      break;
    case OpCode::kNewInterp: {
      ModelInterp i;
      i.id = m.next_id++;
      i.isolated = (op.variant & harness::kInterpIsolated) && m.minor >= 9;
      i.prev = m.current;
      m.interps.push_back(i);
      attached_to(m, i.id);
      m.gilstate_check_enabled = false;
      e.created_interp = i.id;
      break;
    }
    case OpCode::kEndInterp:
      end_interp(m, e);
      break;
    case OpCode::kSwap:
      attached_to(m, op.interp);
      break;
    case OpCode::kGilStateEnsure:
      // The GILState tstate is current (LOCKED) or, released, re-attached (UNLOCKED).
      m.ensures.emplace_back(m.current, m.released);
      m.released = false;
      break;
    case OpCode::kGilStateRelease:
      // An UNLOCKED level detaches again (PyEval_SaveThread); a LOCKED one keeps the GIL.
      m.released = m.ensures.back().second;
      m.ensures.pop_back();
      break;
    case OpCode::kGilStateCheck:
      // 1 with checks off or no key; 0 with nothing attached; else: is the current tstate
      // the GILState one.
      e.gilstate_check = !m.gilstate_check_enabled || m.gilstate_interp < 0 ? 1
                         : !m.attached()                                   ? 0
                         : m.current == m.gilstate_interp                  ? 1
                                                                           : 0;
      break;
    case OpCode::kSetSignal: {
      // signal.signal() on the main thread (every command here is the main thread's, also in
      // a fork child, whose main thread is the forking one): the first `import _signal` of an
      // interpreter is Python code (a failing pending call raises out of it, nothing imported);
      // then ValueError outside the main interpreter from 3.8 (bpo-35724) [EXP 3.7.16, 3.8.18].
      if (!m.find(m.current)->signal_imported) {
        if (eval_pass(m, e)) {
          e.error = "RuntimeError";
          break;
        }
        m.find(m.current)->signal_imported = true;
      }
      if (m.minor >= 8 && m.current != 0) {
        e.error = "ValueError";
        break;
      }
      // Before changing the handler it handles the signals already tripped (PyErr_CheckSignals),
      // where signals may be handled at all (P5).
      if ((m.current == 0 || !m.signals_in_main_interp_only) && !m.tripped.empty()) {
        e.signals.insert(e.signals.end(), m.tripped.begin(), m.tripped.end());
        m.tripped.clear();
      }
      break;
    }
    case OpCode::kReleaseGil:
      m.released = true;
      break;
    case OpCode::kAcquireGil:
      m.released = false;
      break;
    case OpCode::kRunBytecode:
      // A failing pending call's RuntimeError leaves the loop: the rest does not run.
      for (int n = 0; n < op.count; ++n) {
        if (eval_pass(m, e)) {
          e.error = "RuntimeError";
          break;
        }
      }
      break;
    case OpCode::kAddPending:
      add_pending(m, e, op);
      break;
    case OpCode::kSignal:
      // P5 / bpo-30703: the handler only sets a flag; it is handled by the eval loop later.
      if (std::find(m.tripped.begin(), m.tripped.end(), op.count) == m.tripped.end()) {
        m.tripped.push_back(op.count);
        std::sort(m.tripped.begin(), m.tripped.end());
      }
      break;
    case OpCode::kStart:
      start(m, e, op);
      break;
    case OpCode::kFork:
      fork(m, e, op);
      break;
    case OpCode::kFinalize:
      finalize(m, e);
      break;
    case OpCode::kLockAcquire: {
      // acquire_timed: a free lock is taken at once; a held one (by this thread) is never
      // released meanwhile, so the timed wait expires: False.
      const int i = op.variant & ~harness::kSyncTimeout;
      e.sync_returned = m.locked[i] ? 0 : 1;
      m.locked[i] = true;
      if ((op.variant & harness::kSyncTimeout) == 0) e.sync_returned = -1;
      break;
    }
    case OpCode::kLockRelease: {
      const int i = op.variant;
      if (!m.locked[i]) e.error = "RuntimeError";  // "release unlocked lock"
      m.locked[i] = false;
      break;
    }
    case OpCode::kEventSet:
      if (enter_event_code(m, e, op.variant)) m.event_set[op.variant] = true;
      break;
    case OpCode::kEventWait: {
      const int i = op.variant & ~harness::kSyncTimeout;
      if (enter_event_code(m, e, i) && (op.variant & harness::kSyncTimeout) != 0) {
        e.sync_returned = m.event_set[i] ? 1 : 0;
      }
      break;
    }
    default:
      break;
  }
  return {std::move(m), std::move(e)};
}

}  // namespace ifz::properties
