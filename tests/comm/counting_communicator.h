// CountingCommunicator: a decorator that counts the collectives reaching it and passes them on,
// so that tests can tell which calls a layer above really sends. Test-only.
#pragma once

#include <atomic>

#include "comm/communicator_wrapper.h"

namespace ectrain::testing {

class CountingCommunicator final : public comm::CommunicatorWrapper {
 public:
  using CommunicatorWrapper::CommunicatorWrapper;
  // Collectives so far, from any thread (a bucket reducer's too).
  int calls() const { return calls_.load(); }
  void Barrier() override {
    ++calls_;
    CommunicatorWrapper::Barrier();
  }

 protected:
  void AllReduceRaw(void* data, size_t count, comm::DataType type, comm::ReduceOp op) override {
    ++calls_;
    CommunicatorWrapper::AllReduceRaw(data, count, type, op);
  }
  void BroadcastRaw(void* data, size_t num_bytes, int root) override {
    ++calls_;
    CommunicatorWrapper::BroadcastRaw(data, num_bytes, root);
  }
  void AllGatherRaw(const void* mine, size_t num_bytes, void* all) override {
    ++calls_;
    CommunicatorWrapper::AllGatherRaw(mine, num_bytes, all);
  }
  void AllGatherVRaw(const void* mine, comm::DataType type, std::span<const int64_t> counts, void* all) override {
    ++calls_;
    CommunicatorWrapper::AllGatherVRaw(mine, type, counts, all);
  }
  void AllToAllVRaw(const void* send, std::span<const int64_t> send_counts, comm::DataType type, void* recv,
                    std::span<const int64_t> recv_counts) override {
    ++calls_;
    CommunicatorWrapper::AllToAllVRaw(send, send_counts, type, recv, recv_counts);
  }

 private:
  std::atomic<int> calls_{0};
};

}  // namespace ectrain::testing
