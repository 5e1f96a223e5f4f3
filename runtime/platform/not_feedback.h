// SPDX-License-Identifier: Apache-2.0
// not_feedback.h — IFZ_NOT_FEEDBACK: leaves one function out of the fuzz presets' coverage
// instrumentation (no edge counters, no comparison tracing; cmake/Sanitizers.cmake).
//
// Only for bookkeeping whose branches say nothing about what the modelled runtime does: the
// scheduler loop (which fiber runs next) and the heap's block search (whose path follows
// malloc's address order). Everything that models CPython stays instrumented; so do the
// callers that branch on what such a function returns (a block live or freed, a lock held).
// Coverage there only made libFuzzer collect and weigh features on every execution for no
// guidance (perf, sessions 3 and 4).
#pragma once

#if defined(__clang__)
#define IFZ_NOT_FEEDBACK __attribute__((no_sanitize("coverage")))
#else
#define IFZ_NOT_FEEDBACK
#endif
