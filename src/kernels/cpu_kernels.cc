#include "kernels/cpu_kernels.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <mutex>

#include "core/log.h"

// Eigen's AVX-512 max and exp call intrinsics that pass _mm512_undefined_ps() as an operand whose
// value is never read; GCC 12 warns that its deliberately uninitialized __Y "may be used
// uninitialized" (GCC bug 105593, fixed in 13). Only around the expressions that trigger it.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#define ECTRAIN_BEGIN_AVX512_UNDEFINED_OK \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#define ECTRAIN_END_AVX512_UNDEFINED_OK _Pragma("GCC diagnostic pop")
#else
#define ECTRAIN_BEGIN_AVX512_UNDEFINED_OK
#define ECTRAIN_END_AVX512_UNDEFINED_OK
#endif

namespace ectrain::kernels {
namespace {
using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Map = Eigen::Map<RowMatrix>;
using ConstMap = Eigen::Map<const RowMatrix>;
using ConstRow = Eigen::Map<const Eigen::RowVectorXf>;
using Row = Eigen::Map<Eigen::RowVectorXf>;

// Held by every kernel that multiplies matrices. Debian's serial OpenBLAS shares its work buffers
// between threads without a lock: products running at once in one process (ranks as threads,
// `ectrain train --ranks N`) came out wrong, and each run trained another model (tests/e2e/
// cli_test.sh, "two --ranks 2 runs end alike"). So products take turns; a process with one
// training thread never waits. Eigen's own kernels need no turn.
struct BlasTurn {
#ifdef EIGEN_USE_BLAS
  static std::mutex& Mutex() {
    static std::mutex mutex;
    return mutex;
  }
  std::lock_guard<std::mutex> lock{Mutex()};
#endif
};
}  // namespace

void Fill(float* x, int64_t n, float value) { std::fill(x, x + n, value); }

void Add(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void AddScalar(const float* scalar, float* y, int64_t n) {
  const float s = *scalar;
  for (int64_t i = 0; i < n; ++i) y[i] += s;
}

void AddSum(const float* x, int64_t n, float* sum) {
  for (int64_t i = 0; i < n; ++i) *sum += x[i];
}

void CopyRows(const float* src, int64_t src_stride, int64_t rows, int64_t width, float* dst, int64_t dst_stride) {
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(dst + r * dst_stride, src + r * src_stride, static_cast<size_t>(width) * sizeof(float));
  }
}

void AddRowSums(const float* x, int64_t rows, int64_t width, float* y) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < width; ++c) y[r] += x[r * width + c];
  }
}

void BroadcastRows(const float* x, int64_t rows, int64_t width, float* y) {
  for (int64_t r = 0; r < rows; ++r) std::fill_n(y + r * width, width, x[r]);
}

void AddStrided(const float* a, int64_t a_stride, const float* b, int64_t b_stride, int64_t rows, int64_t width,
                float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = 0; k < width; ++k) out[r * width + k] = a[r * a_stride + k] + b[r * b_stride + k];
  }
}

double SquaredNorm(const float* x, int64_t n) { return Eigen::Map<const Eigen::ArrayXf>(x, n).matrix().squaredNorm(); }

void DenseForward(const float* x, const float* w, const float* bias, int64_t batch, int64_t in, int64_t out, float* y) {
  // The bias first, then the product added to it: `y = x w` zeroes y before the product, and
  // adding the bias afterwards is one more pass over y.
  const BlasTurn turn;
  Map y_map(y, batch, out);
  y_map.rowwise() = ConstRow(bias, out);
  y_map.noalias() += ConstMap(x, batch, in) * ConstMap(w, in, out);
}

void DenseBackward(const float* x, const float* w, const float* dy, int64_t batch, int64_t in, int64_t out, float* dw,
                   float* dbias, float* dx) {
  const BlasTurn turn;
  ConstMap dy_map(dy, batch, out);
  Map(dw, in, out).noalias() += ConstMap(x, batch, in).transpose() * dy_map;
  Row(dbias, out) += dy_map.colwise().sum();
  if (dx != nullptr) Map(dx, batch, in).noalias() = dy_map * ConstMap(w, in, out).transpose();
}

void ReluForward(float* y, int64_t n) {
  Eigen::Map<Eigen::ArrayXf> a(y, n);
  ECTRAIN_BEGIN_AVX512_UNDEFINED_OK
  a = a.max(0.0f);
  ECTRAIN_END_AVX512_UNDEFINED_OK
}

