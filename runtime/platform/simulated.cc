// SPDX-License-Identifier: Apache-2.0
// simulated.cc — coroutine threads, the scheduling step, and the PyThread-lock model.
// Defines SimulatedPlatform (see simulated.h for the state machine and how a run ends).
#include "runtime/platform/simulated.h"

#include <cxxabi.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <typeinfo>
#include <utility>

#include <boost/context/detail/fcontext.hpp>

#include "base/check.h"
#include "runtime/platform/fiber_stack_pool.h"
#include "runtime/platform/not_feedback.h"

#if IFZ_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#if IFZ_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace ifz::platform {

namespace bctx = boost::context::detail;

namespace {

enum class State : uint8_t {
  kRunnable,
  kLock,       // blocked in Mutex::lock (Thread::mutex)
  kCond,       // waiting on Thread::cond, untimed
  kTimedCond,  // waiting on Thread::cond with a timeout: runnable (picking it = timeout)
  kJoin,       // waiting for Thread::join_target to finish
  kHung,       // hang_thread: forever
  kFinished,
  kVanished,   // dropped by a fork that followed another thread into the child
};

bool is_live(State s) { return s != State::kFinished && s != State::kVanished; }
bool is_runnable(State s) { return s == State::kRunnable || s == State::kTimedCond; }

// The Itanium C++ ABI's per-OS-thread exception record (libstdc++ and libc++abi agree on it):
// the stack of exceptions being handled and the count of those in flight.
struct EhGlobals {
  void* caught;
  unsigned int uncaught;
};
EhGlobals* eh_globals() { return reinterpret_cast<EhGlobals*>(abi::__cxa_get_globals()); }

}  // namespace

struct SimulatedPlatform::Thread {
  ThreadId id = kNoThread;
  std::string name;
  std::function<void()> body;
  State state = State::kRunnable;
  Context ctx;
  FiberStack stack;
  // Blocking detail, for retries and reports. invariant: meaningful only in the matching state
  // (mutex also while waiting on a cond: the lock to re-acquire).
  Mutex* mutex = nullptr;
  CondVar* cond = nullptr;
  ThreadId join_target = kNoThread;
  std::string hang_why;
  // Fair timeouts: a timed wait models "time passes", so a waiter that already timed out is
  // offered again only after some *other* thread made progress (a non-wait scheduling point).
  // Otherwise any strategy could pick it forever and turn a quiet system into a step-limit
  // "hang"; with nothing else able to move, the system is reported as deadlocked instead.
  uint64_t own_progress = 0;             // progress points made by this thread
  uint64_t others_at_timeout = kNever;   // others' progress when it last timed out
  static constexpr uint64_t kNever = ~uint64_t{0};
};

SimulatedPlatform::SimulatedPlatform(Chooser* chooser, SimOptions opts)
    : chooser_(chooser), opts_(opts) {
  main_ctx_.platform = this;
}

SimulatedPlatform::~SimulatedPlatform() = default;

// ---- context switching -------------------------------------------------------------------------

// Every jump goes scheduler → coroutine or coroutine → scheduler. The annotations follow
// DESIGN D1 exactly: start_switch right before the jump, finish_switch first thing after it.
void SimulatedPlatform::jump(Context& from, Context& to, bool from_finished) {
  EhGlobals* eh = eh_globals();
  from.eh_caught = eh->caught;
  from.eh_uncaught = eh->uncaught;
  eh->caught = to.eh_caught;
  eh->uncaught = to.eh_uncaught;
#if IFZ_TSAN
  __tsan_switch_to_fiber(to.tsan_fiber, 0);
#endif
#if IFZ_ASAN
  // A finished coroutine passes null: ASan frees its fake stack now.
  __sanitizer_start_switch_fiber(from_finished ? nullptr : &from.fake_stack, to.bottom, to.size);
#endif
  if (from_finished) from.fake_stack = nullptr;
  bctx::transfer_t back = bctx::jump_fcontext(to.fctx, &from);
#if IFZ_ASAN
  __sanitizer_finish_switch_fiber(from.fake_stack, nullptr, nullptr);
#endif
  // Whoever resumed us handed over its own Context: record where it stopped.
  static_cast<Context*>(back.data)->fctx = back.fctx;
}

