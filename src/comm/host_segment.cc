#include "comm/host_segment.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "comm/ring.h"
#include "core/log.h"

namespace ectrain::comm {
namespace {

constexpr size_t kLine = 64;
// Up to this many bytes in all ranks' slots, every rank reduces the whole buffer itself: reading
// the other slots costs less than the second barrier and the copy out of the result.
constexpr size_t kWholeReduceMaxBytes = size_t{128} << 10;

// A rank's line of the segment's head: its barrier generation, then its call in each half.
struct Control {
  uint64_t arrived;
  CollectiveCall call[2];
};
static_assert(sizeof(Control) <= kLine, "a rank's control must fit one cache line");

Control* ControlOf(char* segment, int rank) {
  return reinterpret_cast<Control*>(segment + static_cast<size_t>(rank) * kLine);
}

size_t RoundUp(size_t bytes, size_t to) { return (bytes + to - 1) / to * to; }

// Waits until the other rank's generation reaches `target`. A short spin first (two ranks on two
// cores usually meet within microseconds), then yields between looks, so that a rank's own reader
// thread, or more ranks than cores, can run while it waits.
void WaitFor(uint64_t& generation, uint64_t target) {
  std::atomic_ref<uint64_t> word(generation);
  for (int looks = 0; word.load(std::memory_order_acquire) < target; ++looks) {
    if (looks < 64) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
    } else {
      sched_yield();
    }
  }
}

}  // namespace

size_t HostSegment::SegmentBytes(int num_ranks, size_t slot_bytes) {
  const size_t ranks = static_cast<size_t>(num_ranks);
  // The head, then two halves of one slot per rank and a result slot.
  return ranks * kLine + 2 * (ranks + 1) * RoundUp(slot_bytes, kLine);
}

HostSegment::HostSegment(void* segment, int rank, int num_ranks, size_t slot_bytes)
    : segment_(static_cast<char*>(segment)),
      rank_(rank),
      num_ranks_(num_ranks),
      slot_bytes_(RoundUp(slot_bytes, kLine)),
      piece_bytes_(slot_bytes_) {
  CHECK(num_ranks >= 1 && rank >= 0 && rank < num_ranks) << "rank " << rank << " of " << num_ranks;
  CHECK(slot_bytes > 0) << "a host segment needs slots of at least one byte";
  counts_.resize(static_cast<size_t>(num_ranks));
}

void HostSegment::SetPieceBytesForTesting(size_t bytes) {
  // Whole elements of every type: a multiple of 8 bytes.
  piece_bytes_ = bytes == 0 ? slot_bytes_ : std::clamp<size_t>(bytes / 8 * 8, 8, slot_bytes_);
}

char* HostSegment::Slot(int rank) const {
  const size_t half = static_cast<size_t>(round_ & 1);
  const size_t ranks = static_cast<size_t>(num_ranks_);
  return segment_ + ranks * kLine + (half * (ranks + 1) + static_cast<size_t>(rank)) * slot_bytes_;
}

char* HostSegment::Result() const { return Slot(num_ranks_); }

void HostSegment::Arrive(const CollectiveCall& call) {
  const size_t half = static_cast<size_t>(round_ & 1);
  ControlOf(segment_, rank_)->call[half] = call;  // read by others after the barrier; rewritten two rounds on
  Wait();
  // Every rank compares all calls with rank 0's, so that all report the same pair.
  const CollectiveCall& first = ControlOf(segment_, 0)->call[half];
  for (int r = 1; r < num_ranks_; ++r) {
    const CollectiveCall& theirs = ControlOf(segment_, r)->call[half];
    CHECK(theirs == first) << "ranks call different collectives: rank 0 calls " << first.ToString() << ", rank " << r
                           << " calls " << theirs.ToString()
                           << "; every rank must call the same collectives in the same order";
  }
}

void HostSegment::Wait() {
  ++arrivals_;
  std::atomic_ref<uint64_t>(ControlOf(segment_, rank_)->arrived).store(arrivals_, std::memory_order_release);
  for (int r = 0; r < num_ranks_; ++r) {
    if (r != rank_) WaitFor(ControlOf(segment_, r)->arrived, arrivals_);
  }
}

void HostSegment::Barrier() {
  Arrive({CollectiveKind::kBarrier});
  NextRound();
}

