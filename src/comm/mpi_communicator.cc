#include "comm/mpi_communicator.h"

#include <mpi.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "comm/ring.h"
#include "core/log.h"

namespace ectrain::comm {
namespace {
MPI_Datatype ToMpi(DataType type) {
  switch (type) {
    case DataType::kFloat32:
      return MPI_FLOAT;
    case DataType::kFloat64:
      return MPI_DOUBLE;
    case DataType::kInt64:
      return MPI_INT64_T;
    case DataType::kUInt8:
      return MPI_UINT8_T;
  }
  return MPI_DATATYPE_NULL;
}

MPI_Op ToMpi(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
      return MPI_SUM;
    case ReduceOp::kMax:
      return MPI_MAX;
    case ReduceOp::kMin:
      return MPI_MIN;
  }
  return MPI_OP_NULL;
}

// MPI counts are int; larger buffers go in pieces of at most this many elements.
constexpr size_t kMaxPiece = size_t{1} << 30;

// The ring's reduce-scatter moves each chunk in segments of this many floats, kRingDepth
// receives posted ahead: each segment is added soon after it arrives, and the scratch memory stays
// at kRingDepth segments (16 MiB; less for small buffers) whatever the buffer size. Measured with
// 2 ranks over shared memory (bench/allreduce_bandwidth.cc, 16 and 25 MB calls): what matters is
// the bytes posted ahead; 16 MiB (4 MiB x 4 or 8 MiB x 2) matches MPI_Allreduce (0.98-1.02x),
// 4 MiB reaches only 0.8x.
constexpr size_t kRingSegment = size_t{1} << 20;  // 4 MiB
constexpr int kRingDepth = 4;
// With 3+ ranks and at most this many bytes gathered per rank (count * size * 4), every rank
// gathers all inputs with one MPI_Allgather and adds them in the ring order itself: one collective
// instead of 2 (size - 1) message rounds, the same bits. Measured with 4 ranks on 2 cores: about
// 1.5x faster than the ring for buffers up to ~35 KB, about even at 64 KB. With 2 ranks the ring's
// two rounds beat it at every size (0.93x vs 0.73x of MPI_Allreduce at 4 KB): 2 ranks always ring.
constexpr size_t kGatherSumMaxBytes = size_t{192} << 10;

// Where Open MPI puts the shared window's backing file, and the bytes free there. A file larger
// than its file system has room for still maps, but touching its pages fails (SIGBUS; with a 2 MB
// tmpfs the job hung after Open MPI's "not enough space" warning), so the segment is made only
// when the room is there.
std::string HostSegmentDirectory() {
  const char* set = std::getenv("OMPI_MCA_osc_sm_backing_directory");
  return set != nullptr && *set != '\0' ? set : "/dev/shm";
}
std::string Megabytes(size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f MB", static_cast<double>(bytes) / 1e6);
  return text;
}
size_t FreeBytes(const std::string& directory) {
  struct statvfs stats {};
  if (statvfs(directory.c_str(), &stats) != 0) return 0;
  return static_cast<size_t>(stats.f_bavail) * static_cast<size_t>(stats.f_frsize);
}

// Collective over `host_comm`: a window of `bytes` that the host's rank 0 allocates and every rank
// maps, used from the first page boundary (MPI's window starts past a header; pages map whole, so
// it is the same offset in every mapping) and zeroed; freed (collectively) with the SharedMemory.
// Null on every rank, and no window, when any rank could not map it.
std::unique_ptr<SharedMemory> MapHostWindow(MPI_Comm host_comm, int local_rank, size_t bytes) {
  constexpr size_t kPage = 4096;
  MPI_Comm_set_errhandler(host_comm, MPI_ERRORS_RETURN);  // a failure to map is not fatal
  MPI_Win window = MPI_WIN_NULL;
  void* base = nullptr;
  int ok = MPI_Win_allocate_shared(static_cast<MPI_Aint>(local_rank == 0 ? bytes + kPage : 0), 1, MPI_INFO_NULL,
                                   host_comm, &base, &window) == MPI_SUCCESS;
  if (ok) {
    MPI_Aint mapped = 0;
    int unit = 0;
    ok = MPI_Win_shared_query(window, 0, &mapped, &unit, &base) == MPI_SUCCESS &&
         static_cast<size_t>(mapped) >= bytes + kPage;
    if (ok) base = static_cast<char*>(base) + (kPage - reinterpret_cast<uintptr_t>(base) % kPage) % kPage;
  }
  if (ok && local_rank == 0) std::memset(base, 0, bytes);
  int all_ok = ok;
  MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, host_comm);  // also: the zeroing is done
  if (!all_ok) {
    if (window != MPI_WIN_NULL) MPI_Win_free(&window);
    return nullptr;
  }
  return std::make_unique<SharedMemory>(base, [window]() mutable {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Win_free(&window);  // Collective over the host's ranks
  });
}

