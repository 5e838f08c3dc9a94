// comm_nccl_mpi_test: the contract suite ("nccl_mpi") and the device tests on an NcclCommunicator
// over this process's MPI communicator (MakeCommunicator's: the host segment in front of MPI on one
// host), under mpiexec with one GPU per rank; every GPU test is skipped where the host shows fewer
// GPUs than ranks. Every rank runs every test; rank 0 prints; the job fails if any rank's tests fail.
#include <gtest/gtest.h>

#include <memory>

#include "comm/host_segment_communicator.h"
#include "comm/make_communicator.h"
#include "comm/mpi_communicator.h"
#include "comm_test_env.h"
#include "nccl_test_env.h"

namespace ectrain::testing {
namespace {
std::unique_ptr<comm::Communicator> g_comm;
}  // namespace
comm::Communicator& TestComm() { return *g_comm; }
std::vector<std::string> ContractBackends() { return {"nccl_mpi"}; }
void RunOnEveryRank(const std::string& backend, const std::function<void(comm::Communicator&)>& body) {
  ASSERT_EQ(backend, "nccl_mpi");
  RunOnNccl(body);
}
// The host collectives run on what the NcclCommunicator wraps: MPI's ring, behind its host segment.
void UseSmallPieces(comm::Communicator& comm, bool small) {
  auto* nccl = dynamic_cast<comm::NcclCommunicator*>(&comm);
  comm::Communicator& host = nccl != nullptr ? nccl->target() : comm;
  auto* segment = dynamic_cast<comm::HostSegmentCommunicator*>(&host);
  if (segment != nullptr) segment->SetPieceBytesForTesting(small ? 4008 : 0);
  auto* mpi = dynamic_cast<comm::MpiCommunicator*>(segment != nullptr ? &segment->target() : &host);
  if (mpi != nullptr) mpi->SetRingSegmentForTesting(small ? 1000 : 0);
}
}  // namespace ectrain::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  auto made = ectrain::comm::MakeCommunicator(ectrain::comm::Backend::kMpi);
  if (!made.ok() || made.value()->size() < 2) {
    std::fprintf(stderr, "FAILED: this test must run under mpiexec with at least 2 ranks (%s)\n",
                 made.ok() ? "one rank" : made.status().message().c_str());
    return 1;
  }
  ectrain::testing::g_comm = std::move(made).value();
  auto& comm = ectrain::testing::TestComm();
  if (comm.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  std::vector<int64_t> failed{RUN_ALL_TESTS() != 0 ? 1 : 0};
  comm.AllReduce(std::span<int64_t>(failed), ectrain::comm::ReduceOp::kMax);
  ectrain::testing::ReleaseNccl();   // Collective, before MPI_Finalize
  ectrain::testing::g_comm.reset();  // MPI_Finalize
  return failed[0] != 0 ? 1 : 0;
}
