// Every Kernels call as the launches, sums and products that run it on a device: KernelSteps<Device>
// is a whole Kernels, written once over the bodies of kernels/cuda/kernel_bodies.h. CudaKernels runs
// it on a GPU (Device = CudaQueue, kernels/cuda/cuda_kernels.cu); the tests run it on the host,
// body by body (tests/unit/kernels/kernel_bodies_test.cc), so that the sizes, guards and product
// plans below are checked without a GPU. A Device provides, all const:
//   allocator()                    the memory every pointer lives in
//   ForEach(name, n, body)         body(i) for every i < n; n > 0
//   Sum(name, n, term, add_to)     queues the sum of term(i), i < n, in double; n > 0; add_to not
//                                  null: *add_to += the sum, on the device
//   ReadSum(bad_label)             waits for the queued sum and returns it; *bad_label = the flag
//   BadLabelFlag(), ClearBadLabel()  the flag a loss body raises for a label that is no class id
//   Gemm(plan)                     a product (bodies::Gemm; every dimension > 0)
//   Zero(x, n)                     x[0..n) = 0
//   CopyToHost(host, src, bytes)   waits for the work queued before it
#pragma once

#include <cstdint>
#include <vector>

#include "core/log.h"
#include "kernels/cuda/kernel_bodies.h"
#include "kernels/kernels.h"

namespace ectrain::kernels::cuda {

// The launch shape of the device's kernels (the host's emulation uses it too): threads per block,
// and the blocks of a sum's first pass, whose partial sums one block then adds.
constexpr int kThreadsPerBlock = 256;
constexpr int kSumBlocks = 512;

template <typename Device>
class KernelSteps final : public Kernels {
 public:
  explicit KernelSteps(const Device& device) : device_(device) {}

  Allocator& allocator() const override { return device_.allocator(); }

  // --- Plumbing.
  void Fill(float* x, int64_t n, float value) const override { Each("Fill", n, bodies::Fill{x, value}); }
  void Add(const float* x, float* y, int64_t n) const override { Each("Add", n, bodies::Add{x, y}); }
  void AddScalar(const float* scalar, float* y, int64_t n) const override {
    Each("AddScalar", n, bodies::AddScalar{scalar, y});
  }
  void AddSum(const float* x, int64_t n, float* sum) const override {
    if (n > 0) device_.Sum("AddSum", n, bodies::Value{x}, sum);  // stays on the device: no wait
  }
  void CopyRows(const float* src, int64_t src_stride, int64_t rows, int64_t width, float* dst,
                int64_t dst_stride) const override {
    Each("CopyRows", rows * width, bodies::CopyRows{src, src_stride, width, dst, dst_stride});
  }
  void AddRowSums(const float* x, int64_t rows, int64_t width, float* y) const override {
    Each("AddRowSums", rows, bodies::AddRowSums{x, width, y});
  }
  void BroadcastRows(const float* x, int64_t rows, int64_t width, float* y) const override {
    Each("BroadcastRows", rows * width, bodies::BroadcastRows{x, width, y});
  }
  void AddStrided(const float* a, int64_t a_stride, const float* b, int64_t b_stride, int64_t rows, int64_t width,
                  float* out) const override {
    Each("AddStrided", rows * width, bodies::AddStrided{a, a_stride, b, b_stride, width, out});
  }
  double SquaredNorm(const float* x, int64_t n) const override { return SumOf("SquaredNorm", n, bodies::Square{x}); }

  // --- Dense layers: the bias, then cuBLAS's product added to it.
  void DenseForward(const float* x, const float* w, const float* bias, int64_t batch, int64_t in, int64_t out,
                    float* y) const override {
    Each("BiasRows", batch * out, bodies::BiasRows{bias, out, y});
    if (batch > 0 && in > 0 && out > 0) device_.Gemm(bodies::DenseForwardGemm(x, w, batch, in, out, y));
  }
  void DenseBackward(const float* x, const float* w, const float* dy, int64_t batch, int64_t in, int64_t out, float* dw,
                     float* dbias, float* dx) const override {
    if (batch <= 0) return;  // nothing to add to dw and dbias, and dx has no rows
    if (in > 0 && out > 0) device_.Gemm(bodies::DenseWeightGradientGemm(x, dy, batch, in, out, dw));
    Each("AddColumnSums", out, bodies::AddColumnSums{dy, batch, out, dbias});
    if (dx == nullptr || in <= 0) return;
    if (out > 0) {
      device_.Gemm(bodies::DenseInputGradientGemm(w, dy, batch, in, out, 0.0f, dx));
    } else {
      device_.Zero(dx, batch * in);  // a product over nothing
    }
  }
  void ReluForward(float* y, int64_t n) const override { Each("ReluForward", n, bodies::ReluForward{y}); }
  void ReluBackward(const float* y, float* dy, int64_t n) const override {
    Each("ReluBackward", n, bodies::ReluBackward{y, dy});
  }

