// SPDX-License-Identifier: Apache-2.0
// model_run.cc — see model_run.h.
#include "harness/outcome/model_run.h"

#include <signal.h>

namespace ifz::harness::outcome {

std::optional<std::string> observable_of(const rt::Event& e) {
  using K = rt::EventKind;
  switch (e.kind) {
    case K::kInterpCreated: return "interp_created id=" + std::to_string(e.interp);
    // A forever call's runs and re-adds are not observables one by one: how many happen while
    // Python code runs depends on how often CPython's eval loop checks the breaker. Its
    // per-pass count is (make_pending: "pending_forever_runs n=N").
    case K::kPendingAdded:
      if (e.text == "forever:again") return std::nullopt;
      return "pending_added rc=" + std::to_string(e.c);
    case K::kPendingRun:
      if (e.text == "forever") return std::nullopt;
      return "pending_ran interp=" + std::to_string(e.interp);
    case K::kSignalHandled:
      return "signal_handled sig=" + std::to_string(e.a) + " interp=" + std::to_string(e.interp);
    case K::kFinalizeReturned: return std::string("finalize_returned");
    case K::kError: return "raised " + e.text.substr(0, e.text.find(':'));
    default: return std::nullopt;
  }
}

namespace {

void set_kind(const ExecResult& r, Outcome* o) {
  using RK = rt::Outcome::Kind;
  using PK = platform::RunResult::Kind;
  switch (r.outcome.kind) {
    case RK::kFatal:
      o->kind = Outcome::Kind::kFatal;
      o->message = r.outcome.message;
      return;
    case RK::kCrash:
      o->kind = Outcome::Kind::kSignal;
      o->code = SIGSEGV;
      return;
    case RK::kDeadlock:
    case RK::kHang:
      o->kind = Outcome::Kind::kHang;
      return;
    default:
      break;
  }
  switch (r.run.kind) {
    case PK::kExited:
      o->kind = r.run.exit_code == 0 ? Outcome::Kind::kOk : Outcome::Kind::kExit;
      o->code = r.run.exit_code;
      return;
    case PK::kDeadlock:
    case PK::kStepLimit:
    case PK::kHang:
      o->kind = Outcome::Kind::kHang;
      return;
    case PK::kSignaled:
      o->kind = Outcome::Kind::kSignal;
      o->code = r.run.signal;
      return;
    case PK::kAborted:
      o->kind = Outcome::Kind::kSignal;
      o->code = SIGABRT;
      return;
  }
}

}  // namespace

Outcome model_outcome(const ExecResult& r, const OpLog& log) {
  Outcome o;
  set_kind(r, &o);
  for (const rt::Event& e : log.events) {
    if (auto line = observable_of(e)) o.observables.push_back(*line);
  }
  // K1: the fork oracle holds the model's child to exactly the forking thread (a child with
  // more would be a finding), so each return into a followed child observes one thread state
  // in the forking thread's interpreter.
  for (int i = 0; i < log.fork_child_returns; ++i) o.observables.push_back("fork_child threads=1");
  o.observables.insert(o.observables.end(), log.observables.begin(), log.observables.end());
  o.normalize();
  return o;
}

}  // namespace ifz::harness::outcome
