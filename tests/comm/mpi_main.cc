// GoogleTest under mpiexec: every rank runs every test; rank 0 prints; the job fails if any
// rank's tests fail.
#include <gtest/gtest.h>

#include <memory>

#include "comm/host_segment_communicator.h"
#include "comm/make_communicator.h"
#include "comm/mpi_communicator.h"
#include "comm_test_env.h"

namespace ectrain::testing {
namespace {
// What MakeCommunicator gives: on one host (as here), the host segment in front of MPI.
std::unique_ptr<comm::Communicator> g_comm;
comm::HostSegmentCommunicator* g_segment = nullptr;
comm::MpiCommunicator* g_mpi = nullptr;
}  // namespace
comm::Communicator& TestComm() { return *g_comm; }
// "mpi": the ranks share this host, so collectives go through the host segment; "mpi_messages":
// MPI itself, behind it (point-to-point ring, MPI's own collectives).
std::vector<std::string> ContractBackends() { return {"mpi", "mpi_messages"}; }
void RunOnEveryRank(const std::string& backend, const std::function<void(comm::Communicator&)>& body) {
  if (backend == "mpi_messages") return body(*g_mpi);
  ASSERT_NE(g_segment, nullptr) << "the ranks of this test share a host: collectives must use the host segment, not "
                                << g_comm->name();
  body(*g_segment);
}
void UseSmallPieces(comm::Communicator& comm, bool small) {
  g_mpi->SetRingSegmentForTesting(small ? 1000 : 0);
  g_mpi->SetMessagePieceForTesting(small ? 24 : 0);
  if (g_segment != nullptr) g_segment->SetPieceBytesForTesting(small ? 4008 : 0);
}

// Collective: this process's communicator, or a message why not.
Status Start() {
  ASSIGN_OR_RETURN(g_comm, comm::MakeCommunicator(comm::Backend::kMpi));
  g_segment = dynamic_cast<comm::HostSegmentCommunicator*>(g_comm.get());
  g_mpi = dynamic_cast<comm::MpiCommunicator*>(g_segment != nullptr ? &g_segment->target() : g_comm.get());
  if (g_comm->size() < 2) {
    return InvalidArgument("this test must run under mpiexec with at least 2 ranks (got " +
                           std::to_string(g_comm->size()) + ")");
  }
  return Status::Ok();
}
}  // namespace ectrain::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const ectrain::Status started = ectrain::testing::Start();
  if (!started.ok()) {
    std::fprintf(stderr, "FAILED: %s\n", started.message().c_str());
    return 1;
  }
  auto& comm = ectrain::testing::TestComm();
  if (comm.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  std::vector<int64_t> failed{RUN_ALL_TESTS() != 0 ? 1 : 0};
  comm.AllReduce(std::span<int64_t>(failed), ectrain::comm::ReduceOp::kMax);
  ectrain::testing::g_comm.reset();  // MPI_Finalize
  return failed[0] != 0 ? 1 : 0;
}
