// SPDX-License-Identifier: Apache-2.0
// runtime_model_test.cc — the stateful model test: sequences of program operations applied
// directly to a Runtime on the simulated platform, each checked against runtime_model.h's
// prediction as it returns (pending calls accepted and where and when each runs, interpreter
// ids, refusals, signals) and, for the operation that ends the process, its exact outcome.
// Defines Sut, RuntimeCommand and the property "the runtime behaves as the model predicts".
//
// Why the commands run inside one platform execution, with precomputed model states and no
// heap-owning locals around runtime calls: the runtime runs on coroutines, and an operation
// that ends the process (a fatal error, exec in a fork child) abandons the main coroutine
// mid-flight, never unwinding it (DESIGN D2). Whatever it owned would leak, and a RapidCheck
// assertion cannot propagate out of it: failures are caught on the coroutine and rethrown
// once the execution is over.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/state.h>

#include <array>
#include <exception>
#include <map>
#include <memory>
#include <sstream>

#include "harness/program/text_format.h"
#include "harness/tests/rc_property.h"
#include "properties/contract_property.h"
#include "properties/runtime_model.h"
#include "runtime/platform/simulated.h"
#include "runtime/runtime.h"

namespace ifz::properties {
namespace {

using harness::ForkMode;
using harness::make_op;
using harness::Op;
using harness::OpCode;
using harness::StartKind;
using rt::EventKind;

struct Recorder : rt::RuntimeObserver {
  void on_event(const rt::Event& e) override { events.push_back(e); }
  std::vector<rt::Event> events;
};

// The system under test: one modelled process. Owned by the test thread, so nothing in it
// leaks when the main coroutine is abandoned.
struct Sut {
  Sut(const rt::Profile& p, const rt::DefectSet& defects)
      : runtime(plat, p, defects, &recorder),
        lock(plat, "model.helpers"),
        ready_cv(plat, "model.ready"),
        never_cv(plat, "model.never") {}
  Recorder recorder;
  platform::SimulatedPlatform plat;  // sequential: the main thread runs while it can
  rt::Runtime runtime;
  platform::Mutex lock;
  platform::CondVar ready_cv, never_cv;
  int ready = 0;  // helpers that reached their sleep
  std::array<rt::ThreadState*, 16> own{};  // the main thread's tstate per interpreter id
  std::array<int64_t, 16> prev{};          // where end_interp of interpreter i returns
  rt::ThreadState* saved = nullptr;        // release_gil
  std::vector<int> ensures;                // open PyGILState_Ensure results
  int gilstate_check = -1;                 // the last gilstate_check's value
  // The program's locks and events, one set per runtime lifetime (kept: a test-owned home,
  // as the executor's Execution::user_sync_), and what the last timed wait returned.
  std::vector<std::unique_ptr<rt::UserSync>> sync_objects;
  std::array<rt::UserSync*, 2 * harness::kSyncObjects> sync{};
  int sync_returned = -1;
  std::string error;                       // new_interpreter's refusal
  std::map<int64_t, int> logical_of;       // runtime call id -> model call number
  size_t mark = 0;                         // first event of the running command
  size_t running = 0;                      // index of the running command
  bool returned = true;                    // it returned (or none ran)
  std::exception_ptr failure;              // an assertion failed on the main coroutine
  platform::ThreadId main = 0;
};

// ---- what each operation does on the runtime (no heap-owning locals: see the file comment) ----

void sleep_forever(Sut* s) {
  s->runtime.save_thread();
  s->lock.lock();
  ++s->ready;
  s->ready_cv.notify_all();
  for (;;) s->never_cv.wait(s->lock);
}

void start_helper(Sut& s, StartKind kind) {
  rt::Runtime& rt = s.runtime;
  const int want = s.ready + 1;
  Sut* sp = &s;
  if (kind == StartKind::kThreading) {
    rt.start_thread(rt::ThreadKind::kThreading, /*daemon=*/false, [sp] {
      sp->runtime.block("worker");
      sp->runtime.block("worker");
    });
    return;
  }
  if (kind == StartKind::kDaemon) {
    const bool ok = rt.start_thread(rt::ThreadKind::kThreading, /*daemon=*/true,
                                    [sp] { sleep_forever(sp); })
                        .result.ok;
    if (!ok) return;
  } else {
    rt::Interpreter* interp = rt.current()->interp;
    rt.start_c_thread([sp, interp] {
      sp->runtime.restore_thread(sp->runtime.thread_state_new(interp));
      sleep_forever(sp);
    });
  }
  // The handshake: the helper is asleep (GIL released) when the command returns.
  rt::ThreadState* me = rt.save_thread();
  s.lock.lock();
  while (s.ready < want) s.ready_cv.wait(s.lock);
  s.lock.unlock();
  rt.restore_thread(me);
}

int64_t id_of(const rt::ThreadState* t) { return t->interp->id; }

void perform(Sut& s, const Op& op) {
  rt::Runtime& rt = s.runtime;
  switch (op.code) {
    case OpCode::kInit:
    case OpCode::kReinit:
      rt.initialize();
      s.own.fill(nullptr);
      s.own[0] = rt.current();
      for (int i = 0; i < 2 * harness::kSyncObjects; ++i) {
        static constexpr const char* kNames[] = {"user L0", "user L1", "user L2", "user L3",
                                                 "user E0", "user E1", "user E2", "user E3"};
        const auto kind = i < harness::kSyncObjects ? rt::UserSync::Kind::kLock : rt::UserSync::Kind::kEvent;
        s.sync_objects.push_back(std::make_unique<rt::UserSync>(s.plat, kind, kNames[i]));
        s.sync[i] = s.sync_objects.back().get();
      }
      break;
    case OpCode::kNewInterp: {
      rt::InterpConfig cfg;  // as the executor builds it (harness/exec/ops.cc)
      cfg.isolated = op.variant & harness::kInterpIsolated;
      cfg.own_gil = cfg.isolated || (op.variant & harness::kInterpOwnGil);
      if (cfg.isolated && rt.profile().minor >= 12) {
        cfg.allow_fork = cfg.allow_exec = cfg.allow_daemon_threads = false;
      }
      const int64_t before = id_of(rt.current());
      rt::ThreadState* t = rt.new_interpreter(cfg, &s.error);
      if (t == nullptr) break;
      s.own[id_of(t)] = t;
      s.prev[id_of(t)] = before;
      break;
    }
    case OpCode::kEndInterp: {
      rt::ThreadState* cur = rt.current();
      const int64_t id = id_of(cur);
      const int64_t back = rt.find_interp(s.prev[id]) != nullptr ? s.prev[id] : 0;
      s.own[id] = nullptr;
      rt.end_interpreter(cur);
      rt.swap(s.own[back]);
      break;
    }
    case OpCode::kSwap: rt.swap(s.own[op.interp]); break;
    case OpCode::kGilStateEnsure: s.ensures.push_back(rt.gilstate_ensure()); break;
    case OpCode::kGilStateRelease: {
      rt::ThreadState* t = rt.current();
      rt.gilstate_release(s.ensures.back());
      s.ensures.pop_back();
      if (rt.current() == nullptr) s.saved = t;  // UNLOCKED: released again
      break;
    }
    case OpCode::kGilStateCheck: s.gilstate_check = rt.gilstate_check(); break;
    case OpCode::kLockAcquire:
      s.sync_returned = rt.user_lock_acquire(*s.sync[op.variant & ~harness::kSyncTimeout],
                                             (op.variant & harness::kSyncTimeout) != 0);
      if ((op.variant & harness::kSyncTimeout) == 0) s.sync_returned = -1;
      break;
    case OpCode::kLockRelease: rt.user_lock_release(*s.sync[op.variant]); break;
    case OpCode::kEventSet: rt.user_event_set(*s.sync[harness::kSyncObjects + op.variant]); break;
    case OpCode::kEventWait: {
      bool flag = false;
      const int i = op.variant & ~harness::kSyncTimeout;
      const bool timed = (op.variant & harness::kSyncTimeout) != 0;
      s.sync_returned = -1;
      if (rt.user_event_wait(*s.sync[harness::kSyncObjects + i], timed, &flag).ok && timed) {
        s.sync_returned = flag ? 1 : 0;
      }
      break;
    }
    case OpCode::kSetSignal: rt.set_signal_handler(); break;  // checked by its kError event
    case OpCode::kReleaseGil: s.saved = rt.save_thread(); break;
    case OpCode::kAcquireGil:
      rt.restore_thread(s.saved);
      s.saved = nullptr;
      break;
    case OpCode::kBlock: rt.block("block"); break;
    case OpCode::kRunBytecode: rt.run_bytecode(op.count); break;
    case OpCode::kAddPending:
      rt.add_pending(static_cast<rt::PendingKind>(op.variant),
                     op.interp >= 0 ? rt.find_interp(op.interp) : nullptr);
      break;
    case OpCode::kSignal: rt.trip_signal(op.count); break;
    case OpCode::kStart: start_helper(s, static_cast<StartKind>(op.variant)); break;
    case OpCode::kFork: {
      const bool child = rt.fork(static_cast<rt::ForkKind>(op.variant),
                                 op.follow_child ? platform::ForkFollow::kChild
                                                 : platform::ForkFollow::kParent)
                             .in_child;
      if (child && rt.profile().minor >= 8) {
        for (size_t i = 1; i < s.own.size(); ++i) s.own[i] = nullptr;  // K3
      }
      break;
    }
    case OpCode::kFinalize:
      rt.finalize();
      s.own.fill(nullptr);
      s.saved = nullptr;
      break;
    default:
      break;
  }
}

// ---- checks --------------------------------------------------------------------------------------

bool uncertain(const Model& m, int logical) {
  return std::find(m.uncertain.begin(), m.uncertain.end(), logical) != m.uncertain.end();
}

std::string show_runs(const std::vector<std::pair<int, int64_t>>& runs) {
  std::string out = "[";
  for (const auto& [call, interp] : runs) {
    out += (out.size() > 1 ? " " : "") + std::string("#") + std::to_string(call) + "@I" +
           std::to_string(interp);
  }
  return out + "]";
}

// What one command made the runtime do, from its events (those after sut.mark).
struct Observed {
  std::vector<std::pair<int, int64_t>> runs;  // (model call number, interpreter)
  std::vector<int> signals;
  std::vector<int64_t> created;
  std::string errors;
  bool add_seen = false;
};

// Maps runtime call ids to the model's numbers as calls are accepted, and checks what holds
// for every event whatever the operation (P1 GIL and no drop, P3 main thread, P5).
Observed observe(const Model& after, const Expect& e, const Op& op, Sut& s) {
  Observed o;
  size_t rearm = 0;
  for (size_t i = s.mark; i < s.recorder.events.size(); ++i) {
    const rt::Event& ev = s.recorder.events[i];
    if (ev.kind == EventKind::kPendingAdded) {
      if (op.code == OpCode::kAddPending && !o.add_seen) {  // the operation's own add
        o.add_seen = true;
        RC_ASSERT(ev.c == static_cast<int64_t>(e.add_result));
        if (ev.c == 0) s.logical_of[ev.a] = e.added_logical;
      } else if (ev.c == 0) {  // queued by a rearm call while it ran
        RC_ASSERT(rearm < e.rearmed.size());
        s.logical_of[ev.a] = e.rearmed[rearm++];
      }
    } else if (ev.kind == EventKind::kPendingRun) {
      const auto it = s.logical_of.find(ev.a);
      RC_ASSERT(it != s.logical_of.end());  // every call that runs was accepted
      if (uncertain(after, it->second)) continue;
      o.runs.emplace_back(it->second, ev.interp);
      RC_ASSERT(ev.c == 1);            // P1: with the GIL
      RC_ASSERT(ev.thread == s.main);  // P3: by the main thread (helpers run no bytecode)
    } else if (ev.kind == EventKind::kPendingDropped) {
      const auto it = s.logical_of.find(ev.a);
      if (it != s.logical_of.end() && !uncertain(after, it->second)) {
        RC_FAIL("P1: accepted pending call #" + std::to_string(it->second) + " was dropped");
      }
    } else if (ev.kind == EventKind::kSignalHandled) {
      // P5: the main thread, from 3.8 only in the main interpreter (bpo-35724).
      RC_ASSERT(ev.interp == 0 || !after.signals_in_main_interp_only);
      RC_ASSERT(ev.thread == s.main);
      o.signals.push_back(static_cast<int>(ev.a));
    } else if (ev.kind == EventKind::kInterpCreated) {
      o.created.push_back(ev.interp);
    } else if (ev.kind == EventKind::kError) {
      o.errors += ev.text + "; ";
    }
  }
  return o;
}

// The command's events against the model's expectation.
void check_events(const Model& after, const Expect& e, const Op& op, Sut& s) {
  const Observed o = observe(after, e, op, s);
  if (op.code == OpCode::kAddPending) RC_ASSERT(o.add_seen);
  std::vector<std::pair<int, int64_t>> want_runs;
  for (const auto& r : e.runs) {
    if (!uncertain(after, r.first)) want_runs.push_back(r);
  }
  if (o.runs != want_runs) {
    RC_FAIL("pending calls ran " + show_runs(o.runs) + ", the model expects " + show_runs(want_runs));
  }
  RC_ASSERT(o.signals == e.signals);
  if (e.created_interp >= 0) {
    RC_ASSERT(o.created == std::vector<int64_t>{e.created_interp});  // S3
  }
  if (e.error.empty()) {
    if (!o.errors.empty()) RC_FAIL("unexpected refusal: " + o.errors);
  } else if (o.errors.rfind(e.error, 0) != 0) {
    RC_FAIL("expected a " + e.error + ", got '" + o.errors + "'");
  }
}

class RuntimeCommand final : public rc::state::Command<Model, Sut> {
 public:
  explicit RuntimeCommand(Op op) : op_(op) {}
  void checkPreconditions(const Model& s0) const override { RC_PRE(model_allows(s0, op_)); }
  void apply(Model& s0) const override { s0 = model_step(s0, op_).first; }
  void run(const Model& s0, Sut& s) const override {
    s.mark = s.recorder.events.size();
    perform(s, op_);
    const auto [after, e] = model_step(s0, op_);
    if (e.end != Expect::End::kNone) {
      RC_FAIL("the model expects the process to end here (" +
              (e.end == Expect::End::kFatal ? e.fatal : "exit " + std::to_string(e.exit_code)) +
              "), but the operation returned");
    }
    check_events(after, e, op_, s);
    if (op_.code == OpCode::kGilStateCheck) RC_ASSERT(s.gilstate_check == e.gilstate_check);
    if (op_.code == OpCode::kLockAcquire || op_.code == OpCode::kEventWait) {
      RC_ASSERT(s.sync_returned == e.sync_returned);
    }
  }
  void show(std::ostream& os) const override {
    os << harness::print_op(op_);
    if (op_.code == OpCode::kStart) {
      switch (static_cast<StartKind>(op_.variant)) {
        case StartKind::kThreading: os << "   # blocks twice, ends"; break;
        case StartKind::kDaemon: os << "   # sleeps forever without the GIL"; break;
        default: os << "   # PyThreadState_New(current interp), sleeps forever"; break;
      }
    }
  }
  const Op& op() const { return op_; }

