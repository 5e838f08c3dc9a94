// Where no GPU is visible, NcclCommunicator::Create fails on every rank with CUDA's reason and what
// to do, and nothing hangs. ctest runs these with CUDA_VISIBLE_DEVICES empty (every GPU hidden),
// so they run on GPU machines too; where a GPU is visible they are skipped.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "comm/in_process_communicator.h"
#include "comm/local_communicator.h"
#include "comm/nccl/nccl_communicator.h"
#include "comm/nccl/nccl_support.h"
#include "comm_test_env.h"

namespace ectrain::comm {
namespace {

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// CUDA's reason, the setting, and what to do.
void ExpectClearNoGpuMessage(const Status& status, const std::string& why_none) {
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  const std::string& message = status.message();
  EXPECT_TRUE(Contains(message, "the NCCL backend needs a GPU for rank")) << message;
  EXPECT_TRUE(Contains(message, why_none)) << message;
  EXPECT_TRUE(Contains(message, "cudaGetDeviceCount")) << message;
  EXPECT_TRUE(Contains(message, "CUDA_VISIBLE_DEVICES")) << message;
  EXPECT_TRUE(Contains(message, "Run it on a host with NVIDIA GPUs")) << message;
  EXPECT_TRUE(Contains(message, "or train on the CPU backend")) << message;
}

class NcclWithoutGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    const int visible = nccl::VisibleGpus(&why_none_);
    if (visible > 0) {
      GTEST_SKIP() << "SKIPPED: " << ::testing::UnitTest::GetInstance()->current_test_info()->name()
                   << ": needs 0 visible GPUs (run with CUDA_VISIBLE_DEVICES empty), found " << visible;
    }
  }
  std::string why_none_;
};

TEST_F(NcclWithoutGpu, CreateSaysWhyAndWhatToDoOnEveryRank) {
  Communicator& host = ectrain::testing::TestComm();  // Local, or MPI under mpiexec
  const auto start = std::chrono::steady_clock::now();
  auto nccl = NcclCommunicator::Create(host, nullptr);  // Collective
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 30.0);
  ASSERT_FALSE(nccl.ok());
  ExpectClearNoGpuMessage(nccl.status(), why_none_);
  const StatusOr<int> device = NcclCommunicator::LocalDevice(host);
  ASSERT_FALSE(device.ok());
  ExpectClearNoGpuMessage(device.status(), why_none_);
}

// Two ranks as threads: both fail, neither waits for the other in a collective.
TEST_F(NcclWithoutGpu, EveryInProcessRankFails) {
  const Status status = RunInProcess(2, [this](Communicator& threads) {
    auto nccl = NcclCommunicator::Create(threads, nullptr);
    if (nccl.ok()) return Internal("Create succeeded without a GPU");
    ExpectClearNoGpuMessage(nccl.status(), why_none_);
    EXPECT_TRUE(Contains(nccl.status().message(), "rank " + std::to_string(threads.rank()) + " (local rank " +
                                                      std::to_string(threads.rank()) + " of 2"))
        << nccl.status().message();
    return Status::Ok();
  });
  EXPECT_TRUE(status.ok()) << status.message();
}

TEST_F(NcclWithoutGpu, TheOwnedHostCommunicatorGoesWithAFailedCreate) {
  auto nccl = NcclCommunicator::Create(std::make_unique<LocalCommunicator>(), nullptr);
  ASSERT_FALSE(nccl.ok());
  ExpectClearNoGpuMessage(nccl.status(), why_none_);
}

}  // namespace
}  // namespace ectrain::comm