  // --- Embeddings.
  void EmbeddingGather(const int32_t* ids, int64_t id_stride, int64_t batch, const float* table, int64_t dim,
                       float* out, int64_t out_stride, int64_t col_offset) const override {
    Each("EmbeddingGather", batch * dim,
         bodies::EmbeddingGather{ids, id_stride, table, dim, out, out_stride, col_offset});
  }
  void EmbeddingScatterAdd(const int32_t* ids, int64_t id_stride, int64_t batch, const float* dout, int64_t dout_stride,
                           int64_t col_offset, int64_t dim, float* dtable) const override {
    Each("EmbeddingScatterAdd", batch * dim,
         bodies::EmbeddingScatterAdd{ids, id_stride, dout, dout_stride, col_offset, dim, dtable});
  }
  void EmbeddingBagMean(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* table, int64_t dim,
                        float* out, int64_t out_stride, int64_t col_offset) const override {
    Each("EmbeddingBagMean", batch * dim,
         bodies::EmbeddingBagPool{offsets, ids, table, dim, out, out_stride, col_offset, true});
  }
  void EmbeddingBagMeanBackward(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* dout,
                                int64_t dout_stride, int64_t col_offset, int64_t dim, float* dtable) const override {
    Each("EmbeddingBagMeanBackward", batch * dim,
         bodies::EmbeddingBagPoolBackward{offsets, ids, dout, dout_stride, col_offset, dim, dtable, true});
  }
  void EmbeddingBagSum(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* table, int64_t dim,
                       float* out, int64_t out_stride, int64_t col_offset) const override {
    Each("EmbeddingBagSum", batch * dim,
         bodies::EmbeddingBagPool{offsets, ids, table, dim, out, out_stride, col_offset, false});
  }
  void EmbeddingBagSumBackward(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* dout,
                               int64_t dout_stride, int64_t col_offset, int64_t dim, float* dtable) const override {
    Each("EmbeddingBagSumBackward", batch * dim,
         bodies::EmbeddingBagPoolBackward{offsets, ids, dout, dout_stride, col_offset, dim, dtable, false});
  }

  // --- Dropout and layer normalisation.
  void DropoutMask(uint64_t key, int64_t rows, int64_t width, float rate, float* mask) const override {
    Each("DropoutMask", rows * width,
         bodies::DropoutMask{key, width, bodies::DropoutThreshold(rate), bodies::DropoutKeepScale(rate), mask});
  }
  void ScaleBy(float* x, const float* m, int64_t n) const override { Each("ScaleBy", n, bodies::ScaleBy{x, m}); }
  void LayerNormForward(const float* x, const float* gamma, const float* beta, int64_t rows, int64_t width, float eps,
                        float* y, float* xhat, float* inv_std) const override {
    Each("LayerNormForward", rows, bodies::LayerNormForward{x, gamma, beta, width, eps, y, xhat, inv_std});
  }
  void LayerNormBackward(const float* xhat, const float* inv_std, const float* gamma, const float* dy, int64_t rows,
                         int64_t width, float* dgamma, float* dbeta, float* dx) const override {
    if (rows <= 0) return;  // nothing to add to dgamma and dbeta
    Each("LayerNormParamGradients", width, bodies::LayerNormParamGradients{xhat, dy, rows, width, dgamma, dbeta});
    Each("LayerNormInputGradient", rows, bodies::LayerNormInputGradient{xhat, inv_std, gamma, dy, width, dx});
  }

