// SPDX-License-Identifier: Apache-2.0
// driver_source.h — the C text of the real-CPython driver: the prelude of every reproducer
// (the turn protocol and the op -> C-API mapping, harness/emit/c_prelude.h) plus a fork server
// that reads programs as steps (wire_format.h) and runs each in a fresh child. Defines
// driver_c_source().
//
// The server never initialises Python: each child starts as a copy of a process that has no
// interpreter, exactly like a freshly exec'd reproducer, and its script 0 (the program's
// `init` op) initialises it. Per run: stdin /dev/null, stdout and stderr to pipes, its own
// process group (a fork grandchild it leaves behind is killed with it), no core dumps; a run
// alive after the request's timeout has its group killed (timed_out). Runs of one request go
// concurrently, as `conform`'s compiled runs do.
#pragma once

#include <string>

namespace ifz::harness::real {

/// The complete C program (built with the install's --includes / --ldflags --embed).
const std::string& driver_c_source();

}  // namespace ifz::harness::real
