// Communicator: the one interface through which ranks talk (rank, size, all-reduce, broadcast,
// all-gather(v), all-to-all-v, barrier, abort). Passed in, never global. Implementations:
// LocalCommunicator (world size 1, a true identity), InProcessCommunicator (ranks as threads of
// one process) and MpiCommunicator (its own target, ectrain_comm_mpi); decorators over any of them
// derive from CommunicatorWrapper (comm/communicator_wrapper.h). Only src/comm includes mpi.h.
// Every collective must be called by all ranks in the same order. A communicator may be called
// from any thread, but from one thread at a time (the caller serializes, e.g. one comm thread).
// Float sums are deterministic: the same bits on every backend for the same inputs and world size
// (the ring order of comm/ring.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "comm/host_memory.h"
#include "core/status.h"

namespace ectrain::comm {

enum class DataType { kFloat32, kFloat64, kInt64, kUInt8 };
enum class ReduceOp { kSum, kMax, kMin };

class BucketReducer;

// The DataType of a C++ element type: float, double, int64_t or uint8_t.
template <typename T>
constexpr DataType DataTypeOf() {
  if constexpr (std::is_same_v<T, float>) {
    return DataType::kFloat32;
  } else if constexpr (std::is_same_v<T, double>) {
    return DataType::kFloat64;
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return DataType::kInt64;
  } else {
    static_assert(std::is_same_v<T, uint8_t>, "collectives move float, double, int64_t or uint8_t");
    return DataType::kUInt8;
  }
}

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // This rank's index among the ranks on its host (to pick a GPU or a core set), and how many
  // ranks share the host (what memory per host must hold).
  virtual int local_rank() const = 0;
  virtual int local_size() const = 0;
  virtual std::string name() const = 0;

  // Collective: all ranks, same order, same data.size(). In place. A float kSum follows the ring
  // order of comm/ring.h exactly (bitwise identical on every backend); kMax/kMin and the double
  // and int64 reductions are exact or order-free enough not to need one.
  void AllReduce(std::span<float> data, ReduceOp op = ReduceOp::kSum) {
    AllReduceRaw(data.data(), data.size(), DataType::kFloat32, op);
  }
  void AllReduce(std::span<double> data, ReduceOp op = ReduceOp::kSum) {
    AllReduceRaw(data.data(), data.size(), DataType::kFloat64, op);
  }
  void AllReduce(std::span<int64_t> data, ReduceOp op = ReduceOp::kSum) {
    AllReduceRaw(data.data(), data.size(), DataType::kInt64, op);
  }
  // Collective: `root`'s bytes end up on every rank.
  void Broadcast(std::span<float> data, int root) { BroadcastRaw(data.data(), data.size_bytes(), root); }
  void Broadcast(std::span<double> data, int root) { BroadcastRaw(data.data(), data.size_bytes(), root); }
  void Broadcast(std::span<int64_t> data, int root) { BroadcastRaw(data.data(), data.size_bytes(), root); }
  void Broadcast(std::string& text, int root);
  // Collective: rank r's `mine` lands at all[r * mine.size() ...]; all.size() == mine.size() * size().
  void AllGather(std::span<const int64_t> mine, std::span<int64_t> all) {
    AllGatherRaw(mine.data(), mine.size_bytes(), all.data());
  }
  // Collective, contributions of any size (zero too): counts[r] = elements from rank r, and `all`
  // = every rank's `mine` concatenated in rank order. Both outputs are resized.
  void AllGatherV(std::span<const float> mine, std::vector<float>& all, std::vector<int64_t>& counts) {
    AllGatherVTyped(mine, DataType::kFloat32, all, counts);
  }
  void AllGatherV(std::span<const int64_t> mine, std::vector<int64_t>& all, std::vector<int64_t>& counts) {
    AllGatherVTyped(mine, DataType::kInt64, all, counts);
  }
  void AllGatherV(std::span<const uint8_t> mine, std::vector<uint8_t>& all, std::vector<int64_t>& counts) {
    AllGatherVTyped(mine, DataType::kUInt8, all, counts);
  }
  // Collective, as MPI_Alltoallv with the displacements implied: `send` holds send_counts[d]
  // elements for each destination rank d, one after another in rank order; `recv` receives
  // recv_counts[s] elements from each source rank s, in source-rank order. Both count spans have
  // size() entries (zeros allowed); recv_counts on rank d must be send_counts[d] of every source
  // (AllToAllCounts gives them). Exact copies: every backend delivers the same bits. T: float,
  // double, int64_t or uint8_t, deduced from `recv` (AllToAllV<T>(...) for vectors).
  template <typename T>
  void AllToAllV(std::span<const std::type_identity_t<T>> send, std::span<const int64_t> send_counts, std::span<T> recv,
                 std::span<const int64_t> recv_counts) {
    CheckAllToAllV(send.size(), send_counts, recv.size(), recv_counts);
    AllToAllVRaw(send.data(), send_counts, DataTypeOf<T>(), recv.data(), recv_counts);
  }
  // Collective: AllToAllV with the receive counts exchanged first (AllToAllCounts, one more
  // collective); `recv` and `recv_counts` are resized.
  template <typename T>
  void AllToAllVWithCounts(std::span<const std::type_identity_t<T>> send, std::span<const int64_t> send_counts,
                           std::vector<T>& recv, std::vector<int64_t>& recv_counts) {
    recv_counts = AllToAllCounts(send_counts);
    recv.resize(static_cast<size_t>(std::accumulate(recv_counts.begin(), recv_counts.end(), int64_t{0})));
    AllToAllV<T>(send, send_counts, recv, recv_counts);
  }
  // Collective: what each source rank will send this rank: entry s is send_counts[rank()] of rank
  // s. One all-to-all of one int64 per pair of ranks.
  std::vector<int64_t> AllToAllCounts(std::span<const int64_t> send_counts);
  // Collective.
  virtual void Barrier() = 0;
  // Ends every rank of the job at once: used after a failure on one rank so that no rank is
  // left waiting in a collective.
  [[noreturn]] virtual void Abort(int exit_code) = 0;

