#include "core/param_arena.h"

#include <cstdint>
#include <cstring>

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

ParamArena::ParamArena(const ParamLayout& layout, Allocator& allocator)
    : size_(layout.total_size()), allocator_(&allocator) {
  data_ = static_cast<float*>(allocator.Allocate(allocated_bytes()));
}

ParamArena::~ParamArena() { Release(); }

void ParamArena::Release() {
  if (!owns_data_) return;
  allocator_->Free(data_, allocated_bytes());
  owns_data_ = false;
}

void ParamArena::UseStorage(float* storage) {
  CHECK(allocator_->kind() == DeviceKind::kCpu) << "only a host arena can use shared host storage";
  CHECK(reinterpret_cast<uintptr_t>(storage) % 64 == 0) << "arena storage must be 64-byte aligned";
  Release();
  data_ = storage;
}

void ParamArena::SetZero() { allocator_->Zero(data_, static_cast<size_t>(size_) * sizeof(float)); }

}  // namespace ectrain
