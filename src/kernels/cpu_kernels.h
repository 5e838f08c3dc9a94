// CPU kernels (Eigen): the reference implementation every other backend is tested against.
// Row-major throughout: a batch is (rows, features). Pure functions over raw pointers;
// no allocation except Eigen's internal GEMM blocking; thread-compatible.
#pragma once

#include <cstdint>

namespace ectrain::kernels {

// y(b, out) = x(b, in) * w(in, out) + bias(out)
void DenseForward(const float* x, const float* w, const float* bias, int64_t batch, int64_t in, int64_t out,
                  float* y);

// Given dy(b, out): dw(in, out) += x^T dy; dbias(out) += column sums of dy;
// dx(b, in) = dy w^T when dx is not null.
void DenseBackward(const float* x, const float* w, const float* dy, int64_t batch, int64_t in, int64_t out,
                   float* dw, float* dbias, float* dx);

// In place: y = max(y, 0).
void ReluForward(float* y, int64_t n);
// dy *= (y > 0), where y is the ReLU output.
void ReluBackward(const float* y, float* dy, int64_t n);

// For one categorical field: out(r, col_offset + 0..dim) = table(ids[r * id_stride], :), r < batch.
void EmbeddingGather(const int32_t* ids, int64_t id_stride, int64_t batch, const float* table, int64_t dim,
                     float* out, int64_t out_stride, int64_t col_offset);
// The adjoint: dtable(ids[r * id_stride], :) += dout(r, col_offset + 0..dim).
void EmbeddingScatterAdd(const int32_t* ids, int64_t id_stride, int64_t batch, const float* dout,
                         int64_t dout_stride, int64_t col_offset, int64_t dim, float* dtable);

// Embedding bag, mean pooling: out(r, col_offset + 0..dim) = mean of table(ids, :) over row r's
// ids (CSR: offsets[r] .. offsets[r + 1] into `ids`); a row with no ids gives zeros.
void EmbeddingBagMean(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* table, int64_t dim,
                      float* out, int64_t out_stride, int64_t col_offset);
// The adjoint: dtable(id, :) += dout(r, col_offset + 0..dim) / (number of row r's ids), for each id of row r.
void EmbeddingBagMeanBackward(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* dout,
                              int64_t dout_stride, int64_t col_offset, int64_t dim, float* dtable);

// Binary cross-entropy from logits, computed stably: max(z,0) - z*y + log(1 + exp(-|z|)).
// Returns the sum over the batch; writes dlogits = (sigmoid(z) - y) * scale when not null.
double BceWithLogits(const float* logits, const float* labels, int64_t n, float scale, float* dlogits);

float Sigmoid(float z);

}  // namespace ectrain::kernels
