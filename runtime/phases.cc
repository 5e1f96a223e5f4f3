// SPDX-License-Identifier: Apache-2.0
// phases.cc — labels of the lifecycle phases, from phases.def.
#include "runtime/phases.h"

namespace ifz::rt {

namespace {

constexpr Phase kPhases[] = {
#define IFZ_PHASE(id, label, cpython) Phase::id,
#include "runtime/phases.def"
#undef IFZ_PHASE
};

}  // namespace

std::optional<Phase> find_phase(std::string_view label) {
  for (Phase p : kPhases) {
    if (label == phase_name(p)) return p;
  }
  return std::nullopt;
}

std::span<const Phase> all_phases() { return kPhases; }

}  // namespace ifz::rt
