// SPDX-License-Identifier: Apache-2.0
// locks_test.cc — locks.def is the one list of runtime locks: for every version profile the
// runtime's lock list (what the fork oracle checks) starts with exactly the rows that version
// has, in table order, each the Runtime member whose Mutex carries the row's name; words and
// mutex names are distinct; and a missing lock's reason names the lock and its version.
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "runtime/locks.h"
#include "runtime/platform/simulated.h"
#include "runtime/runtime.h"

namespace ifz::rt {
namespace {

TEST(RuntimeLocks, RuntimeListFollowsTheTableForEveryVersion) {
  for (const Profile& p : all_profiles()) {
    SCOPED_TRACE(p.name);
    platform::SimulatedPlatform plat;
    Runtime rt(plat, p, {}, nullptr);
    const std::vector<const platform::Mutex*> listed = rt.runtime_locks();
    size_t i = 0;
    for (const RuntimeLockInfo& row : all_runtime_locks()) {
      EXPECT_EQ(std::string(rt.lock(row.id).name()), row.mutex_name);
      // bpo-39465: _PyRuntime.unicode_ids.lock exists from 3.10; the others in every version.
      const bool before_310 = p.name.starts_with("3.7") || p.name.starts_with("3.8") ||
                              p.name.starts_with("3.9");
      const bool expected = row.id != RuntimeLock::kUnicodeIds || !before_310;
      EXPECT_EQ(rt.has_lock(row.id), expected);
      if (!rt.has_lock(row.id)) continue;
      ASSERT_LT(i, listed.size());
      EXPECT_EQ(listed[i++], &rt.lock(row.id)) << row.word;
    }
  }
}

TEST(RuntimeLocks, NamesAreDistinctAndReasonsNameTheLock) {
  std::set<std::string> words, mutexes;
  for (const RuntimeLockInfo& row : all_runtime_locks()) {
    EXPECT_TRUE(words.insert(row.word).second) << row.word;
    EXPECT_TRUE(mutexes.insert(row.mutex_name).second) << row.mutex_name;
    EXPECT_EQ(std::string(runtime_lock_name(row.id)), row.word);
    EXPECT_EQ(std::string(row.missing),
              "no " + std::string(row.word) + " lock before 3." + std::to_string(row.since));
  }
  EXPECT_EQ(words.size(), static_cast<size_t>(kRuntimeLockCount));
}

}  // namespace
}  // namespace ifz::rt
