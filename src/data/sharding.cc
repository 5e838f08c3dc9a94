#include "data/sharding.h"

#include <algorithm>
#include <numeric>
#include <utility>

#include "core/log.h"
#include "core/rng.h"

namespace ectrain::data {

int64_t StepsPerEpoch(int64_t num_rows, int64_t global_batch_size) {
  CHECK(num_rows >= 0 && global_batch_size > 0)
      << "num_rows " << num_rows << ", global_batch_size " << global_batch_size;
  return (num_rows + global_batch_size - 1) / global_batch_size;
}

RowRange GlobalBatchRange(int64_t num_rows, int64_t global_batch_size, int64_t step) {
  CHECK(step >= 0 && step < StepsPerEpoch(num_rows, global_batch_size)) << "step " << step;
  const int64_t begin = step * global_batch_size;
  return {begin, std::min(begin + global_batch_size, num_rows)};
}

RowRange RankSliceOfBatch(int64_t num_rows, int64_t global_batch_size, int world_size, int rank,
                          int64_t step) {
  CHECK(world_size > 0 && rank >= 0 && rank < world_size)
      << "rank " << rank << " of world_size " << world_size;
  const RowRange batch = GlobalBatchRange(num_rows, global_batch_size, step);
  const int64_t base = batch.size() / world_size;
  const int64_t extra = batch.size() % world_size;
  const int64_t begin = batch.begin + rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

std::vector<int64_t> EpochPermutation(int64_t num_rows, uint64_t seed, int64_t epoch) {
  CHECK(num_rows >= 0) << "num_rows " << num_rows;
  std::vector<int64_t> permutation(num_rows);
  std::iota(permutation.begin(), permutation.end(), int64_t{0});
  // Fisher-Yates with our own generator: std::shuffle differs between standard libraries.
  Rng rng = Rng::ForStream(seed, static_cast<uint64_t>(epoch));
  for (int64_t i = num_rows - 1; i > 0; --i) {
    std::swap(permutation[i], permutation[rng.Below(static_cast<uint64_t>(i) + 1)]);
  }
  return permutation;
}

std::vector<int64_t> RankRowsForEpoch(int64_t num_rows, int64_t global_batch_size, int world_size,
                                      int rank, uint64_t seed, int64_t epoch) {
  const std::vector<int64_t> permutation = EpochPermutation(num_rows, seed, epoch);
  const int64_t steps = StepsPerEpoch(num_rows, global_batch_size);
  std::vector<int64_t> rows;
  rows.reserve(num_rows / world_size + steps);
  for (int64_t step = 0; step < steps; ++step) {
    const RowRange slice = RankSliceOfBatch(num_rows, global_batch_size, world_size, rank, step);
    rows.insert(rows.end(), permutation.begin() + slice.begin, permutation.begin() + slice.end);
  }
  return rows;
}

}  // namespace ectrain::data
