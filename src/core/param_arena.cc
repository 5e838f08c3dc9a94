#include "core/param_arena.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include <sys/mman.h>

namespace ectrain {

const char* ParamKindName(ParamKind kind) {
  switch (kind) {
    case ParamKind::kDenseWeight: return "dense_weight";
    case ParamKind::kBias: return "bias";
    case ParamKind::kEmbedding: return "embedding";
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
  // Arenas of 2 MB and more sit on huge pages where the kernel has them: embedding rows are
  // updated scattered across the tables, and with 4 KB pages nearly every row costs a TLB miss.
  constexpr size_t kHugePage = size_t{2} << 20;
  const size_t alignment = bytes >= kHugePage ? kHugePage : 64;
  bytes = (bytes + alignment - 1) / alignment * alignment;
  data_ = static_cast<float*>(std::aligned_alloc(alignment, bytes));
  if (data_ == nullptr) throw std::bad_alloc();
  if (alignment == kHugePage) madvise(data_, bytes, MADV_HUGEPAGE);  // advice only: no huge pages is fine
  SetZero();
}

ParamArena::~ParamArena() { std::free(data_); }

void ParamArena::SetZero() { std::memset(data_, 0, static_cast<size_t>(size_) * sizeof(float)); }

}  // namespace ectrain
