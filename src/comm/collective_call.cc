#include "comm/collective_call.h"

#include <sstream>

namespace ectrain::comm {

std::string CollectiveCall::ToString() const {
  static constexpr const char* kKinds[] = {"Barrier", "AllReduce", "Broadcast", "AllGather", "AllGatherV", "AllToAllV"};
  static constexpr const char* kTypes[] = {"float32", "float64", "int64", "uint8"};
  static constexpr const char* kOps[] = {"sum", "max", "min"};
  if (kind == CollectiveKind::kBarrier) return "Barrier()";
  std::ostringstream out;
  out << kKinds[static_cast<int>(kind)] << "(" << kTypes[static_cast<int>(type)] << ", count " << count;
  if (kind == CollectiveKind::kAllReduce) out << ", " << kOps[static_cast<int>(op)];
  if (root >= 0) out << ", root " << root;
  out << ")";
  return out.str();
}

}  // namespace ectrain::comm
