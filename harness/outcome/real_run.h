// SPDX-License-Identifier: Apache-2.0
// real_run.h — classifying how an emitted C program ended on a real CPython, in the shared
// outcome vocabulary (outcome.h). Defines RealRun and classify_real_run().
#pragma once

#include <string>

#include "harness/outcome/outcome.h"

namespace ifz::harness::outcome {

/// What the runner saw of one real process.
struct RealRun {
  bool timed_out = false;  // killed by the runner's timeout
  int wait_status = 0;     // waitpid() status when it ended by itself
  std::string out;         // stdout: the "IFZ <observable>" lines among anything else
  std::string err;         // stderr: where CPython writes "Fatal Python error: ..."
};

/// The first "Fatal Python error: ..." line of `err`, or "".
std::string first_fatal_line(const std::string& err);

/// Whether `err` has a debug build's failed assert(!_PyMem_IsPtrFreed(...)).
bool freed_memory_assert(const std::string& err);

/// Kind from the wait status; a CPython fatal message turns abort (SIGABRT) or status 1 into
/// fatal(message); an abort on a debug build's freed-memory assertion is the use-after-free a
/// release build dies of, signal(SIGSEGV), as the model reports every use-after-free; observables are the stdout lines starting with kObservablePrefix. Lines the
/// program prints about itself ("IFZ note ...") are not observables.
Outcome classify_real_run(const RealRun& r);

}  // namespace ifz::harness::outcome
