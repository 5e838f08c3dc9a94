// InProcessCommunicator: N ranks as threads of one process, talking through shared memory (the
// debug mode, `ectrain train --ranks N`, and the test double). An InProcessGroup holds the
// shared state; each rank's thread uses its own communicator (rank i), one thread at a time per
// rank. Float sums follow the ring order of comm/ring.h, so results equal MpiCommunicator's bit
// for bit. The group must outlive its communicators; RunInProcess owns both.
#pragma once

#include <functional>
#include <memory>

#include "comm/communicator.h"

namespace ectrain::comm {

class InProcessGroup;

class InProcessCommunicator final : public Communicator, private HostMemory {
 public:
  // Rank `rank` of `group` (0 <= rank < group size); one communicator per rank.
  InProcessCommunicator(std::shared_ptr<InProcessGroup> group, int rank);
  // Marks the rank as gone: a rank still waiting for it in a collective then ends the process
  // with a message instead of hanging.
  ~InProcessCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override;
  int local_rank() const override { return rank_; }
  int local_size() const override { return size(); }
  std::string name() const override { return "in-process"; }
  void Barrier() override;
  // Ends the whole process (every rank) with std::_Exit(exit_code).
  [[noreturn]] void Abort(int exit_code) override;
  // Threads share all memory: MapShared is memory rank 0 allocates, freed when every rank has
  // released it. None for a group of one.
  HostMemory* host_memory() override { return size() > 1 ? this : nullptr; }

 protected:
  void AllReduceRaw(void* data, size_t count, DataType type, ReduceOp op) override;
  void BroadcastRaw(void* data, size_t num_bytes, int root) override;
  void AllGatherRaw(const void* mine, size_t num_bytes, void* all) override;
  void AllGatherVRaw(const void* mine, DataType type, std::span<const int64_t> counts, void* all) override;
  void AllToAllVRaw(const void* send, std::span<const int64_t> send_counts, DataType type, void* recv,
                    std::span<const int64_t> recv_counts) override;

 private:
  std::unique_ptr<SharedMemory> MapShared(size_t num_bytes, std::string* why_not) override;

  std::shared_ptr<InProcessGroup> group_;
  int rank_;
};

// Shared state of `size` in-process ranks (size >= 1).
std::shared_ptr<InProcessGroup> MakeInProcessGroup(int size);

// Runs body(communicator of rank r) on `ranks` threads (r = 0..ranks-1, each logging as its rank),
// joins them, and returns Ok or a failure: that of the lowest rank that failed on its own (not
// merely because another rank did: StatusCode::kFailedElsewhere), prefixed "rank r: ". An exception
// escaping a body becomes a failure of that rank. A rank that returns while others still wait
// for it in a collective ends the process with a message (as a dead MPI rank ends the job).
Status RunInProcess(int ranks, const std::function<Status(Communicator&)>& body);

}  // namespace ectrain::comm