void ReluBackward(const float* y, float* dy, int64_t n) {
  Eigen::Map<const Eigen::ArrayXf> ya(y, n);
  Eigen::Map<Eigen::ArrayXf> dya(dy, n);
  dya = (ya > 0.0f).select(dya, 0.0f);
}

void EmbeddingGather(const int32_t* ids, int64_t id_stride, int64_t batch, const float* table, int64_t dim, float* out,
                     int64_t out_stride, int64_t col_offset) {
  // Rows of a large table are cache misses: each is fetched a few rows ahead.
  constexpr int64_t kAhead = 8;
  for (int64_t r = 0; r < batch; ++r) {
    if (r + kAhead < batch) __builtin_prefetch(table + static_cast<int64_t>(ids[(r + kAhead) * id_stride]) * dim);
    std::memcpy(out + r * out_stride + col_offset, table + static_cast<int64_t>(ids[r * id_stride]) * dim,
                static_cast<size_t>(dim) * sizeof(float));
  }
}

void EmbeddingScatterAdd(const int32_t* ids, int64_t id_stride, int64_t batch, const float* dout, int64_t dout_stride,
                         int64_t col_offset, int64_t dim, float* dtable) {
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
      Row(dtable + static_cast<int64_t>(ids[k]) * dim, dim) +=
          share * ConstRow(dout + r * dout_stride + col_offset, dim);
    }
  }
}

void EmbeddingBagSum(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* table, int64_t dim,
                     float* out, int64_t out_stride, int64_t col_offset) {
  for (int64_t r = 0; r < batch; ++r) {
    auto pooled = Row(out + r * out_stride + col_offset, dim);
    pooled.setZero();
    for (int64_t k = offsets[r]; k < offsets[r + 1]; ++k) {
      pooled += ConstRow(table + static_cast<int64_t>(ids[k]) * dim, dim);
    }
  }
}

void EmbeddingBagSumBackward(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* dout,
                             int64_t dout_stride, int64_t col_offset, int64_t dim, float* dtable) {
  for (int64_t r = 0; r < batch; ++r) {
    for (int64_t k = offsets[r]; k < offsets[r + 1]; ++k) {
      Row(dtable + static_cast<int64_t>(ids[k]) * dim, dim) += ConstRow(dout + r * dout_stride + col_offset, dim);
    }
  }
}

void SigmoidForward(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = Sigmoid(x[i]);
}

void SigmoidBackward(const float* y, float* dy, int64_t n) {
  Eigen::Map<const Eigen::ArrayXf> ya(y, n);
  Eigen::Map<Eigen::ArrayXf> dya(dy, n);
  dya *= ya * (1.0f - ya);
}

uint64_t MixKey(uint64_t key, uint64_t counter) {
  uint64_t z = key + (counter + 1) * 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void DropoutMask(uint64_t key, int64_t rows, int64_t width, float rate, float* mask) {
  const float keep_scale = 1.0f / (1.0f - rate);
  // Compare the top 24 bits with the rate in the same units, so the draw is exact in float.
  const uint32_t threshold = static_cast<uint32_t>(static_cast<double>(rate) * (1u << 24));
  for (int64_t r = 0; r < rows; ++r) {
    const uint64_t row_key = MixKey(key, static_cast<uint64_t>(r));
    for (int64_t c = 0; c < width; ++c) {
      const uint32_t draw = static_cast<uint32_t>(MixKey(row_key, static_cast<uint64_t>(c)) >> 40);
      mask[r * width + c] = draw < threshold ? 0.0f : keep_scale;
    }
  }
}

void ScaleBy(float* x, const float* m, int64_t n) {
  Eigen::Map<Eigen::ArrayXf>(x, n) *= Eigen::Map<const Eigen::ArrayXf>(m, n);
}

void LayerNormForward(const float* x, const float* gamma, const float* beta, int64_t rows, int64_t width, float eps,
                      float* y, float* xhat, float* inv_std) {
  ConstMap x_map(x, rows, width);
  Map xhat_map(xhat, rows, width);
  Map y_map(y, rows, width);
  const ConstRow g(gamma, width), b(beta, width);
  for (int64_t r = 0; r < rows; ++r) {
    const float mean = x_map.row(r).mean();
    xhat_map.row(r) = x_map.row(r).array() - mean;
    const float var = xhat_map.row(r).squaredNorm() / static_cast<float>(width);
    inv_std[r] = 1.0f / std::sqrt(var + eps);
    xhat_map.row(r) *= inv_std[r];
    y_map.row(r) = xhat_map.row(r).cwiseProduct(g) + b;
  }
}

void LayerNormBackward(const float* xhat, const float* inv_std, const float* gamma, const float* dy, int64_t rows,
                       int64_t width, float* dgamma, float* dbeta, float* dx) {
  ConstMap xhat_map(xhat, rows, width);
  ConstMap dy_map(dy, rows, width);
  Map dx_map(dx, rows, width);
  Row(dgamma, width) += dy_map.cwiseProduct(xhat_map).colwise().sum();
  Row(dbeta, width) += dy_map.colwise().sum();
  const ConstRow g(gamma, width);
  const float n = static_cast<float>(width);
  for (int64_t r = 0; r < rows; ++r) {
    // dxhat = dy * gamma; dx = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)).
    dx_map.row(r) = dy_map.row(r).cwiseProduct(g);
    const float mean_d = dx_map.row(r).sum() / n;
    const float mean_dx = dx_map.row(r).dot(xhat_map.row(r)) / n;
    dx_map.row(r) = inv_std[r] * ((dx_map.row(r).array() - mean_d) - xhat_map.row(r).array() * mean_dx).matrix();
  }
}

void FmInteractionForward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                          int64_t dim, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    // The row's fields as a (fields, dim) block.
    ConstMap v(x + r * x_stride + col_offset, fields, dim);
    out[r] = 0.5f * (v.colwise().sum().squaredNorm() - v.squaredNorm());
  }
}

