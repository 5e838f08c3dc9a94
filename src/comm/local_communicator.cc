#include "comm/local_communicator.h"

#include <cstdlib>
#include <cstring>

namespace ectrain::comm {

void LocalCommunicator::Abort(int exit_code) { std::_Exit(exit_code); }

void LocalCommunicator::AllGatherRaw(const void* mine, size_t num_bytes, void* all) {
  if (mine != all && num_bytes > 0) std::memmove(all, mine, num_bytes);
}

void LocalCommunicator::AllGatherVRaw(const void* mine, DataType type, std::span<const int64_t> counts, void* all) {
  AllGatherRaw(mine, static_cast<size_t>(counts[0]) * DataTypeBytes(type), all);
}

void LocalCommunicator::AllToAllVRaw(const void* send, std::span<const int64_t> send_counts, DataType type, void* recv,
                                     std::span<const int64_t> /*recv_counts*/) {
  AllGatherRaw(send, static_cast<size_t>(send_counts[0]) * DataTypeBytes(type), recv);
}

}  // namespace ectrain::comm
