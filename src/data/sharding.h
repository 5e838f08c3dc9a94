// Which rows each rank reads: pure arithmetic, no I/O, the one place rank logic for data lives.
// Every rank computes the same global permutation from (seed, epoch); global batch `step`
// covers permutation positions [step*B, min((step+1)*B, N)), and each rank takes a contiguous
// slice of that range. So every row is used exactly once per epoch, every rank runs the same
// number of steps (a rank may get an empty slice in the last batch), and the data order does
// not depend on the number of ranks.
#pragma once

#include <cstdint>
#include <vector>

namespace ectrain::data {

struct RowRange {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};

// ceil(num_rows / global_batch_size); the last global batch may be short.
int64_t StepsPerEpoch(int64_t num_rows, int64_t global_batch_size);

// Positions [begin, end) of the epoch permutation that form global batch `step`.
RowRange GlobalBatchRange(int64_t num_rows, int64_t global_batch_size, int64_t step);

// The slice of global batch `step` that `rank` of `world_size` takes: the batch split into
// world_size contiguous parts whose sizes differ by at most one (earlier ranks get the extra rows).
RowRange RankSliceOfBatch(int64_t num_rows, int64_t global_batch_size, int world_size, int rank,
                          int64_t step);

// The permutation of 0..num_rows-1 for this epoch; identical on every rank.
std::vector<int64_t> EpochPermutation(int64_t num_rows, uint64_t seed, int64_t epoch);

// The file rows `rank` reads in `epoch`, in the order it consumes them (step by step).
std::vector<int64_t> RankRowsForEpoch(int64_t num_rows, int64_t global_batch_size, int world_size,
                                      int rank, uint64_t seed, int64_t epoch);

}  // namespace ectrain::data
