#include "comm/nccl/nccl_loader.h"

#include <dlfcn.h>

#include <string>

#include "core/log.h"

namespace ectrain::comm::nccl {
namespace {

template <typename Function>
void Resolve(void* library, const char* name, Function& function) {
  function = reinterpret_cast<Function>(dlsym(library, name));
  CHECK(function != nullptr) << "NCCL has no " << name << ": " << dlerror();
}

NcclApi Load() {
  const std::string name = "libnccl.so." + std::to_string(NCCL_MAJOR);
  void* library = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  CHECK(library != nullptr) << "cannot load " << name << " for the NCCL backend: " << dlerror()
                            << " (install NCCL, or add its folder to LD_LIBRARY_PATH)";
  NcclApi api{};
  Resolve(library, "ncclGetUniqueId", api.get_unique_id);
  Resolve(library, "ncclCommInitRank", api.comm_init_rank);
  Resolve(library, "ncclCommDestroy", api.comm_destroy);
  Resolve(library, "ncclCommAbort", api.comm_abort);
  Resolve(library, "ncclCommGetAsyncError", api.comm_get_async_error);
  Resolve(library, "ncclAllReduce", api.all_reduce);
  Resolve(library, "ncclBroadcast", api.broadcast);
  Resolve(library, "ncclGroupStart", api.group_start);
  Resolve(library, "ncclGroupEnd", api.group_end);
  Resolve(library, "ncclGetErrorString", api.get_error_string);
  Resolve(library, "ncclGetLastError", api.get_last_error);
  return api;  // the library stays loaded for the process's life
}

}  // namespace

const NcclApi& Nccl() {
  static const NcclApi api = Load();
  return api;
}

}  // namespace ectrain::comm::nccl
