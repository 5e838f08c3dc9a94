// Runs the communicator contract suite on a LocalCommunicator (world size 1), on in-process
// groups of 2 and 4 ranks, on host segments over in-process groups of 2 and 4 ranks (16 KiB
// slots), and on a CommunicatorWrapper that only forwards, over 2 in-process ranks.
#include <gtest/gtest.h>

#include "comm/communicator_wrapper.h"
#include "comm/in_process_communicator.h"
#include "comm/local_communicator.h"
#include "comm_test_env.h"
#include "segment_comm.h"

namespace ectrain::testing {
comm::Communicator& TestComm() {
  static comm::LocalCommunicator local;
  return local;
}

std::vector<std::string> ContractBackends() {
  return {"local", "inprocess2", "inprocess4", "segment2", "segment4", "wrapper2"};
}

void RunOnEveryRank(const std::string& backend, const std::function<void(comm::Communicator&)>& body) {
  if (backend == "local") return body(TestComm());
  if (backend.rfind("segment", 0) == 0) {
    const int ranks = std::stoi(backend.substr(7));
    return RunOnSegment(ranks, 16 << 10, [&](comm::HostSegmentCommunicator& comm) {
      SCOPED_TRACE("rank " + std::to_string(comm.rank()) + " of " + std::to_string(ranks));
      body(comm);
    });
  }
  const bool wrapped = backend.rfind("wrapper", 0) == 0;
  const std::string prefix = wrapped ? "wrapper" : "inprocess";
  ASSERT_EQ(backend.rfind(prefix, 0), 0u) << "unknown backend " << backend;
  const int ranks = std::stoi(backend.substr(prefix.size()));
  Status status = comm::RunInProcess(ranks, [&](comm::Communicator& comm) {
    SCOPED_TRACE("rank " + std::to_string(comm.rank()) + " of " + std::to_string(ranks));
    comm::CommunicatorWrapper wrapper(comm);
    body(wrapped ? wrapper : comm);
    return Status::Ok();
  });
  EXPECT_TRUE(status.ok()) << status.message();
}

void UseSmallPieces(comm::Communicator& comm, bool small) {
  if (auto* segment = dynamic_cast<comm::HostSegmentCommunicator*>(&comm)) {
    segment->SetPieceBytesForTesting(small ? 1000 : 0);
  }
}
}  // namespace ectrain::testing
