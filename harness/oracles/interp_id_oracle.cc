// SPDX-License-Identifier: Apache-2.0
// interp_id_oracle.cc — S3: interpreter ids are never reused within one runtime lifetime
// (cross-interpreter data relies on it); re-initialisation starts a new lifetime.
#include <set>

#include "harness/oracles/oracle_factories.h"

namespace ifz::harness::oracles {
namespace {

class InterpIdOracle final : public Oracle {
 public:
  const char* name() const override { return "interp_ids"; }
  void on_event(const rt::Event& e, OracleSink& sink) override {
    if (is_phase(e, rt::Phase::kReinit)) seen_.clear();
    if (e.kind != rt::EventKind::kInterpCreated) return;
    if (!seen_.insert(e.interp).second) {
      sink.report(make_finding("interp-ids", name(), "",
                               "S3: interpreter id " + std::to_string(e.interp) +
                                   " was reused within one runtime lifetime",
                               "interpreter id reused"));
    }
  }

 private:
  std::set<int64_t> seen_;
};

}  // namespace

std::unique_ptr<Oracle> make_interp_id_oracle() { return std::make_unique<InterpIdOracle>(); }

}  // namespace ifz::harness::oracles
