// HostMemory: what the ranks of one host can do through memory they all map, beside the
// collectives every Communicator has: map more of it (the one copy of a model a host's ranks
// share), and read each other's contributions where they lie. Obtained from
// Communicator::host_memory(), null where the ranks share none (one rank, several hosts).
// Its functions are collectives of the communicator it came from: all ranks, same order, and the
// same one-thread-at-a-time rule.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace ectrain::comm {

class Communicator;

// Memory that the ranks of one host map together (HostMemory::MapShared), released when
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

// What AllGatherVRead calls: Fill writes this rank's bytes, Read sees every rank's where the
// communicator holds them.
class GatherReader {
 public:
  virtual ~GatherReader() = default;
  // Writes this rank's contribution (the size given to AllGatherVRead) into `mine`.
  virtual void Fill(std::span<uint8_t> mine) = 0;
  // Rank `rank`'s contribution, valid during the call; called for every rank, in rank order.
  virtual void Read(int rank, std::span<const uint8_t> bytes) = 0;
};

class HostMemory {
 public:
  virtual ~HostMemory() = default;
  // Collective: `num_bytes` of zeroed memory, 4096-byte aligned, that every rank maps at once, or
  // null on every rank where there is no room for it (saying why in `why_not`).
  virtual std::unique_ptr<SharedMemory> MapShared(size_t num_bytes, std::string* why_not) = 0;
  // Collective: AllGatherVRead (below) with Fill writing into memory the ranks share and Read
  // looking into each rank's part of it. False on every rank, with nothing filled, where this
  // call cannot (a contribution too large, or no such memory): the caller then gathers by copying.
  virtual bool AllGatherVRead(size_t /*num_bytes*/, GatherReader& /*reader*/) { return false; }
};

// AllGatherVRead's copies where no host memory reads in place, kept from call to call so that a
// training step allocates nothing.
struct GatherBuffers {
  std::vector<uint8_t> mine, all;
  std::vector<int64_t> counts;
};

// Collective: the bytes of an all-gather-v without the gathered copy where the ranks share
// memory: reader.Fill writes this rank's `num_bytes` (any size, zero too), then reader.Read sees
// each rank's in rank order. Through comm.host_memory() where it can; else Fill into `buffers`,
// AllGatherV, Read the gathered parts.
void AllGatherVRead(Communicator& comm, size_t num_bytes, GatherReader& reader, GatherBuffers& buffers);

}  // namespace ectrain::comm
