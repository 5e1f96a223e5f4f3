// SPDX-License-Identifier: Apache-2.0
// gil.h — the model's GIL (CPython Python/ceval_gil.c), with FORCE_SWITCHING.
// Defines Gil: state plus its locks; take/drop live in Runtime (gil.cc) because they consult
// the finalisation state and the profile, as CPython's take_gil does.
//
// invariant (G1): locked ⇔ holder != kNoThread; at most one holder per Gil.
// Up to 3.11 there is one Gil per process; from 3.12 one per own_gil interpreter, and legacy
// subinterpreters share the main interpreter's (gh-99113).
#pragma once

#include <atomic>
#include <cstdint>

#include "runtime/platform/platform.h"

namespace ifz::rt {

class ThreadState;

class Gil {
 public:
  Gil(platform::Platform& p, int64_t id)
      : id(id), mutex(p, "gil.mutex"), cond(p, "gil.cond"),
        switch_mutex(p, "gil.switch_mutex"), switch_cond(p, "gil.switch_cond") {}

  const int64_t id;  // 0 = the main (process) GIL, else the owning interpreter's id
  std::atomic<bool> created{false};
  std::atomic<bool> locked{false};
  std::atomic<platform::ThreadId> holder{platform::kNoThread};  // oracle: who holds it
  std::atomic<ThreadState*> last_holder{nullptr};  // only compared, never dereferenced
  uint64_t switch_number = 0;          // guarded by mutex
  platform::Mutex mutex;               // protects locked/switch_number (CPython gil->mutex)
  platform::CondVar cond;              // "GIL released" (CPython gil->cond)
  platform::Mutex switch_mutex;        // FORCE_SWITCHING: a dropper waits until someone took it
  platform::CondVar switch_cond;
};

}  // namespace ifz::rt