// Every rank copies its values into its slot. A small buffer is then reduced whole by every rank
// from all slots (one barrier: a gradient of tens of KB, a few flags). Larger ones go in pieces:
// each rank reduces its share of the piece into the result slot, then all copy the result out.
// Either way in the ring order of the whole buffer's chunks.
template <typename T>
void HostSegment::Reduce(T* data, size_t count, DataType type, ReduceOp op) {
  const CollectiveCall call{CollectiveKind::kAllReduce, type, op, -1, count};
  const size_t piece = piece_bytes_ / sizeof(T);
  thread_local std::vector<const T*> inputs;  // reused: a collective allocates nothing
  inputs.resize(static_cast<size_t>(num_ranks_));
  if (count <= piece && count * sizeof(T) * static_cast<size_t>(num_ranks_) <= kWholeReduceMaxBytes) {
    std::memcpy(Slot(rank_), data, count * sizeof(T));
    Arrive(call);
    for (int r = 0; r < num_ranks_; ++r) inputs[static_cast<size_t>(r)] = reinterpret_cast<const T*>(Slot(r));
    RingReduceAll<T>(inputs, count, data, op);
    NextRound();
    return;
  }
  for (size_t begin = 0; begin < count; begin += piece) {
    const size_t n = std::min(piece, count - begin);
    std::memcpy(Slot(rank_), data + begin, n * sizeof(T));
    Arrive(call);
    for (int r = 0; r < num_ranks_; ++r) inputs[static_cast<size_t>(r)] = reinterpret_cast<const T*>(Slot(r));
    // This rank's share of the piece, [lo, hi) of the whole buffer, cut where the ring's chunks
    // (of the whole buffer, which fix the order) begin.
    const RingChunk share = RingChunkOf(n, num_ranks_, rank_);
    const size_t lo = begin + share.begin;
    const size_t hi = lo + share.count;
    T* result = reinterpret_cast<T*>(Result());
    for (int c = 0; c < num_ranks_ && share.count > 0; ++c) {
      const RingChunk chunk = RingChunkOf(count, num_ranks_, c);
      const size_t from = std::max(lo, chunk.begin);
      const size_t to = std::min(hi, chunk.begin + chunk.count);
      if (from < to) RingReduceRange<T>(inputs, c, from - begin, to - from, result + (from - begin), op);
    }
    Wait();
    std::memcpy(data + begin, result, n * sizeof(T));
    NextRound();
  }
}

void HostSegment::AllReduce(void* data, size_t count, DataType type, ReduceOp op) {
  switch (type) {
    case DataType::kFloat32:
      return Reduce(static_cast<float*>(data), count, type, op);
    case DataType::kFloat64:
      return Reduce(static_cast<double*>(data), count, type, op);
    case DataType::kInt64:
      return Reduce(static_cast<int64_t*>(data), count, type, op);
    case DataType::kUInt8:
      return Reduce(static_cast<uint8_t*>(data), count, type, op);
  }
}

void HostSegment::Broadcast(void* data, size_t num_bytes, int root) {
  CHECK(root >= 0 && root < num_ranks_) << "broadcast root " << root << " outside " << num_ranks_ << " ranks";
  auto* bytes = static_cast<char*>(data);
  for (size_t done = 0; done < num_bytes; done += piece_bytes_) {
    const size_t n = std::min(piece_bytes_, num_bytes - done);
    if (rank_ == root) std::memcpy(Slot(root), bytes + done, n);
    Arrive({CollectiveKind::kBroadcast, DataType::kUInt8, ReduceOp::kSum, root, num_bytes});
    if (rank_ != root) std::memcpy(bytes + done, Slot(root), n);
    NextRound();
  }
}

void HostSegment::AllGather(const void* mine, size_t num_bytes, void* all) {
  for (size_t done = 0; done < num_bytes; done += piece_bytes_) {
    const size_t n = std::min(piece_bytes_, num_bytes - done);
    std::memcpy(Slot(rank_), static_cast<const char*>(mine) + done, n);
    Arrive({CollectiveKind::kAllGather, DataType::kUInt8, ReduceOp::kSum, -1, num_bytes});
    for (int r = 0; r < num_ranks_; ++r) {
      const char* from = r == rank_ ? static_cast<const char*>(mine) + done : Slot(r);  // own: still in cache
      std::memmove(static_cast<char*>(all) + static_cast<size_t>(r) * num_bytes + done, from, n);
    }
    NextRound();
  }
}

void HostSegment::AllGatherV(const void* mine, DataType type, std::span<const int64_t> counts, void* all) {
  const size_t element = DataTypeBytes(type);
  size_t largest = 0;
  for (int64_t c : counts) largest = std::max(largest, static_cast<size_t>(c) * element);
  const size_t my_bytes = static_cast<size_t>(counts[static_cast<size_t>(rank_)]) * element;
  for (size_t done = 0; done < largest; done += piece_bytes_) {
    if (done < my_bytes) {
      std::memcpy(Slot(rank_), static_cast<const char*>(mine) + done, std::min(piece_bytes_, my_bytes - done));
    }
    Arrive({CollectiveKind::kAllGatherV, type});
    char* at = static_cast<char*>(all);
    for (int r = 0; r < num_ranks_; ++r) {
      const size_t bytes = static_cast<size_t>(counts[static_cast<size_t>(r)]) * element;
      const char* from = r == rank_ ? static_cast<const char*>(mine) + done : Slot(r);  // own: still in cache
      if (done < bytes) std::memcpy(at + done, from, std::min(piece_bytes_, bytes - done));
      at += bytes;
    }
    NextRound();
  }
}

bool HostSegment::AllGatherVRead(size_t num_bytes, GatherReader& reader) {
  const auto mine = static_cast<int64_t>(num_bytes);
  AllGather(&mine, sizeof(mine), counts_.data());
  if (static_cast<size_t>(*std::max_element(counts_.begin(), counts_.end())) > piece_bytes_) return false;
  reader.Fill(std::span<uint8_t>(reinterpret_cast<uint8_t*>(Slot(rank_)), num_bytes));
  Arrive({CollectiveKind::kAllGatherV, DataType::kUInt8});
  for (int r = 0; r < num_ranks_; ++r) {
    reader.Read(r, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(Slot(r)),
                                            static_cast<size_t>(counts_[static_cast<size_t>(r)])));
  }
  NextRound();
  return true;
}

}  // namespace ectrain::comm
