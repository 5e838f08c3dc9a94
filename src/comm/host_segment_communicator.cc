#include "comm/host_segment_communicator.h"

#include <algorithm>

#include "core/log.h"

namespace ectrain::comm {
namespace {
constexpr size_t kSlotBytes = size_t{1} << 20;
constexpr size_t kSegmentMaxBytes = size_t{16} << 20;
constexpr size_t kSlotMinBytes = size_t{64} << 10;

// The checks both constructors make before the segment is laid into `memory`.
void* SegmentIn(const Communicator& target, const std::unique_ptr<SharedMemory>& memory) {
  CHECK(memory != nullptr) << "a host segment needs memory the ranks share";
  CHECK(target.local_size() == target.size() && target.local_rank() == target.rank())
      << "a host segment needs every rank on one host: rank " << target.rank() << " of " << target.size()
      << " is local rank " << target.local_rank() << " of " << target.local_size();
  return memory->data();
}
}  // namespace

size_t HostSegmentCommunicator::DefaultSlotBytes(int num_ranks) {
  // The segment takes 2 (ranks + 1) slots.
  const size_t slots = 2 * (static_cast<size_t>(num_ranks) + 1);
  return std::max(kSlotMinBytes, std::min(kSlotBytes, kSegmentMaxBytes / slots) / 4096 * 4096);
}

HostSegmentCommunicator::HostSegmentCommunicator(std::unique_ptr<Communicator> target,
                                                 std::unique_ptr<SharedMemory> memory, size_t slot_bytes)
    : CommunicatorWrapper(std::move(target)),
      memory_(std::move(memory)),
      segment_(SegmentIn(this->target(), memory_), this->target().rank(), this->target().size(), slot_bytes) {}

HostSegmentCommunicator::HostSegmentCommunicator(Communicator& target, std::unique_ptr<SharedMemory> memory,
                                                 size_t slot_bytes)
    : CommunicatorWrapper(target),
      memory_(std::move(memory)),
      segment_(SegmentIn(target, memory_), target.rank(), target.size(), slot_bytes) {}

// Members go before the base: the segment's memory (an MPI window, released collectively) before
// the target that may own MPI itself.
HostSegmentCommunicator::~HostSegmentCommunicator() = default;

std::unique_ptr<HostSegmentCommunicator> HostSegmentCommunicator::Over(Communicator& target, size_t slot_bytes,
                                                                       std::string* why_not) {
  HostMemory* host = target.host_memory();
  if (host == nullptr) return nullptr;
  std::unique_ptr<SharedMemory> memory = host->MapShared(SegmentBytes(target.size(), slot_bytes), why_not);
  if (memory == nullptr) return nullptr;
  return std::make_unique<HostSegmentCommunicator>(target, std::move(memory), slot_bytes);
}

std::unique_ptr<SharedMemory> HostSegmentCommunicator::MapShared(size_t num_bytes, std::string* why_not) {
  HostMemory* host = target().host_memory();
  return host != nullptr ? host->MapShared(num_bytes, why_not) : nullptr;
}

}  // namespace ectrain::comm
