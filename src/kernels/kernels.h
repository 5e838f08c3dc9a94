// Kernels: every loop of a training step (forward, backward, loss, optimizer) behind one interface,
// one implementation per device: Cpu() (Eigen, the reference: the free functions of
// kernels/cpu_kernels.h) and CudaKernels (kernels/cuda/, built with ECTRAIN_CUDA, the same
// signatures). Models and optimizers touch their tensors only through these, so one model code
// and one training loop serve both devices.
// Every pointer is in the memory of allocator() (the host's for the CPU, the GPU's for CUDA);
// argument meanings are those of the function of the same name in kernels/cpu_kernels.h. Calls run
// in the order made (CUDA: queued on one stream); a call that returns a value (a loss, a norm)
// waits for it. Thread-compatible: one instance per training thread, or const use only.
#pragma once

#include <cstdint>

#include "core/allocator.h"

namespace ectrain::kernels {

// Rows of one tensor for an optimizer update: `num_rows` row ids at `rows` (in the kernels'
// memory), row id i being the `cols` values at arena element offset + i * cols; their gradients
// are compact rows, row k at grad + k * cols. rows == nullptr: one row, the `cols` values at
// `offset` (a tensor, or a slice of one, updated whole).
struct RowSpan {
  const int64_t* rows = nullptr;
  int64_t num_rows = 1;
  int64_t offset = 0;
  int64_t cols = 0;
};

// The optimizers' per-step coefficients. g = clip * gradient + decay * p (L2 decay) throughout.
struct SgdCoefficients {
  float lr, clip, decay, momentum;
  bool nesterov;
};
struct RmsPropCoefficients {
  float lr, clip, decay, rho, eps;
};
struct AdagradCoefficients {
  float lr, clip, decay, eps;
};
struct AdamCoefficients {
  float b1, b2, eps;
  float keep;            // AdamW: 1 - lr decay (the weight decays itself); Adam: 1
  float gradient_decay;  // Adam: decay (added to the gradient); AdamW: 0
  float clip, step_size, inv_sqrt_bias2;
};
// FTRL-Proximal (McMahan et al. 2013), per coordinate: g = clip * gradient; z and n are its state.
// l1 and l2 are 0 for biases.
struct FtrlCoefficients {
  float alpha, beta, l1, l2, clip;
};
// The decay a row-sparse row missed while it was not looked up: p *= exp(-decay * (now - clock)),
// then clock = after. clock holds, per element, the cumulative learning rate of the last step
// that updated the row (the same for all its elements).
struct CatchUpCoefficients {
  float decay, now, after;
};

class Kernels {
 public:
  virtual ~Kernels() = default;
  virtual Allocator& allocator() const = 0;
  DeviceKind device() const { return allocator().kind(); }

  // --- Plumbing between the layers.
  virtual void Fill(float* x, int64_t n, float value) const = 0;
  // y += x.
  virtual void Add(const float* x, float* y, int64_t n) const = 0;
  // y(i) += *scalar, the scalar in the kernels' memory (a bias).
  virtual void AddScalar(const float* scalar, float* y, int64_t n) const = 0;
  // *sum += x[0] + x[1] + ... + x[n - 1] (the CPU adds in that order).
  virtual void AddSum(const float* x, int64_t n, float* sum) const = 0;
  // dst(r, 0..width) = src(r, 0..width), rows with strides src_stride and dst_stride.
  virtual void CopyRows(const float* src, int64_t src_stride, int64_t rows, int64_t width, float* dst,
                        int64_t dst_stride) const = 0;
  // y(r) += x(r, 0) + x(r, 1) + ... + x(r, width - 1), in that order; x is (rows, width).
  virtual void AddRowSums(const float* x, int64_t rows, int64_t width, float* y) const = 0;
  // y(r, c) = x(r) for c < width; y is (rows, width).
  virtual void BroadcastRows(const float* x, int64_t rows, int64_t width, float* y) const = 0;
  // out(r, k) = a(r, k) + b(r, k) for k < width, a and b with strides a_stride and b_stride, out (rows, width).
  virtual void AddStrided(const float* a, int64_t a_stride, const float* b, int64_t b_stride, int64_t rows,
                          int64_t width, float* out) const = 0;
  // The sum of x's squares, in double.
  virtual double SquaredNorm(const float* x, int64_t n) const = 0;

