// HostSegmentCommunicators over in-process ranks (threads of this process), their segment mapped
// through the in-process group's shared memory: the host segment's collectives under the contract
// suite without MPI ("segment2", "segment4"), with slots small enough that buffers of a few
// kilobytes already go in many pieces.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "comm/host_segment_communicator.h"
#include "comm/in_process_communicator.h"

namespace ectrain::testing {

// Runs body(rank r's decorator) on `ranks` in-process ranks (threads) that share one segment.
inline void RunOnSegment(int ranks, size_t slot_bytes,
                         const std::function<void(comm::HostSegmentCommunicator&)>& body) {
  const Status status = comm::RunInProcess(ranks, [&](comm::Communicator& threads) {
    std::string why_not;
    std::unique_ptr<comm::HostSegmentCommunicator> segment =
        comm::HostSegmentCommunicator::Over(threads, slot_bytes, &why_not);
    if (segment == nullptr) return Internal("no host segment over in-process ranks: " + why_not);
    body(*segment);
    return Status::Ok();
  });
  EXPECT_TRUE(status.ok()) << status.message();
}

}  // namespace ectrain::testing
