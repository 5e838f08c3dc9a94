#include "comm/nccl/nccl_loader.h"

#include <string>

#include "core/shared_library.h"

namespace ectrain::comm::nccl {
namespace {

NcclApi Load() {
  const std::string name = "libnccl.so." + std::to_string(NCCL_MAJOR);
  void* library = OpenSharedLibrary(name, "the NCCL backend");
  NcclApi api{};
  ResolveSymbol(library, "ncclGetUniqueId", api.get_unique_id);
  ResolveSymbol(library, "ncclCommInitRank", api.comm_init_rank);
  ResolveSymbol(library, "ncclCommDestroy", api.comm_destroy);
  ResolveSymbol(library, "ncclCommAbort", api.comm_abort);
  ResolveSymbol(library, "ncclCommGetAsyncError", api.comm_get_async_error);
  ResolveSymbol(library, "ncclAllReduce", api.all_reduce);
  ResolveSymbol(library, "ncclBroadcast", api.broadcast);
  ResolveSymbol(library, "ncclSend", api.send);
  ResolveSymbol(library, "ncclRecv", api.recv);
  ResolveSymbol(library, "ncclGroupStart", api.group_start);
  ResolveSymbol(library, "ncclGroupEnd", api.group_end);
  ResolveSymbol(library, "ncclGetErrorString", api.get_error_string);
  ResolveSymbol(library, "ncclGetLastError", api.get_last_error);
  return api;  // the library stays loaded for the process's life
}

}  // namespace

const NcclApi& Nccl() {
  static const NcclApi api = Load();
  return api;
}

}  // namespace ectrain::comm::nccl
