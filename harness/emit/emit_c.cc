// SPDX-License-Identifier: Apache-2.0
// emit_c.cc — assembling the reproducer: header comment, includes, the prelude, one C function
// per script with the handshake around each op, main(). See emit_c.h.
#include "harness/emit/emit_c.h"

#include <algorithm>
#include <sstream>

#include "harness/emit/c_ops.h"
#include "harness/emit/script_steps.h"
#include "harness/emit/c_prelude.h"
#include "harness/emit/op_sequence.h"
#include "harness/exec/checked_run.h"
#include "harness/program/text_format.h"
#include "runtime/defects.h"
#include "runtime/profile.h"

namespace ifz::harness::emit {

namespace {

std::string as_comment(const std::string& text, const std::string& indent = " * ") {
  std::string out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out += indent + line + "\n";
  return out;
}

// `text` as comment lines of at most about `width` characters, broken between words.
std::string wrapped_comment(const std::string& text, size_t width = 92) {
  std::istringstream in(text);
  std::string word, line, out;
  while (in >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += " * " + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) out += " * " + line + "\n";
  return out;
}

// Whether `fork ... child=T<k>` runs script k in the child (ops.cc: only a script that exists
// and was not started before the fork).
bool child_script_runs(const Program& p, const OpSequence& seq, int script, int index) {
  const Op& op = p.threads[script].ops[index];
  const int k = op.thread;
  if (k <= 0 || k >= static_cast<int>(p.threads.size())) return false;
  const OpTurns* fork = seq.find(script, index);
  if (fork == nullptr) return false;
  for (const auto& [where, turns] : seq.ops) {
    if (where.first == k && turns.start < fork->start) return false;  // ran before: started
    const Op& other = p.threads[where.first].ops[where.second];
    const bool starts_k = (other.code == OpCode::kStart || other.code == OpCode::kAtexit ||
                           other.code == OpCode::kThreadingAtexit) &&
                          other.thread == k;
    if (starts_k && !turns.skipped && turns.start < fork->start) return false;
  }
  return true;
}

// Ops that block while other threads run theirs (take_gil, a join, a syscall): the next turn's
// owner waits until the thread sleeps in the call (ifz_pass_blocking).
bool blocks_while_others_run(OpCode c) {
  return c == OpCode::kAcquireGil || c == OpCode::kNewTstate || c == OpCode::kGilStateEnsure ||
         c == OpCode::kJoin || c == OpCode::kBlock || c == OpCode::kLockAcquire ||
         c == OpCode::kEventWait;
}

// A script as steps (script_steps.h): the turn handshake around each op, from the model's
// order of op boundaries (op_sequence.h), and the op itself (c_ops.h).
struct ScriptBuilder {
  const Program& p;
  const OpSequence& seq;
  int minor;
  std::string* error;
  std::vector<Step>* out;

  void add(StepKind kind, int turn, std::string before = "", std::string after = "") {
    Step st;
    st.kind = kind;
    st.turn = turn;
    st.comment_before = std::move(before);
    st.comment_after = std::move(after);
    out->push_back(std::move(st));
  }

  // The op's call; false with *error set if it has no counterpart.
  bool add_op(int k, int i, const OpTurns& t) {
    const Op& op = p.threads[k].ops[i];
    if (op.code == OpCode::kHoldLock && op.variant == 3 && minor <= 11 && t.current_interp < 0) {
      *error = "emit-c: '" + print_op(op) + "' has no faithful counterpart on CPython 3." +
               std::to_string(minor) + ": _PyImport_AcquireLock needs an attached thread state";
      return false;
    }
    OpEmitContext x;
    x.minor = minor;
    x.child_script_runs = op.code == OpCode::kFork && child_script_runs(p, seq, k, i);
    Step st;
    st.kind = StepKind::kOp;
    if (!lower_op(op, x, &st.op, &st.comment_after, error)) return false;
    out->push_back(std::move(st));
    return true;
  }