  // --- Interactions.
  void FmInteractionForward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                            int64_t dim, float* out) const override {
    Each("FmInteractionForward", rows, bodies::FmInteractionForward{x, x_stride, col_offset, fields, dim, out});
  }
  void FmInteractionBackward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                             int64_t dim, const float* dout, float* dx) const override {
    Each("FmInteractionBackward", rows * dim,
         bodies::FmInteractionBackward{x, x_stride, col_offset, fields, dim, dout, dx});
  }
  void DotInteractionForward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                             int64_t dim, float* out, int64_t out_stride, int64_t out_col) const override {
    Each("DotInteractionForward", rows * (fields * (fields - 1) / 2),
         bodies::DotInteractionForward{x, x_stride, col_offset, fields, dim, out, out_stride, out_col});
  }
  void DotInteractionBackward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                              int64_t dim, const float* dout, int64_t dout_stride, int64_t dout_col,
                              float* dx) const override {
    Each("DotInteractionBackward", rows * fields * dim,
         bodies::DotInteractionBackward{x, x_stride, col_offset, fields, dim, dout, dout_stride, dout_col, dx});
  }
  void CrossLayerForward(const float* x0, const float* xl, const float* w, const float* b, int64_t rows, int64_t d,
                         float* u, float* x_next) const override {
    DenseForward(xl, w, b, rows, d, d, u);
    Each("CrossLayerNext", rows * d, bodies::CrossLayerNext{x0, u, xl, x_next});
  }
  void CrossLayerBackward(const float* x0, const float* xl, const float* u, const float* w, float* dnext, int64_t rows,
                          int64_t d, float* dw, float* db, float* dxl, float* dx0) const override {
    if (rows <= 0 || d <= 0) return;
    Each("CrossLayerBackwardElements", rows * d, bodies::CrossLayerBackwardElements{x0, u, dnext, dxl, dx0});
    // dnext now holds du = dnext x0: the backward of u = x_l w + b, with dx_l added to.
    device_.Gemm(bodies::DenseWeightGradientGemm(xl, dnext, rows, d, d, dw));
    Each("AddColumnSums", d, bodies::AddColumnSums{dnext, rows, d, db});
    device_.Gemm(bodies::DenseInputGradientGemm(w, dnext, rows, d, d, 1.0f, dxl));
  }
  void RowDotForward(const float* a, const float* b, int64_t rows, int64_t dim, float* out) const override {
    Each("RowDotForward", rows, bodies::RowDotForward{a, b, dim, out});
  }
  void RowDotBackward(const float* a, const float* b, const float* dout, int64_t rows, int64_t dim, float* da,
                      float* db) const override {
    Each("RowDotBackward", rows * dim, bodies::RowDotBackward{a, b, dout, dim, da, db});
  }

  // --- Losses: a sum over the device, read back.
  double SoftmaxCrossEntropy(const float* logits, const float* labels, int64_t rows, int64_t classes,
                             const float* class_weights, float scale, float* dlogits) const override {
    if (rows <= 0) return 0.0;
    device_.ClearBadLabel();
    device_.Sum(
        "SoftmaxCrossEntropyRow", rows,
        bodies::SoftmaxCrossEntropyRow{logits, labels, classes, class_weights, scale, dlogits, device_.BadLabelFlag()},
        nullptr);
    int bad_label = 0;
    const double loss = device_.ReadSum(&bad_label);
    if (bad_label != 0) ReportBadLabel(labels, rows, classes);
    return loss;
  }
  double SquaredError(const float* predictions, const float* labels, int64_t n, float scale,
                      float* dpred) const override {
    return SumOf("SquaredErrorTerm", n, bodies::SquaredErrorTerm{predictions, labels, scale, dpred});
  }
  double BceWithLogits(const float* logits, const float* labels, int64_t n, float scale,
                       float* dlogits) const override {
    return SumOf("BceWithLogitsTerm", n, bodies::BceWithLogitsTerm{logits, labels, scale, dlogits});
  }

  // --- Optimizer steps: one element per updated value.
  void SgdStep(const RowSpan& span, float* p, float* momentum, const float* grad,
               const SgdCoefficients& c) const override {
    Each("SgdUpdate", bodies::SpanElements(span), bodies::SgdUpdate{span, p, momentum, grad, c});
  }
  void RmsPropStep(const RowSpan& span, float* p, float* square, const float* grad,
                   const RmsPropCoefficients& c) const override {
    Each("RmsPropUpdate", bodies::SpanElements(span), bodies::RmsPropUpdate{span, p, square, grad, c});
  }
  void AdagradStep(const RowSpan& span, float* p, float* sum, const float* grad,
                   const AdagradCoefficients& c) const override {
    Each("AdagradUpdate", bodies::SpanElements(span), bodies::AdagradUpdate{span, p, sum, grad, c});
  }
  void AdamStep(const RowSpan& span, float* p, float* m, float* v, const float* grad,
                const AdamCoefficients& c) const override {
    Each("AdamUpdate", bodies::SpanElements(span), bodies::AdamUpdate{span, p, m, v, grad, c});
  }
  void FtrlStep(const RowSpan& span, float* p, float* z, float* n, const float* grad,
                const FtrlCoefficients& c) const override {
    Each("FtrlUpdate", bodies::SpanElements(span), bodies::FtrlUpdate{span, p, z, n, grad, c});
  }
  void CatchUpDecay(const RowSpan& span, float* p, float* clock, const CatchUpCoefficients& c) const override {
    Each("CatchUpDecay", bodies::SpanElements(span), bodies::CatchUpDecay{span, p, clock, c});
  }

 private:
  // No launch for nothing: zero-size calls are no-ops.
  template <typename Body>
  void Each(const char* name, int64_t n, const Body& body) const {
    if (n > 0) device_.ForEach(name, n, body);
  }

  template <typename Term>
  double SumOf(const char* name, int64_t n, const Term& term) const {
    if (n <= 0) return 0.0;
    device_.Sum(name, n, term, nullptr);
    return device_.ReadSum(nullptr);
  }

  // The device found a label that is no class id: the CPU's message, naming the first one.
  [[noreturn]] void ReportBadLabel(const float* labels, int64_t rows, int64_t classes) const {
    std::vector<float> host(static_cast<size_t>(rows));
    device_.CopyToHost(host.data(), labels, host.size() * sizeof(float));
    for (const float label : host) {
      CHECK(bodies::ClassId(label, classes) >= 0)
          << "label " << label << " is not a class id in [0, " << classes << ")";
    }
    CHECK(false) << "a label is not a class id in [0, " << classes << "), the device says; none is, read back";
    AbortJob();
  }

  Device device_;
};

}  // namespace ectrain::kernels::cuda
