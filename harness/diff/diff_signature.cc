// SPDX-License-Identifier: Apache-2.0
// diff_signature.cc — see diff_signature.h.
#include "harness/diff/diff_signature.h"

#include <algorithm>

namespace ifz::harness::diff {

std::string outcome_class(const outcome::Outcome& o) {
  if (o.kind != outcome::Outcome::Kind::kFatal) return o.kind_text();
  static const std::string kPrefix = "Fatal Python error: ";
  std::string m = o.message;
  if (m.rfind(kPrefix, 0) == 0) m = m.substr(kPrefix.size());
  return "fatal(" + m + ")";
}

std::string first_differing_observable(outcome::Outcome a, outcome::Outcome b) {
  a.normalize();
  b.normalize();
  // Both sorted: walk them together; the first line not matched one-for-one is the answer.
  size_t i = 0, j = 0;
  while (i < a.observables.size() && j < b.observables.size()) {
    if (a.observables[i] == b.observables[j]) {
      ++i;
      ++j;
    } else {
      return std::min(a.observables[i], b.observables[j]);
    }
  }
  if (i < a.observables.size()) return a.observables[i];
  if (j < b.observables.size()) return b.observables[j];
  return "";
}

DiffSignature diff_signature(const outcome::Outcome& model, const outcome::Outcome& real) {
  DiffSignature s{outcome_class(model), outcome_class(real), "-"};
  const std::string line = first_differing_observable(model, real);
  if (!line.empty()) s.observable = line.substr(0, line.find(' '));
  return s;
}

}  // namespace ifz::harness::diff
