// DeviceBuffer: a growable array in an Allocator's memory (core/allocator.h), for per-step data
// whose size is known only per batch (slots, row ids). Grows, never shrinks; growing loses the
// contents. Move-only.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>

#include "core/allocator.h"

namespace ectrain {

template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(Allocator& allocator) : allocator_(&allocator) {}
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : allocator_(other.allocator_),
        data_(std::exchange(other.data_, nullptr)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&&) = delete;
  DeviceBuffer(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { allocator_->Free(data_, capacity_ * sizeof(T)); }

  // Room for at least `count` values.
  T* Reserve(size_t count) {
    if (count > capacity_) {
      allocator_->Free(data_, capacity_ * sizeof(T));
      data_ = nullptr;
      capacity_ = 0;
      data_ = static_cast<T*>(allocator_->Allocate(count * sizeof(T)));
      capacity_ = count;
    }
    return data_;
  }
  // `count` values from the host. Per-step data varies in size: room grows at least twofold, so a
  // slowly growing count does not reallocate every step.
  T* CopyFromHost(const T* host, size_t count) {
    if (count > capacity_) Reserve(std::max(count, 2 * capacity_));
    allocator_->CopyFromHost(data_, host, count * sizeof(T));
    return data_;
  }
  T* data() const { return data_; }
  size_t bytes() const { return capacity_ * sizeof(T); }

 private:
  Allocator* allocator_;
  T* data_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace ectrain
