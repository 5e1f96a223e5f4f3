// SPDX-License-Identifier: Apache-2.0
// contract_properties_test.cc — one RapidCheck property per contract of cpython-notes §4,
// each over every -fixed profile (IFZ_PROPERTY_PROFILES), its shape's programs and PCT /
// random / explicit schedules. With no defect enabled each must hold: a failure is a bug of the
// runtime or of an oracle, printed as a shrunk .ifz with its schedule and replay line.
#include <gtest/gtest.h>

#include <vector>

#include "properties/contract_property.h"

namespace ifz::properties {
namespace {

std::vector<const Contract*> contracts() {
  std::vector<const Contract*> out;
  for (const Contract& c : all_contracts()) out.push_back(&c);
  return out;
}

class ContractProperty : public ::testing::TestWithParam<const Contract*> {};

TEST_P(ContractProperty, HoldsForEveryProgramAndSchedule) {
  const Contract& c = *GetParam();
  const PropertyResult r = check_contract(c, PropertyConfig::from_env());
  EXPECT_TRUE(r.passed) << "property \"" << property_id(c, PropertyConfig::from_env())
                        << "\" failed after " << r.successes << " passing cases:\n"
                        << r.message;
}

INSTANTIATE_TEST_SUITE_P(Contracts, ContractProperty, ::testing::ValuesIn(contracts()),
                         [](const ::testing::TestParamInfo<const Contract*>& info) {
                           return std::string(info.param->id);
                         });

}  // namespace
}  // namespace ifz::properties