// Collective over `host_comm`: whether every rank sees `needed` bytes free in the backing directory.
bool HostHasRoom(MPI_Comm host_comm, size_t needed) {
  int room = FreeBytes(HostSegmentDirectory()) >= needed;
  int all_room = room;
  MPI_Allreduce(&room, &all_room, 1, MPI_INT, MPI_MIN, host_comm);
  return all_room != 0;
}

// Collective over `host_comm`: MapHostWindow where every rank has `needed` bytes free; `no_room`
// says which of the two failed when the memory is null.
std::unique_ptr<SharedMemory> MapWhereRoom(MPI_Comm host_comm, int local_rank, size_t bytes, size_t needed,
                                           bool* no_room) {
  *no_room = !HostHasRoom(host_comm, needed);
  return *no_room ? nullptr : MapHostWindow(host_comm, local_rank, bytes);
}

constexpr int kTagReduceScatter = 1;
constexpr int kTagAllGather = 2;
constexpr int kTagAllToAllV = 3;
// AllToAllV's messages carry at most this many bytes: int counts of elements, and well inside the
// 2 GiB that some of MPI's transports handle per message.
constexpr size_t kMessagePiece = size_t{1} << 30;
}  // namespace

struct MpiCommunicator::Impl {
  MPI_Comm comm = MPI_COMM_NULL;  // a duplicate of MPI_COMM_WORLD: our messages never meet others'
  std::vector<float> scratch;     // grow-only
  // Reused per call, so that a training step allocates nothing.
  std::vector<const float*> inputs;
  std::vector<MPI_Request> sends, requests;
  std::vector<int> int_counts, displacements;
  std::vector<size_t> send_at, recv_at;
  size_t ring_segment = kRingSegment;
  size_t message_piece = kMessagePiece;
  MPI_Comm host_comm = MPI_COMM_NULL;  // when every rank is on this host (and there are several)
  float* Scratch(size_t floats) {
    if (scratch.size() < floats) scratch.resize(floats);
    return scratch.data();
  }
};

MpiCommunicator::MpiCommunicator(int rank, int size, int local_rank, int local_size, std::unique_ptr<Impl> impl)
    : rank_(rank),
      size_(size),
      local_rank_(local_rank),
      local_size_(local_size),
      one_host_(impl->host_comm != MPI_COMM_NULL),
      impl_(std::move(impl)) {}

