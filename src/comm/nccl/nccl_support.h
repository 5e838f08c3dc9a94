// The parts of NcclCommunicator (comm/nccl/nccl_communicator.h) that need no GPU, apart so that
// tests check them on any machine: which GPU a rank takes, telling ranks that would share one, the
// wait loop for work on a GPU, and how a CUDA or NCCL failure ends the job. Internal to
// ectrain_comm_nccl and its tests.
#pragma once

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "comm/communicator.h"
#include "core/status.h"

namespace ectrain::comm::nccl {

// The GPUs CUDA lets this process see (cudaGetDeviceCount, after CUDA_VISIBLE_DEVICES); 0 when
// CUDA cannot count them (no driver, no device), with CUDA's reason in `why_none`.
int VisibleGpus(std::string* why_none);

// "CUDA_VISIBLE_DEVICES is unset" or "CUDA_VISIBLE_DEVICES=\"...\"", for messages.
std::string VisibleDevicesSetting();

// The GPU of local rank `local_rank` among `visible` GPUs: its local rank, wrapped round where a
// rank sees fewer GPUs than its host has ranks (srun --gpus-per-task=1 shows each rank only its
// own; whether ranks really got distinct GPUs is FindSharedGpu's to say). An error naming CUDA's
// reason (`why_none`) and what to do where there is none.
StatusOr<int> ChooseDevice(int rank, int local_rank, int local_size, int visible, std::string_view why_none);

// A GPU's UUID (cudaDeviceProp::uuid), as two words for Communicator::AllGather.
using GpuId = std::array<int64_t, 2>;

// `gpus[r]`: rank r's GPU. An error naming the first two ranks on one GPU and what to do (NCCL
// refuses two ranks on one GPU), else ok. `local_size` and `visible` (this rank's) go into the
// message.
Status FindSharedGpu(std::span<const GpuId> gpus, int local_size, int visible);

// What a wait on the GPU reports, polled: nullopt while it runs, then ok (done) or its failure.
using Poll = std::function<std::optional<Status>()>;

// Polls until `poll` returns a status, and returns it: spinning (with yields) for the first
// milliseconds, where a step's waits end, then in sleeps of 50 us, so that a long wait costs
// little CPU. When the wait has lasted `stall_seconds`, calls `on_stall` once with the seconds
// waited, and goes on polling.
Status PollUntilDone(const Poll& poll, double stall_seconds, const std::function<void(double)>& on_stall);

// "<operation> failed: <NCCL's string for result>[: <NCCL's last error>]".
std::string NcclFailure(std::string_view operation, ncclResult_t result);
// "<operation> failed: <CUDA's string for error> (<its name>)".
std::string CudaFailure(std::string_view operation, cudaError_t error);

// How a failing NCCL or CUDA call during training ends the job, as the CPU backend's MPI errors
// do: an error line naming the operation and the library's reason, then comm.Abort(1) (an
// NcclCommunicator aborts its NCCL communicator, then the host communicator ends every rank).
void CheckNccl(Communicator& comm, ncclResult_t result, std::string_view operation);
void CheckCuda(Communicator& comm, cudaError_t error, std::string_view operation);

}  // namespace ectrain::comm::nccl
