// What comm_nccl_test checks at world size 1 only: Abort ends the process with its code (under
// mpiexec it would end the whole test job), host collectives reach the wrapped communicator, and a
// compute stream on another GPU than the rank's is refused. Need a GPU (two for the last).
#include <gtest/gtest.h>

#include <memory>

#include "comm/local_communicator.h"
#include "comm/nccl/nccl_support.h"
#include "counting_communicator.h"
#include "nccl_test_env.h"

namespace ectrain::comm {
namespace {
using NcclLocal = ectrain::testing::NcclTest;

// In a child process that makes its own communicator (the "threadsafe" style re-runs the test).
TEST_F(NcclLocal, AbortEndsTheProcessWithItsCode) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(nccl_->Abort(3), ::testing::ExitedWithCode(3), "");
}

TEST_F(NcclLocal, HostCollectivesGoToTheWrappedCommunicator) {
  LocalCommunicator local;
  ectrain::testing::CountingCommunicator counted(local);
  auto nccl = NcclCommunicator::Create(counted, nccl_->compute_stream());
  ASSERT_TRUE(nccl.ok()) << nccl.status().message();
  const int after_create = counted.calls();
  std::vector<float> values{1.5f, 2.5f};
  (*nccl)->AllReduce(std::span<float>(values));
  (*nccl)->Broadcast(std::span<float>(values), 0);
  (*nccl)->Barrier();
  EXPECT_EQ(counted.calls() - after_create, 3);
  EXPECT_EQ(values, (std::vector<float>{1.5f, 2.5f}));
  EXPECT_EQ((*nccl)->name(), "nccl + local");
}

// Needs 2 GPUs, not the shared communicator: a LocalCommunicator's rank takes GPU 0.
TEST(NcclLocalTwoGpus, AComputeStreamOnAnotherGpuIsRefused) {
  std::string why_none;
  const int visible = nccl::VisibleGpus(&why_none);
  if (visible < 2) GTEST_SKIP() << ectrain::testing::NeedsGpus(2, visible, why_none);
  cudaStream_t elsewhere = nullptr;
  EXPECT_CUDA(cudaSetDevice(1));
  EXPECT_CUDA(cudaStreamCreateWithFlags(&elsewhere, cudaStreamNonBlocking));
  LocalCommunicator local;
  auto refused = NcclCommunicator::Create(local, elsewhere);
  EXPECT_CUDA(cudaSetDevice(0));
  cudaStreamDestroy(elsewhere);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("the compute stream is on GPU 1, but local rank 0 takes GPU 0"),
            std::string::npos)
      << refused.status().message();
}

}  // namespace
}  // namespace ectrain::comm
