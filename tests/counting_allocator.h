// Replaces the global operator new/delete of the test binary that includes this header (include
// it in exactly one source file of that binary) with versions that count every allocation, so a
// test can assert that a code path allocates nothing. Memory still comes from malloc.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace ectrain::testing {
inline std::atomic<int64_t> g_allocations{0};
inline int64_t Allocations() { return g_allocations.load(); }
}  // namespace ectrain::testing

// Each is kept out of line, as it is for every other file of the program: inlined into this
// file's callers, GCC 12 sees malloc'd memory reach operator delete, or operator new's reach
// free(), and warns -Wmismatched-new-delete, a false positive (every pair here is malloc and free).
[[gnu::noinline]] void* operator new(std::size_t size) {
  ectrain::testing::g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t size) { return operator new(size); }
[[gnu::noinline]] void* operator new(std::size_t size, std::align_val_t align) {
  ectrain::testing::g_allocations.fetch_add(1, std::memory_order_relaxed);
  const size_t a = static_cast<size_t>(align);
  if (void* p = std::aligned_alloc(a, (size + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t size, std::align_val_t align) { return operator new(size, align); }
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