void FmInteractionBackward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                           int64_t dim, const float* dout, float* dx) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* v = x + r * x_stride + col_offset;  // (fields, dim)
    float* dv = dx + r * x_stride + col_offset;
    for (int64_t k = 0; k < dim; ++k) {
      float sum = 0.0f;
      for (int64_t f = 0; f < fields; ++f) sum += v[f * dim + k];
      for (int64_t f = 0; f < fields; ++f) dv[f * dim + k] += dout[r] * (sum - v[f * dim + k]);
    }
  }
}

void DotInteractionForward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                           int64_t dim, float* out, int64_t out_stride, int64_t out_col) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* v = x + r * x_stride + col_offset;  // (fields, dim)
    float* o = out + r * out_stride + out_col;
    // Pair by pair rather than a Gram matrix: only the upper triangle is needed, and no temporary.
    for (int64_t i = 0; i < fields; ++i) {
      const ConstRow vi(v + i * dim, dim);
      for (int64_t j = i + 1; j < fields; ++j) *o++ = vi.dot(ConstRow(v + j * dim, dim));
    }
  }
}

void DotInteractionBackward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                            int64_t dim, const float* dout, int64_t dout_stride, int64_t dout_col, float* dx) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* v = x + r * x_stride + col_offset;
    float* dv = dx + r * x_stride + col_offset;
    const float* g = dout + r * dout_stride + dout_col;
    for (int64_t i = 0; i < fields; ++i) {
      const ConstRow vi(v + i * dim, dim);
      Row dvi(dv + i * dim, dim);
      for (int64_t j = i + 1; j < fields; ++j) {
        const float gp = *g++;
        dvi += gp * ConstRow(v + j * dim, dim);
        Row(dv + j * dim, dim) += gp * vi;
      }
    }
  }
}

void CrossLayerForward(const float* x0, const float* xl, const float* w, const float* b, int64_t rows, int64_t d,
                       float* u, float* x_next) {
  DenseForward(xl, w, b, rows, d, d, u);
  Map(x_next, rows, d) = ConstMap(x0, rows, d).cwiseProduct(ConstMap(u, rows, d)) + ConstMap(xl, rows, d);
}

void CrossLayerBackward(const float* x0, const float* xl, const float* u, const float* w, float* dnext, int64_t rows,
                        int64_t d, float* dw, float* db, float* dxl, float* dx0) {
  const BlasTurn turn;
  Map g(dnext, rows, d);
  Map(dx0, rows, d) += g.cwiseProduct(ConstMap(u, rows, d));
  Map dxl_map(dxl, rows, d);
  dxl_map = g;
  g = g.cwiseProduct(ConstMap(x0, rows, d));  // now du = dnext * x0
  Map(dw, d, d).noalias() += ConstMap(xl, rows, d).transpose() * g;
  Row(db, d) += g.colwise().sum();
  dxl_map.noalias() += g * ConstMap(w, d, d).transpose();
}

void RowDotForward(const float* a, const float* b, int64_t rows, int64_t dim, float* out) {
  Eigen::Map<Eigen::VectorXf>(out, rows) = ConstMap(a, rows, dim).cwiseProduct(ConstMap(b, rows, dim)).rowwise().sum();
}

