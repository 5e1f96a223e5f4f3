// SPDX-License-Identifier: Apache-2.0
// outcome.cc — text form and comparison of the shared outcome vocabulary (see outcome.h).
#include "harness/outcome/outcome.h"

#include <algorithm>

namespace ifz::harness::outcome {

void Outcome::normalize() { std::sort(observables.begin(), observables.end()); }

std::string Outcome::kind_text() const {
  switch (kind) {
    case Kind::kOk: return "ok";
    case Kind::kExit: return "exit(" + std::to_string(code) + ")";
    case Kind::kFatal: return "fatal(" + message + ")";
    case Kind::kSignal: return "signal(" + std::to_string(code) + ")";
    case Kind::kHang: return "hang";
  }
  return "?";
}

std::string Outcome::to_string() const {
  std::string out = kind_text() + " [";
  for (size_t i = 0; i < observables.size(); ++i) out += (i ? ", " : "") + observables[i];
  return out + "]";
}

bool agrees(Outcome a, Outcome b) {
  a.normalize();
  b.normalize();
  return a == b;
}

}  // namespace ifz::harness::outcome
