// Device discovery and CudaAllocator: CUDA runtime calls only, so g++ compiles this file.
#include <cuda_runtime_api.h>

#include <new>
#include <string>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_kernels.h"

namespace ectrain::kernels::cuda {

int VisibleDevices() {
  int count = 0;
  // Without a driver or a GPU this fails (cudaErrorInsufficientDriver, cudaErrorNoDevice): none.
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // leave no error behind for the next call to find
    return 0;
  }
  return count;
}

std::string DeviceName(int ordinal) {
  cudaDeviceProp properties{};
  if (ordinal < 0 || ordinal >= VisibleDevices() || cudaGetDeviceProperties(&properties, ordinal) != cudaSuccess) {
    cudaGetLastError();
    return "";
  }
  return properties.name;
}

CudaAllocator::CudaAllocator(int device_ordinal, cudaStream_t stream) : device_(device_ordinal), stream_(stream) {}

void* CudaAllocator::Allocate(size_t bytes) {
  CUDA_CHECK(cudaSetDevice(device_));
  void* p = nullptr;
  const cudaError_t status = cudaMalloc(&p, bytes);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // not sticky: the device stays usable
    throw std::bad_alloc();
  }
  CHECK(status == cudaSuccess) << "cudaMalloc(" << bytes << " bytes) failed: " << cudaGetErrorString(status);
  Zero(p, bytes);
  return p;
}

void CudaAllocator::Free(void* p, size_t bytes) {
  if (p == nullptr) return;
  CUDA_CHECK(cudaSetDevice(device_));
  CUDA_CHECK(cudaFree(p));  // waits for the work that may still use p
}

void CudaAllocator::Zero(void* p, size_t bytes) {
  if (bytes == 0) return;
  CUDA_CHECK(cudaSetDevice(device_));
  CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream_));
  Synchronize();
}

void CudaAllocator::CopyFromHost(void* dst, const void* host_src, size_t bytes) {
  if (bytes == 0) return;
  CUDA_CHECK(cudaSetDevice(device_));
  CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream_));
  Synchronize();
}

void CudaAllocator::CopyToHost(void* host_dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  CUDA_CHECK(cudaSetDevice(device_));
  CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
  Synchronize();
}

void* CudaAllocator::AllocateStaging(size_t bytes) {
  CUDA_CHECK(cudaSetDevice(device_));
  void* p = nullptr;
  const cudaError_t status = cudaHostAlloc(&p, bytes > 0 ? bytes : 1, cudaHostAllocDefault);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    throw std::bad_alloc();
  }
  CHECK(status == cudaSuccess) << "cudaHostAlloc(" << bytes << " bytes) failed: " << cudaGetErrorString(status);
  return p;
}

void CudaAllocator::FreeStaging(void* p, size_t /*bytes*/) {
  if (p != nullptr) CUDA_CHECK(cudaFreeHost(p));
}

// Errors of kernels queued earlier surface here: the message says so.
void CudaAllocator::Synchronize() const {
  const cudaError_t status = cudaStreamSynchronize(stream_);
  CHECK(status == cudaSuccess) << "cudaStreamSynchronize failed (this copy or a kernel queued before it): "
                               << cudaGetErrorString(status);
}

}  // namespace ectrain::kernels::cuda
