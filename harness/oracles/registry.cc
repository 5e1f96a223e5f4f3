// SPDX-License-Identifier: Apache-2.0
// registry.cc — the set of oracles every execution runs, and their one-line documentation.
#include "harness/oracles/oracle.h"
#include "harness/oracles/oracle_factories.h"

namespace ifz::harness {

std::vector<std::unique_ptr<Oracle>> make_oracles(const rt::Profile& profile) {
  std::vector<std::unique_ptr<Oracle>> out;
  out.reserve(13);  // every execution makes this set: one allocation for the vector
  out.push_back(oracles::make_lifetime_oracle());
  out.push_back(oracles::make_deadlock_oracle());
  out.push_back(oracles::make_fatal_oracle(profile));
  out.push_back(oracles::make_gil_oracle());
  out.push_back(oracles::make_pending_call_oracle(profile));
  out.push_back(oracles::make_finalize_oracle());
  out.push_back(oracles::make_fork_oracle());
  out.push_back(oracles::make_interp_id_oracle());
  out.push_back(oracles::make_pending_reentry_oracle());
  out.push_back(oracles::make_forced_exit_oracle());
  out.push_back(oracles::make_finalizing_gil_oracle());
  out.push_back(oracles::make_atexit_order_oracle());
  out.push_back(oracles::make_signal_oracle(profile));
  return out;
}

const std::vector<OracleDoc>& oracle_catalogue() {
  static const std::vector<OracleDoc> kDocs = {
      {"lifetime", "no access to a freed (poisoned) or NULL interpreter / thread state, nor to a lock or condition inside a freed one: the model crashes there as CPython would, the access site is the signature"},
      {"deadlock", "no runnable thread while threads are blocked (waits-for report), no step-limit livelock, no native hang"},
      {"fatal", "a Py_FatalError outside the profile's documented catalogue; a documented one only where the mechanism explains it: 'thread still has a frame' when the ending thread runs inside a Python frame, 'not the last thread' when another thread state of that interpreter is alive and no non-daemon thread it had to join (started before its threading._shutdown returned) still runs, 'remaining subinterpreters' when one is alive"},
      {"gil", "G1/G2: one holder per GIL; a thread issuing Python-level work holds its interpreter's GIL"},
      {"pending_calls", "P1/P3: every accepted pending call runs exactly once, with the GIL, in the interpreter and on the thread the profile routes it to; none is dropped; at a process end without Py_FinalizeEx (exit, a fork child's end) none has vanished (each ran, is still queued, or is held by a live thread)"},
      {"finalize", "F1/F3: Py_FinalizeEx returns only after the non-daemon threads it found ended; the finalizing thread never exits"},
      {"fork", "K1/K2: in the child only the forking thread is alive, it is the runtime's main thread, and every runtime lock is free or held by it"},
      {"interp_ids", "S3: interpreter ids are never reused within one runtime lifetime"},
      {"pending_reentry", "P4: a pending call never starts on a thread while a call from the same queue is still running there (busy / handling_thread)"},
      {"forced_exit", "F2/F6: a thread is forced to exit or hang only once the runtime is finalizing, or when it belongs to an earlier runtime lifetime after re-initialisation"},
      {"finalizing_gil", "F2 as who may run: once Py_FinalizeEx's SetFinalizing is over, a thread other than the finalizing one that takes any GIL exits or hangs at once (it may give the GIL back first) and does nothing else"},
      {"signals", "P5: a tripped signal is handled only by the runtime's main thread (from 3.8 only in the main interpreter, bpo-35724), at most once per trip (none tripped before a fork in the child), and never lost: one tripped before the main thread runs bytecode or Py_MakePendingCalls where it may handle signals is handled by the time that op ends"},
      {"atexit_order", "F1 as event order: no atexit callback starts while a non-daemon threading thread of its interpreter, started before the join ended, is still running"},
  };
  return kDocs;
}

namespace oracles {

Finding make_finding(const char* kind, const char* oracle, std::string phase, std::string message,
                     std::string detail) {
  Finding f;
  f.kind = kind;
  f.oracle = oracle;
  f.phase = std::move(phase);
  f.message = std::move(message);
  f.detail = normalize_detail(detail);
  return f;
}

}  // namespace oracles
}  // namespace ifz::harness
