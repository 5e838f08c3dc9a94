// Workspace: one block holding a model's activations and their gradients, in the memory of the
// model's kernels (host or GPU). The model's parts ask for their buffers when they are built, each
// so many floats per batch row; Reserve(rows) allocates the one block, again only when a batch is
// larger than any before, so a training step allocates nothing. Buffers start 64 bytes apart from
// each other. Not thread-safe: one per model instance.
#pragma once

#include <cstdint>
#include <vector>

#include "core/device_buffer.h"
#include "kernels/kernels.h"

namespace ectrain::model {

class Workspace {
 public:
  explicit Workspace(const kernels::Kernels& kernels) : kernels_(kernels), block_(kernels.allocator()) {}
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  const kernels::Kernels& kernels() const { return kernels_; }
  // A buffer of floats_per_row floats per batch row; returns its handle. Before the first Reserve.
  int Add(int64_t floats_per_row);
  // Room for `rows` batch rows in every buffer. Growing loses every buffer's contents.
  void Reserve(int64_t rows);
  // Buffer `handle`, (rows, floats_per_row) for the rows of the last Reserve.
  float* at(int handle) const { return block_.data() + offsets_[static_cast<size_t>(handle)]; }
  int64_t bytes() const { return static_cast<int64_t>(block_.bytes()); }

 private:
  const kernels::Kernels& kernels_;
  std::vector<int64_t> per_row_;  // by handle
  std::vector<int64_t> offsets_;  // by handle, in floats from block_
  int64_t rows_ = 0;
  DeviceBuffer<float> block_;
};

}  // namespace ectrain::model
