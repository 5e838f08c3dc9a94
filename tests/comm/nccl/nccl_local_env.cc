// comm_nccl_test's communicators: the contract suite ("nccl") and the device tests on an
// NcclCommunicator over a LocalCommunicator, world size 1 (NCCL refuses two ranks on one GPU, so
// in-process groups over one GPU are not an option); skipped where no GPU is visible.
#include <gtest/gtest.h>

#include "comm/local_communicator.h"
#include "comm_test_env.h"
#include "nccl_test_env.h"

namespace ectrain::testing {
comm::Communicator& TestComm() {
  static comm::LocalCommunicator local;
  return local;
}

std::vector<std::string> ContractBackends() { return {"nccl"}; }

void RunOnEveryRank(const std::string& backend, const std::function<void(comm::Communicator&)>& body) {
  ASSERT_EQ(backend, "nccl");
  RunOnNccl(body);
}

void UseSmallPieces(comm::Communicator&, bool) {}  // a LocalCommunicator moves nothing

namespace {
// The shared NcclCommunicator goes before the CUDA runtime does (at exit it may be gone already).
class ReleaseNcclAtTheEnd final : public ::testing::Environment {
 public:
  void TearDown() override { ReleaseNccl(); }
};
[[maybe_unused]] ::testing::Environment* const g_release = ::testing::AddGlobalTestEnvironment(new ReleaseNcclAtTheEnd);
}  // namespace
}  // namespace ectrain::testing
