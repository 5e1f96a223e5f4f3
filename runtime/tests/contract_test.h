// SPDX-License-Identifier: Apache-2.0
// contract_test.h — the fixture contract and defect tests share: a test parameterised by a
// profile name, instantiated over the profiles a contract applies to.
// Defines ProfileTest, profile_param_name and IFZ_INSTANTIATE_PROFILES.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "runtime/tests/scenario.h"

namespace ifz::rt::testing {

class ProfileTest : public ::testing::TestWithParam<std::string> {
 protected:
  const Profile& profile() const { return *find_profile(GetParam()); }
  /// Whether this profile is (a -fixed twin of) one of `releases` ("3.9"): for the [EXP]
  /// observations that are columns of CPython releases rather than knobs.
  bool on(std::initializer_list<std::string_view> releases) const {
    return release_in(GetParam(), releases);
  }
  /// The profile enables this historical defect (a version profile with a known bug).
  bool has(Defect d) const { return profile().defects.has(d); }
};

/// Threads the runtime stopped during finalisation: made to exit (PyThread_exit_thread) or,
/// 3.13.8+/3.14+ (gh-87135), parked for good (PyThread_hang_thread).
inline size_t stopped_threads(const ScenarioResult& r) {
  return r.count(EventKind::kThreadExitForced) + r.count(EventKind::kThreadHang);
}

/// "3.9-fixed" → "v3_9_fixed".
inline std::string profile_param_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string n = "v" + info.param;
  for (char& c : n) c = (c == '.' || c == '-') ? '_' : c;
  return n;
}

}  // namespace ifz::rt::testing

/// Instantiates `Suite` over every profile (versions and -fixed twins) for which the
/// predicate `keep` (a `const Profile&` → bool expression over `p`) holds.
#define IFZ_INSTANTIATE_PROFILES(Suite, keep)                                               \
  INSTANTIATE_TEST_SUITE_P(                                                                 \
      Profiles, Suite,                                                                      \
      ::testing::ValuesIn(::ifz::rt::testing::profiles_where(                               \
          [](const ::ifz::rt::Profile& p) { return (keep); })),                             \
      ::ifz::rt::testing::profile_param_name)
