#include "data/sharding.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

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

TEST(ShardingTest, RankSlicesSplitTheBatchEvenlyWithExtraRowsFirst) {
  // A short batch of 3 rows over 4 ranks: ranks 0..2 get one row, rank 3 none.
  const int64_t num_rows = 11, batch = 8;
  std::vector<int64_t> sizes;
  for (int rank = 0; rank < 4; ++rank)
    sizes.push_back(RankSliceOfBatch(num_rows, batch, 4, rank, 1).size());
  EXPECT_EQ(sizes, (std::vector<int64_t>{1, 1, 1, 0}));
  sizes.clear();
  for (int rank = 0; rank < 3; ++rank)
    sizes.push_back(RankSliceOfBatch(num_rows, batch, 3, rank, 0).size());
  EXPECT_EQ(sizes, (std::vector<int64_t>{3, 3, 2}));
}

// Every (num_rows, batch, world_size) with uneven tails: each rank's slices tile each global
// batch in rank order, sizes differ by at most one, and all ranks run the same number of steps.
TEST(ShardingTest, SlicesTileEachGlobalBatchInRankOrder) {
  for (int world_size = 1; world_size <= 8; ++world_size) {
    for (int64_t num_rows = 1; num_rows <= 37; ++num_rows) {
      for (int64_t batch : {1, 2, 3, 5, 8, 13, 64}) {
        const int64_t steps = StepsPerEpoch(num_rows, batch);
        int64_t covered = 0;
        for (int64_t step = 0; step < steps; ++step) {
          const RowRange global = GlobalBatchRange(num_rows, batch, step);
          EXPECT_EQ(global.begin, covered);
          int64_t next = global.begin, smallest = batch, largest = 0;
          for (int rank = 0; rank < world_size; ++rank) {
            const RowRange slice = RankSliceOfBatch(num_rows, batch, world_size, rank, step);
            ASSERT_EQ(slice.begin, next)
                << "world " << world_size << " rows " << num_rows << " batch " << batch << " step "
                << step << " rank " << rank;
            next = slice.end;
            smallest = std::min(smallest, slice.size());
            largest = std::max(largest, slice.size());
          }
          EXPECT_EQ(next, global.end);
          EXPECT_LE(largest - smallest, 1);
          covered = global.end;
        }
        EXPECT_EQ(covered, num_rows);
      }
    }
  }
}

TEST(ShardingTest, EveryRowOncePerEpochAndOrderIndependentOfWorldSize) {
  for (int world_size = 1; world_size <= 8; ++world_size) {
    for (int64_t num_rows = 1; num_rows <= 37; ++num_rows) {
      for (int64_t batch : {1, 3, 4, 7, 16, 40}) {
        const int64_t steps = StepsPerEpoch(num_rows, batch);
        const std::vector<int64_t> one_rank = RankRowsForEpoch(num_rows, batch, 1, 0, kSeed, 3);
        std::vector<std::vector<int64_t>> per_rank;
        for (int rank = 0; rank < world_size; ++rank) {
          per_rank.push_back(RankRowsForEpoch(num_rows, batch, world_size, rank, kSeed, 3));
        }
        // Concatenating each step's rank slices in rank order gives the 1-rank order.
        std::vector<int64_t> merged;
        std::vector<size_t> cursor(world_size, 0);
        for (int64_t step = 0; step < steps; ++step) {
          for (int rank = 0; rank < world_size; ++rank) {
            const int64_t size = RankSliceOfBatch(num_rows, batch, world_size, rank, step).size();
            ASSERT_LE(cursor[rank] + size, per_rank[rank].size());
            merged.insert(merged.end(), per_rank[rank].begin() + cursor[rank],
                          per_rank[rank].begin() + cursor[rank] + size);
            cursor[rank] += size;
          }
        }
        for (int rank = 0; rank < world_size; ++rank)
          EXPECT_EQ(cursor[rank], per_rank[rank].size());
        ASSERT_EQ(merged, one_rank)
            << "world " << world_size << " rows " << num_rows << " batch " << batch;
        std::sort(merged.begin(), merged.end());
        std::vector<int64_t> all(num_rows);
        std::iota(all.begin(), all.end(), int64_t{0});
        EXPECT_EQ(merged, all) << "world " << world_size << " rows " << num_rows << " batch "
                               << batch;
      }
    }
  }
}

TEST(ShardingTest, PermutationIsDeterministicAndChangesWithEpochAndSeed) {
  const std::vector<int64_t> epoch0 = EpochPermutation(100, kSeed, 0);
  EXPECT_EQ(epoch0, EpochPermutation(100, kSeed, 0));
  EXPECT_NE(epoch0, EpochPermutation(100, kSeed, 1));
  EXPECT_NE(epoch0, EpochPermutation(100, kSeed + 1, 0));
  std::vector<int64_t> sorted = epoch0;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> identity(100);
  std::iota(identity.begin(), identity.end(), int64_t{0});
  EXPECT_EQ(sorted, identity);
  EXPECT_NE(epoch0, identity);
  EXPECT_TRUE(EpochPermutation(0, kSeed, 0).empty());
}

// Pinned so that a change to the generator or the shuffle, which would break resuming a run
// with the same data order, shows up here.
TEST(ShardingTest, PermutationIsPinned) {
  EXPECT_EQ(EpochPermutation(10, kSeed, 0), (std::vector<int64_t>{2, 8, 5, 1, 6, 4, 0, 3, 9, 7}));
}

}  // namespace
}  // namespace ectrain::data
