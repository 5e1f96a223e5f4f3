// SPDX-License-Identifier: Apache-2.0
// heap.cc — tracking allocator with poisoned quarantine (see heap.h for why).
#include "runtime/heap.h"

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <cstring>

#include "base/check.h"
#include "runtime/platform/not_feedback.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IFZ_HEAP_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(IFZ_HEAP_ASAN)
#define IFZ_HEAP_ASAN 1
#endif
#ifdef IFZ_HEAP_ASAN
#include <sanitizer/asan_interface.h>
#define IFZ_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define IFZ_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define IFZ_POISON(p, n) ((void)(p), (void)(n))
#define IFZ_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace ifz::rt {

namespace {
// CPython's debug allocator fills freed memory with 0xDD ("dead"); a stale pointer read in a
// non-ASan build then shows the familiar interp=0xdddddddddddddddd of gh-110052.
constexpr unsigned char kDeadByte = 0xDD;
}  // namespace

namespace {
// The first block starting after `p` (blocks sorted by start).
template <typename It>
It first_after(It begin, It end, const void* p) {
  return std::upper_bound(begin, end, p, [](const void* q, const auto& b) {
    return std::less<const void*>()(q, b.start);
  });
}
}  // namespace

void* Heap::allocate(size_t size, const char* what, Destroy destroy) {
  Guard g(busy_);
  void* mem = std::malloc(size == 0 ? 1 : size);
  IFZ_CHECK(mem != nullptr, "out of memory");
  blocks_.insert(first_after(blocks_.begin(), blocks_.end(), mem),
                 Block{mem, size, what, destroy, /*freed=*/false});
  recent_.fill(kNoBlock);  // indices after the insertion point moved
  ++live_count_;
  return mem;
}

void Heap::retire(void* p) {
  Guard g(busy_);
  auto it = first_after(blocks_.begin(), blocks_.end(), p);
  IFZ_CHECK(it != blocks_.begin() && (--it)->start == p,
            "Heap::destroy of a pointer that is not a block start");
  IFZ_CHECK(!it->freed, "Heap::destroy of an already freed block (double free)");
  std::memset(p, kDeadByte, it->size);
  IFZ_POISON(p, it->size);
  it->freed = true;
  --live_count_;
  ++freed_count_;
}

namespace {
bool contains(const void* start, size_t size, const void* p) {
  const auto* base = static_cast<const char*>(start);
  const auto* q = static_cast<const char*>(p);
  return !std::less<const char*>()(q, base) && std::less<const char*>()(q, base + size);
}
}  // namespace

// Not coverage feedback (not_feedback.h): the search's path follows malloc's address order;
// whether the block is known, live or freed is branched on by the (instrumented) callers.
// Never inlined, so that it stays out of the instrumented functions that call it.
IFZ_NOT_FEEDBACK __attribute__((noinline)) const Heap::Block* Heap::find(
    const void* p, const void** start) const {
  const Block* b = nullptr;
  for (size_t i : recent_) {
    if (i != kNoBlock && contains(blocks_[i].start, blocks_[i].size, p)) {
      b = &blocks_[i];
      break;
    }
  }
  if (b == nullptr) {
    auto it = first_after(blocks_.begin(), blocks_.end(), p);
    if (it == blocks_.begin()) return nullptr;
    --it;
    if (!contains(it->start, it->size, p)) return nullptr;
    b = &*it;
  }
  const size_t i = static_cast<size_t>(b - blocks_.data());
  if (recent_[0] != i) recent_ = {i, recent_[0]};
  if (start) *start = b->start;
  return b;
}

Heap::State Heap::state(const void* p) const {
  Guard g(busy_);
  const Block* b = find(p, nullptr);
  if (b == nullptr) return State::kUnknown;
  return b->freed ? State::kFreed : State::kLive;
}

const char* Heap::label(const void* p) const {
  Guard g(busy_);
  const Block* b = find(p, nullptr);
  return b ? b->what : "";
}

void Heap::set_tag(const void* p, int64_t tag) {
  Guard g(busy_);
  if (const Block* b = find(p, nullptr)) const_cast<Block*>(b)->tag = tag;
}

bool Heap::tag_of(const void* p, int64_t* tag) const {
  Guard g(busy_);
  const Block* b = find(p, nullptr);
  if (b == nullptr) return false;
  *tag = b->tag;
  return true;
}

void Heap::name_part(const void* part, const char* name) {
  Guard g(busy_);
  parts_.emplace_back(part, name);
}

const char* Heap::part_name(const void* part) const {
  Guard g(busy_);
  for (auto it = parts_.rbegin(); it != parts_.rend(); ++it) {
    if (it->first == part) return it->second;
  }
  return "";
}

void Heap::release_all() {
  Guard g(busy_);
  parts_.clear();
  for (Block& block : blocks_) {
    void* p = const_cast<void*>(block.start);
    if (block.freed) {
      IFZ_UNPOISON(p, block.size);
    } else {
      ++leaked_at_end_;
      block.destroy(p);
    }
    std::free(p);
  }
  blocks_.clear();
  recent_.fill(kNoBlock);
  live_count_ = 0;
}

}  // namespace ifz::rt
