// SPDX-License-Identifier: Apache-2.0
// profile.cc — the registry of profiles, built from the tables: runtime/profiles.def (knobs),
// defects.def (each defect's version mask) and locks.def (each lock's first version).
// This is the only runtime code that looks at version numbers. A version profile models the
// patch release of its referee build (3.13 = 3.13.18, 3.14 = 3.14.10, 3.15 = 3.15.2;
// docs/design-notes.md §14).
#include "runtime/profile.h"

#include <vector>

namespace ifz::rt {

namespace {

constexpr int kFirstMinor = 7;
constexpr int kLastMinor = 15;

// The spelling of profiles.def's flag columns.
constexpr bool yes = true;
constexpr bool no = false;

// Column `minor` of a profiles.def row (3.7 … 3.15).
template <typename T>
T column(int minor, T v7, T v8, T v9, T v10, T v11, T v12, T v13, T v14, T v15) {
  switch (minor) {
    case 7: return v7;
    case 8: return v8;
    case 9: return v9;
    case 10: return v10;
    case 11: return v11;
    case 12: return v12;
    case 13: return v13;
    case 14: return v14;
    default: return v15;
  }
}

Profile version_profile(int minor) {
  Profile p;
  p.minor = minor;
  p.name = "3." + std::to_string(minor);
#define IFZ_FLAG(knob, v7, v8, v9, v10, v11, v12, v13, v14, v15, source) \
  p.knob = column<bool>(minor, v7, v8, v9, v10, v11, v12, v13, v14, v15);
#define IFZ_ENUM(knob, Type, v7, v8, v9, v10, v11, v12, v13, v14, v15, source)                        \
  p.knob = column<Type>(minor, Type::v7, Type::v8, Type::v9, Type::v10, Type::v11, Type::v12, \
                        Type::v13, Type::v14, Type::v15);
#define IFZ_INT(knob, Type, v7, v8, v9, v10, v11, v12, v13, v14, v15, source) \
  p.knob = column<Type>(minor, v7, v8, v9, v10, v11, v12, v13, v14, v15);
#include "runtime/profiles.def"
#undef IFZ_FLAG
#undef IFZ_ENUM
#undef IFZ_INT
  for (const DefectInfo& d : all_defects()) {
    if (d.versions & (1u << minor)) p.defects.set(d.id);
  }
  for (const RuntimeLockInfo& l : all_runtime_locks()) {
    if (runtime_lock_exists(l.id, minor)) p.runtime_locks |= 1u << static_cast<unsigned>(l.id);
  }
  return p;
}

std::vector<Profile> build_profiles() {
  std::vector<Profile> out;
  for (int m = kFirstMinor; m <= kLastMinor; ++m) out.push_back(version_profile(m));
  for (int m = kFirstMinor; m <= kLastMinor; ++m) {
    Profile p = version_profile(m);
    p.name += "-fixed";
    p.fixed = true;
    p.defects = DefectSet{};
    out.push_back(p);
  }
  return out;
}

const std::vector<Profile>& profiles() {
  static const std::vector<Profile> kProfiles = build_profiles();
  return kProfiles;
}

}  // namespace

std::span<const Profile> all_profiles() { return profiles(); }

const Profile* find_profile(std::string_view name) {
  for (const Profile& p : profiles()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::vector<std::string> profile_names() {
  std::vector<std::string> out;
  for (const Profile& p : profiles()) out.push_back(p.name);
  return out;
}

}  // namespace ifz::rt