  // False when the script stops here (parked, or *error set).
  bool one_op(int k, int i) {
    const Op& op = p.threads[k].ops[i];
    const OpTurns* t = seq.find(k, i);
    std::string head = std::to_string(i) + ": " + print_op(op);
    if (t == nullptr) {
      add(StepKind::kPark, 0, head + " -- never reached by interpfuzz's execution (its thread or "
                                     "process ended first): park here");
      return false;
    }
    head += " -- turn " + std::to_string(t->start);
    if (t->end >= 0) head += ", returns at turn " + std::to_string(t->end);
    // The model's thread held the GIL since its previous op: it keeps holding it while the
    // ops of the turns before this one run.
    const StepKind wait = t->holds_gil_at_start ? StepKind::kWaitHolding : StepKind::kWait;
    if (t->skipped) {
      add(wait, t->start, head);
      add(StepKind::kPass, t->start, "", "skipped, as interpfuzz did: " + t->why);
      return true;
    }
    // A held lock (HEAD's churn or the import lock): the op takes it at its start turn,
    // kReleaseLock gives it back at its end.
    const bool held_lock = op.code == OpCode::kHoldLock;
    // The model's process ended inside this op, on another thread's finding: the op's thread
    // gives that thread a grace period, and the op's observables wait for its end. (The
    // finding's own thread goes on: the crash the model saw there comes where CPython has it.)
    const bool interrupted = !t->returned && t->end < 0 && seq.died_on_slot >= 0 &&
                             t->thread_slot != seq.died_on_slot;
    // Likewise when the modelled process ended normally (the main script's end, an `exit`)
    // inside this op: what the op would print after that point never came in the model, so
    // the C holds its lines and they die with the process (the C op may well finish first).
    const bool cut_by_exit = !t->returned && t->end < 0 && seq.died_on_slot < 0;
    add(wait, t->start, head);
    if (interrupted || cut_by_exit) add(StepKind::kHoldObservables, 0);
    auto release = [&] {
      Step r;
      r.kind = StepKind::kReleaseLock;
      r.op.variant = op.variant;
      out->push_back(r);
    };
    // The op itself; a hold_lock whose hold the model ended within the same op gives the lock
    // back after one yield (its critical section spans at least one other thread's step).
    auto op_then_release_if = [&](bool release_now) {
      if (!add_op(k, i, *t)) return false;
      if (release_now) {
        add(StepKind::kYield, 0);
        release();
      }
      return true;
    };
    if (t->returned && t->end < 0) {
      if (!op_then_release_if(held_lock)) return false;
      add(StepKind::kPass, t->start);
      return true;
    }
    // Other threads ran while this op was inside. Python-level work needs the GIL, so the
    // model had this thread waiting for it meanwhile: the emitted thread waits in take_gil.
    // Unless the model's thread kept its GIL through the op (it returned without ever dropping
    // it): the ops in between were GIL-free ones (a C thread's trip, add, new_tstate) that ran
    // while it was merely preempted, and the emitted thread keeps the GIL too (a GIL it took
    // again would recompute its eval breaker, bpo-40010, where the model's did not).
    const bool kept_gil = t->returned && t->holds_gil_at_start && !t->dropped_gil;
    if (held_lock) {
      // The model's thread took the lock in the op's turn, at a later turn of its own (other
      // threads ran while it dropped the GIL first), or never: the C's hold starts there too.
      const bool released_at_once = t->lock_released == OpTurns::kReleasedAtOnce;
      if (t->lock_taken == OpTurns::kTakenAtOnce && !op_then_release_if(released_at_once)) {
        return false;
      }
      add(StepKind::kPass, t->start);
      if (t->lock_taken >= 0) {
        add(StepKind::kWait, t->lock_taken);
        if (!op_then_release_if(released_at_once)) return false;
        add(StepKind::kPass, t->lock_taken);
      }
      // The model's thread gave the lock back at its own turn (then waited for the GIL, maybe
      // for good): the C's hold ends there too, not at the op's return.
      if (t->lock_released >= 0) {
        add(StepKind::kWait, t->lock_released);
        release();
        add(StepKind::kPass, t->lock_released);
      }
    } else if (op.code == OpCode::kFork && op.follow_child && t->end >= 0) {
      // The model's fork waited inside PyOS_BeforeFork (3.13+: HEAD_LOCK, held by a thread's
      // hold_lock) while other threads took the turns up to its return, and forked only then.
      // CPython's wait is too short to be sequenced (the churn holds HEAD_LOCK for an instant),
      // and a child forked earlier would wait for turns that threads it does not have pass:
      // the emitted thread forks where the model's did, at its return turn. It waits with the GIL
      // released even where the model's kept it: the 3.13+ churn standing for the HEAD_LOCK
      // holder takes the GIL to clear its thread states (c_prelude.cc).
      add(StepKind::kPass, t->start);
      add(StepKind::kWait, t->end);
      if (!add_op(k, i, *t)) return false;
    } else if (kept_gil) {
      add(StepKind::kPass, t->start);
      if (!add_op(k, i, *t)) return false;
    } else if (op.code == OpCode::kRunBytecode) {
      add(StepKind::kPassIntoGilWait, t->start);
      if (!add_op(k, i, *t)) return false;
    } else {
      add(blocks_while_others_run(op.code) ? StepKind::kPassBlocking : StepKind::kPass, t->start);
      if (!add_op(k, i, *t)) return false;
    }
    const bool still_held = held_lock && t->lock_taken != -1 && t->lock_released == -1;
    if (t->end >= 0) {
      add(kept_gil ? StepKind::kWaitHolding : StepKind::kWait, t->end);
      if (still_held) release();
      add(StepKind::kPass, t->end);
    } else if (t->returned) {
      if (still_held) release();
    } else if (interrupted) {
      add(StepKind::kGrace, 0, "interpfuzz's execution never saw this op return",
          "the model's process ended in it, on T" + std::to_string(seq.died_on_slot));
    } else {
      out->back().comment_after += " -- interpfuzz's execution never saw this op return";
    }
    return true;
  }

