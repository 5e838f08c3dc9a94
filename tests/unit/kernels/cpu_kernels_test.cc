// Finite-difference checks of every CPU kernel's backward, and forward values by hand.
#include "kernels/cpu_kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
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

// Sum of r * y over a buffer: a loss whose gradient with respect to y is r.
double Weighted(const std::vector<float>& r, const std::vector<float>& y) {
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += static_cast<double>(r[i]) * y[i];
  return s;
}

TEST(EmbeddingKernels, BagSumAndItsBackwardAreAdjoint) {
  const int64_t vocab = 6, dim = 2, batch = 3;
  auto table = RandomVector(vocab * dim, 11);
  const std::vector<int64_t> offsets{0, 2, 2, 5};
  const std::vector<int32_t> ids{3, 3, 0, 5, 1};
  auto r = RandomVector(batch * dim, 12);
  auto loss = [&] {
    std::vector<float> out(batch * dim);
    EmbeddingBagSum(offsets.data(), ids.data(), batch, table.data(), dim, out.data(), dim, 0);
    return Weighted(r, out);
  };
  std::vector<float> dtable(vocab * dim, 0.0f);
  EmbeddingBagSumBackward(offsets.data(), ids.data(), batch, r.data(), dim, 0, dim, dtable.data());
  ExpectClose(dtable, NumericGradient(table, loss), 1e-3);
  std::vector<float> out(batch * dim, 7.0f);
  EmbeddingBagSum(offsets.data(), ids.data(), batch, table.data(), dim, out.data(), dim, 0);
  EXPECT_FLOAT_EQ(out[0], 2 * table[3 * dim]);
  EXPECT_FLOAT_EQ(out[2], 0.0f) << "a row without ids pools to zeros";
  EXPECT_FLOAT_EQ(out[5], table[0 * dim + 1] + table[5 * dim + 1] + table[1 * dim + 1]);
}

TEST(SigmoidKernels, ForwardAndBackwardMatchFiniteDifferences) {
  auto x = RandomVector(10, 13);
  for (auto& v : x) v *= 4;
  auto r = RandomVector(10, 14);
  auto loss = [&] {
    std::vector<float> y(10);
    SigmoidForward(x.data(), y.data(), 10);
    return Weighted(r, y);
  };
  std::vector<float> y(10);
  SigmoidForward(x.data(), y.data(), 10);
  EXPECT_NEAR(y[0], 1.0 / (1.0 + std::exp(-static_cast<double>(x[0]))), 1e-6);
  std::vector<float> dx = r;
  SigmoidBackward(y.data(), dx.data(), 10);
  ExpectClose(dx, NumericGradient(x, loss), 1e-3);
}

TEST(DropoutKernels, MaskIsReproducibleScaledAndDropsAboutTheRate) {
  const int64_t rows = 200, width = 50;
  std::vector<float> a(rows * width), b(rows * width), c(rows * width);
  DropoutMask(MixKey(7, 3), rows, width, 0.25f, a.data());
  DropoutMask(MixKey(7, 3), rows, width, 0.25f, b.data());
  DropoutMask(MixKey(7, 4), rows, width, 0.25f, c.data());
  EXPECT_EQ(a, b) << "the same key gives the same mask";
  EXPECT_NE(a, c) << "another step gives another mask";
  int64_t dropped = 0;
  for (float m : a) {
    ASSERT_TRUE(m == 0.0f || m == 1.0f / 0.75f) << m;
    dropped += m == 0.0f;
  }
  EXPECT_NEAR(static_cast<double>(dropped) / (rows * width), 0.25, 0.02);
  // A row's mask depends on its index only, not on how many rows came before it in the call.
  std::vector<float> head(3 * width);
  DropoutMask(MixKey(7, 3), 3, width, 0.25f, head.data());
  EXPECT_TRUE(std::equal(head.begin(), head.end(), a.begin()));
  std::vector<float> none(width);
  DropoutMask(1, 1, width, 0.0f, none.data());
  for (float m : none) EXPECT_EQ(m, 1.0f);
}