void SimulatedPlatform::coroutine_entry(void* transfer_fctx, void* transfer_data) {
  auto* scheduler = static_cast<Context*>(transfer_data);
#if IFZ_ASAN
  // First entry: no fake stack to restore; ASan tells us the scheduler's stack bounds.
  __sanitizer_finish_switch_fiber(nullptr, &scheduler->bottom, &scheduler->size);
#endif
  scheduler->fctx = transfer_fctx;
  scheduler->platform->thread_main();
}

void SimulatedPlatform::resume(ThreadId id) {
  Thread& t = *threads_[id];
  current_ = id;
  if (t.ctx.fctx == nullptr) {
    t.ctx.fctx = bctx::make_fcontext(t.stack.top(), t.stack.size(), [](bctx::transfer_t tr) {
      coroutine_entry(tr.fctx, tr.data);
    });
  }
  jump(main_ctx_, t.ctx, /*from_finished=*/false);
}

void SimulatedPlatform::thread_main() {
  Thread& me = self();
  bool returned = false;
  try {
    me.body();
    returned = true;
  } catch (const ThreadExit&) {
    // exit_thread(): the unwinding already ran the destructors; nothing else to do here, and
    // nothing that could switch inside this handler.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "==ifz== INTERNAL ERROR: exception %s escaped simulated thread %d (%s)\n",
                 e.what(), me.id, me.name.c_str());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "==ifz== INTERNAL ERROR: unknown exception escaped simulated thread %d\n",
                 me.id);
    std::abort();
  }
  me.state = State::kFinished;
  ++progress_;  // a thread ending is progress for everybody else (fair timeouts)
  wake_joiners(me.id);
  // Returning from main() ends the process; pthread_exit in main() does not.
  if (me.id == 0 && returned) end_run(RunResult::Kind::kExited, 0, "");
  schedule({Point::kThreadExit, me.name.c_str(), nullptr});
  IFZ_CHECK(false, "a finished coroutine was resumed");
  std::abort();
}

// Hands every stack back to the pool. Coroutines that did not finish (abandoned at exit, blocked
// at a deadlock, vanished in a fork) still own an ASan fake stack with use-after-return
// detection on: reap it from the scheduler's stack, as DESIGN D1 prescribes.
void SimulatedPlatform::release_coroutines() {
  FiberStackPool& pool = FiberStackPool::for_this_thread(opts_.stack_size);
  for (auto& t : threads_) {
#if IFZ_ASAN
    if (t->ctx.fake_stack != nullptr) {
      void* main_fake = nullptr;
      __sanitizer_start_switch_fiber(&main_fake, main_ctx_.bottom, main_ctx_.size);
      __sanitizer_finish_switch_fiber(t->ctx.fake_stack, nullptr, nullptr);
      __sanitizer_start_switch_fiber(nullptr, main_ctx_.bottom, main_ctx_.size);
      __sanitizer_finish_switch_fiber(main_fake, nullptr, nullptr);
      t->ctx.fake_stack = nullptr;
    }
#endif
#if IFZ_TSAN
    __tsan_destroy_fiber(t->ctx.tsan_fiber);
    t->ctx.tsan_fiber = nullptr;
#endif
    pool.release(t->stack);
    t->stack = FiberStack{};
  }
}

// ---- run ----------------------------------------------------------------------------------------

RunResult SimulatedPlatform::run(std::string main_name, std::function<void()> main_body) {
  IFZ_PRECONDITION(!ran_, "SimulatedPlatform::run() is one execution: one call per instance");
  ran_ = true;
#if IFZ_TSAN
  main_ctx_.tsan_fiber = __tsan_get_current_fiber();
#endif
  add_thread(std::move(main_name), std::move(main_body));
  in_run_ = true;
  next_ = 0;
  // Every coroutine runs on this OS thread: its lock operations ask this platform's guard.
  Platform* const outer_guarded = internal::tls_guarded_platform;
  internal::tls_guarded_platform = this;
  while (!ended_) resume(next_);
  internal::tls_guarded_platform = outer_guarded;
  in_run_ = false;
  current_ = kNoThread;
  release_coroutines();
  return std::move(result_);
}

ThreadId SimulatedPlatform::add_thread(std::string name, std::function<void()> body) {
  auto t = std::make_unique<Thread>();
  t->id = static_cast<ThreadId>(threads_.size());
  t->name = std::move(name);
  t->body = std::move(body);
  t->stack = FiberStackPool::for_this_thread(opts_.stack_size).acquire();
  t->ctx.bottom = t->stack.bottom();
  t->ctx.size = t->stack.size();
  t->ctx.platform = this;
#if IFZ_TSAN
  t->ctx.tsan_fiber = __tsan_create_fiber(0);
  __tsan_set_fiber_name(t->ctx.tsan_fiber, t->name.c_str());
#endif
  threads_.push_back(std::move(t));
  return threads_.back()->id;
}

