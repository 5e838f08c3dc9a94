// StagedBucketReducer: gradient buckets in a device's memory summed by a reducer that reads host
// memory (MPI, the in-process threads): each bucket is copied to the host, summed there, and
// copied back. What a device uses where its communicator cannot reach its memory (the simulated
// device; a GPU without NCCL's reducer). A BucketReducer over another.
#pragma once

#include <deque>
#include <memory>
#include <utility>
#include <vector>

#include "comm/bucket_reducer.h"
#include "core/allocator.h"

namespace ectrain::comm {

class StagedBucketReducer final : public BucketReducer {
 public:
  StagedBucketReducer(std::unique_ptr<BucketReducer> host, Allocator& device)
      : host_(std::move(host)), device_(device) {}

  void Reserve(size_t num_buckets) override { host_->Reserve(num_buckets); }
  void Start(std::span<float> bucket) override;
  void Reduce(std::span<float> bucket) override;
  void Wait() override;
  void ExchangeRows(size_t num_bytes, GatherReader& rows) override { host_->ExchangeRows(num_bytes, rows); }

 private:
  // A host copy of `bucket`, from a pool whose buffers keep their place and capacity.
  std::span<float> ToHost(std::span<float> bucket);

  std::unique_ptr<BucketReducer> host_;
  Allocator& device_;
  std::deque<std::vector<float>> pool_;
  size_t next_ = 0;  // pool_[0, next_) hold the buckets started since the last Wait
  std::vector<std::pair<std::span<float>, std::span<float>>> started_;  // (device, host)
};

}  // namespace ectrain::comm
