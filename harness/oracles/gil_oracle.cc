// SPDX-License-Identifier: Apache-2.0
// gil_oracle.cc — G1: at most one holder per GIL (Runtime::check_gil_holder_unique, checked
// whenever the GIL changes hands); G2: a thread doing Python-level work (an op that needs an
// attached thread state) holds the GIL of its current interpreter.
#include "harness/oracles/oracle_factories.h"

namespace ifz::harness::oracles {
namespace {

class GilOracle final : public Oracle {
 public:
  const char* name() const override { return "gil"; }

  void on_event(const rt::Event& e, OracleSink& sink) override {
    if (e.kind == rt::EventKind::kPhase) phase_ = e.text;
    if (e.kind != rt::EventKind::kGilTaken && e.kind != rt::EventKind::kGilDropped) return;
    // The event's thread holds that GIL's mutex, so its pair (locked, holder) is stable now;
    // natively the other GILs change under our feet (their pairs would read torn) and the
    // interpreter list may be freed, so there only the main GIL's own events are checked.
    const bool native = !sink.plat.deterministic();
    if (native && e.a != sink.runtime.main_gil_id()) return;
    const std::string bad = sink.runtime.check_gil_holder_unique(native);
    if (!bad.empty()) sink.report(make_finding("gil", name(), phase_, "G1: " + bad, bad));
  }

  void on_op(const OpContext& op, OracleSink& sink) override {
    if (!op.attached || op.current_interp < 0) return;
    const rt::Interpreter* i = sink.runtime.find_interp(op.current_interp);
    if (i == nullptr || i->gil == nullptr) return;
    if (i->gil->holder.load() == op.thread) return;
    sink.report(make_finding("gil", name(), phase_,
                             "G2: T" + std::to_string(op.thread) + " runs " +
                                 op_info(op.op.code).name + " in interpreter " +
                                 std::to_string(op.current_interp) + " without holding its GIL",
                             std::string("G2 ") + op_info(op.op.code).name));
  }

 private:
  std::string phase_;
};

}  // namespace

std::unique_ptr<Oracle> make_gil_oracle() { return std::make_unique<GilOracle>(); }

}  // namespace ifz::harness::oracles
