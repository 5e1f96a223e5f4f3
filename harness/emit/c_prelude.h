// SPDX-License-Identifier: Apache-2.0
// c_prelude.h — the fixed part of every emitted reproducer: the handshake that sequences op
// boundaries, the per-thread bookkeeping mirroring harness/exec/execution.h's ThreadCtx, and
// one small C function per operation family, written against CPython's embedding API.
// Defines c_includes() and c_prelude().
//
// How each outcome the model can produce is observed in C (outcome/outcome.h's vocabulary;
// the model side is outcome/model_run.cc):
//   ok / exit(N)        the process's exit status (ifz_exit_process; a followed fork or
//                       subprocess child's status is mirrored by its parent, ifz_exit_like)
//   fatal(M)            "Fatal Python error: ..." on stderr, whatever the status
//   signal(N)           the wait status; the model's crash (use-after-free, NULL access) is
//                       signal(11): a release build may not fault (conform judges it n/a), a
//                       debug build's freed-memory assertion counts as it (real_run.cc)
//   hang                the runner's or driver's timeout (the model: deadlock, step limit)
// and each observable, an "IFZ <fact>" line printed where CPython does the thing:
//   interp_created id=N          ifz_init, ifz_record_new_interp: PyInterpreterState_GetID
//   pending_added rc=R           ifz_add_pending(_to): the add's return value
//   pending_ran interp=N         ifz_pending_call: the interpreter it runs in
//   signal_handled sig=S interp=N  ifz_signal_handler (a Python-level handler): the
//                                interpreter it runs in
//   finalize_returned            ifz_finalize, after Py_FinalizeEx
//   raised <type>                ifz_raised: an API call's exception (thread start, os.fork,
//                                subprocess, atexit.register, new_interp's failure), and a
//                                failing pending call's RuntimeError out of run_bytecode or
//                                Py_MakePendingCalls
//   fork_child threads=N         a followed fork child: thread states of its interpreter
//   fork_child main_thread=B     a followed fork child: _PyOS_IsMainThread(), the forking
//                                thread is the main thread of the main interpreter there
//   gilstate_tstate interp=N current=B | none
//                                after each gilstate op: PyGILState_GetThisThreadState()
// Interpreter ids are CPython's own (PyInterpreterState_GetID): the model numbers them the
// same way (main 0, then 1, 2, ... per runtime lifetime; CPython resets the counter at init).
// Not compared (printed as "IFZ note ..."): a handshake that fell back (ifz_wait_holding's
// 1 s), an interpreter new_tstate did not find. Known gap: a failing pending call run by the
// eval-breaker check of other Python code (Thread.start, os.fork, threading._shutdown) raises
// there in CPython; the model runs that code on as if it had not (runtime.h).
#pragma once

#include <string>

namespace ifz::harness::emit {

/// The #include lines the prelude needs (Python.h first).
const char* c_includes();

/// The C text placed after the generated header and before the generated scripts.
const std::string& c_prelude();

}  // namespace ifz::harness::emit