TEST(DropoutKernels, BackwardIsTheSameMaskAndMatchesFiniteDifferences) {
  const int64_t n = 40;
  std::vector<float> mask(n);
  DropoutMask(99, 4, 10, 0.5f, mask.data());
  auto x = RandomVector(n, 15);
  auto r = RandomVector(n, 16);
  auto loss = [&] {
    std::vector<float> y = x;
    ScaleBy(y.data(), mask.data(), n);
    return Weighted(r, y);
  };
  std::vector<float> dx = r;
  ScaleBy(dx.data(), mask.data(), n);
  ExpectClose(dx, NumericGradient(x, loss), 1e-3);
}

TEST(LayerNormKernels, NormalisesRowsAndMatchesFiniteDifferences) {
  const int64_t rows = 3, width = 5;
  auto x = RandomVector(rows * width, 17), gamma = RandomVector(width, 18), beta = RandomVector(width, 19);
  auto r = RandomVector(rows * width, 20);
  std::vector<float> y(rows * width), xhat(rows * width), inv_std(rows);
  auto loss = [&] {
    LayerNormForward(x.data(), gamma.data(), beta.data(), rows, width, 1e-5f, y.data(), xhat.data(), inv_std.data());
    return Weighted(r, y);
  };
  loss();
  for (int64_t row = 0; row < rows; ++row) {
    double mean = 0, var = 0;
    for (int64_t c = 0; c < width; ++c) mean += xhat[row * width + c] / width;
    for (int64_t c = 0; c < width; ++c) var += (xhat[row * width + c] - mean) * (xhat[row * width + c] - mean) / width;
    EXPECT_NEAR(mean, 0.0, 1e-5);
    EXPECT_NEAR(var, 1.0, 1e-3);
  }
  std::vector<float> dgamma(width, 0.0f), dbeta(width, 0.0f), dx(rows * width);
  LayerNormBackward(xhat.data(), inv_std.data(), gamma.data(), r.data(), rows, width, dgamma.data(), dbeta.data(),
                    dx.data());
  ExpectClose(dx, NumericGradient(x, loss), 2e-3);
  ExpectClose(dgamma, NumericGradient(gamma, loss), 1e-3);
  ExpectClose(dbeta, NumericGradient(beta, loss), 1e-3);
}

TEST(FmInteraction, EqualsTheSumOfPairwiseDotsAndMatchesFiniteDifferences) {
  const int64_t rows = 3, fields = 4, dim = 3, stride = fields * dim + 2;  // two columns outside the fields
  auto x = RandomVector(rows * stride, 21);
  std::vector<float> out(rows);
  FmInteractionForward(x.data(), stride, 1, rows, fields, dim, out.data());
  for (int64_t r = 0; r < rows; ++r) {
    double pairs = 0;
    for (int64_t f = 0; f < fields; ++f) {
      for (int64_t g = f + 1; g < fields; ++g) {
        for (int64_t k = 0; k < dim; ++k) pairs += x[r * stride + 1 + f * dim + k] * x[r * stride + 1 + g * dim + k];
      }
    }
    EXPECT_NEAR(out[r], pairs, 1e-5);
  }
  auto weights = RandomVector(rows, 22);
  auto loss = [&] {
    std::vector<float> o(rows);
    FmInteractionForward(x.data(), stride, 1, rows, fields, dim, o.data());
    return Weighted(weights, o);
  };
  std::vector<float> dx(rows * stride, 0.0f);
  FmInteractionBackward(x.data(), stride, 1, rows, fields, dim, weights.data(), dx.data());
  ExpectClose(dx, NumericGradient(x, loss), 1e-3);
}

