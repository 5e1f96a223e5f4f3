// SPDX-License-Identifier: Apache-2.0
// property_case.cc — joint generation and shrinking of (program, schedule spec).
#include "properties/property_case.h"

#include <algorithm>

#include "harness/program/text_format.h"

namespace ifz::properties {

rc::Gen<PropertyCase> gen_property_case(const Shape& shape, std::string profile,
                                        std::vector<std::string> defects, ParkBias park) {
  const rc::Gen<harness::Program> programs = gen_shaped_program(shape, profile, defects);
  return rc::Gen<PropertyCase>([programs, park](const rc::Random& random, int size) {
    rc::Random r = random;
    PropertyCase c;
    c.program = programs(r.split(), size).value();
    c.spec = gen_sched_spec(static_cast<int>(c.program.threads.size()), park)(r.split(), size).value();
    return rc::shrinkable::shrinkRecur(std::move(c), &case_shrinks);
  });
}

SchedSpec remove_thread_id(const SchedSpec& s, int id) {
  SchedSpec t = s;
  t.preemptions.clear();
  for (Preemption p : s.preemptions) {
    if (p.thread == id) continue;
    if (p.thread > id) --p.thread;
    t.preemptions.push_back(p);
  }
  if (s.kind == SchedSpec::Kind::kPreempt && t.preemptions.empty()) t = SchedSpec{};
  if (t.park_thread == id) {
    t.park_thread = -1;
    t.park_from = t.park_until = 0;
    t.park_enter = false;
  } else if (t.park_thread > id) {
    --t.park_thread;
  }
  return t;
}

namespace {

// The specs worth trying with a program that lost a thread: the same, and the same without
// each thread id up to the highest it names (which one the lost thread had is not known
// here). The lost thread need not be one the spec names: an unnamed thread spawned before a
// named one still moves that one's id down (`start T2 threading; start T1 raw` with a
// preemption to T1's id 2: without T2, T1 is id 1).
std::vector<SchedSpec> renumberings(const SchedSpec& s) {
  int highest = s.park_thread;
  for (const Preemption& p : s.preemptions) highest = std::max(highest, p.thread);
  std::vector<SchedSpec> out{s};
  for (int id = 1; id <= highest; ++id) {
    SchedSpec t = remove_thread_id(s, id);
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  }
  return out;
}

}  // namespace

rc::Seq<PropertyCase> case_shrinks(const PropertyCase& c) {
  auto specs = rc::seq::map(sched_shrinks(c.spec), [program = c.program](SchedSpec s) {
    return PropertyCase{program, std::move(s)};
  });
  const size_t threads = c.program.threads.size();
  auto programs = rc::seq::mapcat(program_shrinks(c.program), [c, threads](harness::Program p) {
    // Only a program that lost a thread needs its spec renumbered.
    const std::vector<SchedSpec> variants =
        p.threads.size() < threads ? renumberings(c.spec) : std::vector<SchedSpec>{c.spec};
    return rc::seq::map(rc::seq::fromContainer(variants), [p](SchedSpec s) {
      return PropertyCase{p, std::move(s)};
    });
  });
  return rc::seq::concat(std::move(specs), std::move(programs));
}

void showValue(const PropertyCase& c, std::ostream& os) {
  os << "schedule spec " << describe(c.spec) << "\n" << harness::print_program(c.program);
}

}  // namespace ifz::properties
