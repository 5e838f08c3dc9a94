#include "core/param_arena.h"

#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "core/log.h"

namespace ectrain {

const char* ParamKindName(ParamKind kind) {
  switch (kind) {
    case ParamKind::kDenseWeight:
      return "dense_weight";
    case ParamKind::kBias:
      return "bias";
    case ParamKind::kEmbedding:
      return "embedding";
  }
  return "?";
}

int ParamLayout::Add(std::string name, int64_t rows, int64_t cols, ParamKind kind) {
  constexpr int64_t kAlignFloats = 16;  // 64 bytes: one cache line, one AVX-512 register
  ParamSpec spec{std::move(name), rows, cols, total_size_, kind};
  total_size_ += (spec.size() + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
  specs_.push_back(std::move(spec));
  return static_cast<int>(specs_.size()) - 1;
}

int64_t ParamLayout::num_parameters() const {
  int64_t n = 0;
  for (const auto& s : specs_) n += s.size();
  return n;
}

std::string ParamLayout::Describe() const {
  std::string out;
  for (const auto& s : specs_) {
    out += s.name + ":" + std::to_string(s.rows) + "x" + std::to_string(s.cols) + ";";
  }
  return out;
}

ParamArena::ParamArena(const ParamLayout& layout) : size_(layout.total_size()) {
  size_t bytes = static_cast<size_t>(size_ > 0 ? size_ : 16) * sizeof(float);
  constexpr size_t kHugePage = size_t{2} << 20;
  if (bytes < kHugePage) {
    data_ = static_cast<float*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
    if (data_ == nullptr) throw std::bad_alloc();
    SetZero();
    return;
  }
  // Large arenas come zeroed from the kernel, so pages never written take no memory: the gradient
  // arena's row-sparse tables (their gradients live in compact rows), optimizer state of rows
  // never updated. They sit on huge pages where the kernel has them: embedding rows are updated
  // scattered across the tables, and with 4 KB pages nearly every row costs a TLB miss. Only
  // whole huge pages are advised: the tail stays on 4 KB pages, so the arena is not rounded up to
  // 2 MB of memory, and the gradient arena's last tensors (the dense layers, written every step)
  // do not make a whole huge page resident for a few kilobytes.
  // Each large arena starts 4160 bytes (a page and a cache line) further past its huge page than
  // the one made before it, in a cycle of 8: the parameters and the optimizer's moments share one
  // layout, and a row at the same offset in each, all 2 MB-aligned, would fall on the same cache
  // sets and page offset; the lazy update, which reads and writes a row of each, took 1.25x the
  // time a row (bench/RESULTS.md, profile).
  static std::atomic<int> arenas_made{0};
  const size_t skew = static_cast<size_t>(arenas_made.fetch_add(1) % 8) * (4096 + 64);
  mapped_bytes_ = bytes + kHugePage + skew;  // room to align the start, and the skew
  mapping_ = mmap(nullptr, mapped_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping_ == MAP_FAILED) {
    mapping_ = nullptr;
    throw std::bad_alloc();
  }
  const auto huge_page = (reinterpret_cast<uintptr_t>(mapping_) + kHugePage - 1) / kHugePage * kHugePage;
  data_ = reinterpret_cast<float*>(huge_page + skew);
  // Advice only: no huge pages is fine.
  madvise(reinterpret_cast<void*>(huge_page), (skew + bytes) / kHugePage * kHugePage, MADV_HUGEPAGE);
}

ParamArena::~ParamArena() { Release(); }

void ParamArena::Release() {
  if (!owns_data_) return;
  if (mapping_ != nullptr) {
    munmap(mapping_, mapped_bytes_);
  } else {
    std::free(data_);
  }
  mapping_ = nullptr;
  owns_data_ = false;
}

void ParamArena::UseStorage(float* storage) {
  CHECK(reinterpret_cast<uintptr_t>(storage) % 64 == 0) << "arena storage must be 64-byte aligned";
  Release();
  data_ = storage;
}

void ParamArena::SetZero() { std::memset(data_, 0, static_cast<size_t>(size_) * sizeof(float)); }

}  // namespace ectrain
