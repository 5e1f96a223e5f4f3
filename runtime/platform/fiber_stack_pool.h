// SPDX-License-Identifier: Apache-2.0
// fiber_stack_pool.h — pooled, guard-paged stacks for the simulated platform's coroutines.
// Defines FiberStack (one mapping) and FiberStackPool (a per-OS-thread free list of them).
//
// Why a pool: a fuzzer runs tens of thousands of executions per second, each spawning a few
// coroutines; an mmap + munmap per coroutine would cost more than the execution (DESIGN D1).
// Stacks are mapped once, with a PROT_NONE guard page below them, and reused. A reused stack
// keeps the ASan shadow poison of the frames that were abandoned on it, so release() unpoisons
// the whole stack before it can be handed out again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

// Sanitizer detection shared by the coroutine code. The asan/fuzz presets define IFZ_ASAN and the
// tsan preset IFZ_TSAN; a build that adds -fsanitize by hand is detected here too.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(IFZ_ASAN)
#define IFZ_ASAN 1
#endif
#if __has_feature(thread_sanitizer) && !defined(IFZ_TSAN)
#define IFZ_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(IFZ_ASAN)
#define IFZ_ASAN 1
#endif

namespace ifz::platform {

/// One coroutine stack: [mapping, mapping + page) is the guard page, the rest is usable.
struct FiberStack {
  void* mapping = nullptr;  // start of the mmap'ed region, or null for "no stack"
  size_t mapping_size = 0;  // guard page included
  size_t guard_size = 0;

  /// Lowest usable address (the stack grows down towards it).
  char* bottom() const { return static_cast<char*>(mapping) + guard_size; }
  /// Usable bytes.
  size_t size() const { return mapping_size - guard_size; }
  /// One past the highest usable address: where a new stack starts.
  char* top() const { return static_cast<char*>(mapping) + mapping_size; }
  explicit operator bool() const { return mapping != nullptr; }
};

/// A free list of equally sized stacks. Not thread-safe: use one pool per OS thread
/// (for_this_thread), which is how the simulated platform runs anyway.
class FiberStackPool {
 public:
  /// 64 KiB, or 256 KiB under ASan/TSan, whose instrumented frames are several times larger.
  static size_t default_stack_size();

  /// The pool of the calling OS thread for `stack_size` (0 = default). It lives until the OS
  /// thread exits, so stacks are reused across executions (one SimulatedPlatform each).
  static FiberStackPool& for_this_thread(size_t stack_size);

  /// `stack_size` 0 = default; rounded up to whole pages. At most `max_free` released stacks
  /// are kept; beyond that they are unmapped.
  explicit FiberStackPool(size_t stack_size = 0, size_t max_free = 64);
  ~FiberStackPool();
  FiberStackPool(const FiberStackPool&) = delete;
  FiberStackPool& operator=(const FiberStackPool&) = delete;

  /// A stack of stack_size() usable bytes: a pooled one if any, else a fresh mapping.
  /// Aborts if the kernel refuses the mapping (nothing sensible can continue).
  FiberStack acquire();
  /// Returns a stack obtained from acquire(). Its contents are garbage from then on.
  void release(FiberStack stack);

  size_t stack_size() const { return stack_size_; }

  struct Stats {
    uint64_t mapped = 0;    // mmap calls so far
    uint64_t unmapped = 0;  // munmap calls so far
    size_t free = 0;        // stacks waiting in the pool
  };
  Stats stats() const { return {mapped_, unmapped_, free_.size()}; }

 private:
  void unmap(FiberStack stack);

  size_t stack_size_;
  size_t max_free_;
  size_t page_size_;
  // invariant: every entry was mapped by this pool, is unpoisoned, and is not in use.
  std::vector<FiberStack> free_;
  uint64_t mapped_ = 0;
  uint64_t unmapped_ = 0;
};

}  // namespace ifz::platform
