// Checks a Kernels implementation against the CPU reference, kernels::Cpu(), call by call on random
// shapes from a seed: empty batches, ragged and empty bags, duplicate ids, strides and column
// offsets, accumulating outputs that start non-zero. The tested kernels get copies of the CPU's
// inputs in their allocator's memory; everything they may write is compared, untouched parts too.
// Used on the CUDA kernels' bodies run on the host (kernel_bodies_test.cc) and on CudaKernels on a
// GPU (tests/gpu/cuda_kernels_test.cc).
//
// Tolerances, relative: |tested - cpu| <= tolerance * (1 + |cpu|).
//   kExact (0): copies, selections and the CPU's own float operations in its order with no product
//     to fuse: fills, copies, ReLU, gathers, bag pooling forward (same order of additions), dropout
//     masks (the same integer hash: bitwise, by contract), ScaleBy (one product).
//   kElementwise (1e-5): per-element formulas: nvcc fuses a * b + c into one FMA (one rounding, not
//     two), the device's expf and log1pf differ from glibc's and Eigen's vectorised exp by a few
//     ulp; a few such roundings stay far below 1e-5.
//   kSummed (1e-4): sums in another order: cuBLAS's blocked products against OpenBLAS's, a row
//     summed by one thread against Eigen's vector lanes, atomics adding in arrival order,
//     reductions in double against the CPU's float. The shapes keep sums under ~100 terms of
//     magnitude about 1, whose rounding differences stay well under 1e-5 relative.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "core/allocator.h"
#include "core/rng.h"
#include "kernels/kernels.h"

