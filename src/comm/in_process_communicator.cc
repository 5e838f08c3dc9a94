#include "comm/in_process_communicator.h"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <numeric>
#include <sstream>
#include <thread>
#include <vector>

#include "comm/collective_call.h"
#include "comm/ring.h"
#include "core/log.h"

namespace ectrain::comm {

// Each collective: every rank publishes its pointers in its slot, then Arrive(); reads the others'
// slots between that and the next Arrive(); the last Arrive() keeps every buffer alive until all
// ranks are done with it. The mutex orders the slot writes before the reads.
class InProcessGroup {
 public:
  explicit InProcessGroup(int size)
      : size_(size), slots_(static_cast<size_t>(size)), ended_(static_cast<size_t>(size)) {}

  int size() const { return size_; }

  struct Slot {
    CollectiveCall call;
    const void* in = nullptr;
    void* out = nullptr;
    const int64_t* counts = nullptr;  // AllToAllV's send counts
  };
  Slot& slot(int rank) { return slots_[static_cast<size_t>(rank)]; }

  // Waits until every rank has arrived. With `check_calls`, the last rank to arrive checks that all
  // ranks publish the same call (their slots cannot change until everyone has arrived).
  void Arrive(int rank, bool check_calls = false) {
    std::unique_lock<std::mutex> lock(mutex_);
    const uint64_t generation = generation_;
    if (++arrived_ == size_) {
      std::string mismatch;
      for (int r = 1; check_calls && r < size_ && mismatch.empty(); ++r) {
        const auto& call = slots_[static_cast<size_t>(r)].call;
        if (!(call == slots_[0].call)) {
          mismatch =
              "rank 0 calls " + slots_[0].call.ToString() + ", rank " + std::to_string(r) + " calls " + call.ToString();
        }
      }
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
      lock.unlock();
      CHECK(mismatch.empty()) << "in-process ranks call different collectives: " << mismatch;
      return;
    }
    cv_.wait(lock, [&] { return generation_ != generation || num_ended_ > 0; });
    if (generation_ != generation) return;
    // Some rank has ended, so this collective can never complete.
    std::ostringstream message;
    message << "in-process rank " << rank << " waits in " << slots_[static_cast<size_t>(rank)].call.ToString()
            << " for ranks that have ended:";
    for (int r = 0; r < size_; ++r) {
      const Ended& e = ended_[static_cast<size_t>(r)];
      if (e.ended) message << " rank " << r << " (" << e.why << ")";
    }
    message << "; every rank must call the same collectives (use AgreeOk for failures). Ending the process.";
    lock.unlock();
    LOG_ERROR << message.str();
    std::_Exit(1);
  }

  void NoteResult(int rank, const Status& status) {
    std::lock_guard<std::mutex> lock(mutex_);
    ended_[static_cast<size_t>(rank)].why =
        status.ok() ? "its body returned Ok" : "its body failed: " + status.message();
  }

  // Where rank 0 hands the memory of MapShared to the other ranks.
  void PutShared(std::shared_ptr<void> block) {
    std::lock_guard<std::mutex> lock(mutex_);
    shared_ = std::move(block);
  }
  std::shared_ptr<void> shared() {
    std::lock_guard<std::mutex> lock(mutex_);
    return shared_;
  }

  void End(int rank) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& e = ended_[static_cast<size_t>(rank)];
    if (e.ended) return;
    e.ended = true;
    if (e.why.empty()) e.why = "its communicator was destroyed";
    ++num_ended_;
    cv_.notify_all();
  }

 private:
  struct Ended {
    bool ended = false;
    std::string why;
  };
  const int size_;
  std::vector<Slot> slots_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int arrived_ = 0;
  uint64_t generation_ = 0;
  int num_ended_ = 0;
  std::vector<Ended> ended_;
  std::shared_ptr<void> shared_;
};

namespace {

// Publishes this rank's call and buffers and waits for all ranks, which must make the same call
// (AllGatherV's counts differ by design: its `count` is 0).
void Enter(InProcessGroup& group, int rank, const CollectiveCall& call, const void* in, void* out) {
  auto& mine = group.slot(rank);
  mine.call = call;
  mine.in = in;
  mine.out = out;
  group.Arrive(rank, /*check_calls=*/true);
}

// This rank's chunk of the reduction, in the ring order (comm/ring.h) for every type and op.
template <typename T>
void ReduceOwnChunk(InProcessGroup& group, int rank, size_t count, ReduceOp op) {
  const int n = group.size();
  const RingChunk chunk = RingChunkOf(count, n, rank);
  thread_local std::vector<const T*> inputs;  // reused: a collective allocates nothing
  inputs.resize(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r) inputs[static_cast<size_t>(r)] = static_cast<const T*>(group.slot(r).out);
  T* own = static_cast<T*>(group.slot(rank).out) + chunk.begin;
  RingReduceRange<T>(inputs, rank, chunk.begin, chunk.count, own, op);
}

}  // namespace

