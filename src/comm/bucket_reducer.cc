#include "comm/bucket_reducer.h"

#include "core/denormals.h"
#include "core/log.h"

namespace ectrain::comm {

ThreadedBucketReducer::~ThreadedBucketReducer() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void ThreadedBucketReducer::Reserve(size_t num_buckets) {
  // The queue never holds more than every bucket: reserved now, so how far the thread lags behind
  // (load, scheduling) never makes a step allocate.
  queue_.reserve(num_buckets);
  if (num_buckets > 0 && !thread_.joinable()) thread_ = std::thread([this] { Loop(); });
}

void ThreadedBucketReducer::Start(std::span<float> bucket) {
  CHECK(thread_.joinable()) << "BucketReducer::Start before Reserve";
  std::lock_guard<std::mutex> lock(mutex_);
  queue_.push_back(bucket);
  ++in_flight_;
  changed_.notify_all();
}

void ThreadedBucketReducer::Loop() {
  FlushDenormalsToZero();  // sums as on the training thread, whoever started this one
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping
    const std::span<float> bucket = queue_.front();
    queue_.erase(queue_.begin());
    lock.unlock();
    comm_.AllReduce(bucket);  // Collective
    lock.lock();
    --in_flight_;
    changed_.notify_all();
  }
}

void ThreadedBucketReducer::Wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return in_flight_ == 0; });
}

// On this thread, once the started buckets are done: only one thread uses the communicator at a
// time, and the collectives stay in the same order on every rank.
void ThreadedBucketReducer::Reduce(std::span<float> bucket) {
  Wait();
  comm_.AllReduce(bucket);  // Collective
}

void ThreadedBucketReducer::ExchangeRows(size_t num_bytes, GatherReader& rows) {
  Wait();
  AllGatherVRead(comm_, num_bytes, rows, gather_buffers_);  // Collective
}

}  // namespace ectrain::comm