StatusOr<std::unique_ptr<MpiCommunicator>> MpiCommunicator::Create() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  int provided = MPI_THREAD_SINGLE;
  if (!initialized) {
    // A rank waiting in a collective polls; told to yield while it does, it lets its own data
    // reader and communication threads run on the cores it shares with them (the 2-rank data
    // wait fell from 1.5-3.3% to 0-0.7%; bench/RESULTS.md). A value the user set is kept.
    setenv("OMPI_MCA_mpi_yield_when_idle", "1", /*overwrite=*/0);
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
      return Internal("MPI_Init_thread failed: start ectrain with mpirun/srun, or use comm.backend: local");
    }
  } else {
    MPI_Query_thread(&provided);
  }
  if (provided < MPI_THREAD_SERIALIZED) {
    if (!initialized) MPI_Finalize();
    return Internal("the MPI library provides thread level " + std::to_string(provided) +
                    " but ectrain needs MPI_THREAD_SERIALIZED (" + std::to_string(MPI_THREAD_SERIALIZED) +
                    ") to communicate from a background thread; use an MPI built with thread support");
  }
  auto impl = std::make_unique<Impl>();
  MPI_Comm_dup(MPI_COMM_WORLD, &impl->comm);
  int rank = 0;
  int size = 1;
  MPI_Comm_rank(impl->comm, &rank);
  MPI_Comm_size(impl->comm, &size);
  MPI_Comm host_comm;
  MPI_Comm_split_type(impl->comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &host_comm);
  int local_rank = 0;
  int local_size = 1;
  MPI_Comm_rank(host_comm, &local_rank);
  MPI_Comm_size(host_comm, &local_size);
  if (size > 1 && local_size == size) {
    impl->host_comm = host_comm;
  } else {
    MPI_Comm_free(&host_comm);
  }
  return std::unique_ptr<MpiCommunicator>(new MpiCommunicator(rank, size, local_rank, local_size, std::move(impl)));
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  if (impl_->host_comm != MPI_COMM_NULL) MPI_Comm_free(&impl_->host_comm);
  if (impl_->comm != MPI_COMM_NULL) MPI_Comm_free(&impl_->comm);
  MPI_Finalize();
}

void MpiCommunicator::SetRingSegmentForTesting(size_t floats) {
  impl_->ring_segment = floats > 0 ? floats : kRingSegment;
}

void MpiCommunicator::SetMessagePieceForTesting(size_t bytes) {
  impl_->message_piece = bytes > 0 ? bytes : kMessagePiece;
}

std::unique_ptr<SharedMemory> MpiCommunicator::MapShared(size_t num_bytes, std::string* why_not) {
  if (!one_host_) return nullptr;
  // Room to spare: a tmpfs filled to the brim would starve MPI's own segments.
  const size_t needed = num_bytes + num_bytes / 8 + (size_t{16} << 20);
  bool no_room = false;
  std::unique_ptr<SharedMemory> memory = MapWhereRoom(impl_->host_comm, local_rank_, num_bytes, needed, &no_room);
  if (memory == nullptr && why_not != nullptr) {
    const std::string directory = HostSegmentDirectory();
    *why_not = no_room ? "sharing " + Megabytes(num_bytes) + " among the " + std::to_string(size_) +
                             " ranks of this host needs " + Megabytes(needed) + " free in " + directory +
                             ", which has " + Megabytes(FreeBytes(directory))
                       : "could not map " + Megabytes(num_bytes) + " of shared memory in " + directory;
  }
  return memory;
}

std::unique_ptr<SharedMemory> MpiCommunicator::MapHostSegment(size_t num_bytes) {
  if (!one_host_) return nullptr;
  // As much again for others (MPI's own segments).
  bool no_room = false;
  std::unique_ptr<SharedMemory> memory =
      MapWhereRoom(impl_->host_comm, local_rank_, num_bytes, 2 * (num_bytes + 4096), &no_room);
  if (memory == nullptr && local_rank_ == 0) {
    const std::string directory = HostSegmentDirectory();
    if (no_room) {
      LOG_WARNING << "collectives go through MPI messages: the " << local_size_ << " ranks of this host would share a "
                  << Megabytes(num_bytes) << " segment in " << directory << ", which has "
                  << Megabytes(FreeBytes(directory))
                  << " free (give it more room, e.g. docker run --shm-size, or set comm.host_shared_memory: false)";
    } else {
      LOG_WARNING << "collectives go through MPI messages: could not map a " << Megabytes(num_bytes)
                  << " shared memory segment among the " << local_size_ << " ranks of this host in " << directory;
    }
  }
  return memory;
}

