#include "kernels/cuda/cublas_loader.h"

#include <string>

#include "core/shared_library.h"

namespace ectrain::kernels::cuda {
namespace {

CublasApi Load() {
  const std::string name = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
  void* library = OpenSharedLibrary(name, "the CUDA backend (cuBLAS)");
  CublasApi api{};
  ResolveSymbol(library, "cublasCreate_v2", api.create);
  ResolveSymbol(library, "cublasDestroy_v2", api.destroy);
  ResolveSymbol(library, "cublasSetStream_v2", api.set_stream);
  ResolveSymbol(library, "cublasSetMathMode", api.set_math_mode);
  ResolveSymbol(library, "cublasSetWorkspace_v2", api.set_workspace);
  ResolveSymbol(library, "cublasSgemm_v2", api.sgemm);
  ResolveSymbol(library, "cublasGetStatusString", api.status_string);
  return api;  // the library stays loaded for the process's life
}

}  // namespace

const CublasApi& Cublas() {
  static const CublasApi api = Load();
  return api;
}

}  // namespace ectrain::kernels::cuda
