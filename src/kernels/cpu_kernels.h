// CPU kernels (Eigen): the reference implementation every other backend is tested against.
// Row-major throughout: a batch is (rows, features). Pure functions over raw pointers; callers own
// every buffer (scratch included); no allocation except Eigen's internal GEMM blocking; thread-compatible.
// Backward functions add into parameter gradients (dw, dtable) and, unless said otherwise, write
// input gradients (dx).
#pragma once

#include <cstdint>

#include "kernels/kernels.h"

namespace ectrain::kernels {

// Plumbing between the layers (kernels/kernels.h says what each does).
void Fill(float* x, int64_t n, float value);
void Add(const float* x, float* y, int64_t n);
void AddScalar(const float* scalar, float* y, int64_t n);
void AddSum(const float* x, int64_t n, float* sum);
void CopyRows(const float* src, int64_t src_stride, int64_t rows, int64_t width, float* dst, int64_t dst_stride);
void AddRowSums(const float* x, int64_t rows, int64_t width, float* y);
void BroadcastRows(const float* x, int64_t rows, int64_t width, float* y);
void AddStrided(const float* a, int64_t a_stride, const float* b, int64_t b_stride, int64_t rows, int64_t width,
                float* out);
double SquaredNorm(const float* x, int64_t n);

// y(b, out) = x(b, in) * w(in, out) + bias(out)
void DenseForward(const float* x, const float* w, const float* bias, int64_t batch, int64_t in, int64_t out, float* y);

// Given dy(b, out): dw(in, out) += x^T dy; dbias(out) += column sums of dy;
// dx(b, in) = dy w^T when dx is not null.
void DenseBackward(const float* x, const float* w, const float* dy, int64_t batch, int64_t in, int64_t out, float* dw,
                   float* dbias, float* dx);

// In place: y = max(y, 0).
void ReluForward(float* y, int64_t n);
// dy *= (y > 0), where y is the ReLU output.
void ReluBackward(const float* y, float* dy, int64_t n);

// For one categorical field: out(r, col_offset + 0..dim) = table(ids[r * id_stride], :), r < batch.
void EmbeddingGather(const int32_t* ids, int64_t id_stride, int64_t batch, const float* table, int64_t dim, float* out,
                     int64_t out_stride, int64_t col_offset);
// The adjoint: dtable(ids[r * id_stride], :) += dout(r, col_offset + 0..dim).
void EmbeddingScatterAdd(const int32_t* ids, int64_t id_stride, int64_t batch, const float* dout, int64_t dout_stride,
                         int64_t col_offset, int64_t dim, float* dtable);

// Embedding bag, mean pooling: out(r, col_offset + 0..dim) = mean of table(ids, :) over row r's
// ids (CSR: offsets[r] .. offsets[r + 1] into `ids`); a row with no ids gives zeros.
void EmbeddingBagMean(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* table, int64_t dim,
                      float* out, int64_t out_stride, int64_t col_offset);
// The adjoint: dtable(id, :) += dout(r, col_offset + 0..dim) / (number of row r's ids), for each id of row r.
void EmbeddingBagMeanBackward(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* dout,
                              int64_t dout_stride, int64_t col_offset, int64_t dim, float* dtable);

// Embedding bag, sum pooling: as EmbeddingBagMean without the division (a row with no ids: zeros).
void EmbeddingBagSum(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* table, int64_t dim,
                     float* out, int64_t out_stride, int64_t col_offset);
// The adjoint: dtable(id, :) += dout(r, col_offset + 0..dim) for each id of row r.
void EmbeddingBagSumBackward(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* dout,
                             int64_t dout_stride, int64_t col_offset, int64_t dim, float* dtable);

// y = sigmoid(x) elementwise (x and y may alias); backward: dy *= y (1 - y), y the output.
void SigmoidForward(const float* x, float* y, int64_t n);
void SigmoidBackward(const float* y, float* dy, int64_t n);

// Inverted dropout. mask(r, c) = 1 / (1 - rate) with probability 1 - rate, else 0, drawn from a
// counter-based hash of (key, r, c): the same key gives the same mask on any machine, in any
// order, and needs no generator state. Apply with ScaleBy (forward and backward alike).
void DropoutMask(uint64_t key, int64_t rows, int64_t width, float rate, float* mask);
// x *= m elementwise.
void ScaleBy(float* x, const float* m, int64_t n);
// A 64-bit mix of (key, counter) (SplitMix64's finaliser): builds dropout keys from seed, step, call, layer.
uint64_t MixKey(uint64_t key, uint64_t counter);

// Layer normalisation over each row of x (rows, width): xhat = (x - mean) / sqrt(var + eps),
// y = gamma * xhat + beta. Keeps xhat (rows, width) and inv_std (rows) for the backward pass.
void LayerNormForward(const float* x, const float* gamma, const float* beta, int64_t rows, int64_t width, float eps,
                      float* y, float* xhat, float* inv_std);
// Given dy: dgamma += sum_r dy * xhat; dbeta += sum_r dy; dx = the gradient through the normalisation.
void LayerNormBackward(const float* xhat, const float* inv_std, const float* gamma, const float* dy, int64_t rows,
                       int64_t width, float* dgamma, float* dbeta, float* dx);

// Factorisation-machine second-order term over `fields` embeddings of width `dim` that sit side by
// side in each row of x (stride x_stride, from col_offset):
// out(r) = 0.5 * sum_k [(sum_f v_fk)^2 - sum_f v_fk^2] = sum over field pairs f < g of <v_f, v_g>.
void FmInteractionForward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                          int64_t dim, float* out);
// Adds dout(r) * (sum_g v_gk - v_fk) into dx(r, col_offset + f * dim + k).
void FmInteractionBackward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                           int64_t dim, const float* dout, float* dx);