void MpiCommunicator::Barrier() { MPI_Barrier(impl_->comm); }

void MpiCommunicator::Abort(int exit_code) {
  // What this rank just printed travels to mpirun through Open MPI's I/O forwarding, which
  // MPI_Abort tears down: give it a moment, or the message that says why may be lost.
  std::fflush(nullptr);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

void MpiCommunicator::AllReduceRaw(void* data, size_t count, DataType type, ReduceOp op) {
  if (type == DataType::kFloat32 && op == ReduceOp::kSum) {
    if (size_ == 1 || count == 0) return;
    if (size_ >= 3 && count * static_cast<size_t>(size_) * sizeof(float) <= kGatherSumMaxBytes) {
      GatherAllReduceSum(static_cast<float*>(data), count);
    } else {
      RingAllReduceSum(static_cast<float*>(data), count);
    }
    return;
  }
  auto* bytes = static_cast<char*>(data);
  for (size_t done = 0; done < count;) {
    size_t n = std::min(kMaxPiece, count - done);
    MPI_Allreduce(MPI_IN_PLACE, bytes + done * DataTypeBytes(type), static_cast<int>(n), ToMpi(type), ToMpi(op),
                  impl_->comm);
    done += n;
  }
}

void MpiCommunicator::GatherAllReduceSum(float* data, size_t count) {
  float* all = impl_->Scratch(count * static_cast<size_t>(size_));
  MPI_Allgather(data, static_cast<int>(count), MPI_FLOAT, all, static_cast<int>(count), MPI_FLOAT, impl_->comm);
  std::vector<const float*>& inputs = impl_->inputs;
  inputs.resize(static_cast<size_t>(size_));
  for (int r = 0; r < size_; ++r) inputs[static_cast<size_t>(r)] = all + static_cast<size_t>(r) * count;
  RingReduceAll<float>(inputs, count, data, ReduceOp::kSum);
}

// The ring of comm/ring.h: in reduce-scatter step s (0..N-2) rank r sends its partial sum of chunk
// r-1-s to rank r+1 and receives chunk r-2-s from rank r-1, adding its own values (partial + own);
// after N-1 steps rank r holds chunk r complete. All-gather step s then passes chunk r-s on.
void MpiCommunicator::RingAllReduceSum(float* data, size_t count) {
  const int n = size_;
  const int right = (rank_ + 1) % n;
  const int left = (rank_ + n - 1) % n;
  auto chunk_of = [&](int c) { return RingChunkOf(count, n, ((c % n) + n) % n); };
  const size_t kRingSegment = impl_->ring_segment;  // shadows the default: tests may lower it
  const size_t largest_chunk = RingChunkOf(count, n, 0).count;
  const size_t stride = std::min(kRingSegment, largest_chunk);  // segment j lands in slot j % kRingDepth
  float* slots = impl_->Scratch(stride * kRingDepth);
  std::vector<MPI_Request>& sends = impl_->sends;
  std::vector<MPI_Request>& requests = impl_->requests;
  MPI_Request recvs[kRingDepth];

  for (int step = 0; step + 1 < n; ++step) {
    const RingChunk out = chunk_of(rank_ - 1 - step);
    const RingChunk in = chunk_of(rank_ - 2 - step);
    const size_t num_out = (out.count + kRingSegment - 1) / kRingSegment;
    const size_t num_in = (in.count + kRingSegment - 1) / kRingSegment;
    auto segment = [&](const RingChunk& chunk, size_t j) {
      return std::min(kRingSegment, chunk.count - j * kRingSegment);
    };
    auto post_recv = [&](size_t j) {
      MPI_Irecv(slots + (j % kRingDepth) * stride, static_cast<int>(segment(in, j)), MPI_FLOAT, left, kTagReduceScatter,
                impl_->comm, &recvs[j % kRingDepth]);
    };
    for (size_t j = 0; j < std::min<size_t>(kRingDepth, num_in); ++j) post_recv(j);
    sends.resize(num_out);
    for (size_t j = 0; j < num_out; ++j) {
      MPI_Isend(data + out.begin + j * kRingSegment, static_cast<int>(segment(out, j)), MPI_FLOAT, right,
                kTagReduceScatter, impl_->comm, &sends[j]);
    }
    for (size_t j = 0; j < num_in; ++j) {
      MPI_Wait(&recvs[j % kRingDepth], MPI_STATUS_IGNORE);
      RingAccumulate(slots + (j % kRingDepth) * stride, data + in.begin + j * kRingSegment, segment(in, j));
      if (j + kRingDepth < num_in) post_recv(j + kRingDepth);
    }
    MPI_Waitall(static_cast<int>(sends.size()), sends.data(), MPI_STATUSES_IGNORE);
  }

  for (int step = 0; step + 1 < n; ++step) {
    const RingChunk out = chunk_of(rank_ - step);
    const RingChunk in = chunk_of(rank_ - 1 - step);
    requests.clear();
    for (size_t done = 0; done < in.count; done += kMaxPiece) {
      requests.emplace_back();
      MPI_Irecv(data + in.begin + done, static_cast<int>(std::min(kMaxPiece, in.count - done)), MPI_FLOAT, left,
                kTagAllGather, impl_->comm, &requests.back());
    }
    for (size_t done = 0; done < out.count; done += kMaxPiece) {
      requests.emplace_back();
      MPI_Isend(data + out.begin + done, static_cast<int>(std::min(kMaxPiece, out.count - done)), MPI_FLOAT, right,
                kTagAllGather, impl_->comm, &requests.back());
    }
    MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
  }
}

void MpiCommunicator::BroadcastRaw(void* data, size_t num_bytes, int root) {
  auto* bytes = static_cast<char*>(data);
  for (size_t done = 0; done < num_bytes;) {
    size_t n = std::min(kMaxPiece, num_bytes - done);
    MPI_Bcast(bytes + done, static_cast<int>(n), MPI_BYTE, root, impl_->comm);
    done += n;
  }
}

void MpiCommunicator::AllGatherRaw(const void* mine, size_t num_bytes, void* all) {
  char* mine_in_all = static_cast<char*>(all) + static_cast<size_t>(rank_) * num_bytes;
  if (num_bytes * static_cast<size_t>(size_) <= static_cast<size_t>(INT_MAX)) {
    MPI_Allgather(mine == mine_in_all ? MPI_IN_PLACE : mine, static_cast<int>(num_bytes), MPI_BYTE, all,
                  static_cast<int>(num_bytes), MPI_BYTE, impl_->comm);
    return;
  }
  // Past MPI's int counts: each rank broadcasts its block in pieces.
  if (mine != mine_in_all) std::memmove(mine_in_all, mine, num_bytes);
  for (int r = 0; r < size_; ++r)
    BroadcastRaw(static_cast<char*>(all) + static_cast<size_t>(r) * num_bytes, num_bytes, r);
}

void MpiCommunicator::AllGatherVRaw(const void* mine, DataType type, std::span<const int64_t> counts, void* all) {
  const size_t bytes = DataTypeBytes(type);
  std::vector<int>& int_counts = impl_->int_counts;
  std::vector<int>& displacements = impl_->displacements;
  int_counts.assign(static_cast<size_t>(size_), 0);
  displacements.assign(static_cast<size_t>(size_), 0);
  int64_t total = 0;
  bool fits = true;
  for (int r = 0; r < size_; ++r) {
    const int64_t c = counts[static_cast<size_t>(r)];
    fits = fits && c <= INT_MAX && total <= INT_MAX;
    int_counts[static_cast<size_t>(r)] = static_cast<int>(c);
    displacements[static_cast<size_t>(r)] = static_cast<int>(total);
    total += c;
  }
  if (fits) {
    MPI_Allgatherv(mine, int_counts[static_cast<size_t>(rank_)], ToMpi(type), all, int_counts.data(),
                   displacements.data(), ToMpi(type), impl_->comm);
    return;
  }
  // Past MPI's int counts or displacements: each rank broadcasts its part in pieces.
  char* at = static_cast<char*>(all);
  for (int r = 0; r < size_; ++r) {
    const size_t n = static_cast<size_t>(counts[static_cast<size_t>(r)]) * bytes;
    if (r == rank_ && n > 0) std::memmove(at, mine, n);
    BroadcastRaw(at, n, r);
    at += n;
  }
}

// Point-to-point messages (not MPI_Alltoallv, whose int counts and displacements would need the
// ranks to agree first on which path to take): every receive posted, then every send, each pair's
// data in pieces of at most message_piece bytes (both sides cut the same count the same way, and
// MPI keeps a pair's messages of one tag in order); this rank's own part is a copy.
void MpiCommunicator::AllToAllVRaw(const void* send, std::span<const int64_t> send_counts, DataType type, void* recv,
                                   std::span<const int64_t> recv_counts) {
  const size_t bytes = DataTypeBytes(type);
  const size_t piece = std::max<size_t>(1, impl_->message_piece / bytes);  // elements
  const MPI_Datatype mpi_type = ToMpi(type);
  std::vector<MPI_Request>& requests = impl_->requests;
  requests.clear();
  // Offsets in elements: rank r's part is [at[r], at[r + 1]).
  std::vector<size_t>& send_at = impl_->send_at;
  std::vector<size_t>& recv_at = impl_->recv_at;
  send_at.assign(static_cast<size_t>(size_) + 1, 0);
  recv_at.assign(static_cast<size_t>(size_) + 1, 0);
  for (size_t r = 0; r < static_cast<size_t>(size_); ++r) {
    send_at[r + 1] = send_at[r] + static_cast<size_t>(send_counts[r]);
    recv_at[r + 1] = recv_at[r] + static_cast<size_t>(recv_counts[r]);
  }
  auto* in = static_cast<char*>(recv);
  const auto* out = static_cast<const char*>(send);
  // Starting from the next rank, so that the ranks do not all send to rank 0 first.
  for (int k = 1; k < size_; ++k) {
    const int peer = (rank_ + k) % size_;
    const auto p = static_cast<size_t>(peer);
    for (size_t done = recv_at[p]; done < recv_at[p + 1]; done += piece) {
      requests.emplace_back();
      MPI_Irecv(in + done * bytes, static_cast<int>(std::min(piece, recv_at[p + 1] - done)), mpi_type, peer,
                kTagAllToAllV, impl_->comm, &requests.back());
    }
  }
  for (int k = 1; k < size_; ++k) {
    const int peer = (rank_ + k) % size_;
    const auto p = static_cast<size_t>(peer);
    for (size_t done = send_at[p]; done < send_at[p + 1]; done += piece) {
      requests.emplace_back();
      MPI_Isend(out + done * bytes, static_cast<int>(std::min(piece, send_at[p + 1] - done)), mpi_type, peer,
                kTagAllToAllV, impl_->comm, &requests.back());
    }
  }
  const auto me = static_cast<size_t>(rank_);
  CHECK(send_counts[me] == recv_counts[me]) << "AllToAllV: rank " << rank_ << " sends itself " << send_counts[me]
                                            << " elements but expects " << recv_counts[me];
  if (send_counts[me] > 0) {
    std::memcpy(in + recv_at[me] * bytes, out + send_at[me] * bytes, static_cast<size_t>(send_counts[me]) * bytes);
  }
  MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
}

}  // namespace ectrain::comm
