// MpiCommunicator over (a private duplicate of) MPI_COMM_WORLD. Owns MPI's lifetime:
// MPI_Init_thread with MPI_THREAD_SERIALIZED on construction (any thread may call it, one at a
// time), MPI_Finalize on destruction; at most one per process. Rank and size come from whatever
// started the process (mpirun, or srun with PMIx); the local rank from the ranks on its host.
// When every rank runs on one host, collectives go through a segment of memory the ranks share (an
// MPI-3 shared window, comm/host_segment.h): a small all-reduce is a few copies and two barriers
// instead of MPI's message rounds. Otherwise float sums run the ring of comm/ring.h over
// point-to-point messages and other reductions use MPI's. Float sums are bitwise equal to
// InProcessCommunicator's either way. MapShared hands out more windows of that kind.
#pragma once

#include <memory>

#include "comm/communicator.h"

namespace ectrain::comm {

class MpiCommunicator final : public Communicator {
 public:
  // `host_segment`: map the host segment when every rank is on this host (collective).
  static StatusOr<std::unique_ptr<MpiCommunicator>> Create(bool host_segment = true);
  ~MpiCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  std::string name() const override;  // "mpi", or "mpi, shared memory" while the segment is used
  void Barrier() override;
  // Collective: a shared window among this host's ranks when every rank is on it.
  std::unique_ptr<SharedMemory> MapShared(size_t num_bytes, std::string* why_not) override;
  [[noreturn]] void Abort(int exit_code) override;
  // The ring's segment size in floats (0: the default), so that tests can run many segments
  // through the pipeline with small buffers. Same value on every rank.
  void SetRingSegmentForTesting(size_t floats);
  // The same value on every rank, between collectives: false sends every collective as MPI
  // messages even on one host (A/B benchmarks, tests). Returns whether the segment is now used:
  // never when none was made (Create(false), ranks on several hosts, no room to map it).
  bool UseHostSegment(bool use);
  // The host segment's piece size in bytes (0: the default); see HostSegment.
  void SetHostSegmentPieceForTesting(size_t bytes);

 protected:
  void AllReduceRaw(void* data, size_t count, DataType type, ReduceOp op) override;
  void BroadcastRaw(void* data, size_t num_bytes, int root) override;
  void AllGatherRaw(const void* mine, size_t num_bytes, void* all) override;
  void AllGatherVRaw(const void* mine, DataType type, std::span<const int64_t> counts, void* all) override;
  void AllGatherVReadRaw(size_t num_bytes, GatherReader& reader) override;

 private:
  struct Impl;  // the MPI handles and scratch buffers, so that this header needs no mpi.h
  MpiCommunicator(int rank, int size, int local_rank, int local_size, std::unique_ptr<Impl> impl);
  void RingAllReduceSum(float* data, size_t count);
  void GatherAllReduceSum(float* data, size_t count);

  int rank_;
  int size_;
  int local_rank_;
  int local_size_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ectrain::comm
