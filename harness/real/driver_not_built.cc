// SPDX-License-Identifier: Apache-2.0
// driver_not_built.cc — PLACEHOLDER for the fork-server driver (real_executor.h,
// make_driver_executor), which is being written on another branch (issue 18, deliverable 1).
//
// Deliberately a strong definition, never a weak one: when the driver's own definition lands,
// the link fails with a duplicate symbol until this file is deleted (with its line in
// harness/CMakeLists.txt), so the placeholder cannot survive the merge silently. Until then
// every caller gets null and this error; `interpfuzz diff --executor driver` (its default)
// says so on stderr and falls back to the compiling executor.
#include "harness/real/real_executor.h"

namespace ifz::harness::real {

std::unique_ptr<RealExecutor> make_driver_executor(const conform::CPythonInstall& /*in*/,
                                                   const std::string& /*cache_dir*/,
                                                   std::string* error) {
  *error = "the driver is not built yet";
  return nullptr;
}

}  // namespace ifz::harness::real
