// MpiCommunicator over (a private duplicate of) MPI_COMM_WORLD; target ectrain_comm_mpi, the only
// one that links MPI. Owns MPI's lifetime: MPI_Init_thread with MPI_THREAD_SERIALIZED on
// construction (any thread may call it, one at a time), MPI_Finalize on destruction; at most one
// per process. Rank and size come from whatever started the process (mpirun, or srun with PMIx);
// the local rank from the ranks on its host. Float sums run the ring of comm/ring.h over
// point-to-point messages (or, for small buffers and 3+ ranks, an all-gather summed in the ring
// order), bitwise equal to InProcessCommunicator's; other reductions use MPI's. When every rank
// runs on one host, host_memory() maps MPI-3 shared windows among them, and MakeCommunicator
// (comm/make_communicator.h) puts a HostSegmentCommunicator in front.
#pragma once

#include <memory>
#include <string>

#include "comm/communicator.h"

namespace ectrain::comm {

class MpiCommunicator final : public Communicator, private HostMemory {
 public:
  static StatusOr<std::unique_ptr<MpiCommunicator>> Create();
  ~MpiCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  std::string name() const override { return "mpi"; }
  void Barrier() override;
  [[noreturn]] void Abort(int exit_code) override;
  // Shared windows among the host's ranks, where there are several and they are all the job's.
  HostMemory* host_memory() override { return one_host_ ? this : nullptr; }

  // Collective, with host_memory(): the memory of a host segment of `num_bytes`
  // (HostSegmentCommunicator), or null on every rank where the backing directory (Open MPI's
  // osc_sm_backing_directory, /dev/shm) lacks twice that free or the window cannot be mapped; rank
  // 0 then warns that collectives go through MPI messages, naming the directory and the sizes.
  std::unique_ptr<SharedMemory> MapHostSegment(size_t num_bytes);
  // The ring's segment size in floats (0: the default), so that tests can run many segments
  // through the pipeline with small buffers. Same value on every rank.
  void SetRingSegmentForTesting(size_t floats);
  // AllToAllV's largest message in bytes (0: the default, 1 GiB), so that tests can send a pair's
  // data in many pieces with small buffers. Same value on every rank.
  void SetMessagePieceForTesting(size_t bytes);

 protected:
  void AllReduceRaw(void* data, size_t count, DataType type, ReduceOp op) override;
  void BroadcastRaw(void* data, size_t num_bytes, int root) override;
  void AllGatherRaw(const void* mine, size_t num_bytes, void* all) override;
  void AllGatherVRaw(const void* mine, DataType type, std::span<const int64_t> counts, void* all) override;
  void AllToAllVRaw(const void* send, std::span<const int64_t> send_counts, DataType type, void* recv,
                    std::span<const int64_t> recv_counts) override;

 private:
  struct Impl;  // the MPI handles and scratch buffers, so that this header needs no mpi.h
  MpiCommunicator(int rank, int size, int local_rank, int local_size, std::unique_ptr<Impl> impl);
  // HostMemory: a shared window where the backing directory has room for it and 1/8 and 16 MB more.
  std::unique_ptr<SharedMemory> MapShared(size_t num_bytes, std::string* why_not) override;
  void RingAllReduceSum(float* data, size_t count);
  void GatherAllReduceSum(float* data, size_t count);

  int rank_;
  int size_;
  int local_rank_;
  int local_size_;
  bool one_host_;  // several ranks, all on this host
  std::unique_ptr<Impl> impl_;
};

}  // namespace ectrain::comm
