#include "comm/nccl/nccl_support.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "comm/nccl/nccl_loader.h"
#include "core/log.h"

namespace ectrain::comm::nccl {
namespace {
std::string HexId(const GpuId& id) {
  char text[40];
  std::snprintf(text, sizeof(text), "GPU-%016llx%016llx", static_cast<unsigned long long>(id[0]),
                static_cast<unsigned long long>(id[1]));
  return text;
}
}  // namespace

int VisibleGpus(std::string* why_none) {
  int count = 0;
  const cudaError_t error = cudaGetDeviceCount(&count);
  if (error != cudaSuccess) {
    *why_none =
        "cudaGetDeviceCount failed: " + std::string(cudaGetErrorString(error)) + " (" + cudaGetErrorName(error) + ")";
    return 0;
  }
  if (count == 0) *why_none = "cudaGetDeviceCount found no GPU";
  return count;
}

std::string VisibleDevicesSetting() {
  const char* value = std::getenv("CUDA_VISIBLE_DEVICES");
  if (value == nullptr) return "CUDA_VISIBLE_DEVICES is unset";
  return "CUDA_VISIBLE_DEVICES=\"" + std::string(value) + "\"";
}

StatusOr<int> ChooseDevice(int rank, int local_rank, int local_size, int visible, std::string_view why_none) {
  if (visible > 0) return local_rank % visible;
  return InvalidArgument("the NCCL backend needs a GPU for rank " + std::to_string(rank) + " (local rank " +
                         std::to_string(local_rank) + " of " + std::to_string(local_size) +
                         " on its host), but CUDA sees none: " + std::string(why_none) + "; " +
                         VisibleDevicesSetting() +
                         ". Run it on a host with NVIDIA GPUs and their driver (nvidia-smi lists them), with "
                         "CUDA_VISIBLE_DEVICES unset or naming them, or train on the CPU backend");
}

Status FindSharedGpu(std::span<const GpuId> gpus, int local_size, int visible) {
  for (size_t a = 0; a < gpus.size(); ++a) {
    for (size_t b = a + 1; b < gpus.size(); ++b) {
      if (gpus[a] != gpus[b]) continue;
      return InvalidArgument("ranks " + std::to_string(a) + " and " + std::to_string(b) + " would both use " +
                             HexId(gpus[a]) + " (" + std::to_string(local_size) + " ranks on this host, " +
                             std::to_string(visible) + " GPU(s) visible to each; " + VisibleDevicesSetting() +
                             "), and NCCL refuses two ranks on one GPU. Start one rank per GPU: on one host "
                             "mpirun -np <its GPUs>, on several mpirun --map-by ppr:<GPUs per host>:node, or "
                             "srun --gpus-per-task=1");
    }
  }
  return Status::Ok();
}

Status PollUntilDone(const Poll& poll, double stall_seconds, const std::function<void(double)>& on_stall) {
  using Clock = std::chrono::steady_clock;
  constexpr auto kSpin = std::chrono::milliseconds(2);
  constexpr auto kSleep = std::chrono::microseconds(50);
  const Clock::time_point start = Clock::now();
  bool stall_reported = false;
  while (true) {
    if (std::optional<Status> done = poll()) return *std::move(done);
    const Clock::duration waited = Clock::now() - start;
    if (!stall_reported && std::chrono::duration<double>(waited).count() >= stall_seconds) {
      stall_reported = true;
      if (on_stall) on_stall(std::chrono::duration<double>(waited).count());
    }
    if (waited < kSpin) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(kSleep);
    }
  }
}

std::string NcclFailure(std::string_view operation, ncclResult_t result) {
  std::string message = std::string(operation) + " failed: " + Nccl().get_error_string(result);
  const char* last = Nccl().get_last_error(nullptr);  // the thread's last NCCL warning, where there is one
  if (last != nullptr && *last != '\0') message += std::string(": ") + last;
  return message;
}

std::string CudaFailure(std::string_view operation, cudaError_t error) {
  return std::string(operation) + " failed: " + cudaGetErrorString(error) + " (" + cudaGetErrorName(error) + ")";
}

void CheckNccl(Communicator& comm, ncclResult_t result, std::string_view operation) {
  if (result == ncclSuccess) return;
  LOG_ERROR << NcclFailure(operation, result) << "; ending the job";
  comm.Abort(1);
}

void CheckCuda(Communicator& comm, cudaError_t error, std::string_view operation) {
  if (error == cudaSuccess) return;
  LOG_ERROR << CudaFailure(operation, error) << "; ending the job";
  comm.Abort(1);
}

}  // namespace ectrain::comm::nccl
