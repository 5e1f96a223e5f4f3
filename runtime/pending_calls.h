// SPDX-License-Identifier: Apache-2.0
// pending_calls.h — a Py_AddPendingCall queue (CPython struct _pending_calls).
// Defines PendingKind (what the modelled callback does), PendingCall and PendingQueue.
//
// Fixed storage, no allocation on push: Py_AddPendingCall must be callable from C threads and
// historically from signal handlers (P2, bpo-30703). Two shapes, chosen by the profile:
//   ring (≤3.12): NPENDINGCALLS = 32 slots, one kept empty → 31 accepted, the 32nd refused;
//   counted (3.13): npending < max, max 32 for the main-thread queue, 300 per interpreter.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "runtime/platform/platform.h"

namespace ifz::rt {

enum class PendingKind : uint8_t {
  kNoop,    // returns 0
  kTouch,   // reads its interpreter's state (must be alive and current)
  kRearm,   // adds another call to the same queue from inside the call
  kFail,    // returns -1 with an exception: stops the pass and re-signals (P4)
  kSlow,    // runs Python code: several eval-loop iterations, each checking the eval breaker
  kAdds,    // calls Py_AddPendingCall(no-op) from inside the call: the version's routing and
            // refusals (3.8's finishing flag, a closed queue, a full one), unlike kRearm's
            // direct push into the call's own queue
  kForever, // re-adds itself (Py_AddPendingCall) every time it runs: unbounded
};
const char* pending_kind_name(PendingKind k);

struct PendingCall {
  int64_t id = -1;  // unique per runtime (assigned at Add)
  PendingKind kind = PendingKind::kNoop;
};

class PendingQueue {
 public:
  static constexpr int kRingSize = 32;       // NPENDINGCALLS (≤3.12)
  static constexpr int kMaxStorage = 300;    // PENDINGCALLSARRAYSIZE (3.13)

  PendingQueue(platform::Platform& p, int64_t owner_interp, bool ring, int max)
      : owner_interp(owner_interp), lock(p, "pending.lock"), done(p, "pending.done"), ring_(ring), max_(max) {}

  /// Requires `lock` held. False when full.
  bool push(const PendingCall& c);
  /// Requires `lock` held. False when empty.
  bool pop(PendingCall* out);
  // Lock-free reads, as the eval breaker reads CPython's calls_to_do: a hint re-checked
  // under `lock` by pop().
  int size() const { return npending_.load(std::memory_order_relaxed); }
  /// A new runtime lifetime: empty, open, nobody handling it (the storage is static in
  /// CPython, and a thread of the old lifetime may still be blocked on `lock`).
  void reset() {
    first_ = last_ = 0;
    npending_ = 0;
    finishing = closed = false;
    handling_thread = platform::kNoThread;
  }
  bool empty() const { return size() == 0; }
  int capacity() const { return ring_ ? kRingSize - 1 : max_; }
  /// The ids of the queued calls, oldest first (inspection: a quiescent queue only, i.e. the
  /// simulated platform or a process whose other threads are gone).
  template <typename F>
  void for_each_queued(F&& visit) const {
    const int storage = ring_ ? kRingSize : kMaxStorage;
    for (int i = 0, at = first_; i < size(); ++i, at = (at + 1) % storage) visit(calls_[at].id);
  }
  /// Drop everything (queue freed or reset); returns the dropped calls via `visit`.
  template <typename F>
  void drain_dropped(F&& visit) {
    PendingCall c;
    while (pop(&c)) visit(c);
  }

  const int64_t owner_interp;   // -1: runtime-wide queue (≤3.8, or 3.12+ main-thread queue)
  platform::Mutex lock;
  // 3.12: per-queue busy flag; 3.13: the thread handling it (one at a time, P4).
  // Atomic: a thread made to exit inside a pass clears it without the lock (see
  // run_pending_queue); everything else reads and writes it under `lock`.
  std::atomic<platform::ThreadId> handling_thread{platform::kNoThread};
  platform::CondVar done;       // signalled (under `lock`) when a handler ends its pass
  bool finishing = false;       // 3.8: set by _Py_FinishPendingCalls, Add then returns -1
  bool closed = false;          // Py_EndInterpreter drains this queue: Add refuses from then on

 private:
  const bool ring_;
  const int max_;
  // invariant: ring: npending_ == (last_ - first_ + kRingSize) % kRingSize.
  int first_ = 0;
  int last_ = 0;
  std::atomic<int> npending_{0};
  // Left uninitialised: push() writes a slot before pop() can read it (invariant: the slots
  // from first_ on, npending_ of them, are written). Every interpreter has a queue, and
  // initialising its 300 slots at each Py_NewInterpreter showed in the fuzzers' profiles.
  struct Slot {
    int64_t id;
    PendingKind kind;
  };
  std::array<Slot, kMaxStorage> calls_;
};

}  // namespace ifz::rt
