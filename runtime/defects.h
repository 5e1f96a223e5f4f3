// SPDX-License-Identifier: Apache-2.0
// defects.h — named historical bugs (defects.def) and per-execution canaries.
// Defines Defect, DefectInfo, DefectSet (which are enabled) and Canaries (reached/triggered).
//
// Like FoundationDB's BUGGIFY sites: off by default, named, enabled by a profile or by hand.
// The canaries are Magma's: *reached* counts executions of the defect's code location (whether
// or not the defect is enabled: the location exists in both designs), *triggered* counts times
// the bug condition held there. Oracles never read them; benchmarks and "known:" labels do.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ifz::rt {

/// Bit mask of CPython minor versions 3.a … 3.b (defects.def).
constexpr uint32_t IFZ_MINORS(int a, int b) {
  uint32_t m = 0;
  for (int v = a; v <= b; ++v) m |= 1u << v;
  return m;
}

enum class Defect : uint8_t {
#define IFZ_DEFECT(id, name, issue, versions, site, bench_profile, depth, mechanism) id,
#include "runtime/defects.def"
#undef IFZ_DEFECT
  kCount
};
inline constexpr size_t kDefectCount = static_cast<size_t>(Defect::kCount);

struct DefectInfo {
  Defect id;
  const char* name;       // "bpo39958_headlock_reentry"
  const char* issue;      // "bpo-39958 (gh-84139)"
  uint32_t versions;      // bit n: the 3.n version profile enables it (0: injectable only)
  const char* site;           // Runtime member function of the mechanism change: "take_gil"
  const char* bench_profile;  // the -fixed profile benchmarks enable it alone on: "3.10-fixed"
  int depth;                  // bug depth of its shortest trigger (cpython-notes §3)
  const char* mechanism;      // one sentence
};
std::span<const DefectInfo> all_defects();
const DefectInfo& defect_info(Defect d);
std::optional<Defect> find_defect(std::string_view name);
/// The Runtime member function a __PRETTY_FUNCTION__ string names ("take_gil" for
/// "void ifz::rt::Runtime::take_gil(ifz::rt::ThreadState*)", also from a lambda inside it);
/// the whole string when it is no Runtime member.
std::string canary_site_member(std::string_view function_name);

/// A set of enabled defects.
class DefectSet {
 public:
  bool has(Defect d) const { return bits_[static_cast<size_t>(d)]; }
  void set(Defect d, bool on = true) { bits_[static_cast<size_t>(d)] = on; }
  bool empty() const;
  std::string to_string() const;  // "a,b" in table order; "" when empty
  bool operator==(const DefectSet&) const = default;

 private:
  std::array<bool, kDefectCount> bits_{};
};

/// Magma-style canaries, one pair of counters per defect, per execution.
struct Canaries {
  std::array<uint32_t, kDefectCount> reached{};
  std::array<uint32_t, kDefectCount> triggered{};
  // The distinct functions each defect's triggers fired in (the first kMaxSites; more are
  // counted in sites_overflow). Raw __PRETTY_FUNCTION__ strings; canary_site_member() names them.
  static constexpr size_t kMaxSites = 4;
  std::array<std::array<const char*, kMaxSites>, kDefectCount> trigger_sites{};
  uint32_t sites_overflow = 0;
  // Any thread may count (native platform): atomic increments on plain storage, so the
  // struct stays copyable for reports.
  void reach(Defect d) { bump(reached[static_cast<size_t>(d)]); }
  void trigger(Defect d) { bump(triggered[static_cast<size_t>(d)]); }
  /// A trigger, with the function it fired in (its __PRETTY_FUNCTION__, a string of
  /// static storage): the canary-site test checks it against defects.def's `site`.
  void trigger_at(Defect d, const char* function) {
    trigger(d);
    record_site(trigger_sites[static_cast<size_t>(d)], function);
  }
  // Reads are atomic too: the main thread reports the counters while daemons still count.
  uint32_t reached_of(Defect d) const { return load(reached[static_cast<size_t>(d)]); }
  uint32_t triggered_of(Defect d) const { return load(triggered[static_cast<size_t>(d)]); }

 private:
  static void bump(uint32_t& c) {
    std::atomic_ref<uint32_t>(c).fetch_add(1, std::memory_order_relaxed);
  }
  void record_site(std::array<const char*, kMaxSites>& sites, const char* function) {
    for (const char*& slot : sites) {
      std::atomic_ref<const char*> a(slot);
      const char* seen = a.load(std::memory_order_relaxed);
      if (seen == function) return;
      if (seen == nullptr && a.compare_exchange_strong(seen, function)) return;
      if (seen == function) return;  // another thread recorded it meanwhile
    }
    bump(sites_overflow);
  }
  static uint32_t load(const uint32_t& c) {
    return std::atomic_ref<uint32_t>(const_cast<uint32_t&>(c)).load(std::memory_order_relaxed);
  }
};

}  // namespace ifz::rt
