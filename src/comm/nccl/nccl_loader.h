// NCCL, loaded when the first NCCL communicator is made rather than linked, as cuBLAS is
// (kernels/cuda/cublas_loader.h): every process of a CUDA build would otherwise map it, a few MB
// of resident memory that a CPU run has no use for. The calls the backend makes, through pointers
// to NCCL's own functions.
#pragma once

#include <nccl.h>

namespace ectrain::comm::nccl {

struct NcclApi {
  decltype(&ncclGetUniqueId) get_unique_id;
  decltype(&ncclCommInitRank) comm_init_rank;
  decltype(&ncclCommDestroy) comm_destroy;
  decltype(&ncclCommAbort) comm_abort;
  decltype(&ncclCommGetAsyncError) comm_get_async_error;
  decltype(&ncclAllReduce) all_reduce;
  decltype(&ncclBroadcast) broadcast;
  decltype(&ncclSend) send;
  decltype(&ncclRecv) recv;
  decltype(&ncclGroupStart) group_start;
  decltype(&ncclGroupEnd) group_end;
  decltype(&ncclGetErrorString) get_error_string;
  decltype(&ncclGetLastError) get_last_error;
};

// The process's NCCL (libnccl.so.<the major version built against>), loaded on first use; a
// CHECK failure naming the library and dlerror() where it cannot be loaded.
const NcclApi& Nccl();

}  // namespace ectrain::comm::nccl
