// SPDX-License-Identifier: Apache-2.0
// c_ops.h — one program op as a call of the prelude's op dispatcher (ifz_do_op, the one
// op -> C-API mapping shared by repro.c and the real-CPython driver) on CPython 3.<minor>, or
// the reason it has no faithful counterpart on that version. Defines OpEmitContext, lower_op().
#pragma once

#include <string>

#include "harness/emit/script_steps.h"
#include "harness/program/op.h"

namespace ifz::harness::emit {

struct OpEmitContext {
  int minor = 11;            // CPython 3.<minor>
  bool child_script_runs = false;  // fork: `child=T<k>` is run by the child (see ops.cc)
};

/// The ifz_op for `op` (executed by the thread context `self`) and `api`, a short comment
/// naming the C API it is; false with `error` set when the version has no counterpart.
bool lower_op(const Op& op, const OpEmitContext& ctx, CallOp* out, std::string* api,
              std::string* error);

}  // namespace ifz::harness::emit
