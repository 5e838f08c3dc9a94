#include "core/allocator.h"

#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>

namespace ectrain {

const char* DeviceKindName(DeviceKind kind) {
  switch (kind) {
    case DeviceKind::kCpu:
      return "cpu";
    case DeviceKind::kCuda:
      return "cuda";
    case DeviceKind::kSimulated:
      return "simulated";
  }
  return "?";
}

void* Allocator::AllocateStaging(size_t bytes) {
  void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void Allocator::FreeStaging(void* p, size_t /*bytes*/) { std::free(p); }

namespace {

class Host final : public Allocator {
 public:
  DeviceKind kind() const override { return DeviceKind::kCpu; }

  void* Allocate(size_t bytes) override {
    constexpr size_t kHugePage = size_t{2} << 20;
    if (bytes < kHugePage) {
      void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
      if (p == nullptr) throw std::bad_alloc();
      std::memset(p, 0, bytes);
      return p;
    }
    // Large blocks come zeroed from the kernel, so pages never written take no memory: the gradient
    // arena's row-sparse tables (their gradients live in compact rows), optimizer state of rows
    // never updated. They sit on huge pages where the kernel has them: embedding rows are updated
    // scattered across the tables, and with 4 KB pages nearly every row costs a TLB miss. Only
    // whole huge pages are advised: the tail stays on 4 KB pages, so a block is not rounded up to
    // 2 MB of memory, and the gradient arena's last tensors (the dense layers, written every step)
    // do not make a whole huge page resident for a few kilobytes.
    // Each large block starts 4160 bytes (a page and a cache line) further past its huge page than
    // the one made before it, in a cycle of 8: the parameters and the optimizer's moments share one
    // layout, and a row at the same offset in each, all 2 MB-aligned, would fall on the same cache
    // sets and page offset; the lazy update, which reads and writes a row of each, took 1.25x the
    // time a row (bench/RESULTS.md, profile).
    const size_t skew = static_cast<size_t>(blocks_made_.fetch_add(1) % 8) * (4096 + 64);
    const size_t mapped_bytes = bytes + kHugePage + skew;  // room to align the start, and the skew
    void* mapping = mmap(nullptr, mapped_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapping == MAP_FAILED) throw std::bad_alloc();
    const auto huge_page = (reinterpret_cast<uintptr_t>(mapping) + kHugePage - 1) / kHugePage * kHugePage;
    void* data = reinterpret_cast<void*>(huge_page + skew);
    // Advice only: no huge pages is fine.
    madvise(reinterpret_cast<void*>(huge_page), (skew + bytes) / kHugePage * kHugePage, MADV_HUGEPAGE);
    const std::lock_guard<std::mutex> lock(mutex_);
    mappings_[data] = {mapping, mapped_bytes};
    return data;
  }

  void Free(void* p, size_t bytes) override {
    if (p == nullptr) return;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      const auto it = mappings_.find(p);
      if (it != mappings_.end()) {
        munmap(it->second.first, it->second.second);
        mappings_.erase(it);
        return;
      }
    }
    std::free(p);
  }

  void Zero(void* p, size_t bytes) override { std::memset(p, 0, bytes); }
  void CopyFromHost(void* dst, const void* host_src, size_t bytes) override {
    if (dst != host_src) std::memcpy(dst, host_src, bytes);
  }
  void CopyToHost(void* host_dst, const void* src, size_t bytes) override {
    if (host_dst != src) std::memcpy(host_dst, src, bytes);
  }

 private:
  std::atomic<int> blocks_made_{0};
  std::mutex mutex_;
  std::unordered_map<void*, std::pair<void*, size_t>> mappings_;  // large blocks: data -> (mapping, its bytes)
};

}  // namespace

Allocator& HostAllocator() {
  static Host host;
  return host;
}

}  // namespace ectrain
