#include <gtest/gtest.h>

#include <numeric>

#include "plan/run_estimate.h"

namespace ectrain::plan {
namespace {

train::RunPlan PlanOf(int64_t rows, int64_t batch, int64_t epochs, int64_t max_steps = 0) {
  train::TrainOptions options;
  options.epochs = epochs;
  options.max_steps = max_steps;
  return train::RunPlan::Of(options, data::StepsPerEpoch(rows, batch));
}

int64_t RunRows(const std::vector<RankRows>& ranks) {
  return std::accumulate(ranks.begin(), ranks.end(), int64_t{0},
                         [](int64_t sum, const RankRows& r) { return sum + r.run_rows; });
}

// Every row once per epoch over the ranks, a run cut by train.max_steps reads up to its last
// step, and epoch 1's figures are what sharding gives that epoch.
TEST(RowsPerRank, AddUpToTheRowsTheRunReads) {
  const data::BlockTable table(std::vector<int64_t>{1000, 333, 2001}, 100);
  for (int ranks : {1, 2, 3, 5}) {
    const auto whole = RowsPerRank(table, 8, 7, PlanOf(table.num_rows(), 64, 3), 64, ranks);
    EXPECT_EQ(RunRows(whole), 3 * table.num_rows()) << ranks;
    data::EpochPlan epoch(table, 8);
    epoch.Reset(7, 0);
    const data::RankLoad first = data::RankLoadInEpoch(table, epoch, ranks, table.num_rows());
    for (int r = 0; r < ranks; ++r) {
      EXPECT_EQ(whole[r].epoch1_rows, first.rows[r]);
      EXPECT_EQ(whole[r].epoch1_blocks, first.blocks[r]);
      EXPECT_LE(whole[r].min_epoch_rows, whole[r].epoch1_rows);
      EXPECT_EQ(whole[r].empty_epoch, -1);
    }
    // 60 steps: the 53 of epoch 1 (3334 rows, the last step short), 7 of epoch 2.
    const auto cut = RowsPerRank(table, 8, 7, PlanOf(table.num_rows(), 64, 3, 60), 64, ranks);
    EXPECT_EQ(RunRows(cut), table.num_rows() + 7 * 64) << ranks;
  }
}

// Fewer blocks than ranks: the ranks without a block are named by their first empty epoch.
TEST(RowsPerRank, RanksWithoutBlocksReadNothing) {
  const data::BlockTable table(std::vector<int64_t>{150}, 100);  // 2 blocks
  const auto ranks = RowsPerRank(table, 4, 1, PlanOf(150, 32, 2), 32, 4);
  EXPECT_EQ(ranks[2].empty_epoch, 0);
  EXPECT_EQ(ranks[3].empty_epoch, 0);
  EXPECT_EQ(ranks[2].run_rows + ranks[3].run_rows, 0);
  EXPECT_EQ(RunRows(ranks), 300);
}

TEST(BusiestRankBatchRows, FollowsTheBlocksOwnedOfAWindow) {
  EXPECT_EQ(BusiestRankBatchRows(512, 8, 21, 3), 192);  // 3 of 8 blocks
  EXPECT_EQ(BusiestRankBatchRows(100, 5, 5, 2), 60);    // 3 of 5
  EXPECT_EQ(BusiestRankBatchRows(256, 64, 2, 4), 128);  // 2 blocks: 1 of 2
  EXPECT_EQ(BusiestRankBatchRows(256, 64, 1000, 4), 64);
  EXPECT_EQ(BusiestRankBatchRows(256, 64, 1000, 1), 256);
}

TEST(MemoryEstimate, SharedStateIsCountedOncePerMachine) {
  MemoryEstimate m;
  m.parameters = 100;
  m.optimizer_state = 200;
  m.gradients = 10;
  m.workspace = 5;
  m.workspace_rank0 = 7;
  m.reader = 3;
  m.snapshot = 300;
  EXPECT_EQ(m.Rank(false), 318);
  EXPECT_EQ(m.Rank(true), 620);
  EXPECT_EQ(m.Machine(4), 4 * 300 + 320 + 3 * 18);
  m.shared_model = true;
  EXPECT_EQ(m.Machine(4), 300 + 320 + 3 * 18);
}

RunEstimate Estimate() {
  RunEstimate e;
  e.ranks = 3;
  e.rows = 10000;
  e.blocks = 3;
  e.global_batch_size = 256;
  e.data.block_rows = 4096;
  e.data.shuffle_window_blocks = 6;
  e.per_rank = std::vector<RankRows>(3, RankRows{3000, 1, 3000, 3000, -1});
  e.machine_total_bytes = 1000000;
  e.machine_available_bytes = 800000;
  return e;
}

bool Has(const std::vector<std::string>& warnings, const std::string& text) {
  for (const std::string& w : warnings) {
    if (w.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(Warnings, NameWhatWouldGoWrongAndWhatToDo) {
  EXPECT_TRUE(Warnings(Estimate()).empty());
  RunEstimate e = Estimate();
  e.per_rank[2] = RankRows{0, 0, 0, 0, 1};
  e.per_rank[1].min_epoch_rows = 50;
  const auto w = Warnings(e);
  EXPECT_TRUE(Has(w, "rank(s) 2 of 3 read no rows in some epoch (first: epoch 2)")) << w[0];
  EXPECT_TRUE(Has(w, "lower data.block_rows (to at most 3333)"));
  EXPECT_TRUE(Has(w, "rank(s) 1 read fewer rows in an epoch than their share of one global batch (86 rows)"));

  e = Estimate();
  e.data.shuffle_window_blocks = 4;
  e.rows = 2;
  e.tables = {{"embedding/user", 1000000, 16, true, 2000000}, {"embedding/item", 10, 16, false, 100}};
  e.memory.parameters = 900000;
  const auto v = Warnings(e);
  EXPECT_TRUE(Has(v, "not a multiple of the 3 ranks"));
  EXPECT_TRUE(Has(v, "the training data has 2 rows for 3 ranks"));
  EXPECT_TRUE(Has(v, "smaller than train.global_batch_size (256)"));
  EXPECT_TRUE(Has(v, "embedding table embedding/user (1000000 x 16) takes 2.0 MB"));
  EXPECT_FALSE(Has(v, "embedding/item"));
  EXPECT_TRUE(Has(v, "3 rank(s) on this machine would hold about"));
  e.data.shuffle_window_blocks = 2;
  EXPECT_TRUE(Has(Warnings(e), "training refuses to start"));
}

TEST(Warnings, ManyRanksWithoutRowsAreNamedAsRanges) {
  RunEstimate e = Estimate();
  e.ranks = 1000;
  e.data.shuffle_window_blocks = 1000;
  e.per_rank = std::vector<RankRows>(1000, RankRows{0, 0, 0, 0, 0});
  for (int r : {0, 1, 2, 5, 7, 8}) e.per_rank[r] = RankRows{1, 1, 1, 1, -1};
  EXPECT_TRUE(Has(Warnings(e), "rank(s) 3, 4, 6, 9-999 of 1000 read no rows")) << Warnings(e)[0];
}

}  // namespace
}  // namespace ectrain::plan
