// Communicator: the one interface through which ranks talk (rank, size, all-reduce, broadcast,
// all-gather(v), barrier, abort). Passed in, never global. Implementations: LocalCommunicator
// (world size 1, a true identity), InProcessCommunicator (ranks as threads of one process) and
// MpiCommunicator. Only src/comm includes mpi.h.
// Every collective must be called by all ranks in the same order. A communicator may be called
// from any thread, but from one thread at a time (the caller serializes, e.g. one comm thread).
// Float sums are deterministic: the same bits on every backend for the same inputs and world size
// (the ring order of comm/ring.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"

namespace ectrain::comm {

enum class DataType { kFloat32, kFloat64, kInt64, kUInt8 };
enum class ReduceOp { kSum, kMax, kMin };

// What AllGatherVRead calls: Fill writes this rank's bytes, Read sees every rank's where the
// backend holds them.
class GatherReader {
 public:
  virtual ~GatherReader() = default;
  // Writes this rank's contribution (the size given to AllGatherVRead) into `mine`.
  virtual void Fill(std::span<uint8_t> mine) = 0;
  // Rank `rank`'s contribution, valid during the call; called for every rank, in rank order.
  virtual void Read(int rank, std::span<const uint8_t> bytes) = 0;
};

// Memory that the ranks of one host map together (Communicator::MapShared), released when
// destroyed. With MPI releasing is a collective: every rank destroys its own, in the same order.
class SharedMemory {
 public:
  SharedMemory(void* data, std::function<void()> release) : data_(data), release_(std::move(release)) {}
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  ~SharedMemory() {
    if (release_) release_();
  }
  void* data() const { return data_; }

 private:
  void* data_;
  std::function<void()> release_;
};

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
  // Collective: the bytes of AllGatherV, without the gathered copy: reader.Fill writes this rank's
  // `num_bytes` (any size, zero too), then reader.Read sees each rank's in rank order. A backend
  // whose ranks share memory lets Fill write into its slot and Read look into the others'.
  void AllGatherVRead(size_t num_bytes, GatherReader& reader) { AllGatherVReadRaw(num_bytes, reader); }
  // Collective: `num_bytes` of zeroed memory, 4096-byte aligned, that every rank maps at once (all
  // ranks run on one host), or null on every rank where they cannot: one rank, ranks on several
  // hosts, or, saying why in `why_not`, no room for it.
  virtual std::unique_ptr<SharedMemory> MapShared(size_t /*num_bytes*/, std::string* /*why_not*/) { return nullptr; }
  // Collective.
  virtual void Barrier() = 0;
  // Ends every rank of the job at once: used after a failure on one rank so that no rank is
  // left waiting in a collective.
  [[noreturn]] virtual void Abort(int exit_code) = 0;

 protected:
  virtual void AllReduceRaw(void* data, size_t count, DataType type, ReduceOp op) = 0;
  virtual void BroadcastRaw(void* data, size_t num_bytes, int root) = 0;
  virtual void AllGatherRaw(const void* mine, size_t num_bytes, void* all) = 0;
  // Rank r's counts[r] elements of `type` at `mine` land in `all` after those of ranks < r.
  // `counts` is already agreed (the same on every rank).
  virtual void AllGatherVRaw(const void* mine, DataType type, std::span<const int64_t> counts, void* all) = 0;
  // By default: Fill into a buffer, AllGatherV, Read the gathered parts.
  virtual void AllGatherVReadRaw(size_t num_bytes, GatherReader& reader);

 private:
  // AllGatherVReadRaw's buffers, kept from call to call so that a step allocates nothing.
  std::vector<uint8_t> read_mine_, read_all_;
  std::vector<int64_t> read_counts_;

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

enum class Backend { kAuto, kLocal, kMpi };

// kAuto picks MPI when a launcher (mpirun, srun) started this process, else Local.
// `host_shared_memory`: MPI ranks all on one host use a shared segment (MpiCommunicator).
// Installs the communicator's Abort as the CHECK failure handler and sets the log rank.
StatusOr<std::unique_ptr<Communicator>> MakeCommunicator(Backend backend, bool host_shared_memory = true);

// Collective: returns `local` where it failed, and on the other ranks a kFailedElsewhere status
// saying that `what` failed on another rank. Lets one rank's failure end every rank cleanly
// instead of a hang.
Status AgreeOk(Communicator& comm, const Status& local, const std::string& what);

// True when the environment shows that an MPI launcher started this process.
bool LaunchedByMpi();

}  // namespace ectrain::comm
