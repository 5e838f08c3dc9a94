#include "train/sharded_rows.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "core/log.h"

namespace ectrain::train {
namespace {

// splitmix64's finalizer: every input bit reaches every output bit.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

RowSharding::RowSharding(int64_t rows, int ranks, uint64_t seed)
    : rows_(rows), ranks_(ranks), blocks_(ranks >= 1 ? rows / ranks : 0) {
  CHECK(rows >= 0 && ranks >= 1) << "RowSharding: " << rows << " rows over " << ranks << " ranks";
  // The smallest even width 2 * half_bits_ with 2^width >= blocks: cycle-walking then takes fewer
  // than 4 passes on average (the domain is under 4 * blocks).
  while (half_bits_ < 32 && (uint64_t{1} << (2 * half_bits_)) < static_cast<uint64_t>(blocks_)) ++half_bits_;
  half_mask_ = (uint64_t{1} << half_bits_) - 1;
  uint64_t state = seed;
  for (uint64_t& key : keys_) key = Mix(state += 0x9e3779b97f4a7c15ULL);
  rotation_key_ = Mix(state += 0x9e3779b97f4a7c15ULL);
}

uint64_t RowSharding::Round(int round, uint64_t half) const { return Mix(half ^ keys_[round]) & half_mask_; }

// (left, right) -> (right, left ^ F(right)) per round; value = left << half_bits_ | right.
uint64_t RowSharding::Encrypt(uint64_t x) const {
  uint64_t left = x >> half_bits_, right = x & half_mask_;
  for (int r = 0; r < kRounds; ++r) {
    const uint64_t next = left ^ Round(r, right);
    left = right;
    right = next;
  }
  return left << half_bits_ | right;
}

uint64_t RowSharding::Decrypt(uint64_t x) const {
  uint64_t left = x >> half_bits_, right = x & half_mask_;
  for (int r = kRounds - 1; r >= 0; --r) {
    const uint64_t previous = right ^ Round(r, left);
    right = left;
    left = previous;
  }
  return left << half_bits_ | right;
}

// Cycle-walking: Encrypt permutes [0, 2^width); following its cycle from a block until it comes
// back below `blocks_` permutes [0, blocks_), and Decrypt walks the same cycle the other way.
int64_t RowSharding::PermuteBlock(int64_t block) const {
  uint64_t x = static_cast<uint64_t>(block);
  do {
    x = Encrypt(x);
  } while (x >= static_cast<uint64_t>(blocks_));
  return static_cast<int64_t>(x);
}

int64_t RowSharding::UnpermuteBlock(int64_t block) const {
  uint64_t x = static_cast<uint64_t>(block);
  do {
    x = Decrypt(x);
  } while (x >= static_cast<uint64_t>(blocks_));
  return static_cast<int64_t>(x);
}

int RowSharding::Rotation(int64_t block) const {
  return static_cast<int>(Mix(static_cast<uint64_t>(block) ^ rotation_key_) % static_cast<uint64_t>(ranks_));
}

int64_t RowSharding::Permute(int64_t row) const {
  const int64_t block = row / ranks_;
  if (block >= blocks_) return row;  // the last rows % ranks rows, one to each of the first owners
  return PermuteBlock(block) * ranks_ + (row % ranks_ + Rotation(block)) % ranks_;
}

int64_t RowSharding::Unpermute(int64_t value) const {
  if (value / ranks_ >= blocks_) return value;
  const int64_t block = UnpermuteBlock(value / ranks_);
  return block * ranks_ + (value % ranks_ + ranks_ - Rotation(block)) % ranks_;
}

ShardedRowExchange::ShardedRowExchange(comm::Communicator& comm, const RowSharding& sharding)
    : comm_(comm), sharding_(sharding), rank_(comm.rank()), ranks_(comm.size()) {
  CHECK(sharding.ranks() == ranks_) << "ShardedRowExchange: a sharding over " << sharding.ranks()
                                    << " ranks on a communicator of " << ranks_;
  for (auto* counts : {&send_counts_, &recv_counts_, &reply_counts_, &back_counts_}) {
    counts->assign(static_cast<size_t>(ranks_), 0);
  }
}

void ShardedRowExchange::BucketByOwner(std::span<const int64_t> ids) {
  std::fill(send_counts_.begin(), send_counts_.end(), 0);
  // Owner and local index of each id, computed once (each is a walk through the permutation).
  send_local_.resize(ids.size());
  owner_of_.resize(ids.size());
  position_.resize(ids.size());
  for (size_t k = 0; k < ids.size(); ++k) {
    const int64_t id = ids[k];
    CHECK(id >= 0 && id < sharding_.rows())
        << "ShardedRowExchange: row " << id << " of a table of " << sharding_.rows() << " rows";
    const int64_t p = sharding_.Permute(id);
    owner_of_[k] = static_cast<int>(p % ranks_);
    send_local_[k] = p / ranks_;
    ++send_counts_[owner_of_[k]];
  }
  // A stable counting sort by owner: position_[k] becomes ids[k]'s place in owner order.
  std::vector<size_t>& next = owner_start_;
  next.assign(static_cast<size_t>(ranks_), 0);
  for (int d = 1; d < ranks_; ++d) next[d] = next[d - 1] + static_cast<size_t>(send_counts_[d - 1]);
  sorted_local_.resize(ids.size());
  for (size_t k = 0; k < ids.size(); ++k) {
    const size_t place = next[owner_of_[k]]++;
    sorted_local_[place] = send_local_[k];
    position_[k] = place;
  }
  send_local_.swap(sorted_local_);
}

template <typename T>
void ShardedRowExchange::Exchange(std::span<const T> send, std::span<const int64_t> send_counts, std::vector<T>& recv,
                                  std::span<const int64_t> recv_counts) {
  recv.resize(static_cast<size_t>(std::accumulate(recv_counts.begin(), recv_counts.end(), int64_t{0})));
  if (ranks_ == 1) {
    std::copy(send.begin(), send.end(), recv.begin());
  } else {
    comm_.AllToAllV<T>(send, send_counts, recv, recv_counts);  // Collective
  }
}

void ShardedRowExchange::ExchangeCounts() {
  if (ranks_ == 1) {
    recv_counts_ = send_counts_;
  } else {
    recv_counts_ = comm_.AllToAllCounts(send_counts_);  // Collective
  }
}

int64_t ShardedRowExchange::OthersTotal(std::span<const int64_t> counts) const {
  return std::accumulate(counts.begin(), counts.end(), int64_t{0}) - counts[static_cast<size_t>(rank_)];
}

void ShardedRowExchange::Gather(std::span<const int64_t> ids, std::span<const float> local_shard, int64_t cols,
                                std::vector<float>& out) {
  const int64_t owned = sharding_.owned_rows(rank_);
  CHECK(cols >= 1 && static_cast<int64_t>(local_shard.size()) == owned * cols)
      << "Gather: a shard of " << local_shard.size() << " values for " << owned << " rows of " << cols;
  const auto width = static_cast<size_t>(cols);
  // The ids' local indices to their owners.
  BucketByOwner(ids);
  ExchangeCounts();
  Exchange<int64_t>(send_local_, send_counts_, recv_local_, recv_counts_);
  // The rows asked for, in the order asked, back to whoever asked.
  send_rows_.resize(recv_local_.size() * width);
  for (size_t i = 0; i < recv_local_.size(); ++i) {
    const int64_t local = recv_local_[i];
    CHECK(local >= 0 && local < owned) << "Gather: local row " << local << " of a shard of " << owned;
    std::memcpy(send_rows_.data() + i * width, local_shard.data() + static_cast<size_t>(local) * width,
                width * sizeof(float));
  }
  for (int r = 0; r < ranks_; ++r) {
    reply_counts_[r] = recv_counts_[r] * cols;
    back_counts_[r] = send_counts_[r] * cols;
  }
  Exchange<float>(send_rows_, reply_counts_, recv_rows_, back_counts_);
  out.resize(ids.size() * width);
  for (size_t k = 0; k < ids.size(); ++k) {
    std::memcpy(out.data() + k * width, recv_rows_.data() + position_[k] * width, width * sizeof(float));
  }

  const int64_t count_bytes = ranks_ > 1 ? (ranks_ - 1) * int64_t{8} : 0;
  stats_.rows_sent = OthersTotal(recv_counts_);
  stats_.rows_received = OthersTotal(send_counts_);
  stats_.bytes_sent = count_bytes + stats_.rows_received * 8 + stats_.rows_sent * cols * 4;
  stats_.bytes_received = count_bytes + stats_.rows_sent * 8 + stats_.rows_received * cols * 4;
}

void ShardedRowExchange::ScatterAdd(std::span<const int64_t> ids, std::span<const float> grads, int64_t cols,
                                    std::vector<int64_t>& owned_local_rows, std::vector<float>& owned_grads) {
  CHECK(cols >= 1 && grads.size() == ids.size() * static_cast<size_t>(cols))
      << "ScatterAdd: " << grads.size() << " gradient values for " << ids.size() << " rows of " << cols;
  const auto width = static_cast<size_t>(cols);
  const size_t row_bytes = sizeof(int64_t) + width * sizeof(float);
  BucketByOwner(ids);
  ExchangeCounts();
  // One message per owner, ids and rows together: its rows' local indices, then their gradients.
  send_bytes_.resize(ids.size() * row_bytes);
  std::vector<size_t>& start = owner_start_;  // the first row of each owner, in owner order
  start.assign(static_cast<size_t>(ranks_), 0);
  for (int d = 1; d < ranks_; ++d) start[d] = start[d - 1] + static_cast<size_t>(send_counts_[d - 1]);
  for (size_t k = 0; k < ids.size(); ++k) {
    const size_t place = position_[k];
    const int owner = owner_of_[k];
    const size_t n = static_cast<size_t>(send_counts_[owner]), j = place - start[owner];
    uint8_t* block = send_bytes_.data() + start[owner] * row_bytes;
    std::memcpy(block + j * sizeof(int64_t), &send_local_[place], sizeof(int64_t));
    std::memcpy(block + n * sizeof(int64_t) + j * width * sizeof(float), grads.data() + k * width,
                width * sizeof(float));
  }
  for (int r = 0; r < ranks_; ++r) {
    reply_counts_[r] = send_counts_[r] * static_cast<int64_t>(row_bytes);
    back_counts_[r] = recv_counts_[r] * static_cast<int64_t>(row_bytes);
  }
  Exchange<uint8_t>(send_bytes_, reply_counts_, recv_bytes_, back_counts_);

  // Sources in rank order, each source's rows in the order it sent them: the sums, and the order
  // rows are first touched in, are those of GradSync's all-gather read in rank order.
  const int64_t owned = sharding_.owned_rows(rank_);
  if (slot_.size() != static_cast<size_t>(owned)) slot_.assign(static_cast<size_t>(owned), -1);
  owned_local_rows.clear();
  owned_grads.clear();
  const uint8_t* block = recv_bytes_.data();
  for (int s = 0; s < ranks_; ++s) {
    const auto n = static_cast<size_t>(recv_counts_[s]);
    const uint8_t* rows = block + n * sizeof(int64_t);
    for (size_t j = 0; j < n; ++j) {
      int64_t local = 0;
      std::memcpy(&local, block + j * sizeof(int64_t), sizeof(local));
      CHECK(local >= 0 && local < owned) << "ScatterAdd: local row " << local << " of a shard of " << owned;
      int32_t& slot = slot_[static_cast<size_t>(local)];
      if (slot < 0) {
        slot = static_cast<int32_t>(owned_local_rows.size());
        owned_local_rows.push_back(local);
        owned_grads.resize(owned_grads.size() + width, 0.0f);
      }
      float* sum = owned_grads.data() + static_cast<size_t>(slot) * width;
      const uint8_t* values = rows + j * width * sizeof(float);
      for (size_t c = 0; c < width; ++c) {
        float value = 0;
        std::memcpy(&value, values + c * sizeof(float), sizeof(value));
        sum[c] += value;
      }
    }
    block += n * row_bytes;
  }
  for (int64_t local : owned_local_rows) slot_[static_cast<size_t>(local)] = -1;

  const int64_t count_bytes = ranks_ > 1 ? (ranks_ - 1) * int64_t{8} : 0;
  stats_.rows_sent = OthersTotal(send_counts_);
  stats_.rows_received = OthersTotal(recv_counts_);
  stats_.bytes_sent = count_bytes + stats_.rows_sent * static_cast<int64_t>(row_bytes);
  stats_.bytes_received = count_bytes + stats_.rows_received * static_cast<int64_t>(row_bytes);
}

}  // namespace ectrain::train
