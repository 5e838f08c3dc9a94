// What the NCCL tests share: the NcclCommunicator they run on (over the binary's TestComm(): a
// LocalCommunicator in comm_nccl_test, MPI in comm_nccl_mpi_test), the fixture that skips a test
// where this host shows fewer GPUs than it has ranks, and device arrays.
#pragma once

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "comm/nccl/nccl_communicator.h"

#define EXPECT_CUDA(call) EXPECT_EQ((call), cudaSuccess) << #call

namespace ectrain::testing {

// "Suite.Test" of the running test.
std::string CurrentTest();
// "SKIPPED: <test>: needs <needed> visible GPUs, found <found>" (and why none, where none).
std::string NeedsGpus(int needed, int found, const std::string& why_none = "");

// Collective over TestComm() on first use: the NcclCommunicator the tests share, on a compute
// stream of its own; null where a rank of this host lacks a GPU, with the "SKIPPED: " line in
// `skip`, or where Create failed although the GPUs are there, with its message in `failure`.
comm::NcclCommunicator* NcclUnderTest(std::string* skip, std::string* failure);
// Collective: destroys it (before MPI_Finalize; at the end of comm_nccl_test).
void ReleaseNccl();
// The contract suite's RunOnEveryRank for the NCCL backends: body(NcclUnderTest()), or the skip.
void RunOnNccl(const std::function<void(comm::Communicator&)>& body);

// Tests on NcclUnderTest(): skipped where it is null, failed where Create failed.
class NcclTest : public ::testing::Test {
 protected:
  void SetUp() override;
  comm::NcclCommunicator* nccl_ = nullptr;
};

// `count` elements of device memory, copied in and out on the communicator's compute stream (so in
// the order the model's kernels would see them).
template <typename T>
class DeviceArray {
 public:
  DeviceArray(size_t count, cudaStream_t stream) : count_(count), stream_(stream) {
    EXPECT_CUDA(cudaMalloc(reinterpret_cast<void**>(&data_), std::max<size_t>(count, 1) * sizeof(T)));
    EXPECT_CUDA(cudaMemsetAsync(data_, 0, std::max<size_t>(count, 1) * sizeof(T), stream_));
  }
  ~DeviceArray() { cudaFree(data_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;

  T* data() const { return data_; }
  size_t size() const { return count_; }
  std::span<T> span() const { return std::span<T>(data_, count_); }
  // Queued on the compute stream; `values` must live until the stream has passed the copy.
  void Upload(std::span<const T> values) {
    EXPECT_EQ(values.size(), count_);
    EXPECT_CUDA(cudaMemcpyAsync(data_, values.data(), count_ * sizeof(T), cudaMemcpyHostToDevice, stream_));
  }
  // After everything queued on the compute stream.
  std::vector<T> Download() const {
    std::vector<T> values(count_);
    EXPECT_CUDA(cudaMemcpyAsync(values.data(), data_, count_ * sizeof(T), cudaMemcpyDeviceToHost, stream_));
    EXPECT_CUDA(cudaStreamSynchronize(stream_));
    return values;
  }

 private:
  size_t count_;
  cudaStream_t stream_;
  T* data_ = nullptr;
};

}  // namespace ectrain::testing
