// Row-sharded embedding tables (issue 27): each rank keeps a slice of a large table's rows (and,
// once wired in, their optimizer state) instead of a whole copy. The two pieces here are what the
// model, optimizer and checkpoint wiring will build on; nothing in training uses them yet.
//
// RowSharding (pure): which rank owns a row, and where in that rank's shard it lives. Rows are not
// dealt out in blocks or by `row % ranks` alone: vocabularies are often numbered by frequency (ids
// 0, 1, 2... the most popular), which puts every hot row on rank 0 with blocks, and hashed ids
// cluster (a stride, a low-bit pattern), which `row % ranks` piles on a few ranks. A seeded
// bijection p of [0, rows) places them instead: owner = p(r) % ranks, local = p(r) / ranks. It
// needs no memory per row, gives every rank floor or ceil(rows / ranks) rows, and spreads both:
// the rows are taken in blocks of `ranks` consecutive ids; a block's ids go one to each owner,
// rotated by a hash of the block (so consecutive popular ids never share an owner, and ids with a
// stride that is a multiple of `ranks` land by the hash), and the blocks are shuffled over the
// shards' local indices by a small Feistel network over the smallest even bit width that covers
// the number of blocks, cycle-walked (applied again until the value is in range) so that it is a
// bijection for any size; its inverse runs the rounds backwards with the same cycle-walking. The
// last rows % ranks rows (a partial block) stay where they are, one to each of the first ranks.
// Why blocks and not a plain hash of each row: with Zipf(1.1) ids over 100,000 rows and 4096
// lookups a step, the distinct rows a step asks each of 8 owners for came out 6% (up to 10% over
// seeds) off the mean with a plain hash of each row, 0.04% with hashed blocks (unit/train/row_sharding_test.cc).
//
// ShardedRowExchange (collective): the two exchanges one step makes for one table. Gather: each
// rank's ids go to their owners, who send the rows back (forward). ScatterAdd: each rank's gradient
// rows go to their owners, who add them up (backward), ready for the lazy optimizer. The sums are
// the very bits GradSync's replicated row sums would give (train/grad_sync.h): every contribution
// to a row is added, starting from 0.0f, in the ranks' order, so that sharding a table changes
// where a row is summed but never its value, and a run is the same at any sharding.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "comm/communicator.h"

namespace ectrain::train {

class RowSharding {
 public:
  static constexpr uint64_t kDefaultSeed = 0x5ec7a1d5eedULL;

  // A table of `rows` rows (>= 0) over `ranks` ranks (>= 1); the same arguments give the same
  // placement in every process and every run.
  RowSharding(int64_t rows, int ranks, uint64_t seed = kDefaultSeed);

  int64_t rows() const { return rows_; }
  int ranks() const { return ranks_; }
  // The rank that owns row `row` (0 <= row < rows), and its index in that rank's shard.
  int owner(int64_t row) const { return static_cast<int>(Permute(row) % ranks_); }
  int64_t local(int64_t row) const { return Permute(row) / ranks_; }
  // Row `local` of rank `owner`'s shard, as a row of the table: the inverse of owner() and local().
  int64_t global_row(int owner, int64_t local) const { return Unpermute(local * ranks_ + owner); }
  // Rows rank `rank` owns: ceil(rows / ranks) for the first rows % ranks ranks, floor for the rest.
  int64_t owned_rows(int rank) const { return rows_ / ranks_ + (rank < rows_ % ranks_ ? 1 : 0); }

  // The bijection p of [0, rows) and its inverse.
  int64_t Permute(int64_t row) const;
  int64_t Unpermute(int64_t value) const;

 private:
  static constexpr int kRounds = 4;
  // One pass of the Feistel network over [0, 2^(2 * half_bits_)), and its inverse.
  uint64_t Encrypt(uint64_t x) const;
  uint64_t Decrypt(uint64_t x) const;
  uint64_t Round(int round, uint64_t half) const;
  // The shuffle of the whole blocks [0, blocks_), and its inverse (cycle-walked).
  int64_t PermuteBlock(int64_t block) const;
  int64_t UnpermuteBlock(int64_t block) const;
  // Which owner a block's first id goes to (the others follow in turn).
  int Rotation(int64_t block) const;

