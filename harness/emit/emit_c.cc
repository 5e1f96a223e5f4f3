// SPDX-License-Identifier: Apache-2.0
// emit_c.cc — assembling the reproducer: header comment, includes, the prelude, one C function
// per script with the handshake around each op, main(). See emit_c.h.
#include "harness/emit/emit_c.h"

#include <algorithm>
#include <sstream>

#include "harness/emit/c_ops.h"
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
    const bool starts_k = (other.code == OpCode::kStart || other.code == OpCode::kAtexit) &&
                          other.thread == k;
    if (starts_k && !turns.skipped && turns.start < fork->start) return false;
  }
  return true;
}

struct ScriptEmitter {
  const Program& p;
  const OpSequence& seq;
  int minor;
  std::string* error;

  // The op's body between its turns; false with *error set if it has no counterpart.
  bool op_body(int k, int i, const OpTurns& t, std::string* body) {
    const Op& op = p.threads[k].ops[i];
    if (op.code == OpCode::kHoldLock && op.variant == 0) {
      *body = "ifz_head_lock_churn_begin();  /* HEAD_LOCK taken again and again until released */";
      return true;
    }
    if (op.code == OpCode::kHoldLock && op.variant == 3 && minor <= 11 && t.current_interp >= 0) {
      // The import lock: held across the turns the model ran while the thread held it.
      *body = "_PyImport_AcquireLock();  /* PyOS_BeforeFork takes it too */";
      return true;
    }
    OpEmitContext x;
    x.minor = minor;
    x.child_script_runs = op.code == OpCode::kFork && child_script_runs(p, seq, k, i);
    *body = op_to_c(op, x, error);
    if (op.code == OpCode::kHoldLock && error->empty()) {
      *error = "emit-c: '" + print_op(op) + "' has no faithful counterpart on CPython 3." +
               std::to_string(minor) + ": _PyImport_AcquireLock needs an attached thread state";
    }
    return error->empty();
  }

  bool one_op(int k, int i, std::ostringstream& os) {
    const Op& op = p.threads[k].ops[i];
    const OpTurns* t = seq.find(k, i);
    os << "  /* " << i << ": " << print_op(op);
    if (t == nullptr) {
      os << " -- never reached by interpfuzz's execution (its thread or process ended "
            "first): park here */\n  ifz_park();\n";
      return false;
    }
    os << " -- turn " << t->start;
    if (t->end >= 0) os << ", returns at turn " << t->end;
    os << " */\n";
    const std::string s = std::to_string(t->start);
    if (t->skipped) {
      os << "  ifz_wait(" << s << ");  /* skipped, as interpfuzz did: " << t->why << " */\n"
         << "  ifz_pass(" << s << ");\n";
      return true;
    }
    std::string body;
    if (!op_body(k, i, *t, &body)) return false;
    // A held lock (HEAD's churn or the import lock): `body` takes it at the op's start turn,
    // `release` gives it back at its end.
    const bool held_lock = op.code == OpCode::kHoldLock;
    const char* release = !held_lock        ? ""
                          : op.variant == 0 ? "ifz_head_lock_churn_end();"
                                            : "_PyImport_ReleaseLock();";
    // The model's process ended inside this op, on another thread's finding: the op's thread
    // gives that thread a grace period, and the op's observables wait for its end. (The
    // finding's own thread goes on: the crash the model saw there comes where CPython has it.)
    const bool interrupted = !t->returned && t->end < 0 && seq.died_on_slot >= 0 &&
                             t->thread_slot != seq.died_on_slot;
    if (interrupted) body = "ifz_hold_observables();\n  " + body;
    if (t->returned && t->end < 0) {
      os << "  ifz_wait(" << s << ");\n  " << body << "\n";
      if (held_lock) os << "  sched_yield();\n  " << release << "\n";
      os << "  ifz_pass(" << s << ");\n";
      return true;
    }
    // Other threads ran while this op was inside. Python-level work needs the GIL, so the
    // model had this thread waiting for it meanwhile: the emitted thread waits in take_gil.
    const bool waits_for_gil = op.code == OpCode::kRunBytecode;
    if (held_lock) os << "  ifz_wait(" << s << ");\n  " << body << "\n  ifz_pass(" << s << ");\n";
    else if (waits_for_gil) os << "  ifz_wait(" << s << ");\n  ifz_pass_into_gil_wait(" << s << ");\n  " << body << "\n";
    else os << "  ifz_wait(" << s << ");\n  ifz_pass(" << s << ");\n  " << body << "\n";
    if (t->end >= 0) {
      const std::string e = std::to_string(t->end);
      os << "  ifz_wait(" << e << ");\n";
      if (held_lock) os << "  " << release << "\n";
      os << "  ifz_pass(" << e << ");\n";
    } else if (t->returned) {
      if (held_lock) os << "  " << release << "\n";
    } else {
      os << "  /* interpfuzz's execution never saw this op return */\n";
      if (interrupted) os << "  ifz_grace();  /* the model's process ended in it, on T" << seq.died_on_slot << " */\n";
    }
    return true;
  }

