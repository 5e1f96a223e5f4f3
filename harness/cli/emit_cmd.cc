// SPDX-License-Identifier: Apache-2.0
// emit_cmd.cc — `interpfuzz emit-c`: reads a program, emits its C reproducer (harness/emit/).
#include "harness/cli/emit_cmd.h"

#include <iostream>

#include "harness/cli/artifacts.h"
#include "harness/cli/commands.h"
#include "harness/emit/emit_c.h"

namespace ifz::harness::cli {

int cmd_emit_c(const Flags& f) {
  std::string file;
  auto p = load_program(f, &file);  // --profile overrides the program's: the target version
  if (!p) return 2;
  const std::string text = f.schedule.empty() ? p->schedule : f.schedule;
  Schedule schedule;
  if (!text.empty()) {
    std::string err;
    auto s = Schedule::parse(text, &err);
    if (!s) return input_error("interpfuzz emit-c: bad schedule: " + err);
    schedule = *s;
  }
  emit::EmitOptions o;
  o.source_name = file;
  const emit::Emitted e = emit::emit_c(*p, schedule, o);
  if (!e.ok) return input_error("interpfuzz " + e.error);
  if (f.output.empty()) {
    std::cout << e.c;
    return 0;
  }
  std::string err;
  if (!write_file_atomic(f.output, e.c, &err)) return input_error("interpfuzz emit-c: " + err);
  return 0;
}

}  // namespace ifz::harness::cli
