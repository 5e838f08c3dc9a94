// The ring order that defines ectrain's float sum all-reduce, bit for bit, on every backend.
// Pure functions over caller-owned memory; thread-safe.
//
// For N ranks and a buffer of `count` floats, chunk c (c = 0..N-1) is a contiguous range: the
// first count % N chunks hold count / N + 1 elements, the others count / N (a chunk may be empty),
// in order. Every element i of chunk c is reduced over the ranks' inputs x_0..x_{N-1} as
//
//   (...((x_{c+1}[i] + x_{c+2}[i]) + x_{c+3}[i]) + ... + x_{c+N-1}[i]) + x_c[i]   (ranks mod N)
//
// with one IEEE float addition (round to nearest) per '+', left to right. That is exactly what a
// ring reduce-scatter computes when rank c+1 starts chunk c, each rank adds its own value to the
// partial sum it received from rank r-1 (partial + own), and rank c finishes chunk c; an all-gather
// then copies chunk c from rank c to every rank. The result does not depend on the backend, on
// segmenting or on timing; it does depend on N (a different N is a different order).
#pragma once

#include <cstddef>
#include <span>

#include "comm/communicator.h"

namespace ectrain::comm {

struct RingChunk {
  size_t begin = 0;
  size_t count = 0;
};

// Chunk `chunk` (0 <= chunk < num_ranks) of a `count`-element buffer.
RingChunk RingChunkOf(size_t count, int num_ranks, int chunk);

// mine[i] = partial[i] + mine[i] for i < n: one step of the ring reduce-scatter.
void RingAccumulate(const float* partial, float* mine, size_t n);

// Writes elements [begin, begin + n) of chunk `chunk` of the ring sum of inputs[0..N-1]
// (N = inputs.size()) to out[0..n). `out` may be inputs[chunk] + begin (in place); it must not
// overlap any other input's range.
void RingSumRange(std::span<const float* const> inputs, int chunk, size_t begin, size_t n, float* out);

// The same order for any reduction: out[k] = op(...op(op(x_{c+1}[i], x_{c+2}[i]), ...), x_c[i]) for
// i = begin + k (a float sum is RingSumRange). The same rules for `out` as RingSumRange's.
// Instantiated for float, double, int64_t and uint8_t.
template <typename T>
void RingReduceRange(std::span<const T* const> inputs, int chunk, size_t begin, size_t n, T* out, ReduceOp op);

// The whole reduction of `count` elements, every chunk in its ring order, into out[0..count)
// (which must not overlap any input): what a rank computes once it holds every rank's input.
template <typename T>
void RingReduceAll(std::span<const T* const> inputs, size_t count, T* out, ReduceOp op) {
  const int num_ranks = static_cast<int>(inputs.size());
  for (int c = 0; c < num_ranks; ++c) {
    const RingChunk chunk = RingChunkOf(count, num_ranks, c);
    RingReduceRange<T>(inputs, c, chunk.begin, chunk.count, out + chunk.begin, op);
  }
}

}  // namespace ectrain::comm