TEST(DotInteraction, WritesEveryPairwiseDotInOrderAndMatchesFiniteDifferences) {
  // Two columns before the fields and one after, in x; the pairs land after one column of out.
  const int64_t rows = 3, fields = 4, dim = 3, stride = 2 + fields * dim + 1, pairs = fields * (fields - 1) / 2;
  const int64_t out_stride = 1 + pairs + 2;
  auto x = RandomVector(rows * stride, 40);
  auto v = [&](int64_t r, int64_t f, int64_t k) { return static_cast<double>(x[r * stride + 2 + f * dim + k]); };
  std::vector<float> out(rows * out_stride, 7.0f);
  DotInteractionForward(x.data(), stride, 2, rows, fields, dim, out.data(), out_stride, 1);
  for (int64_t r = 0; r < rows; ++r) {
    int64_t p = 0;
    for (int64_t i = 0; i < fields; ++i) {
      for (int64_t j = i + 1; j < fields; ++j, ++p) {
        double dot = 0;
        for (int64_t k = 0; k < dim; ++k) dot += v(r, i, k) * v(r, j, k);
        EXPECT_NEAR(out[r * out_stride + 1 + p], dot, 1e-5) << "row " << r << " pair " << i << "," << j;
      }
    }
    EXPECT_EQ(out[r * out_stride], 7.0f) << "columns outside the pairs are left alone";
    EXPECT_EQ(out[r * out_stride + 1 + pairs], 7.0f);
  }
  // The first pair is (0, 1), the last (F-2, F-1).
  double last = 0;
  for (int64_t k = 0; k < dim; ++k) last += v(1, fields - 2, k) * v(1, fields - 1, k);
  EXPECT_NEAR(out[1 * out_stride + pairs], last, 1e-5);

  auto weights = RandomVector(rows * out_stride, 41);
  auto loss = [&] {
    std::vector<float> o(rows * out_stride, 0.0f);
    DotInteractionForward(x.data(), stride, 2, rows, fields, dim, o.data(), out_stride, 1);
    return Weighted(weights, o);
  };
  // dx accumulates: start from ones, then subtract them (the columns outside the fields stay 1).
  std::vector<float> dx(rows * stride, 1.0f);
  DotInteractionBackward(x.data(), stride, 2, rows, fields, dim, weights.data(), out_stride, 1, dx.data());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c : {int64_t{0}, int64_t{1}, stride - 1}) EXPECT_EQ(dx[r * stride + c], 1.0f);
  }
  for (auto& g : dx) g -= 1.0f;
  ExpectClose(dx, NumericGradient(x, loss), 1e-3);
}

TEST(DotInteraction, SumOfItsPairsIsTheFmTerm) {
  const int64_t rows = 2, fields = 5, dim = 4, pairs = fields * (fields - 1) / 2;
  auto x = RandomVector(rows * fields * dim, 42);
  std::vector<float> dots(rows * pairs), fm(rows);
  DotInteractionForward(x.data(), fields * dim, 0, rows, fields, dim, dots.data(), pairs, 0);
  FmInteractionForward(x.data(), fields * dim, 0, rows, fields, dim, fm.data());
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0;
    for (int64_t p = 0; p < pairs; ++p) sum += dots[r * pairs + p];
    EXPECT_NEAR(sum, fm[r], 1e-4);
  }
}

TEST(CrossLayer, MatchesItsDefinitionAndFiniteDifferences) {
  const int64_t rows = 3, d = 4;
  auto x0 = RandomVector(rows * d, 23), xl = RandomVector(rows * d, 24);
  auto w = RandomVector(d * d, 25), b = RandomVector(d, 26), r = RandomVector(rows * d, 27);
  std::vector<float> u(rows * d), next(rows * d);
  auto loss = [&] {
    CrossLayerForward(x0.data(), xl.data(), w.data(), b.data(), rows, d, u.data(), next.data());
    return Weighted(r, next);
  };
  loss();
  double u01 = b[1];
  for (int64_t i = 0; i < d; ++i) u01 += xl[i] * w[i * d + 1];
  EXPECT_NEAR(next[1], x0[1] * u01 + xl[1], 1e-5);
  std::vector<float> dnext = r, dw(d * d, 0.0f), db(d, 0.0f), dxl(rows * d), dx0(rows * d, 0.0f);
  CrossLayerBackward(x0.data(), xl.data(), u.data(), w.data(), dnext.data(), rows, d, dw.data(), db.data(), dxl.data(),
                     dx0.data());
  ExpectClose(dw, NumericGradient(w, loss), 1e-3);
  ExpectClose(db, NumericGradient(b, loss), 1e-3);
  ExpectClose(dxl, NumericGradient(xl, loss), 1e-3);
  ExpectClose(dx0, NumericGradient(x0, loss), 1e-3);
}

