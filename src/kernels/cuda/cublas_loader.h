// cuBLAS, loaded when the first CudaKernels is made rather than linked: mapping cuBLAS costs a
// process over 200 MB of resident memory (its relocations), which every CPU run of a CUDA build
// would pay otherwise. The few calls the kernels make, through pointers to cuBLAS's own functions.
#pragma once

#include <cublas_v2.h>

namespace ectrain::kernels::cuda {

struct CublasApi {
  decltype(&cublasCreate_v2) create;
  decltype(&cublasDestroy_v2) destroy;
  decltype(&cublasSetStream_v2) set_stream;
  decltype(&cublasSetMathMode) set_math_mode;
  decltype(&cublasSetWorkspace_v2) set_workspace;
  decltype(&cublasSgemm_v2) sgemm;
  decltype(&cublasGetStatusString) status_string;
};

// The process's cuBLAS (libcublas.so.<the major version built against>), loaded on first use; a
// CHECK failure naming the library and dlerror() where it cannot be loaded.
const CublasApi& Cublas();

}  // namespace ectrain::kernels::cuda