void RowDotBackward(const float* a, const float* b, const float* dout, int64_t rows, int64_t dim, float* da,
                    float* db) {
  Eigen::Map<const Eigen::VectorXf> d(dout, rows);
  Map(da, rows, dim) += d.asDiagonal() * ConstMap(b, rows, dim);
  Map(db, rows, dim) += d.asDiagonal() * ConstMap(a, rows, dim);
}

double SoftmaxCrossEntropy(const float* logits, const float* labels, int64_t rows, int64_t classes,
                           const float* class_weights, float scale, float* dlogits) {
  double loss = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const ConstRow z(logits + r * classes, classes);
    const int64_t label = static_cast<int64_t>(labels[r]);
    CHECK(label >= 0 && label < classes && static_cast<float>(label) == labels[r])
        << "label " << labels[r] << " is not a class id in [0, " << classes << ")";
    const float weight = class_weights != nullptr ? class_weights[label] : 1.0f;
    // log-sum-exp shifted by the row maximum, so large logits do not overflow.
    ECTRAIN_BEGIN_AVX512_UNDEFINED_OK
    const float max = z.maxCoeff();
    const double sum_exp = (z.array() - max).exp().sum();
    loss += weight * (std::log(sum_exp) + max - z[label]);
    if (dlogits != nullptr) {
      Row dz(dlogits + r * classes, classes);
      dz = ((z.array() - max).exp() * static_cast<float>(weight * scale / sum_exp)).matrix();
      dz[label] -= weight * scale;
    }
    ECTRAIN_END_AVX512_UNDEFINED_OK
  }
  return loss;
}

double SquaredError(const float* predictions, const float* labels, int64_t n, float scale, float* dpred) {
  double loss = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const float diff = predictions[i] - labels[i];
    loss += static_cast<double>(diff) * diff;
    if (dpred != nullptr) dpred[i] = 2.0f * diff * scale;
  }
  return loss;
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

namespace {

// Calls update(k, arena offset of row k) for each row of `span`, fetching each row's values in
// `arrays` (parameters and optimizer state) a few rows ahead (bench/RESULTS.md, profile of the
// seed model: without it every row waited on memory in turn).
template <typename RowUpdate>
void ForEachRow(const RowSpan& span, std::initializer_list<const float*> arrays, RowUpdate update) {
  if (span.rows == nullptr) {
    update(int64_t{0}, span.offset);
    return;
  }
  constexpr int64_t kAhead = 8;
  for (int64_t k = 0; k < span.num_rows; ++k) {
    if (k + kAhead < span.num_rows) {
      const int64_t ahead = span.offset + span.rows[k + kAhead] * span.cols;
      for (int64_t c = 0; c < span.cols; c += 64 / sizeof(float)) {
        for (const float* a : arrays) {
          if (a != nullptr) __builtin_prefetch(a + ahead + c, 1);
        }
      }
    }
    update(k, span.offset + span.rows[k] * span.cols);
  }
}

// Each optimizer's update of n elements: one fused pass that the compiler vectorizes (with
// -fno-math-errno; restrict arguments and coefficients by value, so that no store can be taken to
// change them), inlined into ForEachRow. Most calls are one embedding row of 16-64 values: a
// scalar loop was 38% of a 2-rank step, and a call per row took Adam 1.8-2x the time a row
// (bench/RESULTS.md, profile). g is the clipped gradient plus L2 decay: clip * raw + decay * p.

[[gnu::always_inline]] inline void SgdUpdate(float* __restrict p, float* __restrict buf, const float* __restrict raw,
                                             int64_t n, float lr, float clip, float decay, float momentum,
                                             bool nesterov) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = clip * raw[i] + decay * p[i];
    if (buf == nullptr) {
      p[i] -= lr * g;
    } else {
      buf[i] = momentum * buf[i] + g;
      p[i] -= lr * (nesterov ? g + momentum * buf[i] : buf[i]);
    }
  }
}

[[gnu::always_inline]] inline void RmsPropUpdate(float* __restrict p, float* __restrict v, const float* __restrict raw,
                                                 int64_t n, float lr, float clip, float decay, float rho, float eps) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = clip * raw[i] + decay * p[i];
    v[i] = rho * v[i] + (1.0f - rho) * g * g;
    p[i] -= lr * g / (std::sqrt(v[i]) + eps);
  }
}

[[gnu::always_inline]] inline void AdagradUpdate(float* __restrict p, float* __restrict s, const float* __restrict raw,
                                                 int64_t n, float lr, float clip, float decay, float eps) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = clip * raw[i] + decay * p[i];
    s[i] += g * g;
    p[i] -= lr * g / (std::sqrt(s[i]) + eps);
  }
}

