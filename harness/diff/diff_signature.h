// SPDX-License-Identifier: Apache-2.0
// diff_signature.h — the signature of a disagreement between the model and a real CPython
// (DESIGN D10): what `diff` deduplicates by and what the minimiser keeps. Defines
// outcome_class, first_differing_observable and DiffSignature.
//
//   diff/<model class>-vs-<real class>/<observable>
//
// A class is an outcome's kind without the run-specific parts: ok, exit(N), signal(N), hang,
// or fatal(<function>: <message>) (CPython's "Fatal Python error: " prefix dropped). The
// observable is the name (the first word) of the first observable line, in sorted order, that
// one side has more often than the other ("pending_ran" for "pending_ran interp=1"), or "-"
// when both sides observed the same. Ids and counts stay out of it, so the same disagreement
// found in two programs (or before and after minimisation) has one signature.
#pragma once

#include <string>

#include "harness/outcome/outcome.h"

namespace ifz::harness::diff {

/// "ok", "exit(3)", "signal(11)", "hang", "fatal(Py_EndInterpreter: not the last thread)".
std::string outcome_class(const outcome::Outcome& o);

/// The first observable line (sorted order) whose count differs between `a` and `b`, or "".
std::string first_differing_observable(outcome::Outcome a, outcome::Outcome b);

struct DiffSignature {
  std::string model_class;
  std::string real_class;
  std::string observable;  // "-" when the observables agree
  std::string to_string() const { return "diff/" + model_class + "-vs-" + real_class + "/" + observable; }
  bool operator==(const DiffSignature&) const = default;
};

DiffSignature diff_signature(const outcome::Outcome& model, const outcome::Outcome& real);

}  // namespace ifz::harness::diff
