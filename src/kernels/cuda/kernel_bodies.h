// The arithmetic of the CUDA kernels (kernels/cuda/cuda_kernels.cu), written once for the device and
// the host: each __global__ kernel only maps a thread to an index and calls one of these function
// objects, so tests/unit/kernels/kernel_bodies_test.cc runs the very same code on the host, index by
// index, against the CPU reference (kernels/cpu_kernels.h), on machines without a GPU.
// Plain C++ outside nvcc (no CUDA header); argument meanings are those of kernels/cpu_kernels.h.
// Bodies over "elements" take a flat index over (rows, width); "row" bodies own one row each;
// "column" bodies one column each. No two indices of a body write the same place, except through
// AtomicAdd.
#pragma once

#include <math.h>
#include <stdint.h>

#include "kernels/kernels.h"

#if defined(__CUDACC__)
#define ECTRAIN_HOST_DEVICE __host__ __device__
#else
#define ECTRAIN_HOST_DEVICE
#endif

namespace ectrain::kernels::cuda::bodies {

// *address += value, atomically on the device (threads may share the address: embedding rows).
ECTRAIN_HOST_DEVICE inline void AtomicAdd(float* address, float value) {
#if defined(__CUDA_ARCH__)
  atomicAdd(address, value);
#else
  *address += value;
#endif
}

// --- Plumbing.

struct Fill {
  float* x;
  float value;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const { x[i] = value; }
};

struct Add {
  const float* x;
  float* y;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const { y[i] += x[i]; }
};

struct AddScalar {
  const float* scalar;
  float* y;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const { y[i] += *scalar; }
};

// Elements of (rows, width).
struct CopyRows {
  const float* src;
  int64_t src_stride;
  int64_t width;
  float* dst;
  int64_t dst_stride;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const {
    const int64_t r = i / width, c = i - r * width;
    dst[r * dst_stride + c] = src[r * src_stride + c];
  }
};

// Rows: y(r) += x(r, 0) + ... + x(r, width - 1), in the CPU's order.
struct AddRowSums {
  const float* x;
  int64_t width;
  float* y;
  ECTRAIN_HOST_DEVICE void operator()(int64_t r) const {
    float sum = y[r];
    for (int64_t c = 0; c < width; ++c) sum += x[r * width + c];
    y[r] = sum;
  }
};

// Elements of y (rows, width).
struct BroadcastRows {
  const float* x;
  int64_t width;
  float* y;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const { y[i] = x[i / width]; }
};

// Elements of out (rows, width).
struct AddStrided {
  const float* a;
  int64_t a_stride;
  const float* b;
  int64_t b_stride;
  int64_t width;
  float* out;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const {
    const int64_t r = i / width, k = i - r * width;
    out[i] = a[r * a_stride + k] + b[r * b_stride + k];
  }
};

// --- Sums over the device: a term per index, added in double by a grid-stride reduction.

// Thread `thread` of `threads` adds the terms of i = thread, thread + threads, ... < n; the
// threads' shares together hold every term once.
template <typename Term>
ECTRAIN_HOST_DEVICE double StridedSum(const Term& term, int64_t n, int64_t thread, int64_t threads) {
  double sum = 0.0;
  for (int64_t i = thread; i < n; i += threads) sum += term(i);
  return sum;
}

struct Value {
  const float* x;
  ECTRAIN_HOST_DEVICE double operator()(int64_t i) const { return x[i]; }
};

// The blocks' partial sums, added up by the last pass.
struct Partial {
  const double* partials;
  ECTRAIN_HOST_DEVICE double operator()(int64_t i) const { return partials[i]; }
};

struct Square {
  const float* x;
  ECTRAIN_HOST_DEVICE double operator()(int64_t i) const { return static_cast<double>(x[i]) * x[i]; }
};

// --- Matrix products: the cuBLAS call each layer makes, planned here so that the host tests can
// check it. cuBLAS is column-major; a row-major (r, c) matrix is its column-major (c, r) transpose,
// so a row-major C = A B is computed as the column-major C^T = B^T A^T.

// C = op(A) op(B) + beta C, column-major, op(A) (m, k), op(B) (k, n), C (m, n); alpha is 1.
struct Gemm {
  bool transpose_a;
  bool transpose_b;
  int64_t m, n, k;
  const float* a;
  int64_t lda;
  const float* b;
  int64_t ldb;
  float beta;
  float* c;
  int64_t ldc;
};

// y(batch, out) += x(batch, in) w(in, out) (y already holds the bias): y^T = w^T x^T.
inline Gemm DenseForwardGemm(const float* x, const float* w, int64_t batch, int64_t in, int64_t out, float* y) {
  return {false, false, out, batch, in, w, out, x, in, 1.0f, y, out};
}

// dw(in, out) += x(batch, in)^T dy(batch, out): dw^T = dy^T x.
inline Gemm DenseWeightGradientGemm(const float* x, const float* dy, int64_t batch, int64_t in, int64_t out,
                                    float* dw) {
  return {false, true, out, in, batch, dy, out, x, in, 1.0f, dw, out};
}

// dx(batch, in) = beta dx + dy(batch, out) w(in, out)^T: dx^T = w dy^T.
inline Gemm DenseInputGradientGemm(const float* w, const float* dy, int64_t batch, int64_t in, int64_t out, float beta,
                                   float* dx) {
  return {true, false, in, batch, out, w, out, dy, out, beta, dx, in};
}

// Elements of y (batch, out): the bias that the forward product is added to.
struct BiasRows {
  const float* bias;
  int64_t out;
  float* y;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const { y[i] = bias[i % out]; }
};

// Columns: sums(c) += x(0, c) + ... + x(rows - 1, c); adjacent threads read adjacent columns.
struct AddColumnSums {
  const float* x;
  int64_t rows;
  int64_t cols;
  float* sums;
  ECTRAIN_HOST_DEVICE void operator()(int64_t c) const {
    float sum = 0.0f;
    for (int64_t r = 0; r < rows; ++r) sum += x[r * cols + c];
    sums[c] += sum;
  }
};

struct ReluForward {
  float* y;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const { y[i] = y[i] > 0.0f ? y[i] : 0.0f; }
};

struct ReluBackward {
  const float* y;
  float* dy;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const { dy[i] = y[i] > 0.0f ? dy[i] : 0.0f; }
};

// --- Embeddings. Elements of (batch, dim).

struct EmbeddingGather {
  const int32_t* ids;
  int64_t id_stride;
  const float* table;
  int64_t dim;
  float* out;
  int64_t out_stride;
  int64_t col_offset;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const {
    const int64_t r = i / dim, c = i - r * dim;
    out[r * out_stride + col_offset + c] = table[static_cast<int64_t>(ids[r * id_stride]) * dim + c];
  }
};

struct EmbeddingScatterAdd {
  const int32_t* ids;
  int64_t id_stride;
  const float* dout;
  int64_t dout_stride;
  int64_t col_offset;
  int64_t dim;
  float* dtable;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const {
    const int64_t r = i / dim, c = i - r * dim;
    AtomicAdd(dtable + static_cast<int64_t>(ids[r * id_stride]) * dim + c, dout[r * dout_stride + col_offset + c]);
  }
};

// Bag pooling, sum or mean, over CSR offsets; a bag with no ids gives zeros. Same order as the CPU.
struct EmbeddingBagPool {
  const int64_t* offsets;
  const int32_t* ids;
  const float* table;
  int64_t dim;
  float* out;
  int64_t out_stride;
  int64_t col_offset;
  bool mean;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const {
    const int64_t r = i / dim, c = i - r * dim;
    const int64_t begin = offsets[r], end = offsets[r + 1];
    float sum = 0.0f;
    for (int64_t k = begin; k < end; ++k) sum += table[static_cast<int64_t>(ids[k]) * dim + c];
    if (mean && end > begin) sum *= 1.0f / static_cast<float>(end - begin);
    out[r * out_stride + col_offset + c] = sum;
  }
};

// The adjoint: each id of bag r gets dout(r, c) (mean: divided by the bag's size).
struct EmbeddingBagPoolBackward {
  const int64_t* offsets;
  const int32_t* ids;
  const float* dout;
  int64_t dout_stride;
  int64_t col_offset;
  int64_t dim;
  float* dtable;
  bool mean;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const {
    const int64_t r = i / dim, c = i - r * dim;
    const int64_t begin = offsets[r], end = offsets[r + 1];
    if (begin == end) return;
    float gradient = dout[r * dout_stride + col_offset + c];
    if (mean) gradient = (1.0f / static_cast<float>(end - begin)) * gradient;
    for (int64_t k = begin; k < end; ++k) AtomicAdd(dtable + static_cast<int64_t>(ids[k]) * dim + c, gradient);
  }
};

// --- Dropout: the CPU's counter-based hash, bit for bit (kernels::MixKey and kernels::DropoutMask).

ECTRAIN_HOST_DEVICE inline uint64_t MixKey(uint64_t key, uint64_t counter) {
  uint64_t z = key + (counter + 1) * 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The rate in units of the draw's top 24 bits, and the kept values' scale: computed on the host.
inline uint32_t DropoutThreshold(float rate) { return static_cast<uint32_t>(static_cast<double>(rate) * (1u << 24)); }
inline float DropoutKeepScale(float rate) { return 1.0f / (1.0f - rate); }

// Elements of mask (rows, width).
struct DropoutMask {
  uint64_t key;
  int64_t width;
  uint32_t threshold;
  float keep_scale;
  float* mask;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const {
    const int64_t r = i / width, c = i - r * width;
    const uint64_t row_key = MixKey(key, static_cast<uint64_t>(r));
    const auto draw = static_cast<uint32_t>(MixKey(row_key, static_cast<uint64_t>(c)) >> 40);
    mask[i] = draw < threshold ? 0.0f : keep_scale;
  }
};

struct ScaleBy {
  float* x;
  const float* m;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const { x[i] *= m[i]; }
};

// --- Layer normalisation.

// Rows: xhat = (x - mean) * inv_std, y = gamma xhat + beta.
struct LayerNormForward {
  const float* x;
  const float* gamma;
  const float* beta;
  int64_t width;
  float eps;
  float* y;
  float* xhat;
  float* inv_std;
  ECTRAIN_HOST_DEVICE void operator()(int64_t r) const {
    const float* xr = x + r * width;
    float* hr = xhat + r * width;
    float sum = 0.0f;
    for (int64_t c = 0; c < width; ++c) sum += xr[c];
    const float mean = sum / static_cast<float>(width);
    float squares = 0.0f;
    for (int64_t c = 0; c < width; ++c) {
      hr[c] = xr[c] - mean;
      squares += hr[c] * hr[c];
    }
    const float scale = 1.0f / sqrtf(squares / static_cast<float>(width) + eps);
    inv_std[r] = scale;
    for (int64_t c = 0; c < width; ++c) {
      hr[c] *= scale;
      y[r * width + c] = hr[c] * gamma[c] + beta[c];
    }
  }
};

// Columns: dgamma(c) += sum_r dy xhat; dbeta(c) += sum_r dy.
struct LayerNormParamGradients {
  const float* xhat;
  const float* dy;
  int64_t rows;
  int64_t width;
  float* dgamma;
  float* dbeta;
  ECTRAIN_HOST_DEVICE void operator()(int64_t c) const {
    float dg = 0.0f, db = 0.0f;
    for (int64_t r = 0; r < rows; ++r) {
      dg += dy[r * width + c] * xhat[r * width + c];
      db += dy[r * width + c];
    }
    dgamma[c] += dg;
    dbeta[c] += db;
  }
};

// Rows: dx = inv_std (dxhat - mean(dxhat) - xhat mean(dxhat xhat)), dxhat = dy gamma.
struct LayerNormInputGradient {
  const float* xhat;
  const float* inv_std;
  const float* gamma;
  const float* dy;
  int64_t width;
  float* dx;
  ECTRAIN_HOST_DEVICE void operator()(int64_t r) const {
    const float* hr = xhat + r * width;
    const float* dyr = dy + r * width;
    float sum = 0.0f, dot = 0.0f;
    for (int64_t c = 0; c < width; ++c) {
      const float dxhat = dyr[c] * gamma[c];
      sum += dxhat;
      dot += dxhat * hr[c];
    }
    const float n = static_cast<float>(width);
    const float mean_d = sum / n, mean_dx = dot / n;
    for (int64_t c = 0; c < width; ++c)
      dx[r * width + c] = inv_std[r] * ((dyr[c] * gamma[c] - mean_d) - hr[c] * mean_dx);
  }
};

// --- Interactions between the fields of a row: `fields` vectors of width `dim` side by side.

// Rows: out(r) = 0.5 sum_k [(sum_f v_fk)^2 - sum_f v_fk^2].
struct FmInteractionForward {
  const float* x;
  int64_t x_stride;
  int64_t col_offset;
  int64_t fields;
  int64_t dim;
  float* out;
  ECTRAIN_HOST_DEVICE void operator()(int64_t r) const {
    const float* v = x + r * x_stride + col_offset;
    float square_of_sums = 0.0f, sum_of_squares = 0.0f;
    for (int64_t k = 0; k < dim; ++k) {
      float sum = 0.0f;
      for (int64_t f = 0; f < fields; ++f) {
        sum += v[f * dim + k];
        sum_of_squares += v[f * dim + k] * v[f * dim + k];
      }
      square_of_sums += sum * sum;
    }
    out[r] = 0.5f * (square_of_sums - sum_of_squares);
  }
};

// Elements of (rows, dim): each owns column k of its row's fields.
struct FmInteractionBackward {
  const float* x;
  int64_t x_stride;
  int64_t col_offset;
  int64_t fields;
  int64_t dim;
  const float* dout;
  float* dx;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const {
    const int64_t r = i / dim, k = i - r * dim;
    const float* v = x + r * x_stride + col_offset;
    float* dv = dx + r * x_stride + col_offset;
    float sum = 0.0f;
    for (int64_t f = 0; f < fields; ++f) sum += v[f * dim + k];
    for (int64_t f = 0; f < fields; ++f) dv[f * dim + k] += dout[r] * (sum - v[f * dim + k]);
  }
};

// The position of pair (i, j), i < j, in the order (0,1), (0,2), ..., (0,F-1), (1,2), ...
ECTRAIN_HOST_DEVICE inline int64_t PairIndex(int64_t i, int64_t j, int64_t fields) {
  return i * fields - i * (i + 1) / 2 + (j - i - 1);
}

// Elements of (rows, F(F-1)/2): one dot product each.
struct DotInteractionForward {
  const float* x;
  int64_t x_stride;
  int64_t col_offset;
  int64_t fields;
  int64_t dim;
  float* out;
  int64_t out_stride;
  int64_t out_col;
  ECTRAIN_HOST_DEVICE void operator()(int64_t index) const {
    const int64_t pairs = fields * (fields - 1) / 2;
    const int64_t r = index / pairs, p = index - r * pairs;
    int64_t i = 0, first = 0;  // first: the index of pair (i, i + 1)
    while (p >= first + (fields - 1 - i)) {
      first += fields - 1 - i;
      ++i;
    }
    const int64_t j = i + 1 + (p - first);
    const float* v = x + r * x_stride + col_offset;
    float dot = 0.0f;
    for (int64_t k = 0; k < dim; ++k) dot += v[i * dim + k] * v[j * dim + k];
    out[r * out_stride + out_col + p] = dot;
  }
};

// Elements of (rows, fields, dim): dv_f(k) += sum over g != f of dout(pair f, g) v_g(k), g ascending
// (the CPU's order).
struct DotInteractionBackward {
  const float* x;
  int64_t x_stride;
  int64_t col_offset;
  int64_t fields;
  int64_t dim;
  const float* dout;
  int64_t dout_stride;
  int64_t dout_col;
  float* dx;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const {
    const int64_t per_row = fields * dim;
    const int64_t r = i / per_row, f = (i - r * per_row) / dim, k = i - r * per_row - f * dim;
    const float* v = x + r * x_stride + col_offset;
    const float* g = dout + r * dout_stride + dout_col;
    float& target = dx[r * x_stride + col_offset + f * dim + k];
    for (int64_t other = 0; other < fields; ++other) {
      if (other == f) continue;
      const int64_t pair = other < f ? PairIndex(other, f, fields) : PairIndex(f, other, fields);
      target += g[pair] * v[other * dim + k];
    }
  }
};

// --- DCN-v2 cross layer: the products are Gemm calls; these are the elementwise parts.

// Elements of (rows, d): x_next = x0 u + x_l.
struct CrossLayerNext {
  const float* x0;
  const float* u;
  const float* xl;
  float* x_next;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const { x_next[i] = x0[i] * u[i] + xl[i]; }
};

// Elements of (rows, d): dx0 += dnext u; dxl = dnext; dnext becomes du = dnext x0.
struct CrossLayerBackwardElements {
  const float* x0;
  const float* u;
  float* dnext;
  float* dxl;
  float* dx0;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const {
    const float g = dnext[i];
    dx0[i] += g * u[i];
    dxl[i] = g;
    dnext[i] = g * x0[i];
  }
};

// --- Dot of two row-aligned blocks.

struct RowDotForward {
  const float* a;
  const float* b;
  int64_t dim;
  float* out;
  ECTRAIN_HOST_DEVICE void operator()(int64_t r) const {
    float dot = 0.0f;
    for (int64_t c = 0; c < dim; ++c) dot += a[r * dim + c] * b[r * dim + c];
    out[r] = dot;
  }
};

// Elements of (rows, dim).
struct RowDotBackward {
  const float* a;
  const float* b;
  const float* dout;
  int64_t dim;
  float* da;
  float* db;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const {
    const float d = dout[i / dim];
    da[i] += d * b[i];
    db[i] += d * a[i];
  }
};

// --- Losses: terms of the reduction (row or element loss, in double); each writes its gradient.

ECTRAIN_HOST_DEVICE inline float Sigmoid(float z) {
  if (z >= 0) return 1.0f / (1.0f + expf(-z));
  const float e = expf(z);
  return e / (1.0f + e);
}

// The class id a float label holds, or -1 when it holds none in [0, classes) (NaN included).
ECTRAIN_HOST_DEVICE inline int64_t ClassId(float label, int64_t classes) {
  if (!(label >= 0.0f && label < static_cast<float>(classes))) return -1;
  const auto id = static_cast<int64_t>(label);
  return id < classes && static_cast<float>(id) == label ? id : -1;
}

// Rows. A label that is no class id sets *bad_label (checked by the host after the sum) and adds
// nothing; the row's gradient is then left unwritten.
struct SoftmaxCrossEntropyRow {
  const float* logits;
  const float* labels;
  int64_t classes;
  const float* class_weights;
  float scale;
  float* dlogits;
  int* bad_label;
  ECTRAIN_HOST_DEVICE double operator()(int64_t r) const {
    const int64_t label = ClassId(labels[r], classes);
    if (label < 0) {
      *bad_label = 1;
      return 0.0;
    }
    const float* z = logits + r * classes;
    float max = z[0];
    for (int64_t k = 1; k < classes; ++k) max = z[k] > max ? z[k] : max;
    float sum_exp = 0.0f;  // the CPU sums in float too
    for (int64_t k = 0; k < classes; ++k) sum_exp += expf(z[k] - max);
    const float weight = class_weights != nullptr ? class_weights[label] : 1.0f;
    if (dlogits != nullptr) {
      float* dz = dlogits + r * classes;
      const auto factor = static_cast<float>(weight * scale / static_cast<double>(sum_exp));
      for (int64_t k = 0; k < classes; ++k) dz[k] = expf(z[k] - max) * factor;
      dz[label] -= weight * scale;
    }
    return weight * (log(static_cast<double>(sum_exp)) + max - z[label]);
  }
};

struct SquaredErrorTerm {
  const float* predictions;
  const float* labels;
  float scale;
  float* dpred;
  ECTRAIN_HOST_DEVICE double operator()(int64_t i) const {
    const float diff = predictions[i] - labels[i];
    if (dpred != nullptr) dpred[i] = 2.0f * diff * scale;
    return static_cast<double>(diff) * diff;
  }
};

// max(z, 0) - z y + log(1 + exp(-|z|)); gradient (sigmoid(z) - y) scale.
struct BceWithLogitsTerm {
  const float* logits;
  const float* labels;
  float scale;
  float* dlogits;
  ECTRAIN_HOST_DEVICE double operator()(int64_t i) const {
    const float z = logits[i], y = labels[i];
    if (dlogits != nullptr) dlogits[i] = (Sigmoid(z) - y) * scale;
    return (z > 0.0f ? z : 0.0f) - z * y + log1pf(expf(-fabsf(z)));
  }
};

// --- Optimizer steps over a RowSpan. Elements: the span's num_rows * cols values (rows == nullptr:
// cols values); element i's gradient is grad[i]. Row ids must be distinct (they are: one per row
// touched), so no two elements update the same parameter.

inline int64_t SpanElements(const RowSpan& span) {
  return span.rows == nullptr ? span.cols : span.num_rows * span.cols;
}

// Where element i of the span sits in the arenas.
ECTRAIN_HOST_DEVICE inline int64_t ArenaIndex(const RowSpan& span, int64_t i) {
  if (span.rows == nullptr) return span.offset + i;
  const int64_t k = i / span.cols;
  return span.offset + span.rows[k] * span.cols + (i - k * span.cols);
}

struct SgdUpdate {
  RowSpan span;
  float* p;
  float* momentum;  // null: plain SGD
  const float* grad;
  SgdCoefficients c;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const {
    const int64_t at = ArenaIndex(span, i);
    const float g = c.clip * grad[i] + c.decay * p[at];
    if (momentum == nullptr) {
      p[at] -= c.lr * g;
      return;
    }
    const float buf = c.momentum * momentum[at] + g;
    momentum[at] = buf;
    p[at] -= c.lr * (c.nesterov ? g + c.momentum * buf : buf);
  }
};

struct RmsPropUpdate {
  RowSpan span;
  float* p;
  float* square;
  const float* grad;
  RmsPropCoefficients c;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const {
    const int64_t at = ArenaIndex(span, i);
    const float g = c.clip * grad[i] + c.decay * p[at];
    const float v = c.rho * square[at] + (1.0f - c.rho) * g * g;
    square[at] = v;
    p[at] -= c.lr * g / (sqrtf(v) + c.eps);
  }
};

struct AdagradUpdate {
  RowSpan span;
  float* p;
  float* sum;
  const float* grad;
  AdagradCoefficients c;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const {
    const int64_t at = ArenaIndex(span, i);
    const float g = c.clip * grad[i] + c.decay * p[at];
    const float s = sum[at] + g * g;
    sum[at] = s;
    p[at] -= c.lr * g / (sqrtf(s) + c.eps);
  }
};

struct AdamUpdate {
  RowSpan span;
  float* p;
  float* m;
  float* v;
  const float* grad;
  AdamCoefficients c;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const {
    const int64_t at = ArenaIndex(span, i);
    const float g = c.clip * grad[i] + c.gradient_decay * p[at];
    const float mi = c.b1 * m[at] + (1.0f - c.b1) * g;
    const float vi = c.b2 * v[at] + (1.0f - c.b2) * g * g;
    m[at] = mi;
    v[at] = vi;
    p[at] = c.keep * p[at] - c.step_size * mi / (sqrtf(vi) * c.inv_sqrt_bias2 + c.eps);
  }
};

struct FtrlUpdate {
  RowSpan span;
  float* p;
  float* z;
  float* n;
  const float* grad;
  FtrlCoefficients c;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const {
    const int64_t at = ArenaIndex(span, i);
    const float g = c.clip * grad[i];
    const float n_old = n[at];
    const float sqrt_old = sqrtf(n_old);
    float zi = n_old == 0.0f ? -p[at] * (c.beta / c.alpha + c.l2) : z[at];
    const float n_new = n_old + g * g;
    const float sqrt_new = sqrtf(n_new);
    zi += g - (sqrt_new - sqrt_old) / c.alpha * p[at];
    z[at] = zi;
    n[at] = n_new;
    const float shrunk = zi > c.l1 ? zi - c.l1 : (zi < -c.l1 ? zi + c.l1 : 0.0f);
    p[at] = -shrunk / ((c.beta + sqrt_new) / c.alpha + c.l2);
  }
};

struct CatchUpDecay {
  RowSpan span;
  float* p;
  float* clock;
  CatchUpCoefficients c;
  ECTRAIN_HOST_DEVICE void operator()(int64_t i) const {
    const int64_t at = ArenaIndex(span, i);
    p[at] *= expf(-c.decay * (c.now - clock[at]));
    clock[at] = c.after;
  }
};

}  // namespace ectrain::kernels::cuda::bodies
