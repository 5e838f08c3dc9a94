// CUDA_CHECK(call): a CUDA runtime call that must succeed; on failure, a CHECK failure (core/log.h)
// that names the call and CUDA's description of the error. For the backend's sources only.
#pragma once

#include <cuda_runtime_api.h>

#include "core/log.h"

#define CUDA_CHECK(call)                                                                                          \
  do {                                                                                                            \
    const cudaError_t ectrain_cuda_status = (call);                                                               \
    CHECK(ectrain_cuda_status == cudaSuccess) << #call << " failed: " << cudaGetErrorString(ectrain_cuda_status); \
  } while (false)
