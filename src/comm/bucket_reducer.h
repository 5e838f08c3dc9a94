// BucketReducer: how a step's gradients are summed over the ranks, in the form GradSync hands
// them over: contiguous buckets of floats, started while backward still runs, then the row-sparse
// exchange. One per GradSync, made by Communicator::MakeBucketReducer, so that a backend plugs
// in its own (an NCCL reducer would run its buckets on a stream) without touching the training
// loop. ThreadedBucketReducer, the default, runs the communicator's own collectives, the started
// buckets on a thread of its own. All calls from one thread (the training thread); the same
// calls in the same order on every rank.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "comm/communicator.h"
#include "comm/host_memory.h"

namespace ectrain::comm {

class BucketReducer {
 public:
  virtual ~BucketReducer() = default;
  // Before the first Start: at most `num_buckets` are started between two Waits. What Start needs
  // (a queue, a thread) is made now, so that a step allocates nothing.
  virtual void Reserve(size_t num_buckets) = 0;
  // Collective: starts the float sum all-reduce of `bucket`, in place, and returns; the caller
  // leaves the bucket alone until Wait.
  virtual void Start(std::span<float> bucket) = 0;
  // Collective: after every started bucket, the float sum all-reduce of `bucket` before returning.
  virtual void Reduce(std::span<float> bucket) = 0;
  // Returns when every started bucket is summed.
  virtual void Wait() = 0;
  // Collective, after every started bucket: the row-sparse exchange, AllGatherVRead of
  // `num_bytes` from this rank (comm/host_memory.h): `rows` fills this rank's, reads everyone's.
  virtual void ExchangeRows(size_t num_bytes, GatherReader& rows) = 0;
  // Whether Start and Reduce take buckets in a device's memory (NCCL's); otherwise buckets are in
  // host memory (comm/staged_bucket_reducer.h brings a device's there).
  virtual bool reads_device_memory() const { return false; }
};

class ThreadedBucketReducer final : public BucketReducer {
 public:
  explicit ThreadedBucketReducer(Communicator& comm) : comm_(comm) {}
  ~ThreadedBucketReducer() override;

  void Reserve(size_t num_buckets) override;
  void Start(std::span<float> bucket) override;
  void Reduce(std::span<float> bucket) override;
  void Wait() override;
  void ExchangeRows(size_t num_bytes, GatherReader& rows) override;

 private:
  void Loop();  // the thread: started buckets, in order

  Communicator& comm_;
  GatherBuffers gather_buffers_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::span<float>> queue_;  // started, not yet taken by the thread
  size_t in_flight_ = 0;                 // queued or being reduced
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ectrain::comm
