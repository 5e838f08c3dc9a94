// HostSegment: collectives among the ranks of one host through a memory segment they all map
// (HostSegmentCommunicator's; under MPI an MPI-3 shared window): each rank copies its data into
// its slot, the ranks meet at a barrier of flags in the segment, and each reads the others' slots
// directly. No message protocol and no progress engine: a small all-reduce is a copy in, one
// barrier and a sum. Float sums follow the ring order of comm/ring.h (bitwise what the ring and
// InProcessCommunicator give); the other reductions use the same order. Ranks calling different
// collectives fail with a message naming both calls. One object per rank; used by one thread at a
// time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "comm/collective_call.h"
#include "comm/communicator.h"
#include "comm/host_memory.h"

namespace ectrain::comm {

class HostSegment {
 public:
  // Bytes of segment that `num_ranks` ranks with slots of `slot_bytes` need.
  static size_t SegmentBytes(int num_ranks, size_t slot_bytes);
  // `segment`: SegmentBytes(num_ranks, slot_bytes) bytes, the same memory on every rank, zeroed
  // before any rank uses it.
  HostSegment(void* segment, int rank, int num_ranks, size_t slot_bytes);

  // Collective among the segment's ranks, like the Communicator's functions of the same names.
  void Barrier();
  void AllReduce(void* data, size_t count, DataType type, ReduceOp op);
  void Broadcast(void* data, size_t num_bytes, int root);
  void AllGather(const void* mine, size_t num_bytes, void* all);
  void AllGatherV(const void* mine, DataType type, std::span<const int64_t> counts, void* all);
  // HostMemory::AllGatherVRead with Fill writing into this rank's slot and Read looking into
  // each rank's. False (after agreeing on the sizes, nothing filled) when a contribution is larger
  // than a slot: the caller then gathers by copying.
  bool AllGatherVRead(size_t num_bytes, GatherReader& reader);

  // Moves data in pieces of at most `bytes` per rank (at most the slot; 0: the whole slot), so
  // that tests can run many pieces with small buffers. Same value on every rank.
  void SetPieceBytesForTesting(size_t bytes);

 private:
  // One round: this rank's piece goes into its slot of the round's half of the segment (the
  // halves alternate, so a rank may fill the next round's slot while others still read this one).
  char* Slot(int rank) const;
  char* Result() const;  // the round's reduced piece
  // Ends the round's writing: publishes this rank's call, waits for every rank, and checks that
  // they all make the same call.
  void Arrive(const CollectiveCall& call);
  void Wait();  // a further barrier within the round
  void NextRound() { ++round_; }
  template <typename T>
  void Reduce(T* data, size_t count, DataType type, ReduceOp op);

  char* segment_;
  int rank_;
  int num_ranks_;
  size_t slot_bytes_;
  size_t piece_bytes_;
  uint64_t round_ = 0;           // rounds done: selects the half
  uint64_t arrivals_ = 0;        // barrier generations passed
  std::vector<int64_t> counts_;  // AllGatherVRead's sizes, one per rank
};

}  // namespace ectrain::comm
