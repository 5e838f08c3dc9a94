// GradSync: which tables go row-sparse, what Synchronize leaves on one rank and on several (ranks
// as threads), what Zero clears.
#include "train/grad_sync.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <optional>

#include "comm/in_process_communicator.h"
#include "comm/local_communicator.h"
#include "comm/no_gradient_exchange.h"
#include "counting_communicator.h"

namespace ectrain::train {
namespace {

ParamLayout TwoTables() {
  ParamLayout layout;
  layout.Add("embedding/big", 1000, 4, ParamKind::kEmbedding);  // 16,000 bytes
  layout.Add("embedding/small", 10, 4, ParamKind::kEmbedding);  // 160 bytes
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

// Backward's part, by hand: each lookup adds into the row's compact gradient.
void Lookup(RowSelection& selection, int spec, int64_t id, int64_t col, float value) {
  const int32_t slot = selection.Slot(spec, id);
  selection.gradients(spec)[slot * selection.cols(spec) + col] += value;
}

TEST(GradSync, SynchronizeListsTheUnionAndZeroClearsOnlyWhatWasUsed) {
  comm::LocalCommunicator comm;
  ParamLayout layout = TwoTables();
  GradSync sync(comm, layout, 32, true, 0);
  ParamArena grads(layout);
  const ParamSpec& big = layout.spec(0);
  for (int64_t id : {7, 3, 7, 500}) Lookup(sync.selection(), 0, id, 0, 1.0f);
  grads.data()[layout.spec(2).offset + 5] = 2.5f;
  sync.Synchronize(grads);
  const RowSelection& selection = sync.selection();
  EXPECT_EQ(selection.rows(0), (std::vector<int64_t>{7, 3, 500}));  // distinct, first touch first
  EXPECT_FLOAT_EQ(selection.gradients(0)[0 * 4], 2.0f);             // both lookups of id 7 summed
  EXPECT_FLOAT_EQ(selection.gradients(0)[1 * 4], 1.0f);
  EXPECT_FLOAT_EQ(grads.data()[layout.spec(2).offset + 5], 2.5f);
  for (int64_t i = 0; i < big.size(); ++i) ASSERT_EQ(grads.data()[big.offset + i], 0.0f) << "the arena holds no rows";
  // One rank exchanges no rows: only the whole tensors go through the (identity) all-reduce.
  EXPECT_EQ(sync.bytes_last_step(), (layout.total_size() - big.rows * big.cols) * 4);
  sync.ZeroGradients(grads);
  for (int64_t i = 0; i < grads.size(); ++i) ASSERT_EQ(grads.data()[i], 0.0f) << i;
  EXPECT_TRUE(sync.selection().rows(0).empty());
  EXPECT_EQ(sync.selection().Slot(0, 500), 0) << "a cleared row starts again";
  EXPECT_EQ(sync.selection().gradients(0)[0], 0.0f);
}

// Three ranks look up overlapping rows. Each row's sum is its ranks' rows added in rank order
// (1 + 1e8 - 1e8 is 0 in floats, in any other order 1), bitwise the same on every rank; the union
// lists rank 0's rows first.
TEST(GradSync, RowSparseSumsFollowRankOrderOnEveryRank) {
  ParamLayout layout = TwoTables();
  const std::vector<std::vector<std::pair<int64_t, float>>> lookups = {
      {{7, 1.0f}, {9, 2.0f}}, {{7, 1e8f}, {4, 3.0f}}, {{7, -1e8f}, {9, 0.5f}}};
  std::vector<std::vector<float>> sums(3);
  std::vector<std::vector<int64_t>> union_after(3);
  const Status status = comm::RunInProcess(3, [&](comm::Communicator& comm) -> Status {
    GradSync sync(comm, layout, 32, true, 0);
    ParamArena grads(layout);
    for (const auto& [id, value] : lookups[comm.rank()]) Lookup(sync.selection(), 0, id, 1, value);
    sync.Synchronize(grads);
    const RowSelection& selection = sync.selection();
    union_after[comm.rank()] = selection.rows(0);
    sums[comm.rank()].assign(selection.gradients(0), selection.gradients(0) + selection.rows(0).size() * 4);
    sync.ZeroGradients(grads);
    if (!sync.selection().rows(0).empty()) return Internal("rows left after ZeroGradients");
    return Status::Ok();
  });
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(union_after[0], (std::vector<int64_t>{7, 9, 4}));
  ASSERT_EQ(sums[0].size(), 12u);
  EXPECT_EQ(sums[0][0 * 4 + 1], 0.0f);  // row 7
  EXPECT_EQ(sums[0][1 * 4 + 1], 2.5f);  // row 9
  EXPECT_EQ(sums[0][2 * 4 + 1], 3.0f);  // row 4
  EXPECT_EQ(sums[0][0 * 4], 0.0f);
  for (int r = 1; r < 3; ++r) {
    ASSERT_EQ(sums[r].size(), sums[0].size()) << "rank " << r;
    EXPECT_EQ(0, std::memcmp(sums[r].data(), sums[0].data(), sums[0].size() * sizeof(float))) << "rank " << r;
    EXPECT_EQ(union_after[r], union_after[0]) << "rank " << r;
  }
}

// Ranks sharing one copy of the model each keep the rows they own: between them every row of the
// union exactly once, with the sum every rank would hold alone.
TEST(GradSync, KeepOwnedRowsSplitsTheUnionByOwnerWithTheSameSums) {
  ParamLayout layout = TwoTables();
  std::vector<std::map<int64_t, std::vector<float>>> whole(3), owned(3);
  for (bool keep_owned : {false, true}) {
    auto& out = keep_owned ? owned : whole;
    const Status status = comm::RunInProcess(3, [&](comm::Communicator& comm) -> Status {
      GradSync sync(comm, layout, 32, true, 0);
      if (keep_owned) sync.KeepOwnedRows(comm.rank(), comm.size());
      ParamArena grads(layout);
      for (int64_t id = comm.rank() * 5; id < 1000; id += 2)
        Lookup(sync.selection(), 0, id, id % 4, 0.5f + comm.rank());
      sync.Synchronize(grads);
      const RowSelection& selection = sync.selection();
      for (size_t k = 0; k < selection.rows(0).size(); ++k) {
        const float* row = selection.gradients(0) + k * 4;
        out[comm.rank()][selection.rows(0)[k]].assign(row, row + 4);
      }
      return Status::Ok();
    });
    ASSERT_TRUE(status.ok()) << status.message();
  }
  std::map<int64_t, std::vector<float>> joined;
  for (int part = 0; part < 3; ++part) {
    for (const auto& [id, row] : owned[part]) {
      EXPECT_EQ(GradSync::RowOwner(id, 4, 3), part) << "row " << id << " kept by part " << part;
      EXPECT_TRUE(joined.emplace(id, row).second) << "row " << id << " kept twice";
    }
    EXPECT_GT(owned[part].size(), whole[0].size() / 5) << "part " << part << " owns too few rows";
  }
  EXPECT_EQ(joined, whole[0]);
}

// Rows are owned in groups that fill a cache line (16 floats), and the groups spread evenly.
TEST(GradSync, RowOwnersTakeWholeCacheLinesAndShareRowsEvenly) {
  for (int parts = 1; parts <= 7; ++parts) {
    for (int64_t cols : {1, 3, 4, 8, 16, 20}) {
      const int64_t per_line = cols >= 16 ? 1 : cols == 3 ? 4 : 16 / cols;  // the power of two that fits
      std::vector<int64_t> rows_of(static_cast<size_t>(parts), 0);
      const int64_t rows = 200'000;
      for (int64_t row = 0; row < rows; ++row) {
        const int owner = GradSync::RowOwner(row, cols, parts);
        ASSERT_TRUE(owner >= 0 && owner < parts) << owner;
        ASSERT_EQ(owner, GradSync::RowOwner(row / per_line * per_line, cols, parts))
            << "row " << row << " and the first of its line, " << cols << " columns, " << parts << " parts";
        ++rows_of[static_cast<size_t>(owner)];
      }
      for (int part = 0; part < parts; ++part) {
        EXPECT_NEAR(static_cast<double>(rows_of[static_cast<size_t>(part)]) / rows, 1.0 / parts, 0.02)
            << "part " << part << " of " << parts << ", " << cols << " columns";
      }
    }
  }
}

// Resident bytes of this process (/proc/self/statm).
int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// A row-sparse table's gradient lives in compact rows: the gradient arena's 256 MB for the table
// are never written, so they take no memory, through a step's sync and clearing.
TEST(GradSync, ARowSparseTableTakesNoGradientMemory) {
  comm::LocalCommunicator comm;
  ParamLayout layout;
  layout.Add("embedding/huge", 2'000'000, 32, ParamKind::kEmbedding);  // 256 MB of floats
  layout.Add("dense/weight", 64, 32, ParamKind::kDenseWeight);
  GradSync sync(comm, layout, 4096, true, 0);
  ASSERT_TRUE(sync.selection().sparse(0));
  const int64_t before = ResidentBytes();
  ParamArena grads(layout);
  for (int64_t id = 0; id < 2'000'000; id += 997) Lookup(sync.selection(), 0, id, 3, 1.0f);
  grads.data()[layout.spec(1).offset] = 1.0f;
  sync.Synchronize(grads);
  sync.ZeroGradients(grads);
  EXPECT_LT(ResidentBytes() - before, int64_t{16} << 20) << "the table's gradient took memory";
  EXPECT_EQ(grads.data()[layout.spec(0).offset + 997 * 32 + 3], 0.0f) << "a large arena starts zeroed";
}

TEST(GradSync, BucketsAreCutAtTensorBoundariesFromTheEnd) {
  comm::LocalCommunicator comm;
  ParamLayout layout;
  layout.Add("a", 10, 10, ParamKind::kDenseWeight);  // 400 bytes
  layout.Add("b", 10, 10, ParamKind::kDenseWeight);
  layout.Add("c", 1, 16, ParamKind::kBias);                     // 64 bytes
  GradSync sync(comm, layout, 32, true, /*bucket_bytes=*/600);  // tensors padded to 64 bytes: 448 + 448 + 64
  EXPECT_EQ(sync.num_buckets(), 2);                             // {b, c} then {a}
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

// bench/comm_ceiling.sh's timing-only mode (ECTRAIN_BENCH_NO_GRADIENT_EXCHANGE): with
// NoGradientExchangeCommunicator in front, a step's sync (a bucket started during backward, the
// last in Synchronize, the row-sparse exchange) sends no collective and leaves each rank its own
// gradients; the same step without it sends them and sums.
TEST(GradSync, NoGradientExchangeSendsNoCollectiveAndKeepsEachRanksGradients) {
  ParamLayout layout = TwoTables();
  const ParamSpec& weight = layout.spec(2);
  for (bool exchange : {true, false}) {
    SCOPED_TRACE(exchange ? "exchange" : "no exchange");
    const Status status = comm::RunInProcess(2, [&](comm::Communicator& threads) -> Status {
      ectrain::testing::CountingCommunicator counted(threads);
      std::optional<comm::NoGradientExchangeCommunicator> timing_only;
      if (!exchange) timing_only.emplace(counted);
      comm::Communicator& comm = exchange ? static_cast<comm::Communicator&>(counted) : *timing_only;
      GradSync sync(comm, layout, 32, true, /*bucket_bytes=*/64);  // {dense/weight}, {embedding/small}
      EXPECT_EQ(sync.num_buckets(), 2);
      ParamArena grads(layout);
      const float own = comm.rank() + 1.0f;
      sync.BeginStep(grads);
      for (int64_t i = 0; i < grads.size(); ++i) grads.data()[i] = own;
      Lookup(sync.selection(), 0, 7 + comm.rank(), 0, own);
      for (int spec : {2, 1, 0}) sync.OnGradientReady(spec);
      sync.Synchronize(grads);
      EXPECT_EQ(counted.calls() > 0, exchange) << counted.calls() << " collectives";
      EXPECT_EQ(grads.data()[weight.offset], exchange ? 3.0f : own);
      EXPECT_EQ(grads.data()[layout.spec(1).offset], exchange ? 3.0f : own);
      const std::vector<int64_t> rows = exchange ? std::vector<int64_t>{7, 8} : std::vector<int64_t>{7 + comm.rank()};
      EXPECT_EQ(sync.selection().rows(0), rows);
      EXPECT_EQ(sync.selection().gradients(0)[0], exchange ? 1.0f : own);
      return Status::Ok();
    });
    ASSERT_TRUE(status.ok()) << status.message();
  }
}

}  // namespace
}  // namespace ectrain::train
