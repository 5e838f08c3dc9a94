#include "data/sharding.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

namespace ectrain::data {
namespace {

constexpr uint64_t kSeed = 42;

TEST(ShardingTest, StepsPerEpochRoundsUp) {
  EXPECT_EQ(StepsPerEpoch(0, 4), 0);
  EXPECT_EQ(StepsPerEpoch(9, 3), 3);
  EXPECT_EQ(StepsPerEpoch(10, 3), 4);
  EXPECT_EQ(StepsPerEpoch(3, 10), 1);
}

TEST(ShardingTest, LastGlobalBatchIsShort) {
  const RowRange last = GlobalBatchRange(10, 4, 2);
  EXPECT_EQ(last.begin, 8);
  EXPECT_EQ(last.end, 10);
}

TEST(ShardingTest, BlocksNeverCrossAFileAndOnlyTheLastOfAFileIsShort) {
  const std::vector<int64_t> file_rows = {10, 0, 3, 8};
  const BlockTable table(file_rows, 4);
  EXPECT_EQ(table.num_rows(), 21);
  ASSERT_EQ(table.num_blocks(), 3 + 0 + 1 + 2);
  const std::vector<std::vector<int64_t>> expected = {{0, 0, 4}, {0, 4, 4}, {0, 8, 2}, {2, 0, 3}, {3, 0, 4}, {3, 4, 4}};
  int64_t global = 0;
  for (int64_t id = 0; id < table.num_blocks(); ++id) {
    const Block& block = table.block(id);
    EXPECT_EQ(std::vector<int64_t>({block.file, block.file_begin, block.num_rows}), expected[id]) << "block " << id;
    EXPECT_EQ(block.global_begin, global);
    global += block.num_rows;
  }
}

TEST(ShardingTest, EpochPermutationIsDeterministicPerSeedAndEpoch) {
  const std::vector<int64_t> epoch0 = EpochPermutation(100, kSeed, 0);
  EXPECT_EQ(epoch0, EpochPermutation(100, kSeed, 0));
  EXPECT_NE(epoch0, EpochPermutation(100, kSeed, 1));
  EXPECT_NE(epoch0, EpochPermutation(100, kSeed + 1, 0));
  std::vector<int64_t> sorted = epoch0;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> identity(100);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_EQ(sorted, identity);
  EXPECT_TRUE(EpochPermutation(0, kSeed, 0).empty());
}

TEST(ShardingTest, EpochPermutationIsPinned) {
  // Pinned so that the split of `prepare` stays the same across platforms and releases.
  EXPECT_EQ(EpochPermutation(10, kSeed, 0), (std::vector<int64_t>{2, 8, 5, 1, 6, 4, 0, 3, 9, 7}));
}

// The window sequence straight from its definition: round j takes, in window order, row j of
// every block with more than j rows.
std::vector<std::pair<int64_t, int64_t>> NaiveSequence(const std::vector<int64_t>& sizes) {
  std::vector<std::pair<int64_t, int64_t>> sequence;
  const int64_t rounds = sizes.empty() ? 0 : *std::max_element(sizes.begin(), sizes.end());
  for (int64_t j = 0; j < rounds; ++j) {
    for (size_t k = 0; k < sizes.size(); ++k) {
      if (sizes[k] > j) sequence.emplace_back(static_cast<int64_t>(k), j);
    }
  }
  return sequence;
}

TEST(ShardingTest, ForEachInWindowFollowsTheInterleaveForEveryRangeAndRank) {
  for (const std::vector<int64_t>& sizes :
       std::vector<std::vector<int64_t>>{{4, 4, 4, 4}, {4, 2, 4, 1, 3}, {1}, {5, 5, 5, 2, 5, 5, 1}}) {
    const auto sequence = NaiveSequence(sizes);
    const int64_t total = static_cast<int64_t>(sequence.size());
    for (int world = 1; world <= 4; ++world) {
      for (int rank = 0; rank < world; ++rank) {
        for (int64_t begin = 0; begin <= total; ++begin) {
          for (int64_t end = begin; end <= total; ++end) {
            std::vector<std::pair<int64_t, int64_t>> expected, got;
            for (int64_t p = begin; p < end; ++p) {
              if (sequence[p].first % world == rank) expected.push_back(sequence[p]);
            }
            ForEachInWindow(sizes, begin, end, world, rank, [&](int64_t k, int64_t j) { got.emplace_back(k, j); });
            ASSERT_EQ(got, expected) << "world " << world << " rank " << rank << " range [" << begin << ", " << end
                                     << ") of " << sizes.size() << " blocks";
          }
        }
      }
    }
  }
}

// The global row ids `rank` reads in each step of `epoch`, in its order: the arithmetic the
// streaming reader runs, written out.
std::vector<std::vector<int64_t>> RankBatches(const BlockTable& table, int64_t window_blocks, int64_t epoch,
                                              int64_t batch, int world, int rank) {
  EpochPlan plan(table, window_blocks);
  plan.Reset(kSeed, epoch);
  std::vector<std::vector<int64_t>> steps(StepsPerEpoch(table.num_rows(), batch));
  for (int64_t step = 0; step < static_cast<int64_t>(steps.size()); ++step) {
    const RowRange range = GlobalBatchRange(table.num_rows(), batch, step);
    for (int64_t position = range.begin; position < range.end;) {
      const int64_t w = plan.WindowOf(position);
      const RowRange window = plan.WindowPositions(w);
      const std::span<const int64_t> ids = plan.WindowBlocks(w);
      std::vector<int64_t> sizes;
      for (const int64_t id : ids) sizes.push_back(table.block(id).num_rows);
      const int64_t end = std::min(range.end, window.end);
      ForEachInWindow(sizes, position - window.begin, end - window.begin, world, rank, [&](int64_t k, int64_t j) {
        EXPECT_EQ(k % world, rank);
        const Block& block = table.block(ids[k]);
        std::vector<int32_t> order(block.num_rows);
        BlockRowPermutation(kSeed, epoch, ids[k], order);
        steps[step].push_back(block.global_begin + order[j]);
      });
      position = end;
    }
  }
  return steps;
}

struct Layout {
  std::vector<int64_t> file_rows;
  int64_t block_rows;
};

// For 1..8 ranks, uneven files and blocks: each global batch's rows, over all ranks, are
// exactly the 1-rank batch; every row is used exactly once per epoch; ranks read only their
// own blocks (checked inside RankBatches).
TEST(ShardingTest, EveryRowOncePerEpochAndBatchesDoNotDependOnTheRankCount) {
  const std::vector<Layout> layouts = {{{37}, 5}, {{10, 0, 7, 23, 1}, 4}, {{64, 64}, 8}, {{3, 3, 3}, 16}};
  for (const Layout& layout : layouts) {
    const BlockTable table(layout.file_rows, layout.block_rows);
    for (int64_t window_blocks : {8, 3, 100}) {
      for (int64_t batch : {1, 6, 13, 64}) {
        const auto single = RankBatches(table, window_blocks, 2, batch, 1, 0);
        std::vector<int64_t> all;
        for (const auto& step : single) all.insert(all.end(), step.begin(), step.end());
        std::sort(all.begin(), all.end());
        std::vector<int64_t> identity(table.num_rows());
        std::iota(identity.begin(), identity.end(), 0);
        ASSERT_EQ(all, identity) << "one rank does not see every row once";
        for (int world = 2; world <= std::min<int64_t>(8, window_blocks); ++world) {
          std::vector<std::vector<std::vector<int64_t>>> ranks;
          for (int rank = 0; rank < world; ++rank) {
            ranks.push_back(RankBatches(table, window_blocks, 2, batch, world, rank));
          }
          for (size_t step = 0; step < single.size(); ++step) {
            std::vector<int64_t> merged;
            for (const auto& rank_steps : ranks)
              merged.insert(merged.end(), rank_steps[step].begin(), rank_steps[step].end());
            std::sort(merged.begin(), merged.end());
            std::vector<int64_t> expected = single[step];
            std::sort(expected.begin(), expected.end());
            ASSERT_EQ(merged, expected) << "world " << world << " window " << window_blocks << " batch " << batch
                                        << " step " << step;
          }
        }
      }
    }
  }
}

// All blocks full and world_size dividing the window: every rank gets the same number of rows
// of each batch to within one, and exactly when world_size divides the batch.
TEST(ShardingTest, RanksGetEqualSharesWhenTheWindowDividesEvenly) {
  const BlockTable table(std::vector<int64_t>{96, 160, 256}, 16);  // 32 full blocks
  for (int world : {1, 2, 4, 8}) {
    for (int64_t batch : {8, 24, 40, 7, 13}) {
      std::vector<std::vector<std::vector<int64_t>>> ranks;
      for (int rank = 0; rank < world; ++rank) ranks.push_back(RankBatches(table, 8, 1, batch, world, rank));
      for (size_t step = 0; step < ranks[0].size(); ++step) {
        int64_t smallest = batch, largest = 0;
        for (const auto& rank_steps : ranks) {
          smallest = std::min<int64_t>(smallest, rank_steps[step].size());
          largest = std::max<int64_t>(largest, rank_steps[step].size());
        }
        const int64_t rows = GlobalBatchRange(table.num_rows(), batch, step).size();
        EXPECT_LE(largest - smallest, rows % world == 0 ? 0 : 1)
            << "world " << world << " batch " << batch << " step " << step;
      }
    }
  }
}

// With a window that is not a multiple of the rank count, shares follow the blocks owned.
TEST(ShardingTest, UnevenWindowsGiveSharesInProportionToBlocksOwned) {
  const BlockTable table(std::vector<int64_t>{5 * 100}, 100);  // one window of 5 full blocks
  const auto rank0 = RankBatches(table, 5, 0, 100, 2, 0);      // owns blocks 0, 2, 4
  const auto rank1 = RankBatches(table, 5, 0, 100, 2, 1);      // owns blocks 1, 3
  for (size_t step = 0; step < rank0.size(); ++step) {
    EXPECT_EQ(rank0[step].size(), 60u);
    EXPECT_EQ(rank1[step].size(), 40u);
  }
}

TEST(ShardingTest, OrdersDifferByEpochAndRepeatForTheSameSeedAndEpoch) {
  const BlockTable table(std::vector<int64_t>{50, 70}, 8);
  const auto epoch0 = RankBatches(table, 4, 0, 16, 1, 0);
  EXPECT_EQ(epoch0, RankBatches(table, 4, 0, 16, 1, 0));
  EXPECT_NE(epoch0, RankBatches(table, 4, 1, 16, 1, 0));
  EpochPlan a(table, 4), b(table, 4);
  a.Reset(kSeed, 5);
  b.Reset(kSeed + 1, 5);
  std::vector<int64_t> order_a, order_b;
  for (int64_t w = 0; w < a.num_windows(); ++w) {
    order_a.insert(order_a.end(), a.WindowBlocks(w).begin(), a.WindowBlocks(w).end());
    order_b.insert(order_b.end(), b.WindowBlocks(w).begin(), b.WindowBlocks(w).end());
  }
  EXPECT_NE(order_a, order_b) << "another seed gives another block order";
  std::vector<int32_t> rows_a(8), rows_b(8);
  BlockRowPermutation(kSeed, 0, 3, rows_a);
  BlockRowPermutation(kSeed, 1, 3, rows_b);
  EXPECT_NE(rows_a, rows_b);
}

// The windows cut the permuted block list in order; positions and WindowOf agree.
TEST(ShardingTest, WindowsCoverTheEpochInOrder) {
  const BlockTable table(std::vector<int64_t>{30, 9, 1}, 4);  // blocks of 4 with tails of 2, 1, 1
  EpochPlan plan(table, 3);
  plan.Reset(kSeed, 7);
  ASSERT_EQ(plan.num_windows(), (table.num_blocks() + 2) / 3);
  std::set<int64_t> seen;
  int64_t position = 0;
  for (int64_t w = 0; w < plan.num_windows(); ++w) {
    EXPECT_EQ(plan.WindowPositions(w).begin, position);
    for (const int64_t id : plan.WindowBlocks(w)) {
      EXPECT_TRUE(seen.insert(id).second);
      position += table.block(id).num_rows;
    }
    EXPECT_EQ(plan.WindowPositions(w).end, position);
    for (int64_t p = plan.WindowPositions(w).begin; p < position; ++p) EXPECT_EQ(plan.WindowOf(p), w);
  }
  EXPECT_EQ(position, table.num_rows());
  EXPECT_EQ(static_cast<int64_t>(seen.size()), table.num_blocks());
}

// RankLoadInEpoch (what `ectrain plan` reports) counts exactly the rows each rank's batches hold,
// for whole epochs and for epochs cut short after any step (train.max_steps), and a rank's blocks
// are those of the windows reached that it owns.
TEST(ShardingTest, RankLoadIsTheRowsOfEachRanksBatches) {
  const std::vector<Layout> layouts = {{{37}, 5}, {{10, 0, 7, 23, 1}, 4}, {{64, 64}, 8}};
  for (const Layout& layout : layouts) {
    const BlockTable table(layout.file_rows, layout.block_rows);
    for (int64_t window_blocks : {3, 8}) {
      for (int world = 1; world <= std::min<int64_t>(5, window_blocks); ++world) {
        const int64_t batch = 6;
        std::vector<std::vector<std::vector<int64_t>>> ranks;
        for (int rank = 0; rank < world; ++rank)
          ranks.push_back(RankBatches(table, window_blocks, 2, batch, world, rank));
        EpochPlan plan(table, window_blocks);
        plan.Reset(kSeed, 2);
        for (size_t steps = 1; steps <= ranks[0].size(); ++steps) {
          const RankLoad load = RankLoadInEpoch(table, plan, world, std::min<int64_t>(table.num_rows(), steps * batch));
          int64_t blocks = 0;
          for (int rank = 0; rank < world; ++rank) {
            int64_t rows = 0;
            for (size_t s = 0; s < steps; ++s) rows += static_cast<int64_t>(ranks[rank][s].size());
            EXPECT_EQ(load.rows[rank], rows) << "world " << world << " window " << window_blocks << " steps " << steps;
            blocks += load.blocks[rank];
          }
          if (steps == ranks[0].size()) {
            EXPECT_EQ(blocks, table.num_blocks());
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace ectrain::data
