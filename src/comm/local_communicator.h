// LocalCommunicator: world size 1. Every collective is the identity (the ring sum of one input is
// that input); no MPI, no threads. Stateless, so any thread may use it.
#pragma once

#include "comm/communicator.h"

namespace ectrain::comm {

class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  int local_size() const override { return 1; }
  std::string name() const override { return "local"; }
  void Barrier() override {}
  [[noreturn]] void Abort(int exit_code) override;

 protected:
  void AllReduceRaw(void*, size_t, DataType, ReduceOp) override {}
  void BroadcastRaw(void*, size_t, int) override {}
  void AllGatherRaw(const void* mine, size_t num_bytes, void* all) override;
  void AllGatherVRaw(const void* mine, DataType type, std::span<const int64_t> counts, void* all) override;
  void AllToAllVRaw(const void* send, std::span<const int64_t> send_counts, DataType type, void* recv,
                    std::span<const int64_t> recv_counts) override;
};

}  // namespace ectrain::comm
