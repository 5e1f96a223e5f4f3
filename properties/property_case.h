// SPDX-License-Identifier: Apache-2.0
// property_case.h — one test case of a contract property: a program and the schedule spec it
// runs under, generated together and shrunk together. Defines PropertyCase, gen_property_case,
// case_shrinks, remove_thread_id and showValue.
//
// Why together: the spec names platform thread ids ("at choice 11 switch to T2"), which are
// given in spawn order. Dropping a helper thread renumbers the threads spawned after it, so a
// program shrink is only useful with the spec renumbered the same way; as two separate
// RapidCheck picks, neither shrink could make that move and shrinking stopped early.
//
// Shrinks, simplest first: the spec's own (sequential, the failing execution's preemptions,
// ...), then each program shrink (program_shapes.h) under the unchanged spec and under the
// spec with one thread id removed (preemptions to it dropped, higher ids moved down), for
// every id up to the highest the spec names: the lost thread's id is not known.
#pragma once

#include <rapidcheck.h>

#include <ostream>
#include <string>
#include <vector>

#include "harness/program/program.h"
#include "properties/program_shapes.h"
#include "properties/schedule_spec.h"

namespace ifz::properties {

struct PropertyCase {
  harness::Program program;
  SchedSpec spec;
  bool operator==(const PropertyCase&) const = default;
};

rc::Gen<PropertyCase> gen_property_case(const Shape& shape, std::string profile,
                                        std::vector<std::string> defects, ParkBias park);
rc::Seq<PropertyCase> case_shrinks(const PropertyCase& c);
/// `s` for an execution in which thread `id` does not exist: preemptions to it are dropped,
/// higher ids move down by one, a window parking it is removed.
SchedSpec remove_thread_id(const SchedSpec& s, int id);
void showValue(const PropertyCase& c, std::ostream& os);

}  // namespace ifz::properties
