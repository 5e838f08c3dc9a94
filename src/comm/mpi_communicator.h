// MpiCommunicator over MPI_COMM_WORLD. Owns MPI's lifetime: MPI_Init_thread on construction,
// MPI_Finalize on destruction; at most one per process. Rank and size come from whatever started
// the process (mpirun, or srun with PMIx); the local rank from the ranks that share its host.
#pragma once

#include "comm/communicator.h"

namespace ectrain::comm {

class MpiCommunicator final : public Communicator {
 public:
  static StatusOr<std::unique_ptr<MpiCommunicator>> Create();
  ~MpiCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  std::string name() const override { return "mpi"; }
  void Barrier() override;
  [[noreturn]] void Abort(int exit_code) override;

 protected:
  void AllReduceRaw(void* data, size_t count, DataType type, ReduceOp op) override;
  void BroadcastRaw(void* data, size_t num_bytes, int root) override;
  void AllGatherRaw(const void* mine, size_t num_bytes, void* all) override;

 private:
  MpiCommunicator(int rank, int size, int local_rank) : rank_(rank), size_(size), local_rank_(local_rank) {}
  int rank_;
  int size_;
  int local_rank_;
};

}  // namespace ectrain::comm
