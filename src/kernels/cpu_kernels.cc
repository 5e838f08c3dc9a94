#include "kernels/cpu_kernels.h"

#include <Eigen/Core>
#include <cmath>
#include <cstring>

namespace ectrain::kernels {
namespace {
using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Map = Eigen::Map<RowMatrix>;
using ConstMap = Eigen::Map<const RowMatrix>;
using ConstRow = Eigen::Map<const Eigen::RowVectorXf>;
using Row = Eigen::Map<Eigen::RowVectorXf>;
}  // namespace

void DenseForward(const float* x, const float* w, const float* bias, int64_t batch, int64_t in, int64_t out,
                  float* y) {
  Map y_map(y, batch, out);
  y_map.noalias() = ConstMap(x, batch, in) * ConstMap(w, in, out);
  y_map.rowwise() += ConstRow(bias, out);
}

void DenseBackward(const float* x, const float* w, const float* dy, int64_t batch, int64_t in, int64_t out,
                   float* dw, float* dbias, float* dx) {
  ConstMap dy_map(dy, batch, out);
  Map(dw, in, out).noalias() += ConstMap(x, batch, in).transpose() * dy_map;
  Row(dbias, out) += dy_map.colwise().sum();
  if (dx != nullptr) Map(dx, batch, in).noalias() = dy_map * ConstMap(w, in, out).transpose();
}

void ReluForward(float* y, int64_t n) {
  Eigen::Map<Eigen::ArrayXf> a(y, n);
  a = a.max(0.0f);
}

void ReluBackward(const float* y, float* dy, int64_t n) {
  Eigen::Map<const Eigen::ArrayXf> ya(y, n);
  Eigen::Map<Eigen::ArrayXf> dya(dy, n);
  dya = (ya > 0.0f).select(dya, 0.0f);
}

void EmbeddingGather(const int32_t* ids, int64_t id_stride, int64_t batch, const float* table, int64_t dim,
                     float* out, int64_t out_stride, int64_t col_offset) {
  for (int64_t r = 0; r < batch; ++r) {
    std::memcpy(out + r * out_stride + col_offset, table + static_cast<int64_t>(ids[r * id_stride]) * dim,
                static_cast<size_t>(dim) * sizeof(float));
  }
}

void EmbeddingScatterAdd(const int32_t* ids, int64_t id_stride, int64_t batch, const float* dout,
                         int64_t dout_stride, int64_t col_offset, int64_t dim, float* dtable) {
  for (int64_t r = 0; r < batch; ++r) {
    Row(dtable + static_cast<int64_t>(ids[r * id_stride]) * dim, dim) +=
        ConstRow(dout + r * dout_stride + col_offset, dim);
  }
}

void EmbeddingBagMean(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* table, int64_t dim,
                      float* out, int64_t out_stride, int64_t col_offset) {
  for (int64_t r = 0; r < batch; ++r) {
    auto pooled = Row(out + r * out_stride + col_offset, dim);
    pooled.setZero();
    const int64_t begin = offsets[r];
    const int64_t end = offsets[r + 1];
    if (begin == end) continue;
    for (int64_t k = begin; k < end; ++k) pooled += ConstRow(table + static_cast<int64_t>(ids[k]) * dim, dim);
    pooled *= 1.0f / static_cast<float>(end - begin);
  }
}

void EmbeddingBagMeanBackward(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* dout,
                              int64_t dout_stride, int64_t col_offset, int64_t dim, float* dtable) {
  for (int64_t r = 0; r < batch; ++r) {
    const int64_t begin = offsets[r];
    const int64_t end = offsets[r + 1];
    if (begin == end) continue;
    const float share = 1.0f / static_cast<float>(end - begin);
    for (int64_t k = begin; k < end; ++k) {
      Row(dtable + static_cast<int64_t>(ids[k]) * dim, dim) += share * ConstRow(dout + r * dout_stride + col_offset, dim);
    }
  }
}

float Sigmoid(float z) {
  if (z >= 0) return 1.0f / (1.0f + std::exp(-z));
  float e = std::exp(z);
  return e / (1.0f + e);
}

double BceWithLogits(const float* logits, const float* labels, int64_t n, float scale, float* dlogits) {
  double loss = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    float z = logits[i];
    float y = labels[i];
    loss += std::max(z, 0.0f) - z * y + std::log1p(std::exp(-std::fabs(z)));
    if (dlogits != nullptr) dlogits[i] = (Sigmoid(z) - y) * scale;
  }
  return loss;
}

}  // namespace ectrain::kernels
