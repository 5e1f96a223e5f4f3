// SPDX-License-Identifier: Apache-2.0
// ifz_files.h — the `.ifz` programs of a folder, sorted (seed and regression corpora in tests).
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace ifz::harness::testing {

/// Paths of the `*.ifz` files directly in `dir`, sorted so tests visit them in a stable order;
/// empty when `dir` does not exist.
inline std::vector<std::string> ifz_files(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".ifz") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace ifz::harness::testing