  bool script(int k) {
    const auto& ops = p.threads[k].ops;
    for (size_t i = 0; i < ops.size(); ++i) {
      if (!one_op(k, static_cast<int>(i))) return error->empty();
    }
    return true;
  }
};

std::string script_as_c(int k, const ScriptSteps& s) {
  std::string out = "static void ifz_script_T" + std::to_string(k) + "(ifz_thread *self) {\n  (void)self;\n";
  for (const Step& st : s.steps) out += step_as_c(st);
  return out + "}\n\n";
}

std::string header(const Program& p, const Emitted& e, const EmitOptions& o, const Schedule& s) {
  std::ostringstream os;
  const std::string v = "3." + std::to_string(e.minor);
  os << "/* Reproducer emitted by `interpfuzz emit-c` from "
     << (o.source_name.empty() ? "a program" : o.source_name) << "\n"
     << " * for CPython " << v << " (operations sequenced as interpfuzz's model ran them on "
     << "profile " << e.profile << (s.picks.empty() ? "" : ", schedule " + s.to_string()) << ").\n"
     << " *\n * Build and run against an installed CPython " << v << ":\n *   "
     << build_command("repro.c", "python" + v + "-config", "repro") << "\n *   ./repro\n"
     << " *\n"
     << " * Only CPython's embedding API, pthreads and fork. Each program thread is a thread here;\n"
     << " * a global turn counter sequences every op boundary interpfuzz recorded (ifz_wait /\n"
     << " * ifz_pass): a thread waits for its turn with the GIL released, or kept where interpfuzz's\n"
     << " * model had it holding the GIL between its ops (ifz_wait_holding), and passes the turn on\n"
     << " * when its op returned, or as the op starts when other threads ran while it was inside\n"
     << " * (ifz_pass_blocking: the next turn waits until this thread sleeps in its blocking call).\n"
     << " * Each op is one call of ifz_do_op, the op -> C-API mapping interpfuzz's driver uses too.\n"
     << " * Where interpfuzz had a thread waiting for the GIL while others ran, the thread enters\n"
     << " * take_gil once the next thread holds the GIL (ifz_pass_into_gil_wait). Where the\n"
     << " * model's process ended inside an op, the op's thread then releases the GIL for 300 ms\n"
     << " * (ifz_grace) so that a waiting thread runs there, and the op's observables print after.\n"
     << " * What this cannot force: where *inside* CPython a thread resumes (e.g. which step of\n"
     << " * Py_FinalizeEx a daemon thread wakes in, or how long a thread waits in take_gil);\n"
     << " * those interleavings are CPython's, so a timing-dependent outcome may vary run to run.\n"
     << (e.unforceable.empty()
             ? std::string()
             : " *\n" + wrapped_comment("NOT FORCED HERE: " + e.unforceable +
                                        ". A run shows what CPython does without that preemption."))
     << " * Observables are printed as \"IFZ <fact>\" lines (interpfuzz conform parses them).\n"
     << " *\n * The program:\n"
     << as_comment(print_program(p), " *   ")
     << " * interpfuzz's model, profile " << e.profile << ": " << e.model.outcome_summary() << "\n"
     << " */\n";
  return os.str();
}

std::string version_guard(int minor) {
  const std::string m = std::to_string(minor);
  std::string out = "\n#if PY_MAJOR_VERSION != 3 || PY_MINOR_VERSION != " + m +
                    "\n#error \"emitted for CPython 3." + m +
                    ": its operations map to that version's C API\"\n#endif\n";
  return out;
}

std::string main_function(const Program& p) {
  std::ostringstream os;
  os << "\nint main(void) {\n";
  for (size_t k = 0; k < p.threads.size(); ++k) {
    os << "  ifz_scripts[" << k << "] = ifz_script_T" << k << ";\n";
  }
  os << "  pthread_atfork(NULL, NULL, ifz_atfork_child);\n"
     << "  ifz_install_crash_flush();\n"
     << "  ifz_self = &ifz_threads[0];\n";
  for (const Script& s : p.threads) {
    for (const Op& op : s.ops) {
      if (op.code == OpCode::kSignal) os << "  ifz_signals[" << op.count << "] = 1;\n";
    }
  }
  os << "  ifz_script_T0(&ifz_threads[0]);\n"
     << "  /* the main script ended: the process ends (threads still running end with it) */\n"
     << "  fflush(stdout);\n  exit(0);\n}\n";
  return os.str();
}

}  // namespace

std::string build_command(const std::string& c_file, const std::string& config,
                          const std::string& output) {
  return "cc -Wall -Werror " + c_file + " $(" + config + " --includes) $(" + config +
         " --ldflags --embed) -lpthread -o " + output;
}

Emitted emit_c(const Program& p, const Schedule& s, const EmitOptions& o) {
  Emitted e;
  e.profile = o.profile.empty() ? p.profile : o.profile;
  const rt::Profile* prof = rt::find_profile(e.profile);
  if (prof == nullptr) {
    e.error = "emit-c: unknown profile '" + e.profile + "'";
    return e;
  }
  e.minor = prof->minor;
  Program run = p;
  run.profile = e.profile;
  // A version profile is the release: its own defects, exactly. The program's `defect` lines
  // inject defects into a -fixed twin (where a finding was made); on another version they
  // would describe a CPython that does not exist (gh96387's finding judged against 3.11).
  if (!prof->fixed) run.defects.clear();
  if (!o.extra_defects.empty()) {
    std::vector<std::string> merged;  // defects.def order, each once (validate_program)
    for (const rt::DefectInfo& d : rt::all_defects()) {
      const auto has = [&](const std::vector<std::string>& v) {
        return std::find(v.begin(), v.end(), d.name) != v.end();
      };
      if (has(run.defects) || has(o.extra_defects)) merged.emplace_back(d.name);
    }
    run.defects = std::move(merged);
  }
  ExecOptions eo;
  eo.trace = false;
  eo.op_log = &e.log;
  std::string divergence;
  e.model = replay_schedule(run, s, eo, &divergence);
  const OpSequence seq = sequence_ops(e.log);
  if (!e.model.outcome.window.empty()) {
    const std::string who =
        seq.died_on_slot >= 0 ? "T" + std::to_string(seq.died_on_slot) : "a thread";
    e.unforceable = "the model's outcome needs " + who + " preempted inside CPython at '" +
                    e.model.outcome.window +
                    "' (no lock or wait there: only an OS preemption stops a real thread "
                    "in it), which a C program cannot force";
  } else if (!e.log.preempted_inside.empty()) {
    // The turns order op starts and returns; inside an op a C thread runs on until CPython
    // blocks it. An op the model's schedule preempted while other threads' ops ran (no lock,
    // wait or blocking call holding it) runs, in the C, concurrently with them: an outcome
    // that depends on that order is not forced.
    std::string where;
    for (const std::string& w : e.log.preempted_inside) where += (where.empty() ? "" : ", ") + w;
    e.unforceable = "the model's schedule preempted a running thread inside an op while other "
                    "threads' ops ran (" + where + "): the C passes the turn on as that op "
                    "starts but cannot stop its thread inside CPython, so the ops race";
  }

  std::string scripts;
  e.scripts.resize(p.threads.size());
  for (size_t k = 0; k < p.threads.size(); ++k) {
    ScriptBuilder b{p, seq, e.minor, &e.error, &e.scripts[k].steps};
    if (!b.script(static_cast<int>(k))) return e;
    scripts += script_as_c(static_cast<int>(k), e.scripts[k]);
  }
  for (const Script& sc : p.threads) {
    for (const Op& op : sc.ops) {
      if (op.code == OpCode::kSignal) e.signals.push_back(op.count);
    }
  }
  std::string decls;
  for (size_t k = 0; k < p.threads.size(); ++k) {
    decls += "static void ifz_script_T" + std::to_string(k) + "(ifz_thread *self);\n";
  }
  e.c = header(p, e, o, s) + c_includes() + version_guard(e.minor) + "\n" +
        "/* ======== helpers: one per operation family ======== */" + c_prelude() + "\n" +
        "/* ======== the program's scripts, with their turns ======== */\n" + decls + "\n" +
        scripts + main_function(p);
  e.ok = true;
  return e;
}

}  // namespace ifz::harness::emit
