// Allocator: where a device's memory comes from, and the few operations on it that are not
// kernels (zeroing, copies to and from the host). Parameters, gradients, optimizer state and
// model workspaces all take one, so the same code holds its tensors on the host or on a GPU.
// HostAllocator() is the process's host memory; CudaAllocator (kernels/cuda/, built with
// ECTRAIN_CUDA) a GPU's. Thread-safe.
#pragma once

#include <cstddef>

namespace ectrain {

// kSimulated: the CPU's kernels on memory that only kernels and copies may touch
// (kernels/simulated_device.h): the device path checked on a machine without a GPU.
enum class DeviceKind { kCpu, kCuda, kSimulated };
const char* DeviceKindName(DeviceKind kind);  // "cpu", "cuda", "simulated"

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual DeviceKind kind() const = 0;
  // `bytes` (> 0) of zeroed memory, 64-byte aligned; throws std::bad_alloc when there is none.
  virtual void* Allocate(size_t bytes) = 0;
  // `p` from Allocate(bytes) of this allocator (null: nothing).
  virtual void Free(void* p, size_t bytes) = 0;
  virtual void Zero(void* p, size_t bytes) = 0;
  // Copies between this allocator's memory and the host's; they return when the copy is done, and
  // on a device they are ordered after the kernels queued on it before them (so a buffer may be
  // refilled as soon as the call returns).
  virtual void CopyFromHost(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void CopyToHost(void* host_dst, const void* src, size_t bytes) = 0;
  // Host memory to copy from and to quickly (page-locked on a GPU, so copies run at full speed);
  // 64-byte aligned, not zeroed. Plain host memory by default.
  virtual void* AllocateStaging(size_t bytes);
  virtual void FreeStaging(void* p, size_t bytes);
};

// Host memory: blocks under 2 MB from aligned_alloc; larger ones mmap'd, zeroed by the kernel
// (pages never written take no memory) and advised onto huge pages (see allocator.cc).
Allocator& HostAllocator();

}  // namespace ectrain
