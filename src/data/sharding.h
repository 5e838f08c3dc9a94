// Which rows each rank reads, and in what order: pure arithmetic, no I/O, the one place where
// rank logic for data lives. The data order is a function of (seed, epoch, the block table) and
// never of the number of ranks:
//  - The training files, concatenated in order, form one row space cut into BLOCKS of
//    data.block_rows rows that never cross a file boundary (a file's last block may be short).
//  - Each epoch permutes the blocks (seeded by seed, epoch) and cuts the permuted list into
//    WINDOWS of data.shuffle_window_blocks blocks (the last window may have fewer).
//  - Within a window each block's rows are permuted (seeded by seed, epoch, block id) and the
//    window's sequence interleaves the blocks round by round: round j takes, in window order, the
//    j-th row (of its permutation) of every block that has more than j rows.
//  - The epoch's sequence is the windows' sequences concatenated; global batch `step` is
//    positions [step*B, min((step+1)*B, N)), so every row is used exactly once per epoch.
// Rank r owns the blocks at window index k with k % world_size == r; its slice of a global batch
// is exactly that batch's rows that come from its blocks, so it reads only its own blocks, whole.
// Balance: within a window of m full blocks where world_size divides m, any run of positions
// gives every rank the same number of rows to within one (exactly, when world_size divides the
// run). Otherwise (m not a multiple of world_size, the short last window, short file-tail
// blocks) a rank's share follows the number of its blocks still active; the loss is still the
// global mean, only the step time of the busiest rank grows.
// Everything here is deterministic and allocation-free after construction unless stated.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "core/log.h"

namespace ectrain::data {

struct RowRange {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};

// ceil(num_rows / global_batch_size); the last global batch may be short.
int64_t StepsPerEpoch(int64_t num_rows, int64_t global_batch_size);

// Positions [begin, end) of the epoch's sequence that form global batch `step`.
RowRange GlobalBatchRange(int64_t num_rows, int64_t global_batch_size, int64_t step);

// A seeded permutation of 0..num_rows-1 (Fisher-Yates with our own generator, so it is the same
// with every standard library); used by `prepare` for its train/test split.
std::vector<int64_t> EpochPermutation(int64_t num_rows, uint64_t seed, int64_t epoch);

struct Block {
  int32_t file = 0;          // index into the file list
  int64_t file_begin = 0;    // first row within that file
  int64_t num_rows = 0;      // <= block_rows; short only for a file's last block
  int64_t global_begin = 0;  // first row in the concatenated row space
};

// The files' rows cut into blocks, in file order. Immutable.
class BlockTable {
 public:
  BlockTable() = default;
  // file_rows[f]: rows of file f (0 is fine: such a file has no blocks).
  BlockTable(std::span<const int64_t> file_rows, int64_t block_rows);

  int64_t block_rows() const { return block_rows_; }
  int64_t num_rows() const { return num_rows_; }
  int64_t num_blocks() const { return static_cast<int64_t>(blocks_.size()); }
  int num_files() const { return static_cast<int>(file_rows_.size()); }
  int64_t file_rows(int file) const { return file_rows_[file]; }
  const Block& block(int64_t id) const { return blocks_[id]; }

 private:
  int64_t block_rows_ = 1;
  int64_t num_rows_ = 0;
  std::vector<int64_t> file_rows_;
  std::vector<Block> blocks_;
};

// Writes the permutation of block `block`'s rows in `epoch` to out (size = the block's rows).
void BlockRowPermutation(uint64_t seed, int64_t epoch, int64_t block, std::span<int32_t> out);

// One epoch's block order and windows. Reset() reuses the storage made by the constructor, so
// moving from epoch to epoch allocates nothing.
class EpochPlan {
 public:
  EpochPlan(const BlockTable& table, int64_t window_blocks);
  void Reset(uint64_t seed, int64_t epoch);

  int64_t epoch() const { return epoch_; }
  int64_t window_blocks() const { return window_blocks_; }
  int64_t num_windows() const { return static_cast<int64_t>(window_begin_.size()) - 1; }
  // Block ids of window w, in window order.
  std::span<const int64_t> WindowBlocks(int64_t window) const;
  // Positions [begin, end) of the epoch's sequence that window w covers.
  RowRange WindowPositions(int64_t window) const { return {window_begin_[window], window_begin_[window + 1]}; }
  // The window holding epoch position `position` (in [0, num_rows)).
  int64_t WindowOf(int64_t position) const;

 private:
  const BlockTable* table_;
  int64_t window_blocks_;
  int64_t epoch_ = -1;
  std::vector<int64_t> order_;         // (num_blocks) block ids, permuted
  std::vector<int64_t> window_begin_;  // (num_windows + 1) epoch positions
};

// What each of `world_size` ranks reads of one epoch (`plan`, Reset to it) up to epoch position
// `end` (num_rows: the whole epoch): its rows, and its blocks in the windows the epoch reaches
// (each read whole). Allocates its result.
struct RankLoad {
  std::vector<int64_t> rows;
  std::vector<int64_t> blocks;
};
RankLoad RankLoadInEpoch(const BlockTable& table, const EpochPlan& plan, int world_size, int64_t end);

// The rows each round of a window's interleaved sequence visits. block_sizes: the window's
// blocks' row counts, in window order. Calls visit(k, j) for each position p in [begin, end)
// (window-relative) whose block index k satisfies k % world_size == rank, in sequence order;
// (k, j) means row j of block k's row permutation. world_size 1 visits every position.
template <typename Visit>
void ForEachInWindow(std::span<const int64_t> block_sizes, int64_t begin, int64_t end, int world_size, int rank,
                     Visit&& visit);

// Epoch positions before round j of a window: sum over its blocks of min(size, j).
int64_t RoundBegin(std::span<const int64_t> block_sizes, int64_t round);

template <typename Visit>
void ForEachInWindow(std::span<const int64_t> block_sizes, int64_t begin, int64_t end, int world_size, int rank,
                     Visit&& visit) {
  const int64_t m = static_cast<int64_t>(block_sizes.size());
  if (begin >= end || m == 0) return;
  // The round holding `begin`: the largest j with RoundBegin(j) <= begin.
  int64_t lo = 0, hi = 0;
  for (const int64_t s : block_sizes) hi = std::max(hi, s);
  while (lo < hi) {
    const int64_t mid = (lo + hi + 1) / 2;
    if (RoundBegin(block_sizes, mid) <= begin)
      lo = mid;
    else
      hi = mid - 1;
  }
  int64_t round = lo;
  int64_t position = RoundBegin(block_sizes, round);
  while (position < end) {
    int64_t width = 0;
    for (const int64_t s : block_sizes) width += s > round ? 1 : 0;
    CHECK(width > 0) << "window sequence ended before position " << end;
    if (position >= begin && position + width <= end) {
      // The whole round is inside the range: visit only this rank's blocks.
      for (int64_t k = rank; k < m; k += world_size) {
        if (block_sizes[k] > round) visit(k, round);
      }
      position += width;
    } else {
      for (int64_t k = 0; k < m && position < end; ++k) {
        if (block_sizes[k] <= round) continue;
        if (position >= begin && k % world_size == rank) visit(k, round);
        ++position;
      }
    }
    ++round;
  }
}

}  // namespace ectrain::data