SimulatedPlatform::Thread& SimulatedPlatform::self() {
  IFZ_PRECONDITION(in_run_, "this SimulatedPlatform operation may block: call it inside run()");
  return *threads_[current_];
}

// ---- the scheduling step ------------------------------------------------------------------------

// The scheduler loop (which fiber runs next) runs the same code whatever the runtime does: in
// the fuzz presets it is left out of coverage, as the harness is (cmake/sancov_ignorelist.txt).
// Its comparison tracing was a quarter of fuzz_lifecycle's (perf, session 3). The lock and
// condition primitives below stay instrumented: whether an acquire found its lock held is
// interleaving feedback. (IFZ_NOT_FEEDBACK: runtime/platform/not_feedback.h.)

IFZ_NOT_FEEDBACK void SimulatedPlatform::schedule(const PointInfo& where) {
  ThreadId next = decide(where);
  if (next == current_) return;
  ++result_.switches;
  next_ = next;
  Thread& me = *threads_[current_];
  jump(me.ctx, main_ctx_, /*from_finished=*/me.state == State::kFinished);
}

// The sorted runnable list, in runnable_; returns how many of them are timed waiters.
IFZ_NOT_FEEDBACK size_t SimulatedPlatform::collect_runnable() {
  runnable_.clear();
  size_t timed = 0;
  for (const auto& t : threads_) {
    if (!is_runnable(t->state)) continue;
    if (t->state == State::kTimedCond) {
      const uint64_t others = progress_ - t->own_progress;
      if (t->others_at_timeout != Thread::kNever && others <= t->others_at_timeout) continue;
      ++timed;
    }
    runnable_.push_back(t->id);
  }
  return timed;
}

// IFZ_TRACE_POINTS=1 prints every scheduling point to stderr (debugging the model itself).
bool trace_points() {
  static const bool on = std::getenv("IFZ_TRACE_POINTS") != nullptr;
  return on;
}

IFZ_NOT_FEEDBACK ThreadId SimulatedPlatform::decide(const PointInfo& where) {
  if (++result_.steps > opts_.max_steps) {
    end_run(RunResult::Kind::kStepLimit, 0,
            "exceeded SimOptions::max_steps = " + std::to_string(opts_.max_steps) +
                " scheduling points: a spin loop, or a schedule that starves a thread?");
  }
  collect_runnable();
  if (trace_points()) {
    std::fprintf(stderr, "ifz-point %llu T%d %s %s runnable:", static_cast<unsigned long long>(result_.steps),
                 current_, point_name(where.kind), where.label);
    for (ThreadId t : runnable_) std::fprintf(stderr, " T%d", t);
    for (const auto& t : threads_) {
      if (t->state == State::kTimedCond) {
        std::fprintf(stderr, " [T%d timed: others=%llu at_timeout=%llu]", t->id,
                     static_cast<unsigned long long>(progress_ - t->own_progress),
                     static_cast<unsigned long long>(t->others_at_timeout));
      }
    }
    std::fprintf(stderr, "\n");
  }
  if (runnable_.empty()) end_stuck();
  if (runnable_.size() == 1) return runnable_[0];
  if (chooser_ != nullptr) {
    return runnable_[chooser_->pick(runnable_, current_, where) % runnable_.size()];
  }
  bool current_runnable = std::binary_search(runnable_.begin(), runnable_.end(), current_);
  return current_runnable ? current_ : runnable_[0];
}

void SimulatedPlatform::end_run(RunResult::Kind kind, int code, std::string message) {
  Thread& me = *threads_[current_];
  result_.kind = kind;
  result_.exit_code = code;
  result_.message = std::move(message);
  if (kind == RunResult::Kind::kDeadlock || kind == RunResult::Kind::kStepLimit ||
      kind == RunResult::Kind::kHang) {
    list_live_threads();
  }
  ended_ = true;
  jump(me.ctx, main_ctx_, /*from_finished=*/me.state == State::kFinished);
  IFZ_CHECK(false, "a coroutine was resumed after the run ended");
  std::abort();
}

