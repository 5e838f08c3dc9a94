// NcclCommunicator's parts that need no GPU (comm/nccl/nccl_support.h): choosing a GPU, telling
// ranks that would share one, the wait loop and its stall hook, and how a CUDA or NCCL failure
// reads and ends the job. Run on every machine.
#include "comm/nccl/nccl_support.h"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <thread>
#include <vector>

#include "comm/local_communicator.h"

namespace ectrain::comm::nccl {
namespace {

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(NcclSupport, ChooseDeviceTakesTheLocalRanksGpu) {
  EXPECT_EQ(ChooseDevice(5, 1, 4, 4, "").value(), 1);
  EXPECT_EQ(ChooseDevice(3, 3, 4, 8, "").value(), 3);
  // srun --gpus-per-task=1: each rank sees only its own GPU.
  EXPECT_EQ(ChooseDevice(6, 2, 4, 1, "").value(), 0);
  // More ranks than GPUs: wrapped round; CheckOneRankPerGpu's gather then refuses the pairs.
  EXPECT_EQ(ChooseDevice(3, 3, 4, 2, "").value(), 1);
}

TEST(NcclSupport, ChooseDeviceWithoutGpuSaysWhyAndWhatToDo) {
  const StatusOr<int> device =
      ChooseDevice(5, 1, 2, 0, "cudaGetDeviceCount failed: no CUDA-capable device is detected (cudaErrorNoDevice)");
  ASSERT_FALSE(device.ok());
  const Status status = device.status();
  const std::string& message = status.message();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(message, "needs a GPU for rank 5 (local rank 1 of 2 on its host), but CUDA sees none"))
      << message;
  EXPECT_TRUE(Contains(message, "no CUDA-capable device is detected (cudaErrorNoDevice)")) << message;
  EXPECT_TRUE(Contains(message, "CUDA_VISIBLE_DEVICES")) << message;
  EXPECT_TRUE(Contains(message, "or train on the CPU backend")) << message;
}

TEST(NcclSupport, FindSharedGpuNamesTheRanksAndWhatToDo) {
  const GpuId a{1, 2}, b{1, 3}, c{-7, 2};
  EXPECT_TRUE(FindSharedGpu(std::vector<GpuId>{a, b, c}, 3, 3).ok());
  EXPECT_TRUE(FindSharedGpu(std::vector<GpuId>{a}, 1, 1).ok());
  const Status shared = FindSharedGpu(std::vector<GpuId>{a, b, c, b}, 4, 2);
  ASSERT_FALSE(shared.ok());
  EXPECT_EQ(shared.code(), StatusCode::kInvalidArgument);
  const std::string& message = shared.message();
  EXPECT_TRUE(Contains(message, "ranks 1 and 3 would both use GPU-00000000000000010000000000000003")) << message;
  EXPECT_TRUE(Contains(message, "4 ranks on this host, 2 GPU(s) visible to each")) << message;
  EXPECT_TRUE(Contains(message, "NCCL refuses two ranks on one GPU")) << message;
  EXPECT_TRUE(Contains(message, "mpirun -np <its GPUs>")) << message;
  EXPECT_TRUE(Contains(message, "srun --gpus-per-task=1")) << message;
}

TEST(NcclSupport, PollUntilDoneReturnsWhatThePollReports) {
  int polls = 0;
  const Status done = PollUntilDone(
      [&]() -> std::optional<Status> {
        if (++polls < 5) return std::nullopt;
        return Status::Ok();
      },
      std::numeric_limits<double>::infinity(), nullptr);
  EXPECT_TRUE(done.ok());
  EXPECT_EQ(polls, 5);
  const Status failed =
      PollUntilDone([]() -> std::optional<Status> { return Internal("ncclAllReduce failed: remote process exited"); },
                    std::numeric_limits<double>::infinity(), nullptr);
  EXPECT_EQ(failed.message(), "ncclAllReduce failed: remote process exited");
}

// Past the timeout the handler is told once, with the time waited, and the wait goes on; it backs
// off to sleeps (a 0.3 s wait takes far fewer polls than a spin would).
TEST(NcclSupport, PollUntilDoneTellsTheStallHandlerOnceAndGoesOn) {
  using Clock = std::chrono::steady_clock;
  const auto until = Clock::now() + std::chrono::milliseconds(300);
  int polls = 0, stalls = 0;
  double waited = 0;
  const Status status = PollUntilDone(
      [&]() -> std::optional<Status> {
        ++polls;
        if (Clock::now() < until) return std::nullopt;
        return Status::Ok();
      },
      0.05,
      [&](double seconds) {
        ++stalls;
        waited = seconds;
      });
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(stalls, 1);
  EXPECT_GE(waited, 0.05);
  EXPECT_LT(waited, 0.3);
  EXPECT_LT(polls, 20'000);
  // Quick waits never hear of it.
  int quick_stalls = 0;
  EXPECT_TRUE(
      PollUntilDone([]() -> std::optional<Status> { return Status::Ok(); }, 0.05, [&](double) { ++quick_stalls; })
          .ok());
  EXPECT_EQ(quick_stalls, 0);
}

TEST(NcclSupport, FailuresNameTheOperationAndTheLibrarysReason) {
  const std::string nccl = NcclFailure("ncclAllReduce of 1200 bytes", ncclUnhandledCudaError);
  EXPECT_TRUE(Contains(nccl, "ncclAllReduce of 1200 bytes failed: unhandled cuda error")) << nccl;
  const std::string cuda = CudaFailure("cudaEventRecord on the compute stream", cudaErrorLaunchFailure);
  EXPECT_EQ(cuda, "cudaEventRecord on the compute stream failed: unspecified launch failure (cudaErrorLaunchFailure)");
}

// Through the communicator's Abort (a LocalCommunicator's: the process ends with code 1), after an
// error line; success is silent.
TEST(NcclSupport, ACheckedFailureEndsTheJobThroughTheCommunicator) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  LocalCommunicator local;
  CheckNccl(local, ncclSuccess, "ncclAllReduce");
  CheckCuda(local, cudaSuccess, "cudaEventRecord");
  EXPECT_EXIT(CheckNccl(local, ncclSystemError, "ncclAllReduce of 1200 bytes"), ::testing::ExitedWithCode(1),
              "ERROR: ncclAllReduce of 1200 bytes failed: unhandled system error.*; ending the job");
  EXPECT_EXIT(CheckCuda(local, cudaErrorIllegalAddress, "waiting for the device collectives"),
              ::testing::ExitedWithCode(1),
              "ERROR: waiting for the device collectives failed: an illegal memory access was encountered "
              "\\(cudaErrorIllegalAddress\\); ending the job");
}

}  // namespace
}  // namespace ectrain::comm::nccl
