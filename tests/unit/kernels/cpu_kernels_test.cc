// Finite-difference checks of every CPU kernel's backward, and forward values by hand.
#include "kernels/cpu_kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "core/rng.h"

namespace ectrain::kernels {
namespace {

std::vector<float> RandomVector(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(rng.Uniform(-1.0, 1.0));
  return v;
}

// Central differences of a scalar function of `x`, in double so float rounding stays small.
std::vector<double> NumericGradient(std::vector<float>& x, const std::function<double()>& f) {
  std::vector<double> g(x.size());
  const float h = 1e-2f;
  for (size_t i = 0; i < x.size(); ++i) {
    float saved = x[i];
    x[i] = saved + h;
    double up = f();
    x[i] = saved - h;
    double down = f();
    x[i] = saved;
    g[i] = (up - down) / (2.0 * h);
  }
  return g;
}

void ExpectClose(const std::vector<float>& analytic, const std::vector<double>& numeric, double tol) {
  ASSERT_EQ(analytic.size(), numeric.size());
  for (size_t i = 0; i < analytic.size(); ++i) {
    EXPECT_NEAR(analytic[i], numeric[i], tol * (1.0 + std::fabs(numeric[i]))) << "element " << i;
  }
}

TEST(DenseKernels, ForwardMatchesHandComputed) {
  // x (1, 2) = [1, 2]; w (2, 2) = [[1, 2], [3, 4]]; b = [0.5, -1]
  std::vector<float> x{1, 2}, w{1, 2, 3, 4}, b{0.5f, -1}, y(2);
  DenseForward(x.data(), w.data(), b.data(), 1, 2, 2, y.data());
  EXPECT_FLOAT_EQ(y[0], 1 * 1 + 2 * 3 + 0.5f);
  EXPECT_FLOAT_EQ(y[1], 1 * 2 + 2 * 4 - 1.0f);
}

TEST(DenseKernels, BackwardMatchesFiniteDifferences) {
  const int64_t batch = 3, in = 4, out = 5;
  auto x = RandomVector(batch * in, 1), w = RandomVector(in * out, 2), b = RandomVector(out, 3);
  auto r = RandomVector(batch * out, 4);  // loss = sum(r * y) makes dy = r
  auto loss = [&] {
    std::vector<float> y(batch * out);
    DenseForward(x.data(), w.data(), b.data(), batch, in, out, y.data());
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) s += static_cast<double>(r[i]) * y[i];
    return s;
  };
  std::vector<float> dw(in * out, 0.0f), db(out, 0.0f), dx(batch * in, 0.0f);
  DenseBackward(x.data(), w.data(), r.data(), batch, in, out, dw.data(), db.data(), dx.data());
  ExpectClose(dw, NumericGradient(w, loss), 1e-3);
  ExpectClose(db, NumericGradient(b, loss), 1e-3);
  ExpectClose(dx, NumericGradient(x, loss), 1e-3);
}

TEST(DenseKernels, BackwardAccumulatesIntoWeightGradients) {
  std::vector<float> x{1, 1}, w{1, 1}, dy{2, 3}, dw{10}, db{100};
  DenseBackward(x.data(), w.data(), dy.data(), 2, 1, 1, dw.data(), db.data(), nullptr);
  EXPECT_FLOAT_EQ(dw[0], 10 + 2 + 3);
  EXPECT_FLOAT_EQ(db[0], 100 + 2 + 3);
}

TEST(ReluKernels, ForwardAndBackward) {
  std::vector<float> y{-2, 0, 3};
  ReluForward(y.data(), 3);
  EXPECT_EQ(y, (std::vector<float>{0, 0, 3}));
  std::vector<float> dy{5, 6, 7};
  ReluBackward(y.data(), dy.data(), 3);
  EXPECT_EQ(dy, (std::vector<float>{0, 0, 7}));
}

TEST(ReluKernels, BackwardMatchesFiniteDifferences) {
  auto x = RandomVector(20, 5);
  for (auto& v : x) v += (v > 0 ? 0.1f : -0.1f);  // keep away from the kink
  auto r = RandomVector(20, 6);
  auto loss = [&] {
    std::vector<float> y = x;
    ReluForward(y.data(), 20);
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) s += static_cast<double>(r[i]) * y[i];
    return s;
  };
  std::vector<float> y = x;
  ReluForward(y.data(), 20);
  std::vector<float> dx = r;
  ReluBackward(y.data(), dx.data(), 20);
  ExpectClose(dx, NumericGradient(x, loss), 1e-3);
}