  int64_t rows_;
  int ranks_;
  int64_t blocks_;  // whole blocks of `ranks` ids
  uint64_t rotation_key_ = 0;
  int half_bits_ = 1;
  uint64_t half_mask_ = 1;
  uint64_t keys_[kRounds] = {};
};

// One per table per rank; every rank calls Gather and ScatterAdd in the same order (each is a
// collective). With one rank nothing is sent: the rows are read and summed in place.
class ShardedRowExchange {
 public:
  // What this rank moved in the last Gather or ScatterAdd, to and from the other ranks (its own
  // rows never leave it): rows, and bytes of payload handed to the communicator (ids, rows and
  // the 8-byte counts exchanged first).
  struct Stats {
    int64_t rows_sent = 0;
    int64_t rows_received = 0;
    int64_t bytes_sent = 0;
    int64_t bytes_received = 0;
  };

  // `sharding` must describe `comm`: sharding.ranks() == comm.size().
  ShardedRowExchange(comm::Communicator& comm, const RowSharding& sharding);

  // Collective. `ids`: the distinct table rows this rank needs (any order, none repeated; a rank
  // may need none). `local_shard`: this rank's owned_rows(rank) x cols values, row-major, in local
  // order. `out` becomes ids.size() x cols values: row k is table row ids[k], from its owner.
  void Gather(std::span<const int64_t> ids, std::span<const float> local_shard, int64_t cols, std::vector<float>& out);

  // Collective. `grads`: ids.size() x cols values, this rank's gradient for each row of `ids`
  // (distinct, as RowSelection lists them). On return, `owned_local_rows` holds the distinct rows
  // of this rank's shard (local indices) that any rank sent, in the order first touched reading the
  // ranks in rank order, and `owned_grads` their summed gradients (one row of cols each): for each
  // row 0.0f plus each rank's contribution in rank order, as GradSync sums them.
  void ScatterAdd(std::span<const int64_t> ids, std::span<const float> grads, int64_t cols,
                  std::vector<int64_t>& owned_local_rows, std::vector<float>& owned_grads);

  const Stats& last_stats() const { return stats_; }
  const RowSharding& sharding() const { return sharding_; }

 private:
  // Sorts `ids` by owner (stable): send_counts_ per owner, send_local_ their local indices in
  // owner order, owner_of_[k] the owner of ids[k] and position_[k] its place in that order.
  void BucketByOwner(std::span<const int64_t> ids);
  // Collective where there are other ranks: recv_counts_ from send_counts_ (AllToAllCounts).
  void ExchangeCounts();
  // Collective where there are other ranks: AllToAllV, or a copy on one rank.
  template <typename T>
  void Exchange(std::span<const T> send, std::span<const int64_t> send_counts, std::vector<T>& recv,
                std::span<const int64_t> recv_counts);
  // Entries to and from the other ranks (not this one's own), for Stats.
  int64_t OthersTotal(std::span<const int64_t> counts) const;

  comm::Communicator& comm_;
  const RowSharding sharding_;
  const int rank_;
  const int ranks_;
  Stats stats_;
  // Reused buffers, so that a step allocates nothing once they have grown.
  std::vector<int64_t> send_counts_, recv_counts_, reply_counts_, back_counts_;
  std::vector<int64_t> send_local_, recv_local_;
  std::vector<int64_t> sorted_local_;
  std::vector<int> owner_of_;
  std::vector<size_t> position_, owner_start_;
  std::vector<float> send_rows_, recv_rows_;
  std::vector<uint8_t> send_bytes_, recv_bytes_;
  std::vector<int32_t> slot_;  // per owned row: its index in owned_local_rows, -1 if untouched
};

}  // namespace ectrain::train
