// A Communicator over a HostSegment whose ranks are threads of this process: the host segment's
// collectives under the contract suite without MPI ("segment2", "segment4"), with slots small
// enough that buffers of a few kilobytes already go in many pieces.
#pragma once

#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "comm/host_segment.h"
#include "core/log.h"

namespace ectrain::testing {

class SegmentCommunicator final : public comm::Communicator {
 public:
  SegmentCommunicator(void* segment, int rank, int size, size_t slot_bytes)
      : segment_(segment, rank, size, slot_bytes), rank_(rank), size_(size) {}
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return rank_; }
  int local_size() const override { return size_; }
  std::string name() const override { return "host segment"; }
  void Barrier() override { segment_.Barrier(); }
  [[noreturn]] void Abort(int exit_code) override { std::_Exit(exit_code); }
  comm::HostSegment& segment() { return segment_; }

 protected:
  void AllReduceRaw(void* data, size_t count, comm::DataType type, comm::ReduceOp op) override {
    segment_.AllReduce(data, count, type, op);
  }
  void BroadcastRaw(void* data, size_t num_bytes, int root) override { segment_.Broadcast(data, num_bytes, root); }
  void AllGatherRaw(const void* mine, size_t num_bytes, void* all) override {
    segment_.AllGather(mine, num_bytes, all);
  }
  void AllGatherVRaw(const void* mine, comm::DataType type, std::span<const int64_t> counts, void* all) override {
    segment_.AllGatherV(mine, type, counts, all);
  }
  void AllGatherVReadRaw(size_t num_bytes, comm::GatherReader& reader) override {
    if (!segment_.AllGatherVRead(num_bytes, reader)) Communicator::AllGatherVReadRaw(num_bytes, reader);
  }

 private:
  comm::HostSegment segment_;
  int rank_;
  int size_;
};

// Runs body(rank r's communicator) on `ranks` threads that share one zeroed segment.
inline void RunOnSegment(int ranks, size_t slot_bytes, const std::function<void(SegmentCommunicator&)>& body) {
  std::vector<char> memory(comm::HostSegment::SegmentBytes(ranks, slot_bytes) + 64, 0);
  void* segment = memory.data() + (64 - reinterpret_cast<uintptr_t>(memory.data()) % 64) % 64;
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r) {
    threads.emplace_back([&, r] {
      SetLogRank(r);
      SegmentCommunicator comm(segment, r, ranks, slot_bytes);
      body(comm);
    });
  }
  for (auto& thread : threads) thread.join();
}

}  // namespace ectrain::testing
