// SPDX-License-Identifier: Apache-2.0
// fatal_oracle.cc — a Py_FatalError the profile does not document is a finding; the
// documented ones ("Py_EndInterpreter: not the last thread", …) are expected outcomes (D3).
#include <algorithm>

#include "harness/oracles/oracle_factories.h"

namespace ifz::harness::oracles {
namespace {

class FatalOracle final : public Oracle {
 public:
  explicit FatalOracle(const rt::Profile& p) : expected_(rt::expected_fatals(p)) {}
  const char* name() const override { return "fatal"; }
  void on_end(const EndContext& end, OracleSink& sink) override {
    if (end.outcome.kind != rt::Outcome::Kind::kFatal) return;
    const std::string& m = end.outcome.message;
    if (std::find(expected_.begin(), expected_.end(), m) != expected_.end()) return;
    sink.report(make_finding("unexpected-fatal", name(), end.outcome.phase,
                             m + " (exit status " + std::to_string(end.outcome.exit_code) + ")",
                             m));
  }

 private:
  std::vector<std::string> expected_;
};

}  // namespace

std::unique_ptr<Oracle> make_fatal_oracle(const rt::Profile& p) {
  return std::make_unique<FatalOracle>(p);
}

}  // namespace ifz::harness::oracles
