// SPDX-License-Identifier: Apache-2.0
// defects.cc — the defect table generated from defects.def.
#include "runtime/defects.h"

namespace ifz::rt {

namespace {
constexpr DefectInfo kDefects[] = {
#define IFZ_DEFECT(id, name, issue, versions, site, bench_profile, depth, mechanism) \
  {Defect::id, name, issue, versions, site, bench_profile, depth, mechanism},
#include "runtime/defects.def"
#undef IFZ_DEFECT
};
static_assert(std::size(kDefects) == kDefectCount);
}  // namespace

std::span<const DefectInfo> all_defects() { return kDefects; }
const DefectInfo& defect_info(Defect d) { return kDefects[static_cast<size_t>(d)]; }

std::optional<Defect> find_defect(std::string_view name) {
  for (const DefectInfo& d : kDefects) {
    if (name == d.name) return d.id;
  }
  return std::nullopt;
}

std::string canary_site_member(std::string_view fn) {
  // GCC/Clang: "<ret> ifz::rt::Runtime::<member>(<args>)[::<lambda(...)> / ::(anonymous class)::operator()(...)]".
  constexpr std::string_view kScope = "Runtime::";
  const size_t at = fn.find(kScope);
  if (at == std::string_view::npos) return std::string(fn);
  const std::string_view rest = fn.substr(at + kScope.size());
  return std::string(rest.substr(0, rest.find_first_of("(<:")));
}

bool DefectSet::empty() const {
  for (bool b : bits_) {
    if (b) return false;
  }
  return true;
}

std::string DefectSet::to_string() const {
  std::string out;
  for (const DefectInfo& d : kDefects) {
    if (!has(d.id)) continue;
    if (!out.empty()) out += ',';
    out += d.name;
  }
  return out;
}

}  // namespace ifz::rt
