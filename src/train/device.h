// RankDevice: where one rank computes (train.device), chosen once when the rank starts: the
// kernels its model, optimizer and gradients use, and the communicator they travel through (on a
// GPU, NCCL in front of the job's communicator, one GPU per rank).
#pragma once

#include <memory>
#include <string>

#include "comm/communicator.h"
#include "core/status.h"
#include "kernels/kernels.h"

namespace ectrain::train {

struct RankDevice {
  const kernels::Kernels* kernels = nullptr;
  comm::Communicator* comm = nullptr;  // the job's, or the NCCL one in front of it
  std::string description;             // for the start-up log: "cpu", "cuda:0 (NVIDIA H100 80GB HBM3)", ...
  // What the rank owns on a GPU.
  std::shared_ptr<const kernels::Kernels> owned_kernels;
  std::unique_ptr<comm::Communicator> owned_comm;
};

// Collective over `comm` (all ranks, with the same setting): "auto", "cpu", "cuda" or
// "simulated". An error on every rank, naming what is missing and what to do, where any rank
// cannot have the device asked for: CUDA not built in, no GPU visible, two ranks on one GPU.
StatusOr<RankDevice> ChooseDevice(const std::string& setting, comm::Communicator& comm);

// Whether this build has the CUDA backend.
bool BuiltWithCuda();

}  // namespace ectrain::train
