#include "kernels/cuda/cublas_loader.h"

#include <dlfcn.h>

#include <string>

#include "core/log.h"

namespace ectrain::kernels::cuda {
namespace {

template <typename Function>
void Resolve(void* library, const char* name, Function& function) {
  function = reinterpret_cast<Function>(dlsym(library, name));
  CHECK(function != nullptr) << "cuBLAS has no " << name << ": " << dlerror();
}

CublasApi Load() {
  const std::string name = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
  void* library = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  CHECK(library != nullptr) << "cannot load " << name << " for the CUDA backend: " << dlerror()
                            << " (install CUDA's cuBLAS, or add its folder to LD_LIBRARY_PATH)";
  CublasApi api{};
  Resolve(library, "cublasCreate_v2", api.create);
  Resolve(library, "cublasDestroy_v2", api.destroy);
  Resolve(library, "cublasSetStream_v2", api.set_stream);
  Resolve(library, "cublasSetMathMode", api.set_math_mode);
  Resolve(library, "cublasSetWorkspace_v2", api.set_workspace);
  Resolve(library, "cublasSgemm_v2", api.sgemm);
  Resolve(library, "cublasGetStatusString", api.status_string);
  return api;  // the library stays loaded for the process's life
}

}  // namespace

const CublasApi& Cublas() {
  static const CublasApi api = Load();
  return api;
}

}  // namespace ectrain::kernels::cuda