[[gnu::always_inline]] inline void AdamUpdate(float* __restrict p, float* __restrict m, float* __restrict v,
                                              const float* __restrict raw, int64_t n, const AdamCoefficients c) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = c.clip * raw[i] + c.gradient_decay * p[i];
    m[i] = c.b1 * m[i] + (1.0f - c.b1) * g;
    v[i] = c.b2 * v[i] + (1.0f - c.b2) * g * g;
    p[i] = c.keep * p[i] - c.step_size * m[i] / (std::sqrt(v[i]) * c.inv_sqrt_bias2 + c.eps);
  }
}

// FTRL-Proximal. An element never updated (n == 0) first gets the z that stands for its current
// value, so that a tensor starts where its initialisation (the prior bias) put it.
[[gnu::always_inline]] inline void FtrlUpdate(float* __restrict p, float* __restrict z, float* __restrict n,
                                              const float* __restrict raw, int64_t cols, const FtrlCoefficients c) {
  for (int64_t i = 0; i < cols; ++i) {
    const float g = c.clip * raw[i];
    const float n_old = n[i];
    const float sqrt_old = std::sqrt(n_old);
    float zi = n_old == 0.0f ? -p[i] * (c.beta / c.alpha + c.l2) : z[i];
    const float n_new = n_old + g * g;
    const float sqrt_new = std::sqrt(n_new);
    zi += g - (sqrt_new - sqrt_old) / c.alpha * p[i];
    z[i] = zi;
    n[i] = n_new;
    const float shrunk = zi > c.l1 ? zi - c.l1 : (zi < -c.l1 ? zi + c.l1 : 0.0f);
    p[i] = -shrunk / ((c.beta + sqrt_new) / c.alpha + c.l2);
  }
}

}  // namespace

void SgdStep(const RowSpan& span, float* p, float* momentum, const float* grad, const SgdCoefficients& c) {
  const float lr = c.lr, clip = c.clip, decay = c.decay, mu = c.momentum;
  const bool nesterov = c.nesterov;
  const int64_t cols = span.cols;
  ForEachRow(span, {p, momentum}, [&](int64_t k, int64_t at) {
    SgdUpdate(p + at, momentum ? momentum + at : nullptr, grad + k * cols, cols, lr, clip, decay, mu, nesterov);
  });
}

void RmsPropStep(const RowSpan& span, float* p, float* square, const float* grad, const RmsPropCoefficients& c) {
  const float lr = c.lr, clip = c.clip, decay = c.decay, rho = c.rho, eps = c.eps;
  const int64_t cols = span.cols;
  ForEachRow(span, {p, square}, [&](int64_t k, int64_t at) {
    RmsPropUpdate(p + at, square + at, grad + k * cols, cols, lr, clip, decay, rho, eps);
  });
}

void AdagradStep(const RowSpan& span, float* p, float* sum, const float* grad, const AdagradCoefficients& c) {
  const float lr = c.lr, clip = c.clip, decay = c.decay, eps = c.eps;
  const int64_t cols = span.cols;
  ForEachRow(span, {p, sum}, [&](int64_t k, int64_t at) {
    AdagradUpdate(p + at, sum + at, grad + k * cols, cols, lr, clip, decay, eps);
  });
}

void AdamStep(const RowSpan& span, float* p, float* m, float* v, const float* grad, const AdamCoefficients& c) {
  const AdamCoefficients coefficients = c;
  const int64_t cols = span.cols;
  ForEachRow(span, {p, m, v},
             [&](int64_t k, int64_t at) { AdamUpdate(p + at, m + at, v + at, grad + k * cols, cols, coefficients); });
}

void FtrlStep(const RowSpan& span, float* p, float* z, float* n, const float* grad, const FtrlCoefficients& c) {
  const FtrlCoefficients coefficients = c;
  const int64_t cols = span.cols;
  ForEachRow(span, {p, z, n},
             [&](int64_t k, int64_t at) { FtrlUpdate(p + at, z + at, n + at, grad + k * cols, cols, coefficients); });
}

void CatchUpDecay(const RowSpan& span, float* p, float* clock, const CatchUpCoefficients& c) {
  const int64_t cols = span.cols;
  ForEachRow(span, {p, clock}, [&](int64_t, int64_t at) {
    for (int64_t i = at; i < at + cols; ++i) {
      p[i] *= std::exp(-c.decay * (c.now - clock[i]));
      clock[i] = c.after;
    }
  });
}

}  // namespace ectrain::kernels
