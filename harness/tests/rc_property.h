// SPDX-License-Identifier: Apache-2.0
// rc_property.h — runs a RapidCheck property named as a sentence, with a fixed default seed.
// Defines check_property, the harness tests' way to state properties (STYLE §8.10).
//
// RapidCheck draws a fresh random seed per process unless RC_PARAMS names one; tests must be
// deterministic, so when RC_PARAMS is unset it is set to a constant seed before RapidCheck
// reads its configuration. `RC_PARAMS="seed=N max_success=M"` still explores further.
#pragma once

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <utility>

namespace ifz::harness::testing {

inline constexpr const char* kDefaultRcParams = "seed=522542829";

template <typename Testable>
void check_property(const std::string& sentence, Testable&& property) {
  ::setenv("RC_PARAMS", kDefaultRcParams, /*overwrite=*/0);
  rc::detail::TestMetadata metadata;
  metadata.id = sentence;
  metadata.description = sentence;
  auto result = rc::detail::checkProperty(
      rc::detail::toProperty(std::forward<Testable>(property)), metadata);
  if (!result.template is<rc::detail::SuccessResult>()) {
    std::ostringstream message;
    rc::detail::printResultMessage(result, message);
    ADD_FAILURE() << "property \"" << sentence << "\" failed:\n" << message.str();
  }
}

}  // namespace ifz::harness::testing
