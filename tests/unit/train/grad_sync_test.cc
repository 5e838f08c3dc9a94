// GradSync on one rank: which tables go row-sparse, what Synchronize leaves, what Zero clears.
#include "train/grad_sync.h"

#include <gtest/gtest.h>

#include "comm/local_communicator.h"

namespace ectrain::train {
namespace {

ParamLayout TwoTables() {
  ParamLayout layout;
  layout.Add("embedding/big", 1000, 4, ParamKind::kEmbedding);   // 16,000 bytes
  layout.Add("embedding/small", 10, 4, ParamKind::kEmbedding);   // 160 bytes
  layout.Add("dense/weight", 8, 3, ParamKind::kDenseWeight);
  return layout;
}

TEST(GradSync, LargeTablesGoRowSparseBySizeAlone) {
  comm::LocalCommunicator comm;
  ParamLayout layout = TwoTables();
  GradSync sync(comm, layout, /*global_batch_size=*/32, /*sparse_embeddings=*/true, /*bucket_bytes=*/0);
  // 32 rows * (4 * 4 + 8) = 768 bytes at most, against 16,000 and 160 bytes.
  EXPECT_TRUE(sync.selection().sparse(0));
  EXPECT_FALSE(sync.selection().sparse(1));
  EXPECT_FALSE(sync.selection().sparse(2));
  GradSync dense(comm, layout, 32, /*sparse_embeddings=*/false, 0);
  EXPECT_EQ(dense.num_row_sparse_tables(), 0);
  GradSync huge_batch(comm, layout, 1000, true, 0);  // 1000 * 24 > 16,000: dense is cheaper
  EXPECT_EQ(huge_batch.num_row_sparse_tables(), 0);
}

TEST(GradSync, SynchronizeListsTheUnionAndZeroClearsOnlyWhatWasUsed) {
  comm::LocalCommunicator comm;
  ParamLayout layout = TwoTables();
  GradSync sync(comm, layout, 32, true, 0);
  ParamArena grads(layout);
  const ParamSpec& big = layout.spec(0);
  for (int64_t id : {7, 3, 7, 500}) {
    sync.selection().Add(0, id);
    grads.data()[big.offset + id * 4] += 1.0f;
  }
  grads.data()[layout.spec(2).offset + 5] = 2.5f;
  sync.Synchronize(grads);
  EXPECT_EQ(sync.selection().rows(0), (std::vector<int64_t>{7, 3, 500}));  // distinct, first touch first
  EXPECT_FLOAT_EQ(grads.data()[big.offset + 7 * 4], 2.0f);  // both lookups of id 7 summed
  EXPECT_FLOAT_EQ(grads.data()[big.offset + 3 * 4], 1.0f);
  EXPECT_FLOAT_EQ(grads.data()[layout.spec(2).offset + 5], 2.5f);
  // One rank exchanges no rows: only the whole tensors go through the (identity) all-reduce.
  EXPECT_EQ(sync.bytes_last_step(), (layout.total_size() - big.rows * big.cols) * 4);
  sync.ZeroGradients(grads);
  for (int64_t i = 0; i < grads.size(); ++i) ASSERT_EQ(grads.data()[i], 0.0f) << i;
  EXPECT_TRUE(sync.selection().rows(0).empty());
}

TEST(GradSync, BucketsAreCutAtTensorBoundariesFromTheEnd) {
  comm::LocalCommunicator comm;
  ParamLayout layout;
  layout.Add("a", 10, 10, ParamKind::kDenseWeight);  // 400 bytes
  layout.Add("b", 10, 10, ParamKind::kDenseWeight);
  layout.Add("c", 1, 16, ParamKind::kBias);          // 64 bytes
  GradSync sync(comm, layout, 32, true, /*bucket_bytes=*/600);  // tensors padded to 64 bytes: 448 + 448 + 64
  EXPECT_EQ(sync.num_buckets(), 2);  // {b, c} then {a}
  ParamArena grads(layout);
  for (int round = 0; round < 3; ++round) {  // the communication thread hands buckets back each step
    sync.BeginStep(grads);
    grads.data()[layout.spec(2).offset] = 1.5f;
    for (int spec : {2, 1, 0}) sync.OnGradientReady(spec);
    sync.Synchronize(grads);
    EXPECT_FLOAT_EQ(grads.data()[layout.spec(2).offset], 1.5f);
    EXPECT_EQ(sync.bytes_last_step(), layout.total_size() * 4);
    sync.ZeroGradients(grads);
  }
}

}  // namespace
}  // namespace ectrain::train
