// SPDX-License-Identifier: Apache-2.0
// fiber_stack_pool.cc — mmap-backed coroutine stacks with a guard page, recycled per OS thread.
// Defines FiberStackPool.
#include "runtime/platform/fiber_stack_pool.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "base/check.h"

#if IFZ_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace ifz::platform {

size_t FiberStackPool::default_stack_size() {
#if IFZ_ASAN || IFZ_TSAN
  return 256 * 1024;
#else
  return 64 * 1024;
#endif
}

FiberStackPool& FiberStackPool::for_this_thread(size_t stack_size) {
  if (stack_size == 0) stack_size = default_stack_size();
  // A handful of sizes at most (tests use one or two), so a linear scan is the fastest map.
  thread_local std::vector<std::unique_ptr<FiberStackPool>> pools;
  for (auto& pool : pools) {
    if (pool->stack_size_ >= stack_size && pool->stack_size_ - stack_size < pool->page_size_) {
      return *pool;
    }
  }
  pools.push_back(std::make_unique<FiberStackPool>(stack_size));
  return *pools.back();
}

FiberStackPool::FiberStackPool(size_t stack_size, size_t max_free)
    : max_free_(max_free), page_size_(static_cast<size_t>(sysconf(_SC_PAGESIZE))) {
  if (stack_size == 0) stack_size = default_stack_size();
  stack_size_ = (stack_size + page_size_ - 1) / page_size_ * page_size_;
}

FiberStackPool::~FiberStackPool() {
  for (FiberStack& s : free_) unmap(s);
}

FiberStack FiberStackPool::acquire() {
  if (!free_.empty()) {
    FiberStack s = free_.back();
    free_.pop_back();
    return s;
  }
  FiberStack s;
  s.guard_size = page_size_;
  s.mapping_size = stack_size_ + page_size_;
  // MAP_NORESERVE: untouched stack pages cost nothing, so generous sizes are free.
  s.mapping = mmap(nullptr, s.mapping_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (s.mapping == MAP_FAILED) {
    std::fprintf(stderr, "==ifz== FiberStackPool: mmap(%zu) failed: %s\n", s.mapping_size,
                 std::strerror(errno));
    std::abort();
  }
  // The guard page turns a coroutine stack overflow into a SIGSEGV instead of silent corruption
  // of whatever is mapped below.
  IFZ_CHECK(mprotect(s.mapping, s.guard_size, PROT_NONE) == 0, "mprotect(guard page) failed");
  ++mapped_;
  return s;
}

void FiberStackPool::release(FiberStack stack) {
  if (!stack) return;
#if IFZ_ASAN
  // Frames abandoned on this stack (finished, vanished or never-unwound coroutines) left their
  // redzones poisoned; the next coroutine's frames would otherwise trip over them.
  __asan_unpoison_memory_region(stack.bottom(), stack.size());
#endif
  if (free_.size() >= max_free_) {
    unmap(stack);
    return;
  }
  free_.push_back(stack);
}

void FiberStackPool::unmap(FiberStack stack) {
  munmap(stack.mapping, stack.mapping_size);
  ++unmapped_;
}

}  // namespace ifz::platform
