// The CUDA kernels' code without a GPU: KernelSteps (kernels/cuda/kernel_steps.h) on a host device
// that runs each body of kernels/cuda/kernel_bodies.h over all its indices, splits sums as the
// GPU's grid does and computes the planned products with a plain column-major GEMM, checked call by
// call against the CPU reference (kernels_conformance.h). Built with g++, with or without CUDA.
#include "kernels/cuda/kernel_bodies.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/rng.h"
#include "kernels/cpu_kernels.h"
#include "kernels/cuda/kernel_steps.h"
#include "unit/kernels/kernels_conformance.h"

namespace ectrain::kernels::cuda {
namespace {

namespace conf = ::ectrain::kernels::conformance;

// KernelSteps' device on the host. Fails the test on what the GPU must never be asked: an empty
// launch, or a product cuBLAS would refuse.
struct HostDevice {
  struct State {
    double total = 0.0;
    int bad_label = 0;
    int64_t launches = 0;  // bodies run, sums, products and zeroings
  };
  State* state;

  Allocator& allocator() const { return HostAllocator(); }

  template <typename Body>
  void ForEach(const char* name, int64_t n, const Body& body) const {
    EXPECT_GT(n, 0) << name << ": an empty launch";
    ++state->launches;
    for (int64_t i = 0; i < n; ++i) body(i);
  }

  // As the device: kSumBlocks blocks at most, each thread's strided share, the blocks' partials
  // added by one block's threads.
  template <typename Term>
  void Sum(const char* name, int64_t n, const Term& term, float* add_to) const {
    EXPECT_GT(n, 0) << name << ": an empty sum";
    ++state->launches;
    const int64_t blocks = std::min<int64_t>((n + kThreadsPerBlock - 1) / kThreadsPerBlock, kSumBlocks);
    const int64_t threads = blocks * kThreadsPerBlock;
    std::vector<double> partials(static_cast<size_t>(blocks), 0.0);
    for (int64_t t = 0; t < threads; ++t) partials[t / kThreadsPerBlock] += bodies::StridedSum(term, n, t, threads);
    double total = 0.0;
    for (int64_t t = 0; t < kThreadsPerBlock; ++t) {
      total += bodies::StridedSum(bodies::Partial{partials.data()}, blocks, t, kThreadsPerBlock);
    }
    state->total = total;
    if (add_to != nullptr) *add_to = static_cast<float>(*add_to + total);
  }

  double ReadSum(int* bad_label) const {
    if (bad_label != nullptr) *bad_label = state->bad_label;
    return state->total;
  }
  int* BadLabelFlag() const { return &state->bad_label; }
  void ClearBadLabel() const { state->bad_label = 0; }

  // cuBLAS's SGEMM, column-major, alpha 1, after the argument checks it makes.
  void Gemm(const bodies::Gemm& g) const {
    ++state->launches;
    ASSERT_TRUE(g.m > 0 && g.n > 0 && g.k > 0) << "a product over nothing: m=" << g.m << " n=" << g.n << " k=" << g.k;
    EXPECT_GE(g.lda, g.transpose_a ? g.k : g.m) << "lda";
    EXPECT_GE(g.ldb, g.transpose_b ? g.n : g.k) << "ldb";
    EXPECT_GE(g.ldc, g.m) << "ldc";
    for (int64_t j = 0; j < g.n; ++j) {
      for (int64_t i = 0; i < g.m; ++i) {
        float sum = 0.0f;
        for (int64_t l = 0; l < g.k; ++l) {
          const float a = g.transpose_a ? g.a[l + i * g.lda] : g.a[i + l * g.lda];
          const float b = g.transpose_b ? g.b[j + l * g.ldb] : g.b[l + j * g.ldb];
          sum += a * b;
        }
        float& c = g.c[i + j * g.ldc];
        c = g.beta == 0.0f ? sum : sum + g.beta * c;  // beta 0: C is not read (BLAS)
      }
    }
  }

  void Zero(float* x, int64_t n) const {
    EXPECT_GT(n, 0) << "an empty zeroing";
    ++state->launches;
    std::fill(x, x + n, 0.0f);
  }

