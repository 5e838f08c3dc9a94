// DeviceBatch: a batch's rows copied into a device's memory for a model that runs there. The
// columns are packed into one block of staging memory (page-locked on a GPU) and moved in one
// copy; bag offsets are rebased to the batch. The view it gives points into the device and keeps
// the host view (BatchView::host) for the row-sparse bookkeeping. Its buffers grow to the largest
// batch and are then reused, so a step allocates nothing. Not thread-safe: one per model.
#pragma once

#include <cstdint>
#include <vector>

#include "core/allocator.h"
#include "core/batch.h"

namespace ectrain::model {

class DeviceBatch {
 public:
  explicit DeviceBatch(Allocator& allocator) : allocator_(allocator) {}
  DeviceBatch(const DeviceBatch&) = delete;
  DeviceBatch& operator=(const DeviceBatch&) = delete;
  ~DeviceBatch();

  // `host` itself where the allocator's memory is the host's; otherwise its copy on the device,
  // valid until the next call.
  const BatchView& Stage(const BatchView& host);
  int64_t bytes() const { return static_cast<int64_t>(2 * capacity_); }  // staging and device

 private:
  // Byte offsets of each column in the block, for `host`'s shape; returns the block's size.
  size_t Plan(const BatchView& host);
  void Pack(const BatchView& host, uint8_t* block) const;
  void Grow(size_t bytes);

  Allocator& allocator_;
  size_t capacity_ = 0;
  uint8_t* staging_ = nullptr;  // host
  uint8_t* device_ = nullptr;
  size_t dense_ = 0, categorical_ = 0, labels_ = 0;
  std::vector<size_t> offsets_, values_;  // per bag
  BatchView host_view_;
  BatchView device_view_;
  std::vector<BagColumnView> device_bags_;
};

}  // namespace ectrain::model
