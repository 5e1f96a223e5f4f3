// SPDX-License-Identifier: Apache-2.0
// lifetime_oracle.cc — no use of a freed or NULL interpreter / thread state (DESIGN D6).
// The runtime's Heap poisons freed objects and Runtime::touch() turns a stale access into the
// modelled process's crash; this oracle turns that outcome (or a real signal on the native
// platform) into a finding whose signature is the access site.
#include "harness/oracles/oracle_factories.h"

namespace ifz::harness::oracles {
namespace {

class LifetimeOracle final : public Oracle {
 public:
  const char* name() const override { return "lifetime"; }
  void on_end(const EndContext& end, OracleSink& sink) override {
    if (end.outcome.kind == rt::Outcome::Kind::kCrash) {
      const std::string& m = end.outcome.message;
      const bool uaf = m.rfind("use-after-free", 0) == 0;
      // "use-after-free: <site> (freed PyThreadState)" → the site is the signature.
      std::string site = m.substr(m.find(": ") == std::string::npos ? 0 : m.find(": ") + 2);
      site = site.substr(0, site.find(" (freed"));
      sink.report(make_finding(uaf ? "uaf" : "null-deref", name(), end.outcome.phase, m, site));
      return;
    }
    if (end.run.kind == platform::RunResult::Kind::kSignaled) {
      sink.report(make_finding("crash", name(), end.outcome.phase,
                               "the process died of signal " + std::to_string(end.run.signal),
                               "signal " + std::to_string(end.run.signal)));
    }
  }
};

}  // namespace

std::unique_ptr<Oracle> make_lifetime_oracle() { return std::make_unique<LifetimeOracle>(); }

}  // namespace ifz::harness::oracles
