// SPDX-License-Identifier: Apache-2.0
// base_test.cc — the atomic write leaves exactly the target (no temporary) and replaces an
// existing file whole; it fails cleanly into a missing directory; the stable hash is the
// project's FNV-1a (fixed values: names on disk depend on them) and incremental feeding
// equals one call.
#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/atomic_file.h"
#include "base/stable_hash.h"

namespace ifz::base {
namespace {

std::string make_temp_dir() {
  char tmpl[] = "/tmp/ifz_base_test.XXXXXX";
  const char* d = mkdtemp(tmpl);
  EXPECT_NE(d, nullptr);
  return d ? d : "";
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  while (dirent* e = readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  closedir(d);
  return out;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(AtomicFile, WritesAndReplacesLeavingNoTemporary) {
  const std::string dir = make_temp_dir();
  const std::string path = dir + "/out.txt";
  std::string error;
  ASSERT_TRUE(write_file_atomic(path, "first\n", &error)) << error;
  ASSERT_TRUE(write_file_atomic(path, "second, longer\n", &error)) << error;
  EXPECT_EQ(read_all(path), "second, longer\n");
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"out.txt"});
  unlink(path.c_str());
  rmdir(dir.c_str());
}

TEST(AtomicFile, MissingDirectoryIsAnErrorNotACrash) {
  std::string error;
  EXPECT_FALSE(write_file_atomic("/nonexistent-ifz-dir/x/out.txt", "x", &error));
  EXPECT_NE(error.find("cannot create"), std::string::npos) << error;
}

TEST(AtomicFile, CommitFileMovesAFinishedFile) {
  const std::string dir = make_temp_dir();
  const std::string tmp = temp_name_for(dir + "/bin");
  std::ofstream(tmp) << "payload";
  std::string error;
  ASSERT_TRUE(commit_file(tmp, dir + "/bin", &error)) << error;
  EXPECT_EQ(read_all(dir + "/bin"), "payload");
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"bin"});
  unlink((dir + "/bin").c_str());
  rmdir(dir.c_str());
}

TEST(AtomicFile, TemporaryNamesAreHiddenAndDistinct) {
  const std::string a = temp_name_for("/d/f.ifz");
  const std::string b = temp_name_for("/d/f.ifz");
  EXPECT_EQ(a.rfind("/d/.f.ifz.tmp.", 0), 0u) << a;
  EXPECT_NE(a, b);
}

TEST(StableHash, FixedValuesAndIncrementalFeeding) {
  // The offset basis alone, and a fixed string: names on disk made by earlier builds.
  EXPECT_EQ(stable_hash(""), 1469598103934665603ull);
  EXPECT_EQ(stable_hash_hex(""), "14650fb0739d0383");
  EXPECT_EQ(stable_hash_hex("abc"), "e16801510db89efd");
  EXPECT_EQ(StableHash().add("ab").add("c").value(), stable_hash("abc"));
  EXPECT_EQ(stable_hash_hex("abc").size(), 16u);
  EXPECT_NE(stable_hash("abc"), stable_hash("acb"));
}

}  // namespace
}  // namespace ifz::base