// Nothing is runnable: the process is over, asleep forever, or deadlocked.
void SimulatedPlatform::end_stuck() {
  bool any_live = false;
  bool all_hung = true;
  for (const auto& t : threads_) {
    if (!is_live(t->state)) continue;
    any_live = true;
    all_hung = all_hung && t->state == State::kHung;
  }
  if (!any_live) end_run(RunResult::Kind::kExited, 0, "");
  if (all_hung) end_run(RunResult::Kind::kHang, 0, "every live thread is hung");
  end_run(RunResult::Kind::kDeadlock, 0, "deadlock: no runnable thread");
}

void SimulatedPlatform::list_live_threads() {
  for (const auto& t : threads_) {
    if (is_live(t->state)) result_.blocked.push_back(describe(*t));
  }
}

BlockedThread SimulatedPlatform::describe(const Thread& t) const {
  BlockedThread b{t.id, t.name, "runnable", kNoThread};
  switch (t.state) {
    case State::kLock:
      b.waits_on = std::string("lock ") + t.mutex->name();
      b.owner = t.mutex->owner();
      break;
    case State::kCond:
    case State::kTimedCond:
      b.waits_on = std::string("cond ") + t.cond->name() + " (lock " + t.mutex->name() + ")";
      if (t.state == State::kTimedCond) b.waits_on += ", timed";
      break;
    case State::kJoin:
      b.waits_on = "join T" + std::to_string(t.join_target);
      b.owner = t.join_target;
      break;
    case State::kHung:
      b.waits_on = "hang: " + t.hang_why;
      break;
    default:
      break;
  }
  return b;
}

// ---- threads ------------------------------------------------------------------------------------

IFZ_NOT_FEEDBACK ThreadId SimulatedPlatform::current() const { return in_run_ ? current_ : 0; }

ThreadId SimulatedPlatform::spawn(std::string name, std::function<void()> body) {
  IFZ_PRECONDITION(in_run_, "SimulatedPlatform::spawn() outside run()");
  ThreadId id = add_thread(std::move(name), std::move(body));
  point({Point::kThreadStart, threads_[id]->name.c_str(), nullptr});
  return id;
}

void SimulatedPlatform::join(ThreadId t) {
  Thread& me = self();
  while (alive(t)) {
    me.state = State::kJoin;
    me.join_target = t;
    schedule({Point::kYield, "join", nullptr});
  }
  me.join_target = kNoThread;
}

bool SimulatedPlatform::alive(ThreadId t) const {
  if (t < 0 || static_cast<size_t>(t) >= threads_.size()) return false;
  return is_live(threads_[t]->state);
}

void SimulatedPlatform::wake_joiners(ThreadId finished) {
  for (auto& t : threads_) {
    if (t->state == State::kJoin && t->join_target == finished) t->state = State::kRunnable;
  }
}

void SimulatedPlatform::exit_thread() { throw ThreadExit{}; }

void SimulatedPlatform::hang_thread(const char* why) {
  Thread& me = self();
  me.state = State::kHung;
  me.hang_why = why != nullptr ? why : "";
  schedule({Point::kYield, "hang", nullptr});
  IFZ_CHECK(false, "a hung coroutine was resumed");
  std::abort();
}

IFZ_NOT_FEEDBACK void SimulatedPlatform::point(const PointInfo& where) {
  if (!in_run_) return;
  // Anything but a (re-)wait is progress, for the fair-timeout rule (Thread::own_progress).
  if (where.kind != Point::kWait) {
    ++progress_;
    ++self().own_progress;
  }
  schedule(where);
}

void SimulatedPlatform::syscall(const char* label) { point({Point::kSyscall, label, nullptr}); }

// ---- process ------------------------------------------------------------------------------------

ForkResult SimulatedPlatform::fork(ForkFollow follow) {
  point({Point::kFork, "fork", nullptr});
  ++forks_;
  if (follow == ForkFollow::kParent) return {false, 1000 + forks_};
  // As in fork(2): the other threads simply stop existing. Their stacks stay mapped until the
  // run ends, and the locks they hold stay held by them.
  for (auto& t : threads_) {
    if (t->id != current_ && is_live(t->state)) t->state = State::kVanished;
  }
  return {true, 0};
}

void SimulatedPlatform::exit_process(int code) {
  IFZ_PRECONDITION(in_run_, "SimulatedPlatform::exit_process() outside run()");
  end_run(RunResult::Kind::kExited, code, "");
}

void SimulatedPlatform::abort_process(std::string message) {
  IFZ_PRECONDITION(in_run_, "SimulatedPlatform::abort_process() outside run()");
  end_run(RunResult::Kind::kAborted, 0, std::move(message));
}

