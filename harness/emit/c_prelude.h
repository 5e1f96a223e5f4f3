// SPDX-License-Identifier: Apache-2.0
// c_prelude.h — the fixed part of every emitted reproducer: the handshake that sequences op
// boundaries, the per-thread bookkeeping mirroring harness/exec/execution.h's ThreadCtx, and
// one small C function per operation family, written against CPython's embedding API.
// Defines c_prelude().
#pragma once

#include <string>

namespace ifz::harness::emit {

/// The #include lines the prelude needs (Python.h first).
const char* c_includes();

/// The C text placed after the generated header and before the generated scripts.
const std::string& c_prelude();

}  // namespace ifz::harness::emit
