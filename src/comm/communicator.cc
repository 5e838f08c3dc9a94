#include "comm/communicator.h"

#include <vector>

#include "comm/bucket_reducer.h"
#include "core/log.h"

namespace ectrain::comm {

size_t DataTypeBytes(DataType type) {
  switch (type) {
    case DataType::kFloat32:
      return 4;
    case DataType::kFloat64:
      return 8;
    case DataType::kInt64:
      return 8;
    case DataType::kUInt8:
      return 1;
  }
  return 1;
}

void Communicator::Broadcast(std::string& text, int root) {
  std::vector<int64_t> length{static_cast<int64_t>(text.size())};
  BroadcastRaw(length.data(), sizeof(int64_t), root);
  text.resize(static_cast<size_t>(length[0]));
  if (!text.empty()) BroadcastRaw(text.data(), text.size(), root);
}

std::vector<int64_t> Communicator::AllToAllCounts(std::span<const int64_t> send_counts) {
  CHECK(send_counts.size() == static_cast<size_t>(size()))
      << "AllToAllCounts: " << send_counts.size() << " counts for " << size() << " ranks";
  const std::vector<int64_t> ones(static_cast<size_t>(size()), 1);
  std::vector<int64_t> recv_counts(static_cast<size_t>(size()));
  AllToAllVRaw(send_counts.data(), ones, DataType::kInt64, recv_counts.data(), ones);
  return recv_counts;
}

void Communicator::CheckAllToAllV(size_t send_size, std::span<const int64_t> send_counts, size_t recv_size,
                                  std::span<const int64_t> recv_counts) const {
  const auto n = static_cast<size_t>(size());
  CHECK(send_counts.size() == n && recv_counts.size() == n)
      << "AllToAllV: " << send_counts.size() << " send counts and " << recv_counts.size() << " receive counts for " << n
      << " ranks";
  const auto check_sum = [](std::span<const int64_t> counts, size_t buffer, const char* what) {
    int64_t sum = 0;
    for (int64_t c : counts) {
      CHECK(c >= 0) << "AllToAllV: a negative " << what << " count, " << c;
      sum += c;
    }
    CHECK(static_cast<size_t>(sum) == buffer)
        << "AllToAllV: the " << what << " counts add up to " << sum << " elements, the buffer holds " << buffer;
  };
  check_sum(send_counts, send_size, "send");
  check_sum(recv_counts, recv_size, "receive");
}

std::unique_ptr<BucketReducer> Communicator::MakeBucketReducer() {
  return std::make_unique<ThreadedBucketReducer>(*this);
}

Status AgreeOk(Communicator& comm, const Status& local, const std::string& what) {
  std::vector<int64_t> failed{local.ok() ? 0 : 1};
  comm.AllReduce(std::span<int64_t>(failed), ReduceOp::kMax);
  if (!local.ok()) return local;
  if (failed[0] != 0) return FailedElsewhere(what + " failed on another rank; see that rank's message");
  return Status::Ok();
}

}  // namespace ectrain::comm
