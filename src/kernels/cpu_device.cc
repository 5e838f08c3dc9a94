#include "kernels/cpu_kernels.h"
#include "kernels/kernels.h"

namespace ectrain::kernels {
namespace {

// The CPU implementation of the interface: the free functions of kernels/cpu_kernels.h.
class CpuKernels final : public Kernels {
 public:
  Allocator& allocator() const override { return HostAllocator(); }
  void Fill(float* x, int64_t n, float value) const override { kernels::Fill(x, n, value); }
  void Add(const float* x, float* y, int64_t n) const override { kernels::Add(x, y, n); }
  void AddScalar(const float* scalar, float* y, int64_t n) const override { kernels::AddScalar(scalar, y, n); }
  void AddSum(const float* x, int64_t n, float* sum) const override { kernels::AddSum(x, n, sum); }
  void CopyRows(const float* src, int64_t src_stride, int64_t rows, int64_t width, float* dst,
                int64_t dst_stride) const override {
    kernels::CopyRows(src, src_stride, rows, width, dst, dst_stride);
  }
  void AddRowSums(const float* x, int64_t rows, int64_t width, float* y) const override {
    kernels::AddRowSums(x, rows, width, y);
  }
  void BroadcastRows(const float* x, int64_t rows, int64_t width, float* y) const override {
    kernels::BroadcastRows(x, rows, width, y);
  }
  void AddStrided(const float* a, int64_t a_stride, const float* b, int64_t b_stride, int64_t rows, int64_t width,
                  float* out) const override {
    kernels::AddStrided(a, a_stride, b, b_stride, rows, width, out);
  }
  double SquaredNorm(const float* x, int64_t n) const override { return kernels::SquaredNorm(x, n); }
  void DenseForward(const float* x, const float* w, const float* bias, int64_t batch, int64_t in, int64_t out,
                    float* y) const override {
    kernels::DenseForward(x, w, bias, batch, in, out, y);
  }
  void DenseBackward(const float* x, const float* w, const float* dy, int64_t batch, int64_t in, int64_t out, float* dw,
                     float* dbias, float* dx) const override {
    kernels::DenseBackward(x, w, dy, batch, in, out, dw, dbias, dx);
  }
  void ReluForward(float* y, int64_t n) const override { kernels::ReluForward(y, n); }
  void ReluBackward(const float* y, float* dy, int64_t n) const override { kernels::ReluBackward(y, dy, n); }
  void EmbeddingGather(const int32_t* ids, int64_t id_stride, int64_t batch, const float* table, int64_t dim,
                       float* out, int64_t out_stride, int64_t col_offset) const override {
    kernels::EmbeddingGather(ids, id_stride, batch, table, dim, out, out_stride, col_offset);
  }
  void EmbeddingScatterAdd(const int32_t* ids, int64_t id_stride, int64_t batch, const float* dout, int64_t dout_stride,
                           int64_t col_offset, int64_t dim, float* dtable) const override {
    kernels::EmbeddingScatterAdd(ids, id_stride, batch, dout, dout_stride, col_offset, dim, dtable);
  }
  void EmbeddingBagMean(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* table, int64_t dim,
                        float* out, int64_t out_stride, int64_t col_offset) const override {
    kernels::EmbeddingBagMean(offsets, ids, batch, table, dim, out, out_stride, col_offset);
  }
  void EmbeddingBagMeanBackward(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* dout,
                                int64_t dout_stride, int64_t col_offset, int64_t dim, float* dtable) const override {
    kernels::EmbeddingBagMeanBackward(offsets, ids, batch, dout, dout_stride, col_offset, dim, dtable);
  }
  void EmbeddingBagSum(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* table, int64_t dim,
                       float* out, int64_t out_stride, int64_t col_offset) const override {
    kernels::EmbeddingBagSum(offsets, ids, batch, table, dim, out, out_stride, col_offset);
  }
  void EmbeddingBagSumBackward(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* dout,
                               int64_t dout_stride, int64_t col_offset, int64_t dim, float* dtable) const override {
    kernels::EmbeddingBagSumBackward(offsets, ids, batch, dout, dout_stride, col_offset, dim, dtable);
  }
  void DropoutMask(uint64_t key, int64_t rows, int64_t width, float rate, float* mask) const override {
    kernels::DropoutMask(key, rows, width, rate, mask);
  }
  void ScaleBy(float* x, const float* m, int64_t n) const override { kernels::ScaleBy(x, m, n); }
  void LayerNormForward(const float* x, const float* gamma, const float* beta, int64_t rows, int64_t width, float eps,
                        float* y, float* xhat, float* inv_std) const override {
    kernels::LayerNormForward(x, gamma, beta, rows, width, eps, y, xhat, inv_std);
  }
  void LayerNormBackward(const float* xhat, const float* inv_std, const float* gamma, const float* dy, int64_t rows,
                         int64_t width, float* dgamma, float* dbeta, float* dx) const override {
    kernels::LayerNormBackward(xhat, inv_std, gamma, dy, rows, width, dgamma, dbeta, dx);
  }
  void FmInteractionForward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                            int64_t dim, float* out) const override {
    kernels::FmInteractionForward(x, x_stride, col_offset, rows, fields, dim, out);
  }
  void FmInteractionBackward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                             int64_t dim, const float* dout, float* dx) const override {
    kernels::FmInteractionBackward(x, x_stride, col_offset, rows, fields, dim, dout, dx);
  }
  void DotInteractionForward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                             int64_t dim, float* out, int64_t out_stride, int64_t out_col) const override {
    kernels::DotInteractionForward(x, x_stride, col_offset, rows, fields, dim, out, out_stride, out_col);
  }
  void DotInteractionBackward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                              int64_t dim, const float* dout, int64_t dout_stride, int64_t dout_col,
                              float* dx) const override {
    kernels::DotInteractionBackward(x, x_stride, col_offset, rows, fields, dim, dout, dout_stride, dout_col, dx);
  }
  void CrossLayerForward(const float* x0, const float* xl, const float* w, const float* b, int64_t rows, int64_t d,
                         float* u, float* x_next) const override {
    kernels::CrossLayerForward(x0, xl, w, b, rows, d, u, x_next);
  }
  void CrossLayerBackward(const float* x0, const float* xl, const float* u, const float* w, float* dnext, int64_t rows,
                          int64_t d, float* dw, float* db, float* dxl, float* dx0) const override {
    kernels::CrossLayerBackward(x0, xl, u, w, dnext, rows, d, dw, db, dxl, dx0);
  }
  void RowDotForward(const float* a, const float* b, int64_t rows, int64_t dim, float* out) const override {
    kernels::RowDotForward(a, b, rows, dim, out);
  }
  void RowDotBackward(const float* a, const float* b, const float* dout, int64_t rows, int64_t dim, float* da,
                      float* db) const override {
    kernels::RowDotBackward(a, b, dout, rows, dim, da, db);
  }
  double SoftmaxCrossEntropy(const float* logits, const float* labels, int64_t rows, int64_t classes,
                             const float* class_weights, float scale, float* dlogits) const override {
    return kernels::SoftmaxCrossEntropy(logits, labels, rows, classes, class_weights, scale, dlogits);
  }
  double SquaredError(const float* predictions, const float* labels, int64_t n, float scale,
                      float* dpred) const override {
    return kernels::SquaredError(predictions, labels, n, scale, dpred);
  }
  double BceWithLogits(const float* logits, const float* labels, int64_t n, float scale,
                       float* dlogits) const override {
    return kernels::BceWithLogits(logits, labels, n, scale, dlogits);
  }
  void SgdStep(const RowSpan& span, float* p, float* momentum, const float* grad,
               const SgdCoefficients& c) const override {
    kernels::SgdStep(span, p, momentum, grad, c);
  }
  void RmsPropStep(const RowSpan& span, float* p, float* square, const float* grad,
                   const RmsPropCoefficients& c) const override {
    kernels::RmsPropStep(span, p, square, grad, c);
  }
  void AdagradStep(const RowSpan& span, float* p, float* sum, const float* grad,
                   const AdagradCoefficients& c) const override {
    kernels::AdagradStep(span, p, sum, grad, c);
  }
  void AdamStep(const RowSpan& span, float* p, float* m, float* v, const float* grad,
                const AdamCoefficients& c) const override {
    kernels::AdamStep(span, p, m, v, grad, c);
  }
  void FtrlStep(const RowSpan& span, float* p, float* z, float* n, const float* grad,
                const FtrlCoefficients& c) const override {
    kernels::FtrlStep(span, p, z, n, grad, c);
  }
  void CatchUpDecay(const RowSpan& span, float* p, float* clock, const CatchUpCoefficients& c) const override {
    kernels::CatchUpDecay(span, p, clock, c);
  }
};

}  // namespace

const Kernels& Cpu() {
  static const CpuKernels cpu;
  return cpu;
}

}  // namespace ectrain::kernels
