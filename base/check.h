// SPDX-License-Identifier: Apache-2.0
// check.h — the two internal error tiers (STYLE §8.6): IFZ_CHECK for our own bugs and
// IFZ_PRECONDITION for API misuse by harness code. Both abort with a message.
//
// A bug found in the *modelled* runtime is neither: it is an Outcome / finding value
// (outcome.h), never an abort of the tool.
#pragma once

#include <cstdio>
#include <cstdlib>

#define IFZ_CHECK(cond, msg)                                                              \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "==ifz== INTERNAL ERROR %s:%d: check '%s' failed: %s\n",       \
                   __FILE__, __LINE__, #cond, msg);                                       \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

#define IFZ_PRECONDITION(cond, msg)                                                       \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "==ifz== [Failed precondition] Incorrect usage at %s:%d: %s\n", \
                   __FILE__, __LINE__, msg);                                              \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)
