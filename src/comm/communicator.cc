#include "comm/communicator.h"

#include <vector>

#include "comm/bucket_reducer.h"

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
