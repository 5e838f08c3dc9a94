// HostSegmentCommunicator: a decorator over any communicator whose ranks all run on one host
// (rank == local rank), taking its collectives (all-reduce, broadcast, all-gather(v), barrier)
// through a HostSegment (comm/host_segment.h) in memory the ranks share: a small all-reduce is a
// copy in, a barrier of flags and a sum, with no message protocol. Float sums follow the ring
// order of comm/ring.h, so results are bitwise the target's own. Its host_memory() maps more
// memory through the target's and reads AllGatherVRead's contributions in the segment's slots.
// Ranks calling different collectives fail with both calls named. AllToAllV, whose pairs of ranks
// each move their own data, goes to the target as it is. Used like any communicator:
// from one thread at a time. The segment's memory is released before the target it wraps.
#pragma once

#include <memory>
#include <string>

#include "comm/communicator_wrapper.h"
#include "comm/host_segment.h"

namespace ectrain::comm {

class HostSegmentCommunicator final : public CommunicatorWrapper, private HostMemory {
 public:
  // Each rank's slot for `num_ranks` ranks: 1 MiB (a 41 KB gradient or a 900 KB row-sparse
  // exchange is one piece), less for many ranks so that the segment stays near 16 MiB, well inside
  // a container's default /dev/shm (64 MB), but at least 64 KiB.
  static size_t DefaultSlotBytes(int num_ranks);
  // The shared memory that a segment of `num_ranks` ranks with slots of `slot_bytes` takes.
  static size_t SegmentBytes(int num_ranks, size_t slot_bytes) {
    return HostSegment::SegmentBytes(num_ranks, slot_bytes);
  }
  // `memory`: SegmentBytes(target.size(), slot_bytes) bytes, zeroed, the same memory on every rank
  // (HostMemory::MapShared of the target, or, with MPI, MpiCommunicator::MapHostSegment).
  HostSegmentCommunicator(std::unique_ptr<Communicator> target, std::unique_ptr<SharedMemory> memory,
                          size_t slot_bytes);
  HostSegmentCommunicator(Communicator& target, std::unique_ptr<SharedMemory> memory, size_t slot_bytes);
  // Collective over `target`: a decorator whose segment the target's own host memory maps; null on
  // every rank where it has none or no room (`why_not` says why where it can).
  static std::unique_ptr<HostSegmentCommunicator> Over(Communicator& target, size_t slot_bytes, std::string* why_not);
  ~HostSegmentCommunicator() override;

  std::string name() const override { return target().name() + ", shared memory"; }  // "mpi, shared memory"
  void Barrier() override { segment_.Barrier(); }
  HostMemory* host_memory() override { return this; }
  // Moves data in pieces of at most `bytes` per rank (HostSegment::SetPieceBytesForTesting).
  void SetPieceBytesForTesting(size_t bytes) { segment_.SetPieceBytesForTesting(bytes); }

 protected:
  void AllReduceRaw(void* data, size_t count, DataType type, ReduceOp op) override {
    segment_.AllReduce(data, count, type, op);
  }
  void BroadcastRaw(void* data, size_t num_bytes, int root) override { segment_.Broadcast(data, num_bytes, root); }
  void AllGatherRaw(const void* mine, size_t num_bytes, void* all) override {
    segment_.AllGather(mine, num_bytes, all);
  }
  void AllGatherVRaw(const void* mine, DataType type, std::span<const int64_t> counts, void* all) override {
    segment_.AllGatherV(mine, type, counts, all);
  }

 private:
  // HostMemory: more shared memory from the target's; contributions read in this rank's slot.
  std::unique_ptr<SharedMemory> MapShared(size_t num_bytes, std::string* why_not) override;
  bool AllGatherVRead(size_t num_bytes, GatherReader& reader) override {
    return segment_.AllGatherVRead(num_bytes, reader);
  }

  std::unique_ptr<SharedMemory> memory_;
  HostSegment segment_;  // in memory_
};

}  // namespace ectrain::comm
