#include "data/sharding.h"

#include <numeric>
#include <utility>

#include "core/rng.h"

namespace ectrain::data {
namespace {

// Fisher-Yates with our own generator: std::shuffle differs between standard libraries.
template <typename T>
void Shuffle(std::span<T> values, Rng& rng) {
  for (int64_t i = static_cast<int64_t>(values.size()) - 1; i > 0; --i) {
    std::swap(values[i], values[rng.Below(static_cast<uint64_t>(i) + 1)]);
  }
}

// Stream ids under (seed, epoch): 0 orders the blocks, block + 1 orders that block's rows.
constexpr uint64_t kBlockOrderStream = 0;

}  // namespace

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

std::vector<int64_t> EpochPermutation(int64_t num_rows, uint64_t seed, int64_t epoch) {
  CHECK(num_rows >= 0) << "num_rows " << num_rows;
  std::vector<int64_t> permutation(num_rows);
  std::iota(permutation.begin(), permutation.end(), int64_t{0});
  Rng rng = Rng::ForStream(seed, static_cast<uint64_t>(epoch));
  Shuffle(std::span<int64_t>(permutation), rng);
  return permutation;
}

BlockTable::BlockTable(std::span<const int64_t> file_rows, int64_t block_rows)
    : block_rows_(block_rows), file_rows_(file_rows.begin(), file_rows.end()) {
  CHECK(block_rows > 0) << "block_rows " << block_rows;
  for (size_t f = 0; f < file_rows.size(); ++f) {
    CHECK(file_rows[f] >= 0) << "file " << f << " rows " << file_rows[f];
    for (int64_t begin = 0; begin < file_rows[f]; begin += block_rows) {
      blocks_.push_back({static_cast<int32_t>(f), begin, std::min(block_rows, file_rows[f] - begin), num_rows_});
      num_rows_ += blocks_.back().num_rows;
    }
  }
}

void BlockRowPermutation(uint64_t seed, int64_t epoch, int64_t block, std::span<int32_t> out) {
  std::iota(out.begin(), out.end(), int32_t{0});
  Rng rng = Rng::ForStream(seed, static_cast<uint64_t>(epoch), static_cast<uint64_t>(block) + 1);
  Shuffle(out, rng);
}

EpochPlan::EpochPlan(const BlockTable& table, int64_t window_blocks)
    : table_(&table), window_blocks_(window_blocks), order_(table.num_blocks()) {
  CHECK(window_blocks > 0) << "window_blocks " << window_blocks;
  window_begin_.resize((table.num_blocks() + window_blocks - 1) / window_blocks + 1);
}

void EpochPlan::Reset(uint64_t seed, int64_t epoch) {
  epoch_ = epoch;
  std::iota(order_.begin(), order_.end(), int64_t{0});
  Rng rng = Rng::ForStream(seed, static_cast<uint64_t>(epoch), kBlockOrderStream);
  Shuffle(std::span<int64_t>(order_), rng);
  int64_t position = 0;
  for (int64_t w = 0; w < num_windows(); ++w) {
    window_begin_[w] = position;
    for (const int64_t id : WindowBlocks(w)) position += table_->block(id).num_rows;
  }
  window_begin_.back() = position;
}

std::span<const int64_t> EpochPlan::WindowBlocks(int64_t window) const {
  CHECK(epoch_ >= 0 && window >= 0 && window < num_windows()) << "window " << window;
  const int64_t begin = window * window_blocks_;
  const int64_t end = std::min<int64_t>(begin + window_blocks_, static_cast<int64_t>(order_.size()));
  return std::span<const int64_t>(order_).subspan(begin, end - begin);
}

int64_t EpochPlan::WindowOf(int64_t position) const {
  CHECK(epoch_ >= 0 && position >= 0 && position < window_begin_.back()) << "position " << position;
  // The last window whose first position is <= position.
  auto it = std::upper_bound(window_begin_.begin(), window_begin_.end() - 1, position);
  return (it - window_begin_.begin()) - 1;
}

int64_t RoundBegin(std::span<const int64_t> block_sizes, int64_t round) {
  int64_t sum = 0;
  for (const int64_t s : block_sizes) sum += std::min(s, round);
  return sum;
}

RankLoad RankLoadInEpoch(const BlockTable& table, const EpochPlan& plan, int world_size, int64_t end) {
  RankLoad load{std::vector<int64_t>(static_cast<size_t>(world_size), 0),
                std::vector<int64_t>(static_cast<size_t>(world_size), 0)};
  std::vector<int64_t> sizes;
  for (int64_t w = 0; w < plan.num_windows(); ++w) {
    const RowRange positions = plan.WindowPositions(w);
    if (positions.begin >= end) break;
    const std::span<const int64_t> ids = plan.WindowBlocks(w);
    sizes.clear();
    for (size_t k = 0; k < ids.size(); ++k) {
      sizes.push_back(table.block(ids[k]).num_rows);
      ++load.blocks[k % static_cast<size_t>(world_size)];
      if (positions.end <= end) load.rows[k % static_cast<size_t>(world_size)] += sizes.back();
    }
    if (positions.end <= end) continue;
    // The window the epoch stops in: its interleaved sequence up to `end`, each row to its block's rank.
    ForEachInWindow(sizes, 0, end - positions.begin, 1, 0,
                    [&](int64_t k, int64_t) { ++load.rows[static_cast<size_t>(k % world_size)]; });
  }
  return load;
}

}  // namespace ectrain::data