  // Memory the ranks of this host share (comm/host_memory.h), or null where there is none: one
  // rank, or ranks on several hosts. Owned by the communicator; the same answer on every rank.
  virtual HostMemory* host_memory() { return nullptr; }
  // How GradSync sums its gradient buckets and exchanges its rows on this communicator (see
  // comm/bucket_reducer.h). By default the buckets go through this communicator's own AllReduce
  // (a thread of the reducer's own starts them during backward) and the rows through
  // AllGatherVRead; a backend with its own streams (NCCL) or a timing-only decorator
  // (NoGradientExchangeCommunicator) returns its own.
  virtual std::unique_ptr<BucketReducer> MakeBucketReducer();

 protected:
  friend class CommunicatorWrapper;  // forwards the untyped calls below to the communicator it wraps
  virtual void AllReduceRaw(void* data, size_t count, DataType type, ReduceOp op) = 0;
  virtual void BroadcastRaw(void* data, size_t num_bytes, int root) = 0;
  virtual void AllGatherRaw(const void* mine, size_t num_bytes, void* all) = 0;
  // Rank r's counts[r] elements of `type` at `mine` land in `all` after those of ranks < r.
  // `counts` is already agreed (the same on every rank).
  virtual void AllGatherVRaw(const void* mine, DataType type, std::span<const int64_t> counts, void* all) = 0;
  // AllToAllV's untyped call; the counts are checked (size() entries, none negative, the buffers'
  // sizes their sums). `send` and `recv` do not overlap.
  virtual void AllToAllVRaw(const void* send, std::span<const int64_t> send_counts, DataType type, void* recv,
                            std::span<const int64_t> recv_counts) = 0;

 private:
  void CheckAllToAllV(size_t send_size, std::span<const int64_t> send_counts, size_t recv_size,
                      std::span<const int64_t> recv_counts) const;
  template <typename T>
  void AllGatherVTyped(std::span<const T> mine, DataType type, std::vector<T>& all, std::vector<int64_t>& counts) {
    counts.assign(static_cast<size_t>(size()), 0);
    const int64_t my_count = static_cast<int64_t>(mine.size());
    AllGatherRaw(&my_count, sizeof(my_count), counts.data());
    all.resize(static_cast<size_t>(std::accumulate(counts.begin(), counts.end(), int64_t{0})));
    AllGatherVRaw(mine.data(), type, counts, all.data());
  }
};

size_t DataTypeBytes(DataType type);

// Collective: returns `local` where it failed, and on the other ranks a kFailedElsewhere status
// saying that `what` failed on another rank. Lets one rank's failure end every rank cleanly
// instead of a hang.
Status AgreeOk(Communicator& comm, const Status& local, const std::string& what);

}  // namespace ectrain::comm
