// GoogleTest under mpiexec: every rank runs every test; rank 0 prints; the job fails if any
// rank's tests fail.
#include <gtest/gtest.h>

#include <memory>

#include "comm/mpi_communicator.h"
#include "comm_test_env.h"
#include "core/log.h"

namespace ectrain::testing {
namespace {
std::unique_ptr<comm::MpiCommunicator> g_mpi;
}
comm::Communicator& TestComm() { return *g_mpi; }
// "mpi": the ranks share this host, so collectives go through the host segment; "mpi_messages":
// the same ranks with it switched off (point-to-point ring, MPI's own collectives).
std::vector<std::string> ContractBackends() { return {"mpi", "mpi_messages"}; }
void RunOnEveryRank(const std::string& backend, const std::function<void(comm::Communicator&)>& body) {
  const bool segment = g_mpi->UseHostSegment(backend == "mpi");
  ASSERT_EQ(segment, backend == "mpi") << "the ranks of this test share a host: collectives must use the host segment";
  body(TestComm());
  g_mpi->UseHostSegment(true);
}
}  // namespace ectrain::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  auto mpi = ectrain::comm::MpiCommunicator::Create();
  if (!mpi.ok()) {
    std::fprintf(stderr, "FAILED: %s\n", mpi.status().message().c_str());
    return 1;
  }
  ectrain::testing::g_mpi = std::move(mpi).value();
  auto& comm = ectrain::testing::TestComm();
  ectrain::SetLogRank(comm.rank());
  if (comm.size() < 2) {
    std::fprintf(stderr, "FAILED: this test must run under mpiexec with at least 2 ranks (got %d)\n", comm.size());
    return 1;
  }
  if (comm.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  std::vector<int64_t> failed{RUN_ALL_TESTS() != 0 ? 1 : 0};
  comm.AllReduce(std::span<int64_t>(failed), ectrain::comm::ReduceOp::kMax);
  ectrain::testing::g_mpi.reset();  // MPI_Finalize
  return failed[0] != 0 ? 1 : 0;
}