 private:
  Op op_;
};

// ---- generation ------------------------------------------------------------------------------------

Op draw_op(const Model& m) {
  if (m.ended) return make_op(OpCode::kYield);
  std::vector<std::pair<int, OpCode>> kinds;
  auto add = [&](int w, OpCode c) { kinds.emplace_back(w, c); };
  if (m.generation == 0) return make_op(OpCode::kInit);
  if (!m.initialized) {
    add(6, OpCode::kReinit);
    add(3, OpCode::kAddPending);
    add(1, OpCode::kSignal);
    add(1, OpCode::kGilStateCheck);
  } else if (m.released) {
    add(10, OpCode::kAcquireGil);
    add(5, OpCode::kAddPending);
    add(2, OpCode::kSignal);
    add(3, OpCode::kGilStateEnsure);
    add(2, OpCode::kGilStateCheck);
  } else {
    add(4, OpCode::kGilStateEnsure);
    add(m.ensures.empty() ? 0 : 6, OpCode::kGilStateRelease);
    add(3, OpCode::kGilStateCheck);
    add(3, OpCode::kSetSignal);
    add(10, OpCode::kNewInterp);
    add(8, OpCode::kEndInterp);
    add(6, OpCode::kSwap);
    add(3, OpCode::kReleaseGil);
    add(2, OpCode::kBlock);
    add(10, OpCode::kRunBytecode);
    add(16, OpCode::kAddPending);
    add(3, OpCode::kSignal);
    add(6, OpCode::kStart);
    add(5, OpCode::kFork);
    add(4, OpCode::kFinalize);
    if (m.current == 0) {
      add(3, OpCode::kLockAcquire);
      add(3, OpCode::kLockRelease);
      add(3, OpCode::kEventSet);
      add(3, OpCode::kEventWait);
    }
  }
  std::vector<OpCode> codes;
  for (const auto& [w, c] : kinds) codes.insert(codes.end(), static_cast<size_t>(w), c);
  Op op = make_op(*rc::gen::elementOf(codes));
  std::vector<int64_t> others;
  for (const ModelInterp& i : m.interps) {
    if (i.id != m.current) others.push_back(i.id);
  }
  switch (op.code) {
    case OpCode::kLockAcquire:
    case OpCode::kEventWait: {
      // Two objects of each, so that both a held and a free one come up; untimed only where
      // it returns at once (model_allows).
      const auto i = static_cast<uint8_t>(*rc::gen::inRange(0, 2));
      const bool ready = op.code == OpCode::kLockAcquire ? !m.locked[i] : m.event_set[i];
      op.variant = ready && *rc::gen::arbitrary<bool>() ? i : static_cast<uint8_t>(i | harness::kSyncTimeout);
      break;
    }
    case OpCode::kLockRelease:
    case OpCode::kEventSet:
      op.variant = static_cast<uint8_t>(*rc::gen::inRange(0, 2));
      break;
    case OpCode::kNewInterp:
      op.variant = *rc::gen::element<uint8_t>(0, 0, 0, harness::kInterpIsolated, harness::kInterpOwnGil);
      break;
    case OpCode::kSwap:
      if (!others.empty()) op.interp = static_cast<int32_t>(*rc::gen::elementOf(others));
      break;
    case OpCode::kRunBytecode:
    case OpCode::kSignal:
      op.count = uniform<int>(1, 4);
      break;
    case OpCode::kAddPending:
      op.variant = *rc::gen::element<uint8_t>(0, 0, 1, 2, 3, 5);  // noop touch rearm fail adds
      if (m.initialized && uniform<int>(0, 10) < 4) {
        op.interp = static_cast<int32_t>(m.interps[uniform<size_t>(0, m.interps.size())].id);
      }
      break;
    case OpCode::kStart:
      op.thread = 1;
      op.variant = static_cast<uint8_t>(
          *rc::gen::element(StartKind::kThreading, StartKind::kDaemon, StartKind::kCThread));
      break;
    case OpCode::kFork:
      op.variant = static_cast<uint8_t>(
          *rc::gen::element(ForkMode::kFork, ForkMode::kFork, ForkMode::kExec, ForkMode::kPreexec));
      op.follow_child = uniform<int>(0, 2) == 1;
      break;
    default:
      break;
  }
  return op;
}

using Cmd = rc::state::Command<Model, Sut>;

rc::Gen<std::shared_ptr<const Cmd>> gen_command(const Model& m) {
  return rc::gen::exec(
      [m] { return std::shared_ptr<const Cmd>(std::make_shared<const RuntimeCommand>(draw_op(m))); });
}

// After the execution: the operation that ended the process must be the one the model says,
// with the outcome it says.
void check_end(const Model& s0, const RuntimeCommand& cmd, Sut& s, const platform::RunResult& run) {
  const auto [after, e] = model_step(s0, cmd.op());
  const rt::Outcome& out = s.runtime.outcome();
  std::ostringstream got;
  got << platform::run_result_kind_name(run.kind) << " " << run.exit_code << " / "
      << rt::outcome_kind_name(out.kind) << " '" << out.message << "' in phase " << out.phase;
  switch (e.end) {
    case Expect::End::kNone:
      RC_FAIL("the process ended during this operation, the model expects it to return: " + got.str());
    case Expect::End::kFatal:
      if (out.kind != rt::Outcome::Kind::kFatal || out.message != e.fatal) {
        RC_FAIL("expected '" + e.fatal + "', got " + got.str());
      }
      break;
    case Expect::End::kExit:
      if (run.kind != platform::RunResult::Kind::kExited || run.exit_code != e.exit_code ||
          out.kind == rt::Outcome::Kind::kFatal || out.kind == rt::Outcome::Kind::kCrash) {
        RC_FAIL("expected exit " + std::to_string(e.exit_code) + ", got " + got.str());
      }
      break;
  }
  check_events(after, e, cmd.op(), s);
}

void check_sequence(const rt::Profile& profile, const rt::DefectSet& defects, const Model& m0,
                    const rc::state::Commands<Cmd>& cmds) {
  std::vector<Model> states{m0};
  for (const auto& c : cmds) states.push_back(c->nextState(states.back()));
  auto sut = std::make_unique<Sut>(profile, defects);
  Sut* s = sut.get();
  const platform::RunResult run = s->plat.run("T0", [s, &cmds, &states] {
    s->main = s->plat.current();
    try {
      for (size_t i = 0; i < cmds.size() && !states[i].ended; ++i) {
        s->running = i;
        s->returned = false;
        cmds[i]->run(states[i], *s);
        s->returned = true;
      }
    } catch (const platform::ThreadExit&) {
      throw;  // the platform's own unwinding (PyThread_exit_thread)
    } catch (...) {
      s->failure = std::current_exception();
      s->returned = true;
    }
  });
  if (s->failure) std::rethrow_exception(s->failure);
  if (!s->returned) {
    check_end(states[s->running], static_cast<const RuntimeCommand&>(*cmds[s->running]), *s, run);
  }
}

TEST(RuntimeModel, TheRuntimeBehavesAsTheModelPredicts) {
  const PropertyConfig cfg = PropertyConfig::from_env();
  rt::DefectSet defects;
  for (const std::string& d : cfg.defects) defects.set(*rt::find_defect(d));
  harness::testing::check_property(
      "the runtime behaves as the model predicts, operation by operation [" + cfg.tag + "]", [&] {
        const std::string name = *rc::gen::elementOf(cfg.profiles);
        const rt::Profile& profile = *rt::find_profile(name);
        Model m0;
        m0.minor = profile.minor;
        m0.fixed = profile.fixed;
        m0.signals_in_main_interp_only = profile.signals_in_main_interp_only;
        m0.end_interp_shuts_down_others =
            profile.end_interp_with_other_tstates == rt::EndInterpOthers::kShutDownOthers;
        const auto cmds = *rc::state::gen::commands(m0, &gen_command);
        check_sequence(profile, defects, m0, cmds);
      });
}

}  // namespace
}  // namespace ifz::properties
