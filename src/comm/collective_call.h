// CollectiveCall: what a rank is doing in its current collective. Backends whose ranks meet in
// shared memory compare the ranks' calls, so that ranks calling different collectives (a bug that
// MPI turns into a hang or garbage) fail with a message naming both calls. Trivially copyable: it
// may live in memory that processes share.
#pragma once

#include <cstdint>
#include <string>

#include "comm/communicator.h"

namespace ectrain::comm {

enum class CollectiveKind : uint8_t { kBarrier, kAllReduce, kBroadcast, kAllGather, kAllGatherV, kAllToAllV };

struct CollectiveCall {
  CollectiveKind kind = CollectiveKind::kBarrier;
  DataType type = DataType::kUInt8;
  ReduceOp op = ReduceOp::kSum;
  int32_t root = -1;
  uint64_t count = 0;  // elements or bytes; must agree across ranks (AllGatherV's and AllToAllV's differ: 0)

  bool operator==(const CollectiveCall& other) const = default;
  // "AllReduce(float32, count 10, sum)", "Broadcast(uint8, count 8, root 0)", "Barrier()".
  std::string ToString() const;
};

}  // namespace ectrain::comm