void SimulatedPlatform::report(std::string_view bytes) { result_.report.append(bytes); }

// ---- PyThread locks -----------------------------------------------------------------------------

// After each scheduling point the lock is asked about again (internal::guard_object): the
// memory it lives in may have been freed while this thread was switched out.
void SimulatedPlatform::mutex_lock(Mutex& m) {
  point({Point::kLock, m.name(), &m});
  internal::guard_object(&m, "lock");
  acquire(m);
}

bool SimulatedPlatform::mutex_try_lock(Mutex& m) {
  point({Point::kLock, m.name(), &m});
  internal::guard_object(&m, "lock");
  if (m.locked()) return false;
  m.owner_.store(current(), std::memory_order_relaxed);
  return true;
}

void SimulatedPlatform::mutex_unlock(Mutex& m) {
  release(m);
  point({Point::kUnlock, m.name(), &m});
}

void SimulatedPlatform::mutex_reinit(Mutex& m) {
  m.owner_.store(kNoThread, std::memory_order_relaxed);
  m.waiters_.clear();
}

// Takes `m` for the current thread, blocking while anyone (the caller included: the lock is
// not reentrant) holds it. A woken waiter retries; if it loses the race again it goes back to
// the head of the queue, where it arrived.
void SimulatedPlatform::acquire(Mutex& m) {
  if (!in_run_) {
    IFZ_PRECONDITION(!m.locked(), "Mutex::lock() would block outside SimulatedPlatform::run()");
    m.owner_.store(0, std::memory_order_relaxed);
    return;
  }
  Thread& me = self();
  bool retry = false;
  while (m.locked()) {
    me.state = State::kLock;
    me.mutex = &m;
    m.waiters_.insert(retry ? m.waiters_.begin() : m.waiters_.end(), me.id);
    schedule({Point::kLock, m.name(), &m});
    internal::guard_object(&m, "lock");  // freed (with its owner) while this thread waited?
    retry = true;
  }
  m.owner_.store(me.id, std::memory_order_relaxed);
  me.mutex = nullptr;
}

// Frees `m` (whoever calls: PyThread locks have no owner check) and makes its first live
// waiter runnable; it re-checks the lock when it runs.
void SimulatedPlatform::release(Mutex& m) {
  m.owner_.store(kNoThread, std::memory_order_relaxed);
  while (!m.waiters_.empty()) {
    Thread& w = *threads_[m.waiters_.front()];
    m.waiters_.erase(m.waiters_.begin());
    if (w.state == State::kLock && w.mutex == &m) {
      w.state = State::kRunnable;
      return;
    }
  }
}

bool SimulatedPlatform::cond_wait(CondVar& c, Mutex& m, int64_t micros) {
  Thread& me = self();
  bool timed = micros >= 0;
  release(m);
  me.state = timed ? State::kTimedCond : State::kCond;
  me.cond = &c;
  me.mutex = &m;
  c.waiters_.push_back(me.id);
  schedule({Point::kWait, c.name(), &c});
  internal::guard_object(&c, "wait on");  // freed (with its owner) while this thread waited?
  bool timed_out = me.state == State::kTimedCond;  // picked before any notify
  if (timed_out) {
    c.waiters_.erase(std::find(c.waiters_.begin(), c.waiters_.end(), me.id));
    me.state = State::kRunnable;
    me.others_at_timeout = progress_ - me.own_progress;
  } else {
    me.others_at_timeout = Thread::kNever;  // notified: a fresh wait may time out again
  }
  IFZ_CHECK(me.state == State::kRunnable, "a cond waiter ran before being notified");
  me.cond = nullptr;
  acquire(m);
  return timed_out;
}

void SimulatedPlatform::fresh_timed_wait() {
  if (in_run_) self().others_at_timeout = Thread::kNever;
}

void SimulatedPlatform::cond_notify(CondVar& c, bool all, bool with_point) {
  while (!c.waiters_.empty()) {
    Thread& w = *threads_[c.waiters_.front()];
    c.waiters_.erase(c.waiters_.begin());
    // Skips waiters that vanished in a fork (their ids stay until reinit).
    if ((w.state != State::kCond && w.state != State::kTimedCond) || w.cond != &c) continue;
    w.state = State::kRunnable;
    if (!all) break;
  }
  if (with_point) point({Point::kNotify, c.name(), &c});
}

void SimulatedPlatform::cond_reinit(CondVar& c) { c.waiters_.clear(); }

}  // namespace ifz::platform
