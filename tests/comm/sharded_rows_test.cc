// ShardedRowExchange on every contract backend (comm_sharded_rows_test: Local, InProcess(2) and
// (4), host segments, a wrapper; comm_sharded_rows_mpi_test under mpiexec -n 2 and -n 4): Gather
// returns the owners' rows, ScatterAdd the owners' sums, bit for bit those of a plain sum over the
// ranks in rank order and of GradSync's replicated rows. Every rank can work out every rank's ids
// and gradients (seeded by rank and round), so each checks its own results against the whole
// picture. EXPECT, not ASSERT, so that no rank skips a collective.
#include "train/sharded_rows.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "comm_test_env.h"
#include "core/param_arena.h"
#include "train/grad_sync.h"

namespace ectrain::train {
namespace {

class ShardedRows : public ::testing::TestWithParam<std::string> {
 protected:
  void OnEveryRank(const std::function<void(comm::Communicator&)>& body) {
    ectrain::testing::RunOnEveryRank(GetParam(), body);
  }
};

// The distinct rows rank `rank` needs in round `round`: a random number of random rows (often
// shared with other ranks), none at all for rank 1 in round 1 and for every rank in round 2.
std::vector<int64_t> IdsOf(int rank, int round, int64_t rows) {
  if (round == 2 || (round == 1 && rank == 1)) return {};
  std::mt19937_64 rng(static_cast<uint64_t>(1000 * round + rank));
  const int64_t wanted = std::uniform_int_distribution<int64_t>(1, std::min<int64_t>(rows, 300))(rng);
  std::vector<int64_t> ids;
  std::vector<bool> taken(static_cast<size_t>(rows), false);
  // About half from the first 40 rows (so that ranks share rows), the rest from anywhere.
  while (static_cast<int64_t>(ids.size()) < wanted) {
    const int64_t range = rng() % 2 == 0 ? std::min<int64_t>(rows, 40) : rows;
    const int64_t id = static_cast<int64_t>(rng() % static_cast<uint64_t>(range));
    if (taken[static_cast<size_t>(id)]) continue;
    taken[static_cast<size_t>(id)] = true;
    ids.push_back(id);
  }
  return ids;
}

// Gradients of varied sign and magnitude, so that summing in another order changes bits.
std::vector<float> GradsOf(int rank, int round, size_t count) {
  std::mt19937_64 rng(static_cast<uint64_t>(77 + 1000 * round + rank));
  std::vector<float> grads(count);
  for (float& g : grads) {
    g = std::uniform_real_distribution<float>(-1, 1)(rng) *
        std::pow(10.0f, std::uniform_int_distribution<int>(-4, 4)(rng));
  }
  return grads;
}

float ValueOf(int64_t row, int64_t col) { return static_cast<float>(row) * 0.5f + static_cast<float>(col) * 0.001f; }

constexpr int kRounds = 3;
const int64_t kTableRows[] = {1, 7, 1000};

TEST_P(ShardedRows, GatherReturnsEachRowFromItsOwner) {
  OnEveryRank([](comm::Communicator& comm) {
    const int me = comm.rank(), ranks = comm.size();
    for (int64_t rows : kTableRows) {
      const RowSharding sharding(rows, ranks);
      ShardedRowExchange exchange(comm, sharding);
      for (int64_t cols : {1, 16}) {
        // This rank's shard: each owned row's values, as a function of its global row.
        std::vector<float> shard(static_cast<size_t>(sharding.owned_rows(me) * cols));
        for (int64_t local = 0; local < sharding.owned_rows(me); ++local) {
          for (int64_t c = 0; c < cols; ++c) shard[local * cols + c] = ValueOf(sharding.global_row(me, local), c);
        }
        for (int round = 0; round < kRounds; ++round) {
          SCOPED_TRACE(std::to_string(rows) + " rows of " + std::to_string(cols) + ", round " + std::to_string(round));
          const std::vector<int64_t> ids = IdsOf(me, round, rows);
          std::vector<float> out{1.0f, 2.0f};  // replaced
          exchange.Gather(ids, shard, cols, out);
          EXPECT_EQ(out.size(), ids.size() * cols);
          int64_t wrong = 0;
          for (size_t k = 0; k < ids.size() && out.size() == ids.size() * cols; ++k) {
            for (int64_t c = 0; c < cols; ++c) wrong += out[k * cols + c] != ValueOf(ids[k], c);
          }
          EXPECT_EQ(wrong, 0);
          // Rows that crossed between ranks: those this rank asked others for, and those others asked it for.
          int64_t from_others = 0, to_others = 0;
          for (int64_t id : ids) from_others += sharding.owner(id) != me;
          for (int r = 0; r < ranks; ++r) {
            if (r == me) continue;
            for (int64_t id : IdsOf(r, round, rows)) to_others += sharding.owner(id) == me;
          }
          const ShardedRowExchange::Stats& stats = exchange.last_stats();
          const int64_t counts = 8 * (ranks - 1);
          EXPECT_EQ(stats.rows_received, from_others);
          EXPECT_EQ(stats.rows_sent, to_others);
          EXPECT_EQ(stats.bytes_received, counts + from_others * cols * 4 + to_others * 8);
          EXPECT_EQ(stats.bytes_sent, counts + to_others * cols * 4 + from_others * 8);
        }
      }
    }
  });
}

// What this rank, as owner, must get: the rows of its shard that any rank sent, first-touched
// order reading the ranks in rank order, each summed from 0.0f in rank order.
void ReferenceSums(const RowSharding& sharding, int me, int round, int64_t cols, std::vector<int64_t>& rows_out,
                   std::vector<float>& sums) {
  std::map<int64_t, size_t> slot;
  rows_out.clear();
  sums.clear();
  for (int s = 0; s < sharding.ranks(); ++s) {
    const std::vector<int64_t> ids = IdsOf(s, round, sharding.rows());
    const std::vector<float> grads = GradsOf(s, round, ids.size() * cols);
    for (size_t k = 0; k < ids.size(); ++k) {
      if (sharding.owner(ids[k]) != me) continue;
      const int64_t local = sharding.local(ids[k]);
      if (slot.count(local) == 0) {
        slot[local] = rows_out.size();
        rows_out.push_back(local);
        sums.resize(sums.size() + cols, 0.0f);
      }
      for (int64_t c = 0; c < cols; ++c) sums[slot[local] * cols + c] += grads[k * cols + c];
    }
  }
}

TEST_P(ShardedRows, ScatterAddSumsEachRowInRankOrderAtItsOwner) {
  OnEveryRank([](comm::Communicator& comm) {
    const int me = comm.rank(), ranks = comm.size();
    for (int64_t rows : kTableRows) {
      const RowSharding sharding(rows, ranks);
      ShardedRowExchange exchange(comm, sharding);
      for (int64_t cols : {1, 16}) {
        for (int round = 0; round < kRounds; ++round) {
          SCOPED_TRACE(std::to_string(rows) + " rows of " + std::to_string(cols) + ", round " + std::to_string(round));
          const std::vector<int64_t> ids = IdsOf(me, round, rows);
          const std::vector<float> grads = GradsOf(me, round, ids.size() * cols);
          std::vector<int64_t> owned_rows{5};  // replaced
          std::vector<float> owned_grads{1.0f};
          exchange.ScatterAdd(ids, grads, cols, owned_rows, owned_grads);
          std::vector<int64_t> expected_rows;
          std::vector<float> expected_sums;
          ReferenceSums(sharding, me, round, cols, expected_rows, expected_sums);
          EXPECT_EQ(owned_rows, expected_rows);
          EXPECT_TRUE(owned_grads == expected_sums) << "the sums differ from the rank-order reference";
          int64_t sent = 0, received = 0;
          for (int64_t id : ids) sent += sharding.owner(id) != me;
          for (int r = 0; r < ranks; ++r) {
            if (r == me) continue;
            for (int64_t id : IdsOf(r, round, rows)) received += sharding.owner(id) == me;
          }
          const ShardedRowExchange::Stats& stats = exchange.last_stats();
          EXPECT_EQ(stats.rows_sent, sent);
          EXPECT_EQ(stats.rows_received, received);
          EXPECT_EQ(stats.bytes_sent, 8 * (ranks - 1) + sent * (8 + cols * 4));
          EXPECT_EQ(stats.bytes_received, 8 * (ranks - 1) + received * (8 + cols * 4));
        }
      }
    }
  });
}

// The same step through GradSync (every rank sums every rank's rows): the rows each owner holds
// after ScatterAdd are, bit for bit, GradSync's sums of those rows.
TEST_P(ShardedRows, ScatterAddMatchesGradSyncBitForBit) {
  OnEveryRank([](comm::Communicator& comm) {
    const int me = comm.rank(), ranks = comm.size();
    constexpr int64_t kRows = 1000, kCols = 16;
    ParamLayout layout;
    layout.Add("embedding/items", kRows, kCols, ParamKind::kEmbedding);
    ParamArena arena(layout);
    const RowSharding sharding(kRows, ranks);
    ShardedRowExchange exchange(comm, sharding);
    for (int round = 0; round < kRounds; ++round) {
      SCOPED_TRACE("round " + std::to_string(round));
      const std::vector<int64_t> ids = IdsOf(me, round, kRows);
      const std::vector<float> grads = GradsOf(me, round, ids.size() * kCols);
      GradSync sync(comm, layout, /*global_batch_size=*/1, /*sparse_embeddings=*/true, /*bucket_bytes=*/0);
      EXPECT_EQ(sync.num_row_sparse_tables(), 1);
      sync.BeginStep(arena);
      RowSelection& selection = sync.selection();
      for (size_t k = 0; k < ids.size(); ++k) {
        const int32_t slot = selection.Slot(0, ids[k]);
        std::copy_n(grads.data() + k * kCols, kCols, selection.host_gradients(0) + slot * kCols);
      }
      sync.Synchronize(arena);  // Collective
      std::map<int64_t, int64_t> slot_of;
      for (size_t s = 0; s < selection.rows(0).size(); ++s) slot_of[selection.rows(0)[s]] = static_cast<int64_t>(s);

      std::vector<int64_t> owned_rows;
      std::vector<float> owned_grads;
      exchange.ScatterAdd(ids, grads, kCols, owned_rows, owned_grads);  // Collective
      int64_t owned_in_union = 0;
      for (int64_t row : selection.rows(0)) owned_in_union += sharding.owner(row) == me;
      EXPECT_EQ(static_cast<int64_t>(owned_rows.size()), owned_in_union);
      for (size_t j = 0; j < owned_rows.size(); ++j) {
        const int64_t row = sharding.global_row(me, owned_rows[j]);
        EXPECT_EQ(slot_of.count(row), 1u) << "row " << row;
        if (slot_of.count(row) == 0) continue;
        const float* theirs = selection.host_gradients(0) + slot_of[row] * kCols;
        const std::vector<float> expected(theirs, theirs + kCols);
        const std::vector<float> mine(owned_grads.begin() + j * kCols, owned_grads.begin() + (j + 1) * kCols);
        EXPECT_TRUE(mine == expected) << "row " << row;
      }
    }
  });
}

INSTANTIATE_TEST_SUITE_P(Backends, ShardedRows, ::testing::ValuesIn(ectrain::testing::ContractBackends()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace ectrain::train