std::shared_ptr<InProcessGroup> MakeInProcessGroup(int size) {
  CHECK(size >= 1) << "an in-process group needs at least one rank, got " << size;
  return std::make_shared<InProcessGroup>(size);
}

InProcessCommunicator::InProcessCommunicator(std::shared_ptr<InProcessGroup> group, int rank)
    : group_(std::move(group)), rank_(rank) {
  CHECK(group_ != nullptr && rank >= 0 && rank < group_->size()) << "rank " << rank << " outside the group";
}

InProcessCommunicator::~InProcessCommunicator() { group_->End(rank_); }

int InProcessCommunicator::size() const { return group_->size(); }

void InProcessCommunicator::Barrier() {
  if (size() == 1) return;
  Enter(*group_, rank_, {CollectiveKind::kBarrier}, nullptr, nullptr);
}

void InProcessCommunicator::Abort(int exit_code) { std::_Exit(exit_code); }

void InProcessCommunicator::AllReduceRaw(void* data, size_t count, DataType type, ReduceOp op) {
  const int n = size();
  if (n == 1) return;
  Enter(*group_, rank_, {CollectiveKind::kAllReduce, type, op, -1, count}, nullptr, data);
  // Phase 1: each rank reduces its own chunk into its own buffer; nobody else reads that range.
  switch (type) {
    case DataType::kFloat32:
      ReduceOwnChunk<float>(*group_, rank_, count, op);
      break;
    case DataType::kFloat64:
      ReduceOwnChunk<double>(*group_, rank_, count, op);
      break;
    case DataType::kInt64:
      ReduceOwnChunk<int64_t>(*group_, rank_, count, op);
      break;
    case DataType::kUInt8:
      ReduceOwnChunk<uint8_t>(*group_, rank_, count, op);
      break;
  }
  group_->Arrive(rank_);
  // Phase 2: copy every other chunk from the rank that owns it.
  const size_t bytes = DataTypeBytes(type);
  for (int r = 0; r < n; ++r) {
    if (r == rank_) continue;
    const RingChunk chunk = RingChunkOf(count, n, r);
    if (chunk.count == 0) continue;
    std::memcpy(static_cast<char*>(data) + chunk.begin * bytes,
                static_cast<const char*>(group_->slot(r).out) + chunk.begin * bytes, chunk.count * bytes);
  }
  group_->Arrive(rank_);
}

std::unique_ptr<SharedMemory> InProcessCommunicator::MapShared(size_t num_bytes, std::string* /*why_not*/) {
  // Threads share the address space: rank 0 allocates, every rank holds a reference, and the last
  // to release its SharedMemory frees the block.
  if (rank_ == 0) {
    constexpr size_t kAlign = 4096;
    void* block = std::aligned_alloc(kAlign, std::max(kAlign, (num_bytes + kAlign - 1) / kAlign * kAlign));
    CHECK(block != nullptr) << "out of memory: " << num_bytes << " bytes to share among in-process ranks";
    std::memset(block, 0, num_bytes);
    group_->PutShared(std::shared_ptr<void>(block, &std::free));
  }
  Barrier();  // Collective
  std::shared_ptr<void> block = group_->shared();
  Barrier();  // Collective
  if (rank_ == 0) group_->PutShared(nullptr);
  void* data = block.get();
  return std::make_unique<SharedMemory>(data, [block = std::move(block)]() {});
}

void InProcessCommunicator::BroadcastRaw(void* data, size_t num_bytes, int root) {
  CHECK(root >= 0 && root < size()) << "broadcast root " << root << " outside world size " << size();
  if (size() == 1) return;
  Enter(*group_, rank_, {CollectiveKind::kBroadcast, DataType::kUInt8, ReduceOp::kSum, root, num_bytes}, nullptr, data);
  if (rank_ != root && num_bytes > 0) std::memcpy(data, group_->slot(root).out, num_bytes);
  group_->Arrive(rank_);
}

