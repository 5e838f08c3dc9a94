// CommunicatorWrapper: a Communicator that forwards every call to another one, its target (as
// leveldb's EnvWrapper does for Env), so that a decorator overrides only what it changes:
// HostSegmentCommunicator (collectives through memory a host's ranks share),
// NoGradientExchangeCommunicator (timing only). Wrappers compose: a decorator's target may be
// another decorator.
// The target is owned (the unique_ptr constructor) or borrowed (the reference constructor: it
// must outlive the wrapper, and nobody may use it while the wrapper is in a call). Two calls are
// deliberately not forwarded as they are:
//  - MakeBucketReducer is the Communicator default, a reducer over this wrapper itself, so that
//    the gradient buckets pass through every decorator (a target's own reducer would bypass them);
//  - host_memory() is the target's, whose collectives go to the target directly: a decorator
//    that must see them (as the host segment does) overrides host_memory().
// A collective added to Communicator gets its forwarding line here, once.
#pragma once

#include <memory>
#include <string>

#include "comm/communicator.h"

namespace ectrain::comm {

class CommunicatorWrapper : public Communicator {
 public:
  explicit CommunicatorWrapper(std::unique_ptr<Communicator> target);
  explicit CommunicatorWrapper(Communicator& target) : target_(&target) {}

  Communicator& target() const { return *target_; }

  int rank() const override { return target_->rank(); }
  int size() const override { return target_->size(); }
  int local_rank() const override { return target_->local_rank(); }
  int local_size() const override { return target_->local_size(); }
  std::string name() const override { return target_->name(); }
  void Barrier() override { target_->Barrier(); }
  [[noreturn]] void Abort(int exit_code) override;
  HostMemory* host_memory() override { return target_->host_memory(); }

 protected:
  void AllReduceRaw(void* data, size_t count, DataType type, ReduceOp op) override {
    target_->AllReduceRaw(data, count, type, op);
  }
  void BroadcastRaw(void* data, size_t num_bytes, int root) override { target_->BroadcastRaw(data, num_bytes, root); }
  void AllGatherRaw(const void* mine, size_t num_bytes, void* all) override {
    target_->AllGatherRaw(mine, num_bytes, all);
  }
  void AllGatherVRaw(const void* mine, DataType type, std::span<const int64_t> counts, void* all) override {
    target_->AllGatherVRaw(mine, type, counts, all);
  }
  void AllToAllVRaw(const void* send, std::span<const int64_t> send_counts, DataType type, void* recv,
                    std::span<const int64_t> recv_counts) override {
    target_->AllToAllVRaw(send, send_counts, type, recv, recv_counts);
  }

 private:
  std::unique_ptr<Communicator> owned_;  // null when the target is borrowed
  Communicator* target_;
};

}  // namespace ectrain::comm
