#include "core/param_arena.h"

#include <cstdlib>
#include <cstring>
#include <new>

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
  data_ = static_cast<float*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
  if (data_ == nullptr) throw std::bad_alloc();
  SetZero();
}

ParamArena::~ParamArena() { std::free(data_); }

void ParamArena::SetZero() { std::memset(data_, 0, static_cast<size_t>(size_) * sizeof(float)); }

}  // namespace ectrain
