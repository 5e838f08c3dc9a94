// NcclCommunicator's device collectives and NcclBucketReducer on cudaMalloc'd buffers, at any world
// size (comm_nccl_test: 1 rank; comm_nccl_mpi_test: one rank per GPU under mpiexec). Values are
// small integers, so that the sums are exact in any order; results are read back on the compute
// stream, as the model's kernels would see them. Skipped where a rank has no GPU of its own.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <thread>
#include <vector>

#include "comm/bucket_reducer.h"
#include "comm_test_env.h"
#include "nccl_test_env.h"

namespace ectrain::comm {
namespace {
using ectrain::testing::DeviceArray;
using NcclDevice = ectrain::testing::NcclTest;

// Rank r's value at i in step `step`; the sum over n ranks is SumOf(i, step, n).
float ValueOf(int rank, size_t i, int step) { return static_cast<float>((rank + 1) * static_cast<int>(i % 7) + step); }
float SumOf(size_t i, int step, int n) {
  return static_cast<float>(static_cast<int>(i % 7) * n * (n + 1) / 2 + n * step);
}

std::vector<float> Values(int rank, size_t count, int step) {
  std::vector<float> values(count);
  for (size_t i = 0; i < count; ++i) values[i] = ValueOf(rank, i, step);
  return values;
}

// The index of the first value that is not the sum, or -1.
int64_t FirstWrongSum(const std::vector<float>& got, int step, int n) {
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] != SumOf(i, step, n)) return static_cast<int64_t>(i);
  }
  return -1;
}

// A host function on a stream holds the stream until the gate opens (or 20 s pass, so that a
// broken test fails instead of hanging).
struct Gate {
  std::atomic<bool> open{false};
  static void Hold(void* gate) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!static_cast<Gate*>(gate)->open.load() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
};

