#include "comm/ring.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace ectrain::comm {

RingChunk RingChunkOf(size_t count, int num_ranks, int chunk) {
  const size_t n = static_cast<size_t>(num_ranks);
  const size_t c = static_cast<size_t>(chunk);
  const size_t base = count / n;
  const size_t extra = count % n;
  return {c * base + std::min(c, extra), base + (c < extra ? 1 : 0)};
}

void RingAccumulate(const float* partial, float* mine, size_t n) {
  for (size_t i = 0; i < n; ++i) mine[i] = partial[i] + mine[i];
}

void RingSumRange(std::span<const float* const> inputs, int chunk, size_t begin, size_t n, float* out) {
  const int num_ranks = static_cast<int>(inputs.size());
  // Blocks small enough to stay in L1 while every rank's contribution is added.
  constexpr size_t kBlock = 2048;
  float partial[kBlock];
  for (size_t done = 0; done < n; done += kBlock) {
    const size_t m = std::min(kBlock, n - done);
    const size_t at = begin + done;
    if (num_ranks == 1) {
      if (out + done != inputs[0] + at) std::memmove(out + done, inputs[0] + at, m * sizeof(float));
      continue;
    }
    std::memcpy(partial, inputs[(chunk + 1) % num_ranks] + at, m * sizeof(float));
    for (int k = 2; k < num_ranks; ++k) {
      const float* x = inputs[(chunk + k) % num_ranks] + at;
      for (size_t i = 0; i < m; ++i) partial[i] = partial[i] + x[i];
    }
    // The last addition is the finishing rank's own value: partial + x_chunk.
    const float* own = inputs[chunk] + at;
    float* dst = out + done;
    for (size_t i = 0; i < m; ++i) dst[i] = partial[i] + own[i];
  }
}

template <typename T>
void RingReduceRange(std::span<const T* const> inputs, int chunk, size_t begin, size_t n, T* out, ReduceOp op) {
  if constexpr (std::is_same_v<T, float>) {
    if (op == ReduceOp::kSum) return RingSumRange(inputs, chunk, begin, n, out);
  }
  const int num_ranks = static_cast<int>(inputs.size());
  const auto combine = [op](T partial, T value) {
    switch (op) {
      case ReduceOp::kSum:
        return static_cast<T>(partial + value);
      case ReduceOp::kMax:
        return std::max(partial, value);
      case ReduceOp::kMin:
        return std::min(partial, value);
    }
    return partial;
  };
  for (size_t i = 0; i < n; ++i) {
    T partial = inputs[(chunk + 1) % num_ranks][begin + i];
    for (int k = 2; k <= num_ranks; ++k) partial = combine(partial, inputs[(chunk + k) % num_ranks][begin + i]);
    out[i] = partial;
  }
}

template void RingReduceRange<float>(std::span<const float* const>, int, size_t, size_t, float*, ReduceOp);
template void RingReduceRange<double>(std::span<const double* const>, int, size_t, size_t, double*, ReduceOp);
template void RingReduceRange<int64_t>(std::span<const int64_t* const>, int, size_t, size_t, int64_t*, ReduceOp);
template void RingReduceRange<uint8_t>(std::span<const uint8_t* const>, int, size_t, size_t, uint8_t*, ReduceOp);

}  // namespace ectrain::comm
