// SPDX-License-Identifier: Apache-2.0
// heap.h — the execution's tracking allocator for runtime objects (DESIGN D2, D6).
// Defines Heap: real malloc, a live set, a poisoned quarantine for freed objects, and the
// explicit liveness check every possibly-stale access goes through.
//
// Why: CPython frees a PyThreadState / PyInterpreterState while a parked daemon thread still
// holds a pointer to it (bpo-39877, gh-110052). The model frees too, so the bug is real, but a
// real free would let the address be reused and make the stale access undetectable without
// ASan. So destroy() runs the destructor, fills the memory with 0xDD (CPython's debug pattern),
// ASan-poisons it (an unchecked access is an ASan use-after-poison report: the backstop) and
// keeps it in quarantine until the execution ends. check() is the oracle's own detection: it
// answers "freed" for any pointer into a quarantined block, with or without ASan.
//
// Memory of threads that vanished in a simulated fork, or of objects still alive when the
// process ended, is released by release_all() and counted (leaked_by_fork()).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "runtime/spin_lock.h"

namespace ifz::rt {

class Heap {
 public:
  // Room for a typical execution's blocks (a few dozen): one allocation, not a growth series.
  Heap() { blocks_.reserve(64); }
  ~Heap() { release_all(); }
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  // Thread-safe, like malloc: native threads allocate thread states without the GIL (C
  // threads) and check liveness while parked. The guard is the allocator's own short
  // critical section, never a scheduling point, so it is not a platform lock (DESIGN D1 is
  // about locks CPython has); on the simulated platform it is never contended.
  template <typename T, typename... Args>
  T* make(const char* what, Args&&... args) {
    void* mem = allocate(sizeof(T), what, &destroy_as<T>);
    return new (mem) T(std::forward<Args>(args)...);
  }

  /// Runs the destructor, poisons and quarantines. `p` must be a live block from make().
  template <typename T>
  void destroy(T* p) {
    if (p == nullptr) return;
    p->~T();
    retire(p);
  }

  /// Runs `read` while the block containing `p` is known live, atomically with respect to
  /// destroy() (both hold the heap's guard): a thread without the GIL reads a thread state
  /// the finaliser may free at the same moment on real threads. False, without reading, when
  /// the block is freed or unknown. `read` must be a plain field read (no allocation, no
  /// scheduling point).
  template <typename F>
  bool read_if_live(const void* p, F&& read) const {
    Guard g(busy_);
    const Block* b = find(p, nullptr);
    if (b == nullptr || b->freed) return false;
    read();
    return true;
  }

  enum class State : uint8_t { kLive, kFreed, kUnknown };
  /// Liveness of the block containing `p` (pointer to the start or inside of it).
  State state(const void* p) const;
  bool freed(const void* p) const { return state(p) == State::kFreed; }
  /// The label given at allocation of a live or freed block ("PyThreadState"), or "".
  const char* label(const void* p) const;

  /// A number the owner attaches to a block (the runtime: the lifetime it was made in), kept
  /// after the block is freed, so that a stale pointer can still be told apart by it without
  /// reading the freed memory. False if `p` is in no block.
  void set_tag(const void* p, int64_t tag);
  bool tag_of(const void* p, int64_t* tag) const;

  /// Names a part of a block (a lock, condition or queue inside an interpreter or a GIL), so
  /// that a use of it after the block was freed is reported by that name. The name must be a
  /// string literal. part_name(p) is "" for an unnamed address.
  void name_part(const void* part, const char* name);
  const char* part_name(const void* part) const;

  /// Frees everything: runs destructors of still-live objects, unpoisons and frees the
  /// quarantine. Idempotent. Called when the execution's runtime is torn down.
  void release_all();

  /// Blocks still live when release_all() ran (objects the model never freed: process exit,
  /// or owned by threads that vanished in a fork). A figure, not an error.
  size_t leaked_at_end() const { return leaked_at_end_; }
  size_t live_blocks() const { return live_count_; }
  size_t freed_blocks() const { return freed_count_; }

  /// fork(2) on the native platform: the forking thread holds the heap's lock across the fork
  /// so that the block table is consistent (and unlocked) in the child.
  void lock_for_fork() { busy_.lock(); }
  void unlock_after_fork() { busy_.unlock(); }

 private:
  using Destroy = void (*)(void*);
  template <typename T>
  static void destroy_as(void* p) { static_cast<T*>(p)->~T(); }

  struct Block {
    const void* start;
    size_t size;
    const char* what;
    Destroy destroy;
    bool freed;
    int64_t tag = 0;
  };
  using Guard = std::lock_guard<SpinLock>;  // over blocks_, recent_ and the counters
  void* allocate(size_t size, const char* what, Destroy destroy);
  void retire(void* p);
  const Block* find(const void* p, const void** start) const;

  // invariant: sorted by start address; blocks never overlap; a freed block stays here
  // (poisoned) until release_all(), so its address cannot be handed out again.
  // A sorted vector, not a map: an execution has a few dozen blocks and looks one up at
  // almost every runtime access (touch), so a binary search over contiguous entries beats
  // walking tree nodes, and adding a block allocates no node (under ASan, a costly malloc).
  std::vector<Block> blocks_;
  // Named parts of blocks (name_part), few per block: a linear search, only on a crash path.
  std::vector<std::pair<const void*, const char*>> parts_;
  // The blocks find() answered last, most recent first (indices into blocks_; cleared when an
  // insertion shifts them): most lookups are the thread state and interpreter just touched.
  mutable std::array<size_t, 2> recent_{kNoBlock, kNoBlock};
  static constexpr size_t kNoBlock = ~size_t{0};
  size_t live_count_ = 0;
  size_t freed_count_ = 0;
  size_t leaked_at_end_ = 0;
  mutable SpinLock busy_;
};

}  // namespace ifz::rt
