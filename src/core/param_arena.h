// Flat parameter storage. A ParamLayout lists every tensor of a model (ParamSpec: name, shape,
// offset, kind) inside one contiguous block; parameters, gradients and optimizer state are each
// one ParamArena of that layout, so gradient sync is one all-reduce and optimizers run over flat
// spans. An arena's memory comes from an Allocator (core/allocator.h): the host's by default, or a
// GPU's. Not thread-safe; a layout is immutable once arenas are made from it.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/allocator.h"

namespace ectrain {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixMap = Eigen::Map<RowMatrix, Eigen::Aligned64>;
using ConstMatrixMap = Eigen::Map<const RowMatrix, Eigen::Aligned64>;

enum class ParamKind { kDenseWeight, kBias, kEmbedding };
const char* ParamKindName(ParamKind kind);

struct ParamSpec {
  std::string name;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t offset = 0;  // in floats, from the start of the arena; 64-byte aligned
  ParamKind kind = ParamKind::kDenseWeight;
  int64_t size() const { return rows * cols; }
};

class ParamLayout {
 public:
  // Returns the index of the new tensor. Offsets are padded to 16 floats so every view is aligned.
  int Add(std::string name, int64_t rows, int64_t cols, ParamKind kind);
  const std::vector<ParamSpec>& specs() const { return specs_; }
  const ParamSpec& spec(int index) const { return specs_[index]; }
  int64_t total_size() const { return total_size_; }
  // Number of real parameters (without alignment padding).
  int64_t num_parameters() const;
  // "name:rowsxcols;..." - two layouts describe the same model iff their descriptions match.
  std::string Describe() const;

 private:
  std::vector<ParamSpec> specs_;
  int64_t total_size_ = 0;
};

class ParamArena {
 public:
  // Zeroed, in `allocator`'s memory.
  explicit ParamArena(const ParamLayout& layout, Allocator& allocator = HostAllocator());
  ParamArena(const ParamArena&) = delete;
  ParamArena& operator=(const ParamArena&) = delete;
  ~ParamArena();

  Allocator& allocator() const { return *allocator_; }
  // Whether data() is host memory; otherwise only kernels and the copies below may touch it.
  bool on_host() const { return allocator_->kind() == DeviceKind::kCpu; }
  // All size() values to host memory and back, wherever the arena lives.
  void CopyToHost(float* host) const {
    allocator_->CopyToHost(host, data_, static_cast<size_t>(size_) * sizeof(float));
  }
  void CopyFromHost(const float* host) {
    allocator_->CopyFromHost(data_, host, static_cast<size_t>(size_) * sizeof(float));
  }
  float* data() { return data_; }
  const float* data() const { return data_; }
  int64_t size() const { return size_; }
  std::span<float> span() { return {data_, static_cast<size_t>(size_)}; }
  std::span<const float> span() const { return {data_, static_cast<size_t>(size_)}; }
  void SetZero();
  // From now on the arena's values live at `storage` (size() floats, 64-byte aligned, kept alive by
  // its owner: memory the ranks of a host share); the arena's own memory is released, its values
  // are not copied. Host arenas only.
  void UseStorage(float* storage);

  // Host arenas only.
  MatrixMap View(const ParamSpec& spec) { return MatrixMap(data_ + spec.offset, spec.rows, spec.cols); }
  ConstMatrixMap View(const ParamSpec& spec) const { return ConstMatrixMap(data_ + spec.offset, spec.rows, spec.cols); }

 private:
  void Release();  // frees the arena's own memory, if it has any
  size_t allocated_bytes() const { return static_cast<size_t>(size_ > 0 ? size_ : 16) * sizeof(float); }

  float* data_ = nullptr;
  int64_t size_ = 0;
  Allocator* allocator_;
  bool owns_data_ = true;
};

}  // namespace ectrain