  void CopyToHost(void* host, const void* src, size_t bytes) const { std::memcpy(host, src, bytes); }
};

class KernelBodies : public ::testing::Test {
 protected:
  HostDevice::State state_;
  const KernelSteps<HostDevice> kernels_{HostDevice{&state_}};
};

constexpr int kSeeds = 40;  // random shapes per check: each has some empty batches and edge cases

TEST_F(KernelBodies, PlumbingMatchesTheCpu) {
  for (int seed = 0; seed < kSeeds; ++seed) conf::CheckPlumbing(kernels_, seed);
}

TEST_F(KernelBodies, DenseLayersPlanProductsThatMatchTheCpu) {
  for (int seed = 0; seed < kSeeds; ++seed) conf::CheckDense(kernels_, seed);
}

TEST_F(KernelBodies, ReluMatchesTheCpu) {
  for (int seed = 0; seed < kSeeds; ++seed) conf::CheckRelu(kernels_, seed);
}

TEST_F(KernelBodies, EmbeddingsAndRaggedBagsMatchTheCpu) {
  for (int seed = 0; seed < kSeeds; ++seed) conf::CheckEmbeddings(kernels_, seed);
}

TEST_F(KernelBodies, DropoutMasksAreTheCpusBitForBit) {
  for (int seed = 0; seed < kSeeds; ++seed) conf::CheckDropout(kernels_, seed);
}

TEST_F(KernelBodies, LayerNormMatchesTheCpu) {
  for (int seed = 0; seed < kSeeds; ++seed) conf::CheckLayerNorm(kernels_, seed);
}

TEST_F(KernelBodies, FmAndDotInteractionsMatchTheCpu) {
  for (int seed = 0; seed < kSeeds; ++seed) conf::CheckInteractions(kernels_, seed);
}

TEST_F(KernelBodies, CrossLayerAndRowDotMatchTheCpu) {
  for (int seed = 0; seed < kSeeds; ++seed) conf::CheckCrossLayerAndRowDot(kernels_, seed);
}

TEST_F(KernelBodies, LossesMatchTheCpu) {
  for (int seed = 0; seed < kSeeds; ++seed) conf::CheckLosses(kernels_, seed);
}

TEST_F(KernelBodies, OptimizerStepsDenseAndRowSparseMatchTheCpu) {
  for (int seed = 0; seed < kSeeds; ++seed) conf::CheckOptimizers(kernels_, seed);
}

TEST_F(KernelBodies, ZeroSizeCallsLaunchNothing) {
  conf::CheckZeroSizeCalls(kernels_);
  EXPECT_EQ(state_.launches, 0);
}

TEST_F(KernelBodies, ALabelThatIsNotAClassIdStopsTheJob) {
  EXPECT_DEATH(conf::CallSoftmaxWithLabel(kernels_, 3.0f), "label 3 is not a class id in \\[0, 3\\)");
  EXPECT_DEATH(conf::CallSoftmaxWithLabel(kernels_, -1.0f), "label -1 is not a class id");
  EXPECT_DEATH(conf::CallSoftmaxWithLabel(kernels_, 0.5f), "label 0.5 is not a class id");
}

// --- The pieces, one by one.

TEST(KernelBodyPieces, MixKeyIsTheCpus) {
  Rng rng(5);
  for (int i = 0; i < 1000; ++i) {
    const uint64_t key = rng.NextU64(), counter = i < 500 ? static_cast<uint64_t>(i) : rng.NextU64();
    ASSERT_EQ(bodies::MixKey(key, counter), kernels::MixKey(key, counter));
  }
}

TEST(KernelBodyPieces, PairIndexCountsPairsInTheCpusOrder) {
  for (int64_t fields = 2; fields <= 9; ++fields) {
    int64_t expected = 0;
    for (int64_t i = 0; i < fields; ++i) {
      for (int64_t j = i + 1; j < fields; ++j) EXPECT_EQ(bodies::PairIndex(i, j, fields), expected++);
    }
  }
}

TEST(KernelBodyPieces, ClassIdAcceptsExactlyTheClassIds) {
  for (int64_t id = 0; id < 5; ++id) EXPECT_EQ(bodies::ClassId(static_cast<float>(id), 5), id);
  for (const float label : {-1.0f, 5.0f, 6.0f, 0.5f, 4.5f, -0.5f, std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()}) {
    EXPECT_EQ(bodies::ClassId(label, 5), -1) << label;
  }
  EXPECT_EQ(bodies::ClassId(0.0f, 0), -1);  // no classes: no id
}

TEST(KernelBodyPieces, StridedSumsAddEveryTermOnce) {
  struct Index {
    double operator()(int64_t i) const { return static_cast<double>(i + 1); }
  };
  for (const int64_t n : {0, 1, 5, 255, 256, 257, 4096, 100003}) {
    for (const int64_t threads : {1, 3, 256, 512 * 256}) {
      double sum = 0.0;
      for (int64_t t = 0; t < threads; ++t) sum += bodies::StridedSum(Index{}, n, t, threads);
      EXPECT_EQ(sum, static_cast<double>(n) * (n + 1) / 2) << "n=" << n << " threads=" << threads;
    }
  }
}

TEST(KernelBodyPieces, ArenaIndexFindsDenseAndSparseRows) {
  const int64_t rows[] = {4, 0, 2};
  const RowSpan sparse{rows, 3, 10, 5};
  EXPECT_EQ(bodies::SpanElements(sparse), 15);
  EXPECT_EQ(bodies::ArenaIndex(sparse, 0), 10 + 4 * 5);
  EXPECT_EQ(bodies::ArenaIndex(sparse, 6), 10 + 0 * 5 + 1);
  EXPECT_EQ(bodies::ArenaIndex(sparse, 14), 10 + 2 * 5 + 4);
  const RowSpan dense{nullptr, 7, 10, 5};  // num_rows is not read without row ids
  EXPECT_EQ(bodies::SpanElements(dense), 5);
  EXPECT_EQ(bodies::ArenaIndex(dense, 3), 13);
}

}  // namespace
}  // namespace ectrain::kernels::cuda