TEST(RowDot, MatchesFiniteDifferences) {
  const int64_t rows = 4, dim = 3;
  auto a = RandomVector(rows * dim, 28), b = RandomVector(rows * dim, 29), weights = RandomVector(rows, 30);
  auto loss = [&] {
    std::vector<float> out(rows);
    RowDotForward(a.data(), b.data(), rows, dim, out.data());
    return Weighted(weights, out);
  };
  std::vector<float> out(rows);
  RowDotForward(a.data(), b.data(), rows, dim, out.data());
  EXPECT_NEAR(out[2], a[6] * b[6] + a[7] * b[7] + a[8] * b[8], 1e-6);
  std::vector<float> da(rows * dim, 0.0f), db(rows * dim, 0.0f);
  RowDotBackward(a.data(), b.data(), weights.data(), rows, dim, da.data(), db.data());
  ExpectClose(da, NumericGradient(a, loss), 1e-3);
  ExpectClose(db, NumericGradient(b, loss), 1e-3);
}

TEST(SoftmaxCrossEntropy, MatchesDefinitionWithClassWeightsAndIsStable) {
  std::vector<float> z{1.0f, -0.5f, 2.0f, 0.0f, 0.3f, -1.0f}, labels{2, 0}, weights{2.0f, 1.0f, 0.5f};
  double expected = 0;
  for (int r = 0; r < 2; ++r) {
    double sum = 0;
    for (int k = 0; k < 3; ++k) sum += std::exp(static_cast<double>(z[r * 3 + k]));
    const int y = static_cast<int>(labels[r]);
    expected += weights[y] * -std::log(std::exp(static_cast<double>(z[r * 3 + y])) / sum);
  }
  EXPECT_NEAR(SoftmaxCrossEntropy(z.data(), labels.data(), 2, 3, weights.data(), 1.0f, nullptr), expected, 1e-5);
  std::vector<float> big{1000.0f, -1000.0f}, one{1};
  const double loss = SoftmaxCrossEntropy(big.data(), one.data(), 1, 2, nullptr, 1.0f, nullptr);
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_NEAR(loss, 2000.0, 1e-2);
}

TEST(SoftmaxCrossEntropy, GradientMatchesFiniteDifferences) {
  const int64_t rows = 4, classes = 3;
  auto z = RandomVector(rows * classes, 31);
  std::vector<float> labels{0, 2, 1, 2}, weights{0.5f, 1.5f, 3.0f};
  std::vector<float> dz(rows * classes);
  SoftmaxCrossEntropy(z.data(), labels.data(), rows, classes, weights.data(), 0.25f, dz.data());
  auto loss = [&] {
    return 0.25 * SoftmaxCrossEntropy(z.data(), labels.data(), rows, classes, weights.data(), 1.0f, nullptr);
  };
  ExpectClose(dz, NumericGradient(z, loss), 1e-3);
}

TEST(SoftmaxCrossEntropy, ALabelThatIsNotAClassIdStopsTheJob) {
  std::vector<float> z{0.0f, 0.0f}, labels{2};
  EXPECT_DEATH(SoftmaxCrossEntropy(z.data(), labels.data(), 1, 2, nullptr, 1.0f, nullptr), "not a class id");
}

TEST(SquaredError, MatchesDefinitionAndFiniteDifferences) {
  auto p = RandomVector(5, 32);
  std::vector<float> y{0.5f, 1, -1, 2, 0};
  double expected = 0;
  for (int i = 0; i < 5; ++i) expected += (p[i] - y[i]) * (p[i] - y[i]);
  std::vector<float> dp(5);
  EXPECT_NEAR(SquaredError(p.data(), y.data(), 5, 0.5f, dp.data()), expected, 1e-5);
  auto loss = [&] { return 0.5 * SquaredError(p.data(), y.data(), 5, 1.0f, nullptr); };
  ExpectClose(dp, NumericGradient(p, loss), 1e-3);
}

}  // namespace
}  // namespace ectrain::kernels