TEST(EmbeddingKernels, GatherAndScatterAddAreAdjoint) {
  const int64_t vocab = 5, dim = 3, batch = 4, fields = 2;
  auto table = RandomVector(vocab * dim, 7);
  std::vector<int32_t> ids{0, 4, 2, 4, 4, 1, 3, 0};  // (batch, fields); field 1 = column 1
  const int64_t out_width = 2 * dim + 1;
  auto r = RandomVector(batch * out_width, 8);
  auto loss = [&] {
    std::vector<float> out(batch * out_width, 0.0f);
    EmbeddingGather(ids.data() + 1, fields, batch, table.data(), dim, out.data(), out_width, dim);
    double s = 0;
    for (size_t i = 0; i < out.size(); ++i) s += static_cast<double>(r[i]) * out[i];
    return s;
  };
  std::vector<float> dtable(vocab * dim, 0.0f);
  EmbeddingScatterAdd(ids.data() + 1, fields, batch, r.data(), out_width, dim, dim, dtable.data());
  ExpectClose(dtable, NumericGradient(table, loss), 1e-3);
  // Field 1 holds ids 4, 4, 1, 0 in rows 0..3.
  std::vector<float> out(batch * out_width, 0.0f);
  EmbeddingGather(ids.data() + 1, fields, batch, table.data(), dim, out.data(), out_width, dim);
  EXPECT_FLOAT_EQ(out[0 * out_width + dim], table[4 * dim]);
  EXPECT_FLOAT_EQ(out[3 * out_width + dim + 2], table[0 * dim + 2]);
}

TEST(EmbeddingKernels, BagMeanAndItsBackwardAreAdjoint) {
  const int64_t vocab = 6, dim = 3, batch = 4;
  auto table = RandomVector(vocab * dim, 9);
  const std::vector<int64_t> offsets{0, 3, 3, 4, 6};  // rows with 3, 0, 1 and 2 ids
  const std::vector<int32_t> ids{5, 1, 5, 2, 0, 4};
  const int64_t out_width = dim + 2;
  auto r = RandomVector(batch * out_width, 10);
  auto loss = [&] {
    std::vector<float> out(batch * out_width, 7.0f);
    EmbeddingBagMean(offsets.data(), ids.data(), batch, table.data(), dim, out.data(), out_width, 1);
    double s = 0;
    for (int64_t row = 0; row < batch; ++row) {
      for (int64_t c = 1; c <= dim; ++c) s += static_cast<double>(r[row * out_width + c]) * out[row * out_width + c];
    }
    return s;
  };
  std::vector<float> dtable(vocab * dim, 0.0f);
  EmbeddingBagMeanBackward(offsets.data(), ids.data(), batch, r.data(), out_width, 1, dim, dtable.data());
  ExpectClose(dtable, NumericGradient(table, loss), 1e-3);
  std::vector<float> out(batch * out_width, 7.0f);
  EmbeddingBagMean(offsets.data(), ids.data(), batch, table.data(), dim, out.data(), out_width, 1);
  EXPECT_FLOAT_EQ(out[0 * out_width + 1], (2 * table[5 * dim] + table[1 * dim]) / 3);  // a repeated id counts twice
  EXPECT_FLOAT_EQ(out[1 * out_width + 2], 0.0f) << "a row without ids pools to zeros";
  EXPECT_FLOAT_EQ(out[1 * out_width + 0], 7.0f) << "columns outside the field are left alone";
  EXPECT_FLOAT_EQ(out[2 * out_width + 3], table[2 * dim + 2]);
}

TEST(BceWithLogits, MatchesDefinitionAndIsStableForLargeLogits) {
  std::vector<float> z{0.0f, 2.0f, -3.0f}, y{1.0f, 0.0f, 1.0f};
  double expected = 0;
  for (int i = 0; i < 3; ++i) {
    double p = 1.0 / (1.0 + std::exp(-static_cast<double>(z[i])));
    expected += -(y[i] * std::log(p) + (1 - y[i]) * std::log(1 - p));
  }
  EXPECT_NEAR(BceWithLogits(z.data(), y.data(), 3, 1.0f, nullptr), expected, 1e-5);
  std::vector<float> big{100.0f, -100.0f}, labels{0.0f, 1.0f};
  double loss = BceWithLogits(big.data(), labels.data(), 2, 1.0f, nullptr);
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_NEAR(loss, 200.0, 1e-3);
}

TEST(BceWithLogits, GradientMatchesFiniteDifferences) {
  auto z = RandomVector(6, 9);
  std::vector<float> y{0, 1, 1, 0, 0.3f, 1};
  std::vector<float> dz(6);
  BceWithLogits(z.data(), y.data(), 6, 0.5f, dz.data());
  auto loss = [&] { return 0.5 * BceWithLogits(z.data(), y.data(), 6, 1.0f, nullptr); };
  ExpectClose(dz, NumericGradient(z, loss), 1e-3);
}

}  // namespace
}  // namespace ectrain::kernels