namespace ectrain::kernels::conformance {

constexpr double kExact = 0.0;
constexpr double kElementwise = 1e-5;
constexpr double kSummed = 1e-4;

// An array in a Kernels' memory, filled from a host vector; at least one element, so that a
// zero-size argument is still a valid pointer.
template <typename T>
class Buffer {
 public:
  Buffer(const Kernels& kernels, const std::vector<T>& host)
      : allocator_(kernels.allocator()), size_(host.size()), bytes_(std::max<size_t>(size_, 1) * sizeof(T)) {
    data_ = static_cast<T*>(allocator_.Allocate(bytes_));
    if (size_ > 0) allocator_.CopyFromHost(data_, host.data(), size_ * sizeof(T));
  }
  ~Buffer() { allocator_.Free(data_, bytes_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  T* get() const { return data_; }
  std::vector<T> Read() const {
    std::vector<T> host(size_);
    if (size_ > 0) allocator_.CopyToHost(host.data(), data_, size_ * sizeof(T));
    return host;
  }

 private:
  Allocator& allocator_;
  size_t size_;
  size_t bytes_;
  T* data_;
};

// The same values for the CPU (host()) and the tested kernels (tested()).
template <typename T>
class Twin {
 public:
  Twin(const Kernels& tested, std::vector<T> values) : cpu_(std::move(values)), tested_(tested, cpu_) {}
  T* host() { return cpu_.data(); }
  T* tested() const { return tested_.get(); }
  const std::vector<T>& cpu() const { return cpu_; }
  std::vector<T> Read() const { return tested_.Read(); }

 private:
  std::vector<T> cpu_;
  Buffer<T> tested_;
};

inline bool Near(double tested, double cpu, double tolerance) {
  if (std::isnan(cpu)) return std::isnan(tested);
  return std::fabs(tested - cpu) <= tolerance * (1.0 + std::fabs(cpu));
}

// The tested kernels' copy against the CPU's, element by element (the first few differences named).
inline void ExpectMatch(const Twin<float>& twin, double tolerance, const std::string& what) {
  const std::vector<float> tested = twin.Read();
  int reported = 0;
  for (size_t i = 0; i < tested.size() && reported < 5; ++i) {
    if (Near(tested[i], twin.cpu()[i], tolerance)) continue;
    ADD_FAILURE() << what << ": element " << i << " of " << tested.size() << " is " << tested[i] << ", the CPU's "
                  << twin.cpu()[i] << " (tolerance " << tolerance << ")";
    ++reported;
  }
}

inline void ExpectSum(double tested, double cpu, double tolerance, const std::string& what) {
  EXPECT_TRUE(Near(tested, cpu, tolerance)) << what << ": " << tested << ", the CPU's " << cpu;
}

// Random shapes and values from a seed.
class Shapes {
 public:
  explicit Shapes(uint64_t seed) : rng_(seed) {}
  int64_t Between(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(rng_.Below(hi - lo + 1)); }
  // A batch or length: 0 one time in five, else 1..max.
  int64_t Size(int64_t max) { return rng_.Below(5) == 0 ? 0 : Between(1, max); }
  uint64_t Key() { return rng_.NextU64(); }
  std::vector<float> Floats(int64_t n, double lo = -1.0, double hi = 1.0) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = static_cast<float>(rng_.Uniform(lo, hi));
    return v;
  }
  std::vector<int32_t> Ids(int64_t n, int64_t vocabulary) {
    std::vector<int32_t> v(static_cast<size_t>(n));
    for (int32_t& id : v) id = static_cast<int32_t>(rng_.Below(vocabulary));
    return v;
  }
  // CSR offsets of `batch` bags of 0..max_bag ids; with two bags or more, one is surely empty.
  std::vector<int64_t> BagOffsets(int64_t batch, int64_t max_bag) {
    std::vector<int64_t> offsets{0};
    for (int64_t r = 0; r < batch; ++r) {
      const int64_t size = batch >= 2 && r == batch / 2 ? 0 : Between(0, max_bag);
      offsets.push_back(offsets.back() + size);
    }
    return offsets;
  }
  // `count` distinct row ids below `rows`, in random order (an optimizer's touched rows).
  std::vector<int64_t> DistinctRows(int64_t count, int64_t rows) {
    std::vector<int64_t> all(static_cast<size_t>(rows));
    std::iota(all.begin(), all.end(), int64_t{0});
    for (int64_t i = rows - 1; i > 0; --i) std::swap(all[i], all[rng_.Below(i + 1)]);
    all.resize(static_cast<size_t>(count));
    return all;
  }

 private:
  Rng rng_;
};

inline std::string Shape(std::initializer_list<std::pair<const char*, int64_t>> dims) {
  std::string s;
  for (const auto& [name, value] : dims) s += std::string(s.empty() ? "" : " ") + name + "=" + std::to_string(value);
  return s;
}

inline void CheckPlumbing(const Kernels& tested, int seed) {
  const Kernels& cpu = Cpu();
  Shapes s(seed);
  const int64_t n = s.Size(300), rows = s.Size(20), width = s.Between(0, 17);
  const int64_t src_stride = width + s.Between(0, 3), dst_stride = width + s.Between(0, 3);
  SCOPED_TRACE(Shape({{"seed", seed}, {"n", n}, {"rows", rows}, {"width", width}}));
  {
    Twin<float> x(tested, s.Floats(n));
    cpu.Fill(x.host(), n, 0.25f);
    tested.Fill(x.tested(), n, 0.25f);
    ExpectMatch(x, kExact, "Fill");
  }
  Twin<float> x(tested, s.Floats(n)), y(tested, s.Floats(n)), scalar(tested, s.Floats(1)), sum(tested, {0.5f});
  cpu.Add(x.host(), y.host(), n);
  tested.Add(x.tested(), y.tested(), n);
  ExpectMatch(y, kExact, "Add");
  cpu.AddScalar(scalar.host(), y.host(), n);
  tested.AddScalar(scalar.tested(), y.tested(), n);
  ExpectMatch(y, kExact, "AddScalar");
  cpu.AddSum(x.host(), n, sum.host());
  tested.AddSum(x.tested(), n, sum.tested());
  ExpectMatch(sum, kSummed, "AddSum");
  const double norm = tested.SquaredNorm(x.tested(), n);
  ExpectSum(norm, cpu.SquaredNorm(x.host(), n), kSummed, "SquaredNorm");
  EXPECT_EQ(norm, tested.SquaredNorm(x.tested(), n)) << "SquaredNorm twice: another sum";

  Twin<float> src(tested, s.Floats(rows * src_stride)), dst(tested, s.Floats(rows * dst_stride));
  cpu.CopyRows(src.host(), src_stride, rows, width, dst.host(), dst_stride);
  tested.CopyRows(src.tested(), src_stride, rows, width, dst.tested(), dst_stride);
  ExpectMatch(dst, kExact, "CopyRows");
  Twin<float> block(tested, s.Floats(rows * width)), row_sums(tested, s.Floats(rows));
  cpu.AddRowSums(block.host(), rows, width, row_sums.host());
  tested.AddRowSums(block.tested(), rows, width, row_sums.tested());
  ExpectMatch(row_sums, kSummed, "AddRowSums");
  Twin<float> broadcast(tested, s.Floats(rows * width));
  cpu.BroadcastRows(row_sums.host(), rows, width, broadcast.host());
  tested.BroadcastRows(row_sums.tested(), rows, width, broadcast.tested());
  ExpectMatch(broadcast, kSummed, "BroadcastRows");  // of row sums, which may differ by kSummed
  Twin<float> a(tested, s.Floats(rows * src_stride)), b(tested, s.Floats(rows * dst_stride));
  Twin<float> out(tested, s.Floats(rows * width));
  cpu.AddStrided(a.host(), src_stride, b.host(), dst_stride, rows, width, out.host());
  tested.AddStrided(a.tested(), src_stride, b.tested(), dst_stride, rows, width, out.tested());
  ExpectMatch(out, kExact, "AddStrided");
}

inline void CheckDense(const Kernels& tested, int seed) {
  const Kernels& cpu = Cpu();
  Shapes s(seed);
  const int64_t batch = s.Size(40), in = s.Size(40), out = s.Size(20);
  SCOPED_TRACE(Shape({{"seed", seed}, {"batch", batch}, {"in", in}, {"out", out}}));
  Twin<float> x(tested, s.Floats(batch * in)), w(tested, s.Floats(in * out)), bias(tested, s.Floats(out));
  Twin<float> y(tested, s.Floats(batch * out));
  cpu.DenseForward(x.host(), w.host(), bias.host(), batch, in, out, y.host());
  tested.DenseForward(x.tested(), w.tested(), bias.tested(), batch, in, out, y.tested());
  ExpectMatch(y, kSummed, "DenseForward");

  Twin<float> dy(tested, s.Floats(batch * out)), dw(tested, s.Floats(in * out)), dbias(tested, s.Floats(out));
  Twin<float> dx(tested, s.Floats(batch * in));
  cpu.DenseBackward(x.host(), w.host(), dy.host(), batch, in, out, dw.host(), dbias.host(), dx.host());
  tested.DenseBackward(x.tested(), w.tested(), dy.tested(), batch, in, out, dw.tested(), dbias.tested(), dx.tested());
  ExpectMatch(dw, kSummed, "DenseBackward dw");
  ExpectMatch(dbias, kSummed, "DenseBackward dbias");
  ExpectMatch(dx, kSummed, "DenseBackward dx");
  // Without dx (a first layer): dw and dbias accumulate again.
  cpu.DenseBackward(x.host(), w.host(), dy.host(), batch, in, out, dw.host(), dbias.host(), nullptr);
  tested.DenseBackward(x.tested(), w.tested(), dy.tested(), batch, in, out, dw.tested(), dbias.tested(), nullptr);
  ExpectMatch(dw, kSummed, "DenseBackward dw, again without dx");
  ExpectMatch(dbias, kSummed, "DenseBackward dbias, again without dx");
}

inline void CheckRelu(const Kernels& tested, int seed) {
  const Kernels& cpu = Cpu();
  Shapes s(seed);
  const int64_t n = s.Size(300);
  SCOPED_TRACE(Shape({{"seed", seed}, {"n", n}}));
  Twin<float> y(tested, s.Floats(n)), dy(tested, s.Floats(n));
  cpu.ReluForward(y.host(), n);
  tested.ReluForward(y.tested(), n);
  ExpectMatch(y, kExact, "ReluForward");
  cpu.ReluBackward(y.host(), dy.host(), n);
  tested.ReluBackward(y.tested(), dy.tested(), n);
  ExpectMatch(dy, kExact, "ReluBackward");
}

inline void CheckEmbeddings(const Kernels& tested, int seed) {
  const Kernels& cpu = Cpu();
  Shapes s(seed);
  const int64_t vocabulary = s.Between(1, 30), dim = s.Between(1, 20), batch = s.Size(50);
  const int64_t id_stride = s.Between(1, 3), col_offset = s.Between(0, 3);
  const int64_t stride = col_offset + dim + s.Between(0, 3);
  SCOPED_TRACE(Shape({{"seed", seed}, {"vocabulary", vocabulary}, {"dim", dim}, {"batch", batch}}));
  Twin<int32_t> ids(tested, s.Ids(batch * id_stride, vocabulary));  // few ids: many repeat
  Twin<float> table(tested, s.Floats(vocabulary * dim)), out(tested, s.Floats(batch * stride));
  cpu.EmbeddingGather(ids.host(), id_stride, batch, table.host(), dim, out.host(), stride, col_offset);
  tested.EmbeddingGather(ids.tested(), id_stride, batch, table.tested(), dim, out.tested(), stride, col_offset);
  ExpectMatch(out, kExact, "EmbeddingGather");
  Twin<float> dout(tested, s.Floats(batch * stride)), dtable(tested, s.Floats(vocabulary * dim));
  cpu.EmbeddingScatterAdd(ids.host(), id_stride, batch, dout.host(), stride, col_offset, dim, dtable.host());
  tested.EmbeddingScatterAdd(ids.tested(), id_stride, batch, dout.tested(), stride, col_offset, dim, dtable.tested());
  ExpectMatch(dtable, kSummed, "EmbeddingScatterAdd");

  // Bags: ragged, some empty.
  Twin<int64_t> offsets(tested, s.BagOffsets(batch, 5));
  Twin<int32_t> bag_ids(tested, s.Ids(offsets.cpu().back(), vocabulary));
  for (const bool mean : {true, false}) {
    SCOPED_TRACE(mean ? "mean" : "sum");
    Twin<float> pooled(tested, s.Floats(batch * stride)), dbag_table(tested, s.Floats(vocabulary * dim));
    if (mean) {
      cpu.EmbeddingBagMean(offsets.host(), bag_ids.host(), batch, table.host(), dim, pooled.host(), stride, col_offset);
      tested.EmbeddingBagMean(offsets.tested(), bag_ids.tested(), batch, table.tested(), dim, pooled.tested(), stride,
                              col_offset);
      cpu.EmbeddingBagMeanBackward(offsets.host(), bag_ids.host(), batch, dout.host(), stride, col_offset, dim,
                                   dbag_table.host());
      tested.EmbeddingBagMeanBackward(offsets.tested(), bag_ids.tested(), batch, dout.tested(), stride, col_offset, dim,
                                      dbag_table.tested());
    } else {
      cpu.EmbeddingBagSum(offsets.host(), bag_ids.host(), batch, table.host(), dim, pooled.host(), stride, col_offset);
      tested.EmbeddingBagSum(offsets.tested(), bag_ids.tested(), batch, table.tested(), dim, pooled.tested(), stride,
                             col_offset);
      cpu.EmbeddingBagSumBackward(offsets.host(), bag_ids.host(), batch, dout.host(), stride, col_offset, dim,
                                  dbag_table.host());
      tested.EmbeddingBagSumBackward(offsets.tested(), bag_ids.tested(), batch, dout.tested(), stride, col_offset, dim,
                                     dbag_table.tested());
    }
    ExpectMatch(pooled, kExact, "EmbeddingBag forward");
    ExpectMatch(dbag_table, kSummed, "EmbeddingBag backward");
  }
}

inline void CheckDropout(const Kernels& tested, int seed) {
  const Kernels& cpu = Cpu();
  Shapes s(seed);
  const int64_t rows = s.Size(30), width = s.Between(1, 40);
  const float rate = std::vector<float>{0.0f, 0.1f, 0.5f, 0.9f}[seed % 4];
  const uint64_t key = s.Key();
  SCOPED_TRACE(Shape({{"seed", seed}, {"rows", rows}, {"width", width}}) + " rate=" + std::to_string(rate));
  Twin<float> mask(tested, s.Floats(rows * width));
  cpu.DropoutMask(key, rows, width, rate, mask.host());
  tested.DropoutMask(key, rows, width, rate, mask.tested());
  ExpectMatch(mask, kExact, "DropoutMask");
  Twin<float> x(tested, s.Floats(rows * width)), m(tested, mask.cpu());
  cpu.ScaleBy(x.host(), m.host(), rows * width);
  tested.ScaleBy(x.tested(), m.tested(), rows * width);
  ExpectMatch(x, kExact, "ScaleBy");
}

inline void CheckLayerNorm(const Kernels& tested, int seed) {
  const Kernels& cpu = Cpu();
  Shapes s(seed);
  const int64_t rows = s.Size(30), width = s.Between(1, 40);
  const float eps = 1e-5f;
  SCOPED_TRACE(Shape({{"seed", seed}, {"rows", rows}, {"width", width}}));
  Twin<float> x(tested, s.Floats(rows * width, -3.0, 3.0)), gamma(tested, s.Floats(width)),
      beta(tested, s.Floats(width));
  Twin<float> y(tested, s.Floats(rows * width)), xhat(tested, s.Floats(rows * width)), inv_std(tested, s.Floats(rows));
  cpu.LayerNormForward(x.host(), gamma.host(), beta.host(), rows, width, eps, y.host(), xhat.host(), inv_std.host());
  tested.LayerNormForward(x.tested(), gamma.tested(), beta.tested(), rows, width, eps, y.tested(), xhat.tested(),
                          inv_std.tested());
  ExpectMatch(y, kSummed, "LayerNormForward y");
  ExpectMatch(xhat, kSummed, "LayerNormForward xhat");
  ExpectMatch(inv_std, kSummed, "LayerNormForward inv_std");
  // The backward pass from the CPU's saved values, on both.
  Twin<float> saved_xhat(tested, xhat.cpu()), saved_inv_std(tested, inv_std.cpu());
  Twin<float> dy(tested, s.Floats(rows * width)), dgamma(tested, s.Floats(width)), dbeta(tested, s.Floats(width));
  Twin<float> dx(tested, s.Floats(rows * width));
  cpu.LayerNormBackward(saved_xhat.host(), saved_inv_std.host(), gamma.host(), dy.host(), rows, width, dgamma.host(),
                        dbeta.host(), dx.host());
  tested.LayerNormBackward(saved_xhat.tested(), saved_inv_std.tested(), gamma.tested(), dy.tested(), rows, width,
                           dgamma.tested(), dbeta.tested(), dx.tested());
  ExpectMatch(dgamma, kSummed, "LayerNormBackward dgamma");
  ExpectMatch(dbeta, kSummed, "LayerNormBackward dbeta");
  ExpectMatch(dx, kSummed, "LayerNormBackward dx");
}

inline void CheckInteractions(const Kernels& tested, int seed) {
  const Kernels& cpu = Cpu();
  Shapes s(seed);
  const int64_t rows = s.Size(30), fields = s.Between(1, 6), dim = s.Between(1, 10);
  const int64_t col_offset = s.Between(0, 3), x_stride = col_offset + fields * dim + s.Between(0, 3);
  const int64_t pairs = fields * (fields - 1) / 2, out_col = s.Between(0, 3);
  const int64_t out_stride = out_col + pairs + s.Between(0, 3);
  SCOPED_TRACE(Shape({{"seed", seed}, {"rows", rows}, {"fields", fields}, {"dim", dim}}));
  Twin<float> x(tested, s.Floats(rows * x_stride));
  Twin<float> fm(tested, s.Floats(rows)), dfm(tested, s.Floats(rows)), dx_fm(tested, s.Floats(rows * x_stride));
  cpu.FmInteractionForward(x.host(), x_stride, col_offset, rows, fields, dim, fm.host());
  tested.FmInteractionForward(x.tested(), x_stride, col_offset, rows, fields, dim, fm.tested());
  ExpectMatch(fm, kSummed, "FmInteractionForward");
  cpu.FmInteractionBackward(x.host(), x_stride, col_offset, rows, fields, dim, dfm.host(), dx_fm.host());
  tested.FmInteractionBackward(x.tested(), x_stride, col_offset, rows, fields, dim, dfm.tested(), dx_fm.tested());
  ExpectMatch(dx_fm, kSummed, "FmInteractionBackward");

  Twin<float> dots(tested, s.Floats(rows * out_stride)), ddots(tested, s.Floats(rows * out_stride));
  Twin<float> dx_dot(tested, s.Floats(rows * x_stride));
  cpu.DotInteractionForward(x.host(), x_stride, col_offset, rows, fields, dim, dots.host(), out_stride, out_col);
  tested.DotInteractionForward(x.tested(), x_stride, col_offset, rows, fields, dim, dots.tested(), out_stride, out_col);
  ExpectMatch(dots, kSummed, "DotInteractionForward");
  cpu.DotInteractionBackward(x.host(), x_stride, col_offset, rows, fields, dim, ddots.host(), out_stride, out_col,
                             dx_dot.host());
  tested.DotInteractionBackward(x.tested(), x_stride, col_offset, rows, fields, dim, ddots.tested(), out_stride,
                                out_col, dx_dot.tested());
  ExpectMatch(dx_dot, kSummed, "DotInteractionBackward");
}

inline void CheckCrossLayerAndRowDot(const Kernels& tested, int seed) {
  const Kernels& cpu = Cpu();
  Shapes s(seed);
  const int64_t rows = s.Size(30), d = s.Between(1, 20);
  SCOPED_TRACE(Shape({{"seed", seed}, {"rows", rows}, {"d", d}}));
  Twin<float> x0(tested, s.Floats(rows * d)), xl(tested, s.Floats(rows * d)), w(tested, s.Floats(d * d));
  Twin<float> b(tested, s.Floats(d)), u(tested, s.Floats(rows * d)), x_next(tested, s.Floats(rows * d));
  cpu.CrossLayerForward(x0.host(), xl.host(), w.host(), b.host(), rows, d, u.host(), x_next.host());
  tested.CrossLayerForward(x0.tested(), xl.tested(), w.tested(), b.tested(), rows, d, u.tested(), x_next.tested());
  ExpectMatch(u, kSummed, "CrossLayerForward u");
  ExpectMatch(x_next, kSummed, "CrossLayerForward x_next");
  Twin<float> saved_u(tested, u.cpu()), dnext(tested, s.Floats(rows * d)), dw(tested, s.Floats(d * d));
  Twin<float> db(tested, s.Floats(d)), dxl(tested, s.Floats(rows * d)), dx0(tested, s.Floats(rows * d));
  cpu.CrossLayerBackward(x0.host(), xl.host(), saved_u.host(), w.host(), dnext.host(), rows, d, dw.host(), db.host(),
                         dxl.host(), dx0.host());
  tested.CrossLayerBackward(x0.tested(), xl.tested(), saved_u.tested(), w.tested(), dnext.tested(), rows, d,
                            dw.tested(), db.tested(), dxl.tested(), dx0.tested());
  ExpectMatch(dnext, kElementwise, "CrossLayerBackward dnext (scratch: du)");
  ExpectMatch(dw, kSummed, "CrossLayerBackward dw");
  ExpectMatch(db, kSummed, "CrossLayerBackward db");
  ExpectMatch(dxl, kSummed, "CrossLayerBackward dxl");
  ExpectMatch(dx0, kElementwise, "CrossLayerBackward dx0");

  Twin<float> dot(tested, s.Floats(rows)), ddot(tested, s.Floats(rows));
  cpu.RowDotForward(x0.host(), xl.host(), rows, d, dot.host());
  tested.RowDotForward(x0.tested(), xl.tested(), rows, d, dot.tested());
  ExpectMatch(dot, kSummed, "RowDotForward");
  Twin<float> da(tested, s.Floats(rows * d)), dbb(tested, s.Floats(rows * d));
  cpu.RowDotBackward(x0.host(), xl.host(), ddot.host(), rows, d, da.host(), dbb.host());
  tested.RowDotBackward(x0.tested(), xl.tested(), ddot.tested(), rows, d, da.tested(), dbb.tested());
  ExpectMatch(da, kElementwise, "RowDotBackward da");
  ExpectMatch(dbb, kElementwise, "RowDotBackward db");
}

inline void CheckLosses(const Kernels& tested, int seed) {
  const Kernels& cpu = Cpu();
  Shapes s(seed);
  const int64_t rows = s.Size(40), classes = s.Between(1, 10), n = s.Size(100);
  const bool weighted = seed % 2 == 0, with_gradient = seed % 3 != 0;
  SCOPED_TRACE(Shape({{"seed", seed}, {"rows", rows}, {"classes", classes}, {"n", n}}));
  std::vector<float> labels(static_cast<size_t>(rows));
  for (float& label : labels) label = static_cast<float>(s.Between(0, classes - 1));
  std::vector<float> logits = s.Floats(rows * classes, -5.0, 5.0);
  if (!logits.empty()) logits[0] = 80.0f;  // large logits: the shift by the row maximum keeps them finite
  Twin<float> z(tested, logits), y(tested, labels), weights(tested, s.Floats(classes, 0.1, 3.0));
  Twin<float> dz(tested, s.Floats(rows * classes));
  const float scale = 0.25f;
  const double softmax_cpu =
      cpu.SoftmaxCrossEntropy(z.host(), y.host(), rows, classes, weighted ? weights.host() : nullptr, scale,
                              with_gradient ? dz.host() : nullptr);
  const double softmax =
      tested.SoftmaxCrossEntropy(z.tested(), y.tested(), rows, classes, weighted ? weights.tested() : nullptr, scale,
                                 with_gradient ? dz.tested() : nullptr);
  ExpectSum(softmax, softmax_cpu, kSummed, "SoftmaxCrossEntropy");
  ExpectMatch(dz, kElementwise, "SoftmaxCrossEntropy dlogits");

  Twin<float> p(tested, s.Floats(n, -3.0, 3.0)), t(tested, s.Floats(n)), dp(tested, s.Floats(n));
  ExpectSum(tested.SquaredError(p.tested(), t.tested(), n, scale, with_gradient ? dp.tested() : nullptr),
            cpu.SquaredError(p.host(), t.host(), n, scale, with_gradient ? dp.host() : nullptr), kSummed,
            "SquaredError");
  ExpectMatch(dp, kElementwise, "SquaredError dpred");

  std::vector<float> binary = s.Floats(n, 0.0, 1.0);
  for (size_t i = 0; i < binary.size(); i += 2) binary[i] = binary[i] < 0.5f ? 0.0f : 1.0f;  // hard and soft labels
  Twin<float> logit(tested, s.Floats(n, -20.0, 20.0)), target(tested, binary), dlogit(tested, s.Floats(n));
  ExpectSum(tested.BceWithLogits(logit.tested(), target.tested(), n, scale, with_gradient ? dlogit.tested() : nullptr),
            cpu.BceWithLogits(logit.host(), target.host(), n, scale, with_gradient ? dlogit.host() : nullptr), kSummed,
            "BceWithLogits");
  ExpectMatch(dlogit, kElementwise, "BceWithLogits dlogits");
}

// Three steps of each optimizer, over the whole tensor (rows == nullptr) and over distinct rows.
inline void CheckOptimizers(const Kernels& tested, int seed) {
  const Kernels& cpu = Cpu();
  Shapes s(seed);
  const int64_t rows = s.Between(1, 20), cols = s.Between(1, 16), offset = s.Between(0, 7);
  const int64_t arena = offset + rows * cols + 3;
  SCOPED_TRACE(Shape({{"seed", seed}, {"rows", rows}, {"cols", cols}, {"offset", offset}}));
  Twin<float> p(tested, s.Floats(arena)), m(tested, s.Floats(arena)), v(tested, s.Floats(arena, 0.0, 1.0));
  const SgdCoefficients sgd_plain{0.1f, 0.9f, 0.01f, 0.0f, false};
  const SgdCoefficients sgd_momentum{0.1f, 0.9f, 0.01f, 0.9f, false};
  const SgdCoefficients sgd_nesterov{0.05f, 1.0f, 0.0f, 0.8f, true};
  const RmsPropCoefficients rmsprop{0.01f, 1.0f, 0.001f, 0.9f, 1e-8f};
  const AdagradCoefficients adagrad{0.05f, 0.8f, 0.0f, 1e-10f};
  const AdamCoefficients adam{0.9f, 0.999f, 1e-8f, 1.0f, 0.01f, 1.0f, 0.001f / 0.1f, 1.0f / std::sqrt(0.001f)};
  const AdamCoefficients adamw{0.9f, 0.999f, 1e-8f, 1.0f - 0.001f * 0.01f, 0.0f, 0.7f, 0.001f / 0.19f, 22.4f};
  const FtrlCoefficients ftrl{0.1f, 1.0f, 0.05f, 0.01f, 0.9f};
  // FTRL's n starts at 0 (the first update takes z from the parameter); the clock below now.
  Twin<float> n(tested, std::vector<float>(static_cast<size_t>(arena), 0.0f)), clock(tested, s.Floats(arena, 0.0, 2.0));
  for (int step = 0; step < 3; ++step) {
    const bool sparse = step != 1;
    const int64_t num_rows = sparse ? s.Size(rows) : 1;
    Twin<int64_t> ids(tested, s.DistinctRows(num_rows, rows));
    Twin<float> grad(tested, s.Floats(sparse ? num_rows * cols : rows * cols));
    const RowSpan cpu_span{sparse ? ids.host() : nullptr, num_rows, offset, sparse ? cols : rows * cols};
    RowSpan tested_span = cpu_span;
    if (sparse) tested_span.rows = ids.tested();
    SCOPED_TRACE(Shape({{"step", step}, {"sparse", sparse}, {"num_rows", num_rows}}));
    const float* g = grad.host();
    const float* tg = grad.tested();
    switch (seed % 9) {
      case 0:
        cpu.SgdStep(cpu_span, p.host(), nullptr, g, sgd_plain);
        tested.SgdStep(tested_span, p.tested(), nullptr, tg, sgd_plain);
        break;
      case 1:
        cpu.SgdStep(cpu_span, p.host(), m.host(), g, sgd_momentum);
        tested.SgdStep(tested_span, p.tested(), m.tested(), tg, sgd_momentum);
        break;
      case 2:
        cpu.SgdStep(cpu_span, p.host(), m.host(), g, sgd_nesterov);
        tested.SgdStep(tested_span, p.tested(), m.tested(), tg, sgd_nesterov);
        break;
      case 3:
        cpu.RmsPropStep(cpu_span, p.host(), v.host(), g, rmsprop);
        tested.RmsPropStep(tested_span, p.tested(), v.tested(), tg, rmsprop);
        break;
      case 4:
        cpu.AdagradStep(cpu_span, p.host(), v.host(), g, adagrad);
        tested.AdagradStep(tested_span, p.tested(), v.tested(), tg, adagrad);
        break;
      case 7:
        cpu.FtrlStep(cpu_span, p.host(), m.host(), n.host(), g, ftrl);
        tested.FtrlStep(tested_span, p.tested(), m.tested(), n.tested(), tg, ftrl);
        break;
      case 8: {
        const CatchUpCoefficients catch_up{0.5f, 2.0f + static_cast<float>(step), 2.5f + static_cast<float>(step)};
        cpu.CatchUpDecay(cpu_span, p.host(), clock.host(), catch_up);
        tested.CatchUpDecay(tested_span, p.tested(), clock.tested(), catch_up);
        break;
      }
      default:
        const AdamCoefficients& c = seed % 9 == 5 ? adam : adamw;
        cpu.AdamStep(cpu_span, p.host(), m.host(), v.host(), g, c);
        tested.AdamStep(tested_span, p.tested(), m.tested(), v.tested(), tg, c);
        break;
    }
    ExpectMatch(p, kElementwise, "parameters");
    ExpectMatch(m, kElementwise, "first state (momentum, Adam's m)");
    ExpectMatch(v, kElementwise, "second state (RMSProp, Adagrad, Adam's v)");
    ExpectMatch(n, kElementwise, "FTRL's n");
    ExpectMatch(clock, kExact, "the decay clock");
  }
}

// Every call with nothing to do (no rows, no elements) leaves memory as it was; losses are 0.
inline void CheckZeroSizeCalls(const Kernels& tested) {
  Twin<float> a(tested, {1.5f}), b(tested, {2.5f}), c(tested, {3.5f}), d(tested, {4.5f}), e(tested, {5.5f});
  Twin<int32_t> ids(tested, {0});
  Twin<int64_t> offsets(tested, {0});
  float* x = a.tested();
  float* y = b.tested();
  float* z = c.tested();
  float* u = d.tested();
  float* w = e.tested();
  tested.Fill(x, 0, 9.0f);
  tested.Add(y, x, 0);
  tested.AddScalar(y, x, 0);
  tested.AddSum(y, 0, x);
  tested.CopyRows(y, 1, 0, 1, x, 1);
  tested.CopyRows(y, 1, 1, 0, x, 1);
  tested.AddRowSums(y, 0, 1, x);
  tested.BroadcastRows(y, 0, 1, x);
  tested.AddStrided(y, 1, z, 1, 0, 1, x);
  EXPECT_EQ(tested.SquaredNorm(y, 0), 0.0);
  tested.DenseForward(y, z, u, 0, 1, 1, x);
  tested.DenseBackward(y, z, u, 0, 1, 1, x, w, x);
  tested.ReluForward(x, 0);
  tested.ReluBackward(y, x, 0);
  tested.EmbeddingGather(ids.tested(), 1, 0, y, 1, x, 1, 0);
  tested.EmbeddingScatterAdd(ids.tested(), 1, 0, y, 1, 0, 1, x);
  tested.EmbeddingBagMean(offsets.tested(), ids.tested(), 0, y, 1, x, 1, 0);
  tested.EmbeddingBagMeanBackward(offsets.tested(), ids.tested(), 0, y, 1, 0, 1, x);
  tested.EmbeddingBagSum(offsets.tested(), ids.tested(), 0, y, 1, x, 1, 0);
  tested.EmbeddingBagSumBackward(offsets.tested(), ids.tested(), 0, y, 1, 0, 1, x);
  tested.DropoutMask(7, 0, 1, 0.5f, x);
  tested.ScaleBy(x, y, 0);
  tested.LayerNormForward(y, z, u, 0, 1, 1e-5f, x, w, w);
  tested.LayerNormBackward(y, z, u, y, 0, 1, x, w, x);
  tested.FmInteractionForward(y, 1, 0, 0, 1, 1, x);
  tested.FmInteractionBackward(y, 1, 0, 0, 1, 1, z, x);
  tested.DotInteractionForward(y, 2, 0, 0, 2, 1, x, 1, 0);
  tested.DotInteractionForward(y, 1, 0, 1, 1, 1, x, 1, 0);  // one field: no pairs
  tested.DotInteractionBackward(y, 2, 0, 0, 2, 1, z, 1, 0, x);
  tested.CrossLayerForward(y, z, u, u, 0, 1, x, w);
  tested.CrossLayerBackward(y, z, u, u, y, 0, 1, x, w, x, w);
  tested.RowDotForward(y, z, 0, 1, x);
  tested.RowDotBackward(y, z, u, 0, 1, x, w);
  EXPECT_EQ(tested.SoftmaxCrossEntropy(y, z, 0, 3, nullptr, 1.0f, x), 0.0);
  EXPECT_EQ(tested.SquaredError(y, z, 0, 1.0f, x), 0.0);
  EXPECT_EQ(tested.BceWithLogits(y, z, 0, 1.0f, x), 0.0);
  const int64_t* no_rows = offsets.tested();
  tested.SgdStep({no_rows, 0, 0, 1}, x, w, y, {0.1f, 1.0f, 0.0f, 0.9f, false});
  tested.SgdStep({nullptr, 1, 0, 0}, x, w, y, {0.1f, 1.0f, 0.0f, 0.9f, false});
  tested.RmsPropStep({no_rows, 0, 0, 1}, x, w, y, {0.1f, 1.0f, 0.0f, 0.9f, 1e-8f});
  tested.AdagradStep({no_rows, 0, 0, 1}, x, w, y, {0.1f, 1.0f, 0.0f, 1e-8f});
  tested.AdamStep({no_rows, 0, 0, 1}, x, w, y, y, {0.9f, 0.999f, 1e-8f, 1.0f, 0.0f, 1.0f, 0.1f, 1.0f});
  tested.FtrlStep({no_rows, 0, 0, 1}, x, w, u, y, {0.1f, 1.0f, 0.0f, 0.0f, 1.0f});
  tested.CatchUpDecay({no_rows, 0, 0, 1}, x, w, {0.1f, 1.0f, 2.0f});
  for (const Twin<float>* twin : {&a, &b, &c, &d, &e}) ExpectMatch(*twin, kExact, "a zero-size call's argument");
}

// Labels that are no class id stop the job, naming the label, as the CPU does.
inline void CallSoftmaxWithLabel(const Kernels& tested, float bad_label) {
  Twin<float> z(tested, std::vector<float>(6, 0.0f)), labels(tested, {1.0f, bad_label}),
      dz(tested, std::vector<float>(6));
  tested.SoftmaxCrossEntropy(z.tested(), labels.tested(), 2, 3, nullptr, 1.0f, dz.tested());
}

}  // namespace ectrain::kernels::conformance
