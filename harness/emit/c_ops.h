// SPDX-License-Identifier: Apache-2.0
// c_ops.h — one program op as C statements on CPython 3.<minor>'s API (the calls of the
// prelude, c_prelude.h), or the reason it has no faithful counterpart on that version.
// Defines OpEmitContext and op_to_c().
#pragma once

#include <string>

#include "harness/program/op.h"

namespace ifz::harness::emit {

struct OpEmitContext {
  int minor = 11;            // CPython 3.<minor>
  bool child_script_runs = false;  // fork: `child=T<k>` is run by the child (see ops.cc)
};

/// C statements for `op` (executed by the thread context `self`), or "" with `error` set.
std::string op_to_c(const Op& op, const OpEmitContext& ctx, std::string* error);

}  // namespace ifz::harness::emit
