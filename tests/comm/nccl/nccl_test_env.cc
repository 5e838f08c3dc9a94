#include "nccl_test_env.h"

#include <memory>

#include "comm/nccl/nccl_support.h"
#include "comm_test_env.h"

namespace ectrain::testing {
namespace {
struct Shared {
  bool tried = false;
  std::string skip_reason, failure;
  cudaStream_t compute = nullptr;
  std::unique_ptr<comm::NcclCommunicator> nccl;
};
Shared& State() {
  static Shared shared;
  return shared;
}

// Collective: every rank of this host needs a GPU of its own; all ranks agree, so that all skip.
void MakeNccl(Shared& shared) {
  comm::Communicator& host = TestComm();
  std::string why_none;
  const int visible = comm::nccl::VisibleGpus(&why_none);
  std::vector<int64_t> enough{visible >= host.local_size() ? 1 : 0};
  host.AllReduce(std::span<int64_t>(enough), comm::ReduceOp::kMin);
  if (enough[0] == 0) {
    shared.skip_reason = "needs " + std::to_string(host.local_size()) + " visible GPUs, found " +
                         std::to_string(visible) + (visible == 0 ? " (" + why_none + ")" : "");
    return;
  }
  StatusOr<int> device = comm::NcclCommunicator::LocalDevice(host);
  if (device.ok() && cudaSetDevice(*device) == cudaSuccess) {
    cudaStreamCreateWithFlags(&shared.compute, cudaStreamNonBlocking);
  }
  auto nccl = comm::NcclCommunicator::Create(host, shared.compute);  // Collective
  if (nccl.ok()) {
    shared.nccl = std::move(nccl).value();
  } else {
    shared.failure = "NcclCommunicator::Create failed with the GPUs there: " + nccl.status().message();
  }
}
}  // namespace

std::string CurrentTest() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return info == nullptr ? "?" : std::string(info->test_suite_name()) + "." + info->name();
}

std::string NeedsGpus(int needed, int found, const std::string& why_none) {
  return "SKIPPED: " + CurrentTest() + ": needs " + std::to_string(needed) + " visible GPUs, found " +
         std::to_string(found) + (why_none.empty() ? "" : " (" + why_none + ")");
}

comm::NcclCommunicator* NcclUnderTest(std::string* skip, std::string* failure) {
  Shared& shared = State();
  if (!shared.tried) {
    shared.tried = true;
    MakeNccl(shared);
  }
  if (!shared.skip_reason.empty()) *skip = "SKIPPED: " + CurrentTest() + ": " + shared.skip_reason;
  *failure = shared.failure;
  return shared.nccl.get();
}

void ReleaseNccl() {
  Shared& shared = State();
  shared.nccl.reset();  // Collective
  if (shared.compute != nullptr) cudaStreamDestroy(shared.compute);
  shared.compute = nullptr;
}

void RunOnNccl(const std::function<void(comm::Communicator&)>& body) {
  std::string skip, failure;
  comm::NcclCommunicator* nccl = NcclUnderTest(&skip, &failure);
  if (!failure.empty()) FAIL() << failure;
  if (nccl == nullptr) GTEST_SKIP() << skip;
  body(*nccl);
}

void NcclTest::SetUp() {
  std::string skip, failure;
  nccl_ = NcclUnderTest(&skip, &failure);
  if (!failure.empty()) FAIL() << failure;
  if (nccl_ == nullptr) GTEST_SKIP() << skip;
}

}  // namespace ectrain::testing