TEST_F(NcclDevice, BucketReducerSumsStartedAndReducedBuckets) {
  const int n = nccl_->size(), r = nccl_->rank();
  cudaStream_t stream = nccl_->compute_stream();
  std::unique_ptr<BucketReducer> reducer = nccl_->MakeBucketReducer();
  reducer->Reserve(2);
  DeviceArray<float> a(5, stream), b(300'001, stream), c(2, stream);
  for (int step = 0; step < 3; ++step) {  // the same events, re-recorded every step
    const std::vector<float> va = Values(r, a.size(), step), vb = Values(r, b.size(), step),
                             vc = Values(r, c.size(), step);
    a.Upload(va);
    b.Upload(vb);
    c.Upload(vc);
    reducer->Start(a.span());
    reducer->Start(b.span());
    reducer->Reduce(c.span());
    reducer->Wait();
    EXPECT_EQ(FirstWrongSum(a.Download(), step, n), -1) << "step " << step;
    EXPECT_EQ(FirstWrongSum(b.Download(), step, n), -1) << "step " << step;
    EXPECT_EQ(FirstWrongSum(c.Download(), step, n), -1) << "step " << step;
  }
}

// Start's all-reduce waits for what the compute stream had queued before it: here a copy held
// back behind a host function for 200 ms (from pinned memory, so that queueing it does not wait).
// Were it not ordered, NCCL would sum the zeros before it.
TEST_F(NcclDevice, StartWaitsForTheComputeStreamsWorkBeforeIt) {
  cudaStream_t stream = nccl_->compute_stream();
  std::unique_ptr<BucketReducer> reducer = nccl_->MakeBucketReducer();
  reducer->Reserve(1);
  DeviceArray<float> bucket(100'000, stream);
  const std::vector<float> values = Values(nccl_->rank(), bucket.size(), 4);
  float* pinned = nullptr;
  EXPECT_CUDA(cudaMallocHost(reinterpret_cast<void**>(&pinned), values.size() * sizeof(float)));
  if (pinned != nullptr) std::copy(values.begin(), values.end(), pinned);
  const float* source = pinned != nullptr ? pinned : values.data();  // every rank takes part either way
  EXPECT_CUDA(cudaStreamSynchronize(stream));                        // the zeros are in
  Gate gate;
  EXPECT_CUDA(cudaLaunchHostFunc(stream, &Gate::Hold, &gate));
  bucket.Upload(std::span<const float>(source, values.size()));
  reducer->Start(bucket.span());
  std::thread opener([&gate] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    gate.open = true;
  });
  reducer->Wait();
  opener.join();
  EXPECT_EQ(FirstWrongSum(bucket.Download(), 4, nccl_->size()), -1);
  if (pinned != nullptr) cudaFreeHost(pinned);
}

// AllReduceDevice returns once queued; the compute stream's copy after it sees the sums.
TEST_F(NcclDevice, AllReduceDeviceIsOrderedOnTheComputeStream) {
  DeviceArray<float> data(1'000'003, nccl_->compute_stream());
  const std::vector<float> values = Values(nccl_->rank(), data.size(), 2);
  data.Upload(values);
  nccl_->AllReduceDevice(data.data(), data.size());
  EXPECT_EQ(FirstWrongSum(data.Download(), 2, nccl_->size()), -1);
  nccl_->AllReduceDevice(data.data(), 0);  // nothing, and no error
  nccl_->Synchronize();
}

// Rank r contributes (3 r + 2) % 5 elements: 2 on rank 0, none on rank 1, uneven elsewhere.
template <typename T>
void CheckAllGatherV(NcclCommunicator& nccl, DataType type, const std::function<int64_t(int)>& count_of) {
  auto value_of = [](int r, int64_t i) { return static_cast<T>(r * 10 + i + 1); };
  std::vector<int64_t> counts(static_cast<size_t>(nccl.size()));
  const int64_t my_count = count_of(nccl.rank());
  nccl.AllGather(std::span<const int64_t>(&my_count, 1), counts);  // host
  std::vector<T> mine, want;
  for (int64_t i = 0; i < my_count; ++i) mine.push_back(value_of(nccl.rank(), i));
  for (int r = 0; r < nccl.size(); ++r) {
    for (int64_t i = 0; i < count_of(r); ++i) want.push_back(value_of(r, i));
  }
  DeviceArray<T> in(mine.size(), nccl.compute_stream()), out(want.size(), nccl.compute_stream());
  in.Upload(mine);
  nccl.AllGatherVDevice(in.data(), type, counts, out.data());
  EXPECT_EQ(out.Download(), want);
}

TEST_F(NcclDevice, AllGatherVDevicePlacesUnevenAndEmptyContributionsInRankOrder) {
  auto uneven = [](int r) { return static_cast<int64_t>((3 * r + 2) % 5); };
  CheckAllGatherV<float>(*nccl_, DataType::kFloat32, uneven);
  CheckAllGatherV<int64_t>(*nccl_, DataType::kInt64, uneven);
  CheckAllGatherV<uint8_t>(*nccl_, DataType::kUInt8, uneven);
  CheckAllGatherV<double>(*nccl_, DataType::kFloat64, [](int) { return int64_t{0}; });  // nobody sends
  nccl_->Synchronize();
}

TEST_F(NcclDevice, AllGatherVDeviceOfALargeContribution) {
  // Only the last rank sends, 1M ids (8 MB).
  CheckAllGatherV<int64_t>(*nccl_, DataType::kInt64,
                           [this](int r) { return r == nccl_->size() - 1 ? int64_t{1'000'000} : int64_t{0}; });
}

// Rank s sends rank d (s + 2 d + round) % 4 elements (zeros among them), valued by s, d and i; the
// receive counts through the host's AllToAllCounts, as a caller would.
template <typename T>
void CheckAllToAllV(NcclCommunicator& nccl, DataType type, int round) {
  const int n = nccl.size(), me = nccl.rank();
  auto count_of = [round](int s, int d) { return static_cast<int64_t>((s + 2 * d + round) % 4); };
  auto value_of = [](int s, int d, int64_t i) { return static_cast<T>(s * 40 + d * 8 + i + 1); };
  std::vector<int64_t> send_counts;
  std::vector<T> mine, want;
  for (int d = 0; d < n; ++d) {
    send_counts.push_back(count_of(me, d));
    for (int64_t i = 0; i < count_of(me, d); ++i) mine.push_back(value_of(me, d, i));
  }
  for (int s = 0; s < n; ++s) {
    for (int64_t i = 0; i < count_of(s, me); ++i) want.push_back(value_of(s, me, i));
  }
  const std::vector<int64_t> recv_counts = nccl.AllToAllCounts(send_counts);  // host
  DeviceArray<T> in(mine.size(), nccl.compute_stream()), out(want.size(), nccl.compute_stream());
  in.Upload(mine);
  nccl.AllToAllVDevice(in.data(), send_counts, type, out.data(), recv_counts);
  EXPECT_EQ(out.Download(), want) << "round " << round;
}

TEST_F(NcclDevice, AllToAllVDeviceDeliversWhatEachSourceSentInSourceOrder) {
  for (int round = 0; round < 4; ++round) {
    CheckAllToAllV<float>(*nccl_, DataType::kFloat32, round);
    CheckAllToAllV<int64_t>(*nccl_, DataType::kInt64, round);
    CheckAllToAllV<uint8_t>(*nccl_, DataType::kUInt8, round);
    CheckAllToAllV<double>(*nccl_, DataType::kFloat64, round);
  }
  const std::vector<int64_t> zeros(static_cast<size_t>(nccl_->size()), 0);
  nccl_->AllToAllVDevice(nullptr, zeros, DataType::kFloat32, nullptr, zeros);  // nothing, and no error
  nccl_->Synchronize();
}

// The row-sparse exchange is host bytes through the wrapped communicator: one Fill, one Read per
// rank in rank order.
TEST_F(NcclDevice, ExchangeRowsGathersHostBytesThroughTheHostCommunicator) {
  struct Rows final : GatherReader {
    int rank = 0, fills = 0;
    std::vector<int> readers;
    int64_t wrong = 0;
    void Fill(std::span<uint8_t> mine) override {
      ++fills;
      for (size_t i = 0; i < mine.size(); ++i) mine[i] = static_cast<uint8_t>(rank * 7 + i);
    }
    void Read(int from, std::span<const uint8_t> theirs) override {
      readers.push_back(from);
      if (theirs.size() != static_cast<size_t>(10 + from)) ++wrong;
      for (size_t i = 0; i < theirs.size(); ++i) wrong += theirs[i] != static_cast<uint8_t>(from * 7 + i);
    }
  } rows;
  rows.rank = nccl_->rank();
  std::unique_ptr<BucketReducer> reducer = nccl_->MakeBucketReducer();
  DeviceArray<float> bucket(10, nccl_->compute_stream());
  reducer->Reduce(bucket.span());  // before the rows, as GradSync does
  reducer->ExchangeRows(static_cast<size_t>(10 + nccl_->rank()), rows);
  std::vector<int> in_order(static_cast<size_t>(nccl_->size()));
  std::iota(in_order.begin(), in_order.end(), 0);
  EXPECT_EQ(rows.fills, 1);
  EXPECT_EQ(rows.readers, in_order);
  EXPECT_EQ(rows.wrong, 0);
}

// A wait past the stall timeout calls the handler once, on the waiting thread, and goes on: here
// the handler itself releases the compute stream the buckets wait for.
TEST_F(NcclDevice, StallHandlerHearsOfAWaitThatLasts) {
  cudaStream_t stream = nccl_->compute_stream();
  std::unique_ptr<BucketReducer> reducer = nccl_->MakeBucketReducer();
  reducer->Reserve(1);
  DeviceArray<float> bucket(1000, stream);
  const std::vector<float> values = Values(nccl_->rank(), bucket.size(), 1);
  bucket.Upload(values);
  Gate gate;
  EXPECT_CUDA(cudaLaunchHostFunc(stream, &Gate::Hold, &gate));
  int calls = 0;
  std::string operation;
  double waited = 0;
  nccl_->SetStallTimeout(0.05, [&](const std::string& what, double seconds) {
    ++calls;
    operation = what;
    waited = seconds;
    gate.open = true;
  });
  reducer->Start(bucket.span());
  reducer->Wait();
  nccl_->SetStallTimeout(std::numeric_limits<double>::infinity());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(operation, "the gradient buckets' all-reduces");
  EXPECT_GE(waited, 0.05);
  EXPECT_EQ(FirstWrongSum(bucket.Download(), 1, nccl_->size()), -1);
}

// More than one NcclCommunicator over the same host communicator, made and destroyed in turn.
TEST_F(NcclDevice, AnotherCommunicatorIsMadeAndDestroyed) {
  for (int round = 0; round < 2; ++round) {
    auto other = NcclCommunicator::Create(nccl_->target(), nccl_->compute_stream());  // Collective
    ASSERT_TRUE(other.ok()) << other.status().message();
    EXPECT_EQ((*other)->device(), nccl_->device());
    DeviceArray<float> data(64, nccl_->compute_stream());
    const std::vector<float> values = Values(nccl_->rank(), data.size(), round);
    data.Upload(values);
    (*other)->AllReduceDevice(data.data(), data.size());
    (*other)->Synchronize();
    EXPECT_EQ(FirstWrongSum(data.Download(), round, nccl_->size()), -1);
  }
}

}  // namespace
}  // namespace ectrain::comm