  // --- Layers (kernels/cpu_kernels.h says what each computes).
  virtual void DenseForward(const float* x, const float* w, const float* bias, int64_t batch, int64_t in, int64_t out,
                            float* y) const = 0;
  virtual void DenseBackward(const float* x, const float* w, const float* dy, int64_t batch, int64_t in, int64_t out,
                             float* dw, float* dbias, float* dx) const = 0;
  virtual void ReluForward(float* y, int64_t n) const = 0;
  virtual void ReluBackward(const float* y, float* dy, int64_t n) const = 0;
  virtual void EmbeddingGather(const int32_t* ids, int64_t id_stride, int64_t batch, const float* table, int64_t dim,
                               float* out, int64_t out_stride, int64_t col_offset) const = 0;
  virtual void EmbeddingScatterAdd(const int32_t* ids, int64_t id_stride, int64_t batch, const float* dout,
                                   int64_t dout_stride, int64_t col_offset, int64_t dim, float* dtable) const = 0;
  virtual void EmbeddingBagMean(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* table,
                                int64_t dim, float* out, int64_t out_stride, int64_t col_offset) const = 0;
  virtual void EmbeddingBagMeanBackward(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* dout,
                                        int64_t dout_stride, int64_t col_offset, int64_t dim, float* dtable) const = 0;
  virtual void EmbeddingBagSum(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* table,
                               int64_t dim, float* out, int64_t out_stride, int64_t col_offset) const = 0;
  virtual void EmbeddingBagSumBackward(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* dout,
                                       int64_t dout_stride, int64_t col_offset, int64_t dim, float* dtable) const = 0;
  virtual void DropoutMask(uint64_t key, int64_t rows, int64_t width, float rate, float* mask) const = 0;
  virtual void ScaleBy(float* x, const float* m, int64_t n) const = 0;
  virtual void LayerNormForward(const float* x, const float* gamma, const float* beta, int64_t rows, int64_t width,
                                float eps, float* y, float* xhat, float* inv_std) const = 0;
  virtual void LayerNormBackward(const float* xhat, const float* inv_std, const float* gamma, const float* dy,
                                 int64_t rows, int64_t width, float* dgamma, float* dbeta, float* dx) const = 0;
  virtual void FmInteractionForward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                                    int64_t dim, float* out) const = 0;
  virtual void FmInteractionBackward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                                     int64_t dim, const float* dout, float* dx) const = 0;
  virtual void DotInteractionForward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                                     int64_t dim, float* out, int64_t out_stride, int64_t out_col) const = 0;
  virtual void DotInteractionBackward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows,
                                      int64_t fields, int64_t dim, const float* dout, int64_t dout_stride,
                                      int64_t dout_col, float* dx) const = 0;
  virtual void CrossLayerForward(const float* x0, const float* xl, const float* w, const float* b, int64_t rows,
                                 int64_t d, float* u, float* x_next) const = 0;
  virtual void CrossLayerBackward(const float* x0, const float* xl, const float* u, const float* w, float* dnext,
                                  int64_t rows, int64_t d, float* dw, float* db, float* dxl, float* dx0) const = 0;
  virtual void RowDotForward(const float* a, const float* b, int64_t rows, int64_t dim, float* out) const = 0;
  virtual void RowDotBackward(const float* a, const float* b, const float* dout, int64_t rows, int64_t dim, float* da,
                              float* db) const = 0;

  // --- Losses: the sum of row losses (waits for it); the gradient, scaled, when not null.
  virtual double SoftmaxCrossEntropy(const float* logits, const float* labels, int64_t rows, int64_t classes,
                                     const float* class_weights, float scale, float* dlogits) const = 0;
  virtual double SquaredError(const float* predictions, const float* labels, int64_t n, float scale,
                              float* dpred) const = 0;
  virtual double BceWithLogits(const float* logits, const float* labels, int64_t n, float scale,
                               float* dlogits) const = 0;

  // --- Optimizer updates of `span`'s rows; p and the state arrays are whole arenas (span.offset
  // and the row ids locate the rows in them). Formulas in optim/optimizer.h.
  virtual void SgdStep(const RowSpan& span, float* p, float* momentum, const float* grad,
                       const SgdCoefficients& c) const = 0;  // momentum null: plain SGD
  virtual void RmsPropStep(const RowSpan& span, float* p, float* square, const float* grad,
                           const RmsPropCoefficients& c) const = 0;
  virtual void AdagradStep(const RowSpan& span, float* p, float* sum, const float* grad,
                           const AdagradCoefficients& c) const = 0;
  virtual void AdamStep(const RowSpan& span, float* p, float* m, float* v, const float* grad,
                        const AdamCoefficients& c) const = 0;
  virtual void FtrlStep(const RowSpan& span, float* p, float* z, float* n, const float* grad,
                        const FtrlCoefficients& c) const = 0;
  // Before a row-sparse update: the decay of the steps `span`'s rows were not touched.
  virtual void CatchUpDecay(const RowSpan& span, float* p, float* clock, const CatchUpCoefficients& c) const = 0;
};

// The CPU's kernels (host memory, HostAllocator()); one for the process, stateless.
const Kernels& Cpu();

}  // namespace ectrain::kernels