  bool script(int k, std::ostringstream& os) {
    os << "static void ifz_script_T" << k << "(ifz_thread *self) {\n  (void)self;\n";
    const auto& ops = p.threads[k].ops;
    for (size_t i = 0; i < ops.size(); ++i) {
      if (!one_op(k, static_cast<int>(i), os)) {
        if (!error->empty()) return false;
        break;  // parked: the rest is unreachable too
      }
    }
    os << "}\n\n";
    return true;
  }
};

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
     << " * ifz_pass): a thread waits for its turn with the GIL released and passes it on when\n"
     << " * its op returned, or as the op starts when other threads ran while it was inside.\n"
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

const char* const kIncludes =
    "#define PY_SSIZE_T_CLEAN\n"
    "#include <Python.h>\n\n"
    "#include <errno.h>\n#include <limits.h>\n#include <pthread.h>\n#include <sched.h>\n"
    "#include <signal.h>\n#include <stdarg.h>\n#include <stdint.h>\n#include <stdio.h>\n"
    "#include <stdlib.h>\n#include <string.h>\n#include <sys/wait.h>\n#include <unistd.h>\n";

std::string version_guard(int minor) {
  const std::string m = std::to_string(minor);
  std::string out = "\n#if PY_MAJOR_VERSION != 3 || PY_MINOR_VERSION != " + m +
                    "\n#error \"emitted for CPython 3." + m +
                    ": its operations map to that version's C API\"\n#endif\n";
  if (minor >= 9) {
    // Private, exported for CPython's own _testinternalcapi; declared here because its header
    // (internal/pycore_ceval.h) needs Py_BUILD_CORE.
    out += "\n/* The per-interpreter add (internal/pycore_ceval.h; exported for _testinternalcapi). */\n"
           "PyAPI_FUNC(int) _PyEval_AddPendingCall(PyInterpreterState *interp, int (*func)(void *), "
           "void *arg" + std::string(minor >= 12 ? ", int flags" : "") + ");\n";
  }
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
  }

  std::ostringstream scripts;
  ScriptEmitter se{p, seq, e.minor, &e.error};
  for (size_t k = 0; k < p.threads.size(); ++k) {
    if (!se.script(static_cast<int>(k), scripts)) return e;
  }
  std::string decls;
  for (size_t k = 0; k < p.threads.size(); ++k) {
    decls += "static void ifz_script_T" + std::to_string(k) + "(ifz_thread *self);\n";
  }
  e.c = header(p, e, o, s) + kIncludes + version_guard(e.minor) + "\n" +
        "/* ======== helpers: one per operation family ======== */" + c_prelude() + "\n" +
        "/* ======== the program's scripts, with their turns ======== */\n" + decls + "\n" +
        scripts.str() + main_function(p);
  e.ok = true;
  return e;
}

}  // namespace ifz::harness::emit
