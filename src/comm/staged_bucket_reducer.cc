#include "comm/staged_bucket_reducer.h"

namespace ectrain::comm {

std::span<float> StagedBucketReducer::ToHost(std::span<float> bucket) {
  if (next_ == pool_.size()) pool_.emplace_back();
  std::vector<float>& host = pool_[next_++];
  host.resize(bucket.size());
  device_.CopyToHost(host.data(), bucket.data(), bucket.size_bytes());
  return host;
}

void StagedBucketReducer::Start(std::span<float> bucket) {
  const std::span<float> host = ToHost(bucket);
  started_.emplace_back(bucket, host);
  host_->Start(host);
}

void StagedBucketReducer::Reduce(std::span<float> bucket) {
  const std::span<float> host = ToHost(bucket);
  host_->Reduce(host);
  device_.CopyFromHost(bucket.data(), host.data(), bucket.size_bytes());
}

void StagedBucketReducer::Wait() {
  host_->Wait();
  for (const auto& [device, host] : started_) device_.CopyFromHost(device.data(), host.data(), device.size_bytes());
  started_.clear();
  next_ = 0;
}

}  // namespace ectrain::comm
