// CudaKernels on a GPU against the CPU reference, call by call on random shapes (the checks:
// tests/unit/kernels/kernels_conformance.h), and CudaAllocator. Where no GPU is visible each test
// skips, saying "SKIPPED: " (ctest counts it skipped); device discovery and the refusal of a
// missing device run everywhere.
// Tolerances, relative to 1 + |CPU value| (kernels_conformance.h says more): exact for copies,
// gathers, bag pooling forward and dropout masks (same operations in the same order; the mask is
// the same integer hash); 1e-5 for elementwise formulas (nvcc fuses a * b + c into one FMA; the
// device's expf/log1pf differ from glibc's and Eigen's by a few ulp); 1e-4 for sums taken in
// another order (cuBLAS against OpenBLAS, one thread per row against Eigen's vector lanes, atomics
// in arrival order, double reductions against the CPU's float ones).
#include "kernels/cuda/cuda_kernels.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "unit/kernels/kernels_conformance.h"

namespace ectrain::kernels::cuda {
namespace {

namespace conf = ::ectrain::kernels::conformance;

std::string NoGpu() {
  return std::string("SKIPPED: ") + ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name() + "." +
         ::testing::UnitTest::GetInstance()->current_test_info()->name() +
         ": no GPU visible (VisibleDevices() == 0: no CUDA driver or no device)";
}

class CudaKernelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (VisibleDevices() == 0) GTEST_SKIP() << NoGpu();
    kernels_ = std::make_unique<CudaKernels>(0);
  }
  const Kernels& gpu() const { return *kernels_; }

  std::unique_ptr<CudaKernels> kernels_;
};

constexpr int kSeeds = 40;  // random shapes per check: each has some empty batches and edge cases

TEST_F(CudaKernelsTest, PlumbingMatchesTheCpu) {
  for (int seed = 0; seed < kSeeds; ++seed) conf::CheckPlumbing(gpu(), seed);
}

TEST_F(CudaKernelsTest, DenseLayersMatchTheCpu) {
  for (int seed = 0; seed < kSeeds; ++seed) conf::CheckDense(gpu(), seed);
}

TEST_F(CudaKernelsTest, ReluMatchesTheCpu) {
  for (int seed = 0; seed < kSeeds; ++seed) conf::CheckRelu(gpu(), seed);
}

TEST_F(CudaKernelsTest, EmbeddingsAndRaggedBagsMatchTheCpu) {
  for (int seed = 0; seed < kSeeds; ++seed) conf::CheckEmbeddings(gpu(), seed);
}

TEST_F(CudaKernelsTest, DropoutMasksAreTheCpusBitForBit) {
  for (int seed = 0; seed < kSeeds; ++seed) conf::CheckDropout(gpu(), seed);
}

TEST_F(CudaKernelsTest, LayerNormMatchesTheCpu) {
  for (int seed = 0; seed < kSeeds; ++seed) conf::CheckLayerNorm(gpu(), seed);
}

TEST_F(CudaKernelsTest, FmAndDotInteractionsMatchTheCpu) {
  for (int seed = 0; seed < kSeeds; ++seed) conf::CheckInteractions(gpu(), seed);
}

TEST_F(CudaKernelsTest, CrossLayerAndRowDotMatchTheCpu) {
  for (int seed = 0; seed < kSeeds; ++seed) conf::CheckCrossLayerAndRowDot(gpu(), seed);
}

TEST_F(CudaKernelsTest, LossesMatchTheCpu) {
  for (int seed = 0; seed < kSeeds; ++seed) conf::CheckLosses(gpu(), seed);
}

TEST_F(CudaKernelsTest, OptimizerStepsDenseAndRowSparseMatchTheCpu) {
  for (int seed = 0; seed < kSeeds; ++seed) conf::CheckOptimizers(gpu(), seed);
}

TEST_F(CudaKernelsTest, ZeroSizeCallsChangeNothing) { conf::CheckZeroSizeCalls(gpu()); }