void InProcessCommunicator::AllGatherRaw(const void* mine, size_t num_bytes, void* all) {
  if (size() == 1) {
    if (mine != all && num_bytes > 0) std::memmove(all, mine, num_bytes);
    return;
  }
  Enter(*group_, rank_, {CollectiveKind::kAllGather, DataType::kUInt8, ReduceOp::kSum, -1, num_bytes}, mine, all);
  for (int r = 0; r < size(); ++r) {
    char* dst = static_cast<char*>(all) + static_cast<size_t>(r) * num_bytes;
    if (num_bytes > 0 && dst != group_->slot(r).in) std::memmove(dst, group_->slot(r).in, num_bytes);
  }
  group_->Arrive(rank_);
}

void InProcessCommunicator::AllGatherVRaw(const void* mine, DataType type, std::span<const int64_t> counts, void* all) {
  const size_t bytes = DataTypeBytes(type);
  if (size() == 1) {
    if (counts[0] > 0 && mine != all) std::memmove(all, mine, static_cast<size_t>(counts[0]) * bytes);
    return;
  }
  Enter(*group_, rank_, {CollectiveKind::kAllGatherV, type}, mine, all);
  char* dst = static_cast<char*>(all);
  for (int r = 0; r < size(); ++r) {
    const size_t n = static_cast<size_t>(counts[static_cast<size_t>(r)]) * bytes;
    if (n > 0 && dst != group_->slot(r).in) std::memmove(dst, group_->slot(r).in, n);
    dst += n;
  }
  group_->Arrive(rank_);
}

// Each rank copies what every source sends it straight out of the source's buffer: one copy per
// pair, in source-rank order.
void InProcessCommunicator::AllToAllVRaw(const void* send, std::span<const int64_t> send_counts, DataType type,
                                         void* recv, std::span<const int64_t> recv_counts) {
  const size_t bytes = DataTypeBytes(type);
  if (size() == 1) {
    if (send_counts[0] > 0) std::memcpy(recv, send, static_cast<size_t>(send_counts[0]) * bytes);
    return;
  }
  group_->slot(rank_).counts = send_counts.data();  // ordered before the reads by Enter's Arrive
  Enter(*group_, rank_, {CollectiveKind::kAllToAllV, type}, send, recv);
  char* dst = static_cast<char*>(recv);
  for (int s = 0; s < size(); ++s) {
    const InProcessGroup::Slot& source = group_->slot(s);
    const int64_t count = source.counts[rank_];
    CHECK(count == recv_counts[static_cast<size_t>(s)])
        << "AllToAllV: rank " << s << " sends " << count << " elements to rank " << rank_ << ", which expects "
        << recv_counts[static_cast<size_t>(s)];
    const int64_t offset = std::accumulate(source.counts, source.counts + rank_, int64_t{0});
    const size_t n = static_cast<size_t>(count) * bytes;
    if (n > 0) std::memcpy(dst, static_cast<const char*>(source.in) + static_cast<size_t>(offset) * bytes, n);
    dst += n;
  }
  group_->Arrive(rank_);
}

Status RunInProcess(int ranks, const std::function<Status(Communicator&)>& body) {
  if (ranks < 1) {
    return InvalidArgument("the number of in-process ranks must be at least 1, got " + std::to_string(ranks));
  }
  auto group = MakeInProcessGroup(ranks);
  std::vector<Status> results(static_cast<size_t>(ranks));
  auto run_rank = [&](int rank) {
    SetLogRank(rank);
    Status result;
    {
      InProcessCommunicator comm(group, rank);
      try {
        result = body(comm);
      } catch (const std::exception& e) {
        result = Internal(std::string("uncaught exception: ") + e.what());
      } catch (...) {
        result = Internal("uncaught exception of unknown type");
      }
      group->NoteResult(rank, result);
    }
    results[static_cast<size_t>(rank)] = std::move(result);
  };
  // Every rank on a thread of its own, so that the caller's thread (and its log rank) is untouched.
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(ranks));
  for (int rank = 0; rank < ranks; ++rank) threads.emplace_back(run_rank, rank);
  for (auto& thread : threads) thread.join();

  const Status* chosen = nullptr;
  int chosen_rank = -1;
  for (int rank = 0; rank < ranks; ++rank) {
    const Status& s = results[static_cast<size_t>(rank)];
    if (s.ok()) continue;
    if (chosen == nullptr ||
        (chosen->code() == StatusCode::kFailedElsewhere && s.code() != StatusCode::kFailedElsewhere)) {
      chosen = &s;
      chosen_rank = rank;
    }
  }
  if (chosen == nullptr) return Status::Ok();
  return Status(chosen->code(), "rank " + std::to_string(chosen_rank) + ": " + chosen->message());
}

}  // namespace ectrain::comm
