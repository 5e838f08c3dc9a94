#include "train/device.h"

#include <array>
#include <span>

#include "kernels/simulated_device.h"

#ifdef ECTRAIN_HAVE_CUDA
#include "comm/nccl/nccl_communicator.h"
#include "kernels/cuda/cuda_kernels.h"
#endif

namespace ectrain::train {

bool BuiltWithCuda() {
#ifdef ECTRAIN_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

namespace {

RankDevice OnHost(const kernels::Kernels& kernels, comm::Communicator& comm, std::string description) {
  RankDevice device;
  device.kernels = &kernels;
  device.comm = &comm;
  device.description = std::move(description);
  return device;
}

#ifdef ECTRAIN_HAVE_CUDA
// This rank's GPU, its kernels' stream, and NCCL over the job's communicator.
StatusOr<RankDevice> OnGpu(comm::Communicator& comm) {
  ASSIGN_OR_RETURN(const int ordinal, comm::NcclCommunicator::LocalDevice(comm));
  RankDevice device;
  auto kernels = std::make_shared<kernels::cuda::CudaKernels>(ordinal);
  ASSIGN_OR_RETURN(std::unique_ptr<comm::NcclCommunicator> nccl,
                   comm::NcclCommunicator::Create(comm, kernels->stream()));
  device.description = "cuda:" + std::to_string(ordinal) + " (" + kernels::cuda::DeviceName(ordinal) + ")";
  device.kernels = kernels.get();
  device.owned_kernels = std::move(kernels);
  device.comm = nccl.get();
  device.owned_comm = std::move(nccl);
  return device;
}
#endif

}  // namespace

StatusOr<RankDevice> ChooseDevice(const std::string& setting, comm::Communicator& comm) {
  if (setting == "cpu") return OnHost(kernels::Cpu(), comm, "cpu");
  if (setting == "simulated") return OnHost(kernels::Simulated(), comm, "simulated (cpu kernels, guarded memory)");
#ifdef ECTRAIN_HAVE_CUDA
  // auto: a GPU when every rank sees one; the ranks agree, so they all take the same device kind.
  const bool visible = kernels::cuda::VisibleDevices() > 0;
  if (setting == "auto") {
    std::array<int64_t, 1> without{visible ? 0 : 1};
    comm.AllReduce(std::span<int64_t>(without), comm::ReduceOp::kMax);  // Collective
    if (without[0] != 0) return OnHost(kernels::Cpu(), comm, "cpu (no GPU visible on every rank)");
  }
  return OnGpu(comm);
#else
  if (setting == "auto") return OnHost(kernels::Cpu(), comm, "cpu");
  return InvalidArgument(
      "train.device: cuda, but this ectrain was built without the CUDA backend (no CUDA toolkit and NCCL were "
      "found, or -DECTRAIN_CUDA=off): build it where they are installed (-DECTRAIN_CUDA=on says what is missing), "
      "or set train.device: cpu");
#endif
}

}  // namespace ectrain::train