// Large enough for many blocks, grid-stride loops and every partial sum of a reduction.
TEST_F(CudaKernelsTest, LargeCallsMatchTheCpu) {
  const int64_t n = int64_t{3} << 20;
  conf::Shapes s(99);
  conf::Twin<float> x(gpu(), s.Floats(n)), y(gpu(), s.Floats(n)), sum(gpu(), {0.0f});
  Cpu().Add(x.host(), y.host(), n);
  gpu().Add(x.tested(), y.tested(), n);
  conf::ExpectMatch(y, conf::kExact, "Add");
  // Sums of millions of terms: the CPU's float SquaredNorm drifts by more than kSummed from
  // the exact sum, so compare with one in double.
  double exact = 0.0;
  for (const float v : x.cpu()) exact += static_cast<double>(v) * v;
  conf::ExpectSum(gpu().SquaredNorm(x.tested(), n), exact, 1e-9, "SquaredNorm");
  gpu().AddSum(x.tested(), n, sum.tested());
  double total = 0.0;
  for (const float v : x.cpu()) total += v;
  conf::ExpectSum(sum.Read()[0], total, 1e-6, "AddSum (a double sum, rounded once to float)");
}

TEST_F(CudaKernelsTest, ALabelThatIsNotAClassIdStopsTheJob) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // a fresh process: no CUDA context across fork
  EXPECT_DEATH(conf::CallSoftmaxWithLabel(gpu(), 3.0f), "label 3 is not a class id in \\[0, 3\\)");
  EXPECT_DEATH(conf::CallSoftmaxWithLabel(gpu(), 0.5f), "label 0.5 is not a class id");
}

TEST_F(CudaKernelsTest, StreamAndDeviceAreTheOnesAskedFor) {
  EXPECT_NE(kernels_->stream(), nullptr);
  EXPECT_EQ(kernels_->device_ordinal(), 0);
  EXPECT_EQ(gpu().device(), DeviceKind::kCuda);
  EXPECT_FALSE(DeviceName(0).empty());
}

// --- CudaAllocator.

TEST_F(CudaKernelsTest, AllocatorGivesZeroedMemoryAndCopiesBothWays) {
  Allocator& memory = gpu().allocator();
  const size_t n = 1000;
  auto* p = static_cast<float*>(memory.Allocate(n * sizeof(float)));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
  std::vector<float> host(n, 1.0f);
  memory.CopyToHost(host.data(), p, n * sizeof(float));
  EXPECT_EQ(host, std::vector<float>(n, 0.0f));
  for (size_t i = 0; i < n; ++i) host[i] = static_cast<float>(i);
  memory.CopyFromHost(p, host.data(), n * sizeof(float));
  std::vector<float> back(n);
  memory.CopyToHost(back.data(), p, n * sizeof(float));
  EXPECT_EQ(back, host);
  memory.Zero(p, n * sizeof(float));
  memory.CopyToHost(back.data(), p, n * sizeof(float));
  EXPECT_EQ(back, std::vector<float>(n, 0.0f));
  memory.Free(p, n * sizeof(float));
  memory.Free(nullptr, 0);
}

TEST_F(CudaKernelsTest, CopiesWaitForTheKernelsQueuedBefore) {
  Allocator& memory = gpu().allocator();
  const int64_t n = int64_t{16} << 20;
  auto* p = static_cast<float*>(memory.Allocate(n * sizeof(float)));
  for (int round = 1; round <= 3; ++round) {
    gpu().Fill(p, n, static_cast<float>(round));
    float last = 0.0f;
    memory.CopyToHost(&last, p + n - 1, sizeof(float));
    EXPECT_EQ(last, static_cast<float>(round));
  }
  memory.Free(p, n * sizeof(float));
}

TEST_F(CudaKernelsTest, AnAllocationLargerThanTheGpuThrowsBadAllocAndLeavesItUsable) {
  Allocator& memory = gpu().allocator();
  EXPECT_THROW(memory.Allocate(size_t{1} << 50), std::bad_alloc);
  conf::Twin<float> x(gpu(), {3.0f, 4.0f});
  EXPECT_EQ(gpu().SquaredNorm(x.tested(), 2), 25.0);
}

// --- Device discovery: runs with or without a GPU.

TEST(CudaDevices, DiscoveryNeverFailsAndNamesOnlyVisibleDevices) {
  const int visible = VisibleDevices();
  EXPECT_GE(visible, 0);
  EXPECT_EQ(VisibleDevices(), visible);
  for (int ordinal = 0; ordinal < visible; ++ordinal) EXPECT_FALSE(DeviceName(ordinal).empty()) << ordinal;
  EXPECT_EQ(DeviceName(visible), "");
  EXPECT_EQ(DeviceName(-1), "");
}

TEST(CudaDevices, KernelsOnADeviceThatIsNotVisibleStopWithAClearMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(CudaKernels kernels(VisibleDevices()), "CUDA device [0-9]+ is not visible: this process sees");
  EXPECT_DEATH(CudaKernels kernels(-1), "CUDA device -1 is not visible");
}

}  // namespace
}  // namespace ectrain::kernels::cuda
