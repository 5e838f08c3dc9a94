#include "model/device_batch.h"

#include <cstring>

namespace ectrain::model {
namespace {
size_t Aligned(size_t bytes) { return (bytes + 63) / 64 * 64; }
}  // namespace

DeviceBatch::~DeviceBatch() {
  allocator_.FreeStaging(staging_, capacity_);
  allocator_.Free(device_, capacity_);
}

size_t DeviceBatch::Plan(const BatchView& host) {
  const auto rows = static_cast<size_t>(host.num_rows);
  size_t at = 0;
  dense_ = at;
  at += Aligned(rows * static_cast<size_t>(host.num_dense) * sizeof(float));
  categorical_ = at;
  at += Aligned(rows * static_cast<size_t>(host.num_categorical) * sizeof(int32_t));
  labels_ = at;
  at += Aligned(host.labels != nullptr ? rows * sizeof(float) : 0);
  offsets_.resize(static_cast<size_t>(host.num_bags));
  values_.resize(static_cast<size_t>(host.num_bags));
  for (int b = 0; b < host.num_bags; ++b) {
    const int64_t* offsets = host.bags[b].offsets + host.bag_row_begin;
    offsets_[b] = at;
    at += Aligned((rows + 1) * sizeof(int64_t));
    values_[b] = at;
    at += Aligned(static_cast<size_t>(offsets[rows] - offsets[0]) * sizeof(int32_t));
  }
  return at;
}

void DeviceBatch::Pack(const BatchView& host, uint8_t* block) const {
  const auto rows = static_cast<size_t>(host.num_rows);
  if (host.num_dense > 0) std::memcpy(block + dense_, host.dense, rows * host.num_dense * sizeof(float));
  if (host.num_categorical > 0) {
    std::memcpy(block + categorical_, host.categorical, rows * host.num_categorical * sizeof(int32_t));
  }
  if (host.labels != nullptr) std::memcpy(block + labels_, host.labels, rows * sizeof(float));
  for (int b = 0; b < host.num_bags; ++b) {
    // The batch's offsets, counted from its first id.
    const int64_t* offsets = host.bags[b].offsets + host.bag_row_begin;
    auto* rebased = reinterpret_cast<int64_t*>(block + offsets_[b]);
    for (size_t r = 0; r <= rows; ++r) rebased[r] = offsets[r] - offsets[0];
    std::memcpy(block + values_[b], host.bags[b].values + offsets[0],
                static_cast<size_t>(offsets[rows] - offsets[0]) * sizeof(int32_t));
  }
}

void DeviceBatch::Grow(size_t bytes) {
  if (bytes <= capacity_) return;
  allocator_.FreeStaging(staging_, capacity_);
  allocator_.Free(device_, capacity_);
  staging_ = nullptr;
  device_ = nullptr;
  capacity_ = 0;
  staging_ = static_cast<uint8_t*>(allocator_.AllocateStaging(bytes));
  device_ = static_cast<uint8_t*>(allocator_.Allocate(bytes));
  capacity_ = bytes;
}

const BatchView& DeviceBatch::Stage(const BatchView& host) {
  if (allocator_.kind() == DeviceKind::kCpu) return host;
  const size_t bytes = Plan(host);
  Grow(bytes);
  Pack(host, staging_);
  if (bytes > 0) allocator_.CopyFromHost(device_, staging_, bytes);
  host_view_ = host;
  device_view_ = host;
  device_view_.dense = host.num_dense > 0 ? reinterpret_cast<const float*>(device_ + dense_) : nullptr;
  device_view_.categorical =
      host.num_categorical > 0 ? reinterpret_cast<const int32_t*>(device_ + categorical_) : nullptr;
  device_view_.labels = host.labels != nullptr ? reinterpret_cast<const float*>(device_ + labels_) : nullptr;
  device_bags_.resize(static_cast<size_t>(host.num_bags));
  for (int b = 0; b < host.num_bags; ++b) {
    device_bags_[b] = {reinterpret_cast<const int64_t*>(device_ + offsets_[b]),
                       reinterpret_cast<const int32_t*>(device_ + values_[b])};
  }
  device_view_.bags = device_bags_.data();
  device_view_.bag_row_begin = 0;
  device_view_.host = &host_view_;
  return device_view_;
}

}  // namespace ectrain::model
