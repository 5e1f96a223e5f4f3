// SPDX-License-Identifier: Apache-2.0
// phases.h — the lifecycle phases (phases.def) as values: Phase, its label, and the way back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace ifz::rt {

enum class Phase : uint8_t {
#define IFZ_PHASE(id, label, cpython) id,
#include "runtime/phases.def"
#undef IFZ_PHASE
};

inline constexpr const char* kPhaseLabels[] = {
#define IFZ_PHASE(id, label, cpython) label,
#include "runtime/phases.def"
#undef IFZ_PHASE
};

/// The label: "finalize:SetFinalizing" (a string literal: static storage).
constexpr const char* phase_name(Phase p) { return kPhaseLabels[static_cast<size_t>(p)]; }
/// The phase with this label, if any.
std::optional<Phase> find_phase(std::string_view label);
/// Every phase, in phases.def order.
std::span<const Phase> all_phases();

}  // namespace ifz::rt