// DLRM's dot interaction over `fields` vectors of width `dim` that sit side by side in each row
// of x (stride x_stride, from col_offset): every pairwise dot product <v_i, v_j>, i < j, in the
// order (0,1), (0,2), ..., (0,F-1), (1,2), ..., written to out(r, out_col + 0..F(F-1)/2)
// (stride out_stride).
void DotInteractionForward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                           int64_t dim, float* out, int64_t out_stride, int64_t out_col);
// Given dout(r, dout_col + pair): adds dout * v_j into dx's v_i and dout * v_i into its v_j
// (dx laid out as x: stride x_stride, from col_offset).
void DotInteractionBackward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                            int64_t dim, const float* dout, int64_t dout_stride, int64_t dout_col, float* dx);

// One DCN-v2 cross layer over rows of width d: u = x_l w + b, x_next = x0 * u + x_l (elementwise).
// Keeps u (rows, d) for the backward pass.
void CrossLayerForward(const float* x0, const float* xl, const float* w, const float* b, int64_t rows, int64_t d,
                       float* u, float* x_next);
// Given dnext (rows, d), which it overwrites (scratch): dw += x_l^T (dnext * x0); db += column sums of
// (dnext * x0); dxl = dnext + (dnext * x0) w^T; dx0 += dnext * u.
void CrossLayerBackward(const float* x0, const float* xl, const float* u, const float* w, float* dnext, int64_t rows,
                        int64_t d, float* dw, float* db, float* dxl, float* dx0);

// Dot interaction of two row-aligned (rows, dim) blocks: out(r) = <a(r, :), b(r, :)>.
void RowDotForward(const float* a, const float* b, int64_t rows, int64_t dim, float* out);
// da(r, :) += dout(r) * b(r, :); db(r, :) += dout(r) * a(r, :).
void RowDotBackward(const float* a, const float* b, const float* dout, int64_t rows, int64_t dim, float* da, float* db);

// Softmax cross-entropy of logits (rows, classes) against class ids stored as float labels,
// each row weighted by class_weights[label] (null: all 1). Returns the sum of weighted row losses;
// writes dlogits = weight * (softmax - onehot) * scale when not null. A label outside
// [0, classes) is a CHECK failure.
double SoftmaxCrossEntropy(const float* logits, const float* labels, int64_t rows, int64_t classes,
                           const float* class_weights, float scale, float* dlogits);

// Squared error: returns sum (p - y)^2; writes dpred = 2 (p - y) * scale when not null.
double SquaredError(const float* predictions, const float* labels, int64_t n, float scale, float* dpred);

// Binary cross-entropy from logits, computed stably: max(z,0) - z*y + log(1 + exp(-|z|)).
// Returns the sum over the batch; writes dlogits = (sigmoid(z) - y) * scale when not null.
double BceWithLogits(const float* logits, const float* labels, int64_t n, float scale, float* dlogits);

float Sigmoid(float z);

// Optimizer updates (formulas in optim/optimizer.h), each one fused pass per row that the compiler
// vectorizes. The rows come in the order they were first touched, scattered over tables larger
// than the caches: each row's parameters and state are fetched a few rows ahead.
void SgdStep(const RowSpan& span, float* p, float* momentum, const float* grad, const SgdCoefficients& c);
void RmsPropStep(const RowSpan& span, float* p, float* square, const float* grad, const RmsPropCoefficients& c);
void AdagradStep(const RowSpan& span, float* p, float* sum, const float* grad, const AdagradCoefficients& c);
void AdamStep(const RowSpan& span, float* p, float* m, float* v, const float* grad, const AdamCoefficients& c);
void FtrlStep(const RowSpan& span, float* p, float* z, float* n, const float* grad, const FtrlCoefficients& c);
void CatchUpDecay(const RowSpan& span, float* p, float* clock, const CatchUpCoefficients& c);

}  // namespace ectrain::kernels
