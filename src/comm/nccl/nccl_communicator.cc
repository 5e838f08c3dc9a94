#include "comm/nccl/nccl_communicator.h"

#include <nccl.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "comm/nccl/nccl_loader.h"
#include "comm/nccl/nccl_support.h"
#include "core/log.h"

namespace ectrain::comm {
namespace {
using nccl::Nccl;
static_assert(sizeof(ncclUniqueId) == sizeof(std::array<int64_t, 16>), "the id travels as 16 int64 words");

Status CudaStatus(cudaError_t error, std::string_view operation) {
  return error == cudaSuccess ? Status::Ok() : Internal(nccl::CudaFailure(operation, error));
}

// Ends the job where a collective could not be queued, naming it and its size. The message is
// built only on failure: a step allocates nothing.
void CheckQueued(Communicator& comm, ncclResult_t result, const char* call, size_t bytes) {
  if (result == ncclSuccess) return;
  nccl::CheckNccl(comm, result, std::string(call) + " of " + std::to_string(bytes) + " bytes");
}
}  // namespace

StatusOr<int> NcclCommunicator::LocalDevice(const Communicator& host) {
  std::string why_none;
  const int visible = nccl::VisibleGpus(&why_none);
  return nccl::ChooseDevice(host.rank(), host.local_rank(), host.local_size(), visible, why_none);
}

StatusOr<std::unique_ptr<NcclCommunicator>> NcclCommunicator::Create(std::unique_ptr<Communicator> host,
                                                                     cudaStream_t compute_stream) {
  return Init(std::unique_ptr<NcclCommunicator>(new NcclCommunicator(std::move(host), compute_stream)));
}

StatusOr<std::unique_ptr<NcclCommunicator>> NcclCommunicator::Create(Communicator& host, cudaStream_t compute_stream) {
  return Init(std::unique_ptr<NcclCommunicator>(new NcclCommunicator(host, compute_stream)));
}

// Every step that can fail on one rank alone is agreed before the next collective, so that a rank
// without a GPU ends every rank with a message instead of leaving them in ncclCommInitRank.
StatusOr<std::unique_ptr<NcclCommunicator>> NcclCommunicator::Init(std::unique_ptr<NcclCommunicator> comm) {
  RETURN_IF_ERROR(AgreeOk(*comm, comm->InitCuda(), "choosing a GPU for NCCL"));  // Collective
  RETURN_IF_ERROR(comm->CheckOneRankPerGpu());                                   // Collective
  std::array<int64_t, 16> id{};
  RETURN_IF_ERROR(AgreeOk(*comm, comm->rank() == 0 ? comm->MakeUniqueId(id) : Status::Ok(),
                          "making NCCL's unique id"));  // Collective
  comm->Broadcast(std::span<int64_t>(id), 0);           // Collective
  comm->InitNccl(id);                                   // Collective
  return comm;
}

Status NcclCommunicator::InitCuda() {
  std::string why_none;
  visible_gpus_ = nccl::VisibleGpus(&why_none);
  StatusOr<int> device = nccl::ChooseDevice(rank(), local_rank(), local_size(), visible_gpus_, why_none);
  RETURN_IF_ERROR(device.status());
  device_ = *device;
  const std::string on_gpu = " (GPU " + std::to_string(device_) + ")";
  RETURN_IF_ERROR(CudaStatus(cudaSetDevice(device_), "cudaSetDevice" + on_gpu));
  cudaDeviceProp properties{};
  RETURN_IF_ERROR(CudaStatus(cudaGetDeviceProperties(&properties, device_), "cudaGetDeviceProperties" + on_gpu));
  std::memcpy(gpu_uuid_.data(), properties.uuid.bytes, sizeof(gpu_uuid_));
#if CUDART_VERSION >= 12080
  int stream_device = device_;
  if (compute_stream_ != nullptr) {
    RETURN_IF_ERROR(CudaStatus(cudaStreamGetDevice(compute_stream_, &stream_device), "cudaStreamGetDevice"));
  }
  if (stream_device != device_) {
    return InvalidArgument("the compute stream is on GPU " + std::to_string(stream_device) + ", but local rank " +
                           std::to_string(local_rank()) + " takes GPU " + std::to_string(device_) +
                           ": make it on NcclCommunicator::LocalDevice()'s GPU");
  }
#endif
  // The highest priority: the sums' kernels get the GPU's attention while backward's fill it.
  int least = 0, greatest = 0;
  RETURN_IF_ERROR(CudaStatus(cudaDeviceGetStreamPriorityRange(&least, &greatest), "cudaDeviceGetStreamPriorityRange"));
  RETURN_IF_ERROR(CudaStatus(cudaStreamCreateWithPriority(&nccl_stream_, cudaStreamNonBlocking, greatest),
                             "creating the NCCL stream" + on_gpu));
  RETURN_IF_ERROR(CudaStatus(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming), "cudaEventCreate" + on_gpu));
  return CudaStatus(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming), "cudaEventCreate" + on_gpu);
}

Status NcclCommunicator::CheckOneRankPerGpu() {
  std::vector<int64_t> all(2 * static_cast<size_t>(size()));
  AllGather(gpu_uuid_, all);  // Collective
  std::vector<nccl::GpuId> gpus(static_cast<size_t>(size()));
  for (size_t r = 0; r < gpus.size(); ++r) gpus[r] = {all[2 * r], all[2 * r + 1]};
  return nccl::FindSharedGpu(gpus, local_size(), visible_gpus_);
}

Status NcclCommunicator::MakeUniqueId(std::array<int64_t, 16>& id) {
  ncclUniqueId unique{};
  const ncclResult_t result = Nccl().get_unique_id(&unique);
  if (result != ncclSuccess) return Internal(nccl::NcclFailure("ncclGetUniqueId", result));
  std::memcpy(id.data(), &unique, sizeof(unique));
  return Status::Ok();
}

// A rank whose ncclCommInitRank fails cannot tell the others, which may be waiting inside theirs:
// it ends the job (Abort).
void NcclCommunicator::InitNccl(const std::array<int64_t, 16>& id) {
  ncclUniqueId unique{};
  std::memcpy(&unique, id.data(), sizeof(unique));
  ncclComm_t comm = nullptr;
  nccl::CheckNccl(*this, Nccl().comm_init_rank(&comm, size(), unique, rank()),
                  "ncclCommInitRank (rank " + std::to_string(rank()) + " of " + std::to_string(size()) + " on GPU " +
                      std::to_string(device_) + ")");
  std::lock_guard<std::mutex> lock(abort_mutex_);
  nccl_ = comm;
}

// A communicator with an error pending (a rank gone) is aborted, not destroyed: ncclCommDestroy
// would wait for collectives that cannot finish.
NcclCommunicator::~NcclCommunicator() {
  if (nccl_ != nullptr && !aborted_) {
    ncclResult_t pending = ncclSuccess;
    if (Nccl().comm_get_async_error(nccl_, &pending) == ncclSuccess && pending == ncclSuccess) {
      Nccl().comm_destroy(nccl_);
    } else {
      Nccl().comm_abort(nccl_);
    }
  }
  if (ready_ != nullptr) cudaEventDestroy(ready_);
  if (done_ != nullptr) cudaEventDestroy(done_);
  if (nccl_stream_ != nullptr) cudaStreamDestroy(nccl_stream_);
}

void NcclCommunicator::Abort(int exit_code) {
  {
    std::lock_guard<std::mutex> lock(abort_mutex_);
    if (nccl_ != nullptr && !aborted_) Nccl().comm_abort(nccl_);  // this rank leaves its NCCL collectives
    aborted_ = true;
  }
  CommunicatorWrapper::Abort(exit_code);  // the host communicator ends every rank
}

std::unique_ptr<BucketReducer> NcclCommunicator::MakeBucketReducer() {
  return std::make_unique<NcclBucketReducer>(*this);
}

void NcclCommunicator::NcclAfterCompute(cudaEvent_t ready) {
  nccl::CheckCuda(*this, cudaEventRecord(ready, compute_stream_), "cudaEventRecord on the compute stream");
  nccl::CheckCuda(*this, cudaStreamWaitEvent(nccl_stream_, ready, 0), "cudaStreamWaitEvent (NCCL after compute)");
}

void NcclCommunicator::ComputeAfterNccl(cudaEvent_t done) {
  nccl::CheckCuda(*this, cudaEventRecord(done, nccl_stream_), "cudaEventRecord on the NCCL stream");
  nccl::CheckCuda(*this, cudaStreamWaitEvent(compute_stream_, done, 0), "cudaStreamWaitEvent (compute after NCCL)");
}

void NcclCommunicator::AllReduceDevice(float* data, size_t count) {
  NcclAfterCompute(ready_);
  CheckQueued(*this, Nccl().all_reduce(data, data, count, ncclFloat32, ncclSum, nccl_, nccl_stream_), "ncclAllReduce",
              count * sizeof(float));
  ComputeAfterNccl(done_);
}

// One ncclBroadcast per rank with something to send, from its `mine` into its place in `all`, in
// one group. Padding every contribution to the largest for one ncclAllGather would move and hold
// size() times the largest, and uneven counts are the rule here (one rank's batch touches many
// more rows than another's), then need a compaction; the broadcasts move each byte once, in place.
void NcclCommunicator::AllGatherVDevice(const void* mine, DataType type, std::span<const int64_t> counts, void* all) {
  CHECK(counts.size() == static_cast<size_t>(size()))
      << "AllGatherVDevice: " << counts.size() << " counts for " << size() << " ranks";
  const size_t element = DataTypeBytes(type);
  auto* out = static_cast<uint8_t*>(all);
  NcclAfterCompute(ready_);
  nccl::CheckNccl(*this, Nccl().group_start(), "ncclGroupStart");
  size_t at = 0;
  for (int r = 0; r < size(); ++r) {
    const size_t bytes = static_cast<size_t>(counts[static_cast<size_t>(r)]) * element;
    if (bytes == 0) continue;                          // every rank skips the same ranks: the counts are agreed
    const void* send = r == rank() ? mine : out + at;  // only the root's is read
    CheckQueued(*this, Nccl().broadcast(send, out + at, bytes, ncclUint8, r, nccl_, nccl_stream_), "ncclBroadcast",
                bytes);
    at += bytes;
  }
  nccl::CheckNccl(*this, Nccl().group_end(), "ncclGroupEnd (AllGatherVDevice's broadcasts)");
  ComputeAfterNccl(done_);
}

// One ncclSend and one ncclRecv per pair of ranks with something to move (this rank's own part
// too: NCCL copies it), in one group; size_t counts, so no pieces.
void NcclCommunicator::AllToAllVDevice(const void* send, std::span<const int64_t> send_counts, DataType type,
                                       void* recv, std::span<const int64_t> recv_counts) {
  CHECK(send_counts.size() == static_cast<size_t>(size()) && recv_counts.size() == static_cast<size_t>(size()))
      << "AllToAllVDevice: " << send_counts.size() << " send and " << recv_counts.size() << " receive counts for "
      << size() << " ranks";
  const size_t element = DataTypeBytes(type);
  const auto* out = static_cast<const uint8_t*>(send);
  auto* in = static_cast<uint8_t*>(recv);
  NcclAfterCompute(ready_);
  nccl::CheckNccl(*this, Nccl().group_start(), "ncclGroupStart");
  size_t send_at = 0, recv_at = 0;
  for (int r = 0; r < size(); ++r) {
    const size_t send_bytes = static_cast<size_t>(send_counts[static_cast<size_t>(r)]) * element;
    const size_t recv_bytes = static_cast<size_t>(recv_counts[static_cast<size_t>(r)]) * element;
    if (send_bytes > 0) {
      CheckQueued(*this, Nccl().send(out + send_at, send_bytes, ncclUint8, r, nccl_, nccl_stream_), "ncclSend",
                  send_bytes);
    }
    if (recv_bytes > 0) {
      CheckQueued(*this, Nccl().recv(in + recv_at, recv_bytes, ncclUint8, r, nccl_, nccl_stream_), "ncclRecv",
                  recv_bytes);
    }
    send_at += send_bytes;
    recv_at += recv_bytes;
  }
  nccl::CheckNccl(*this, Nccl().group_end(), "ncclGroupEnd (AllToAllVDevice's sends and receives)");
  ComputeAfterNccl(done_);
}

void NcclCommunicator::Synchronize() {
  nccl::CheckCuda(*this, cudaEventRecord(done_, nccl_stream_), "cudaEventRecord on the NCCL stream");
  WaitFor(done_, "the device collectives");
}

void NcclCommunicator::SetStallTimeout(double seconds, StallHandler on_stall) {
  stall_seconds_ = seconds;
  on_stall_ = std::move(on_stall);
}

void NcclCommunicator::WaitFor(cudaEvent_t done, const char* operation) {
  const Status status = nccl::PollUntilDone([&] { return PollOnce(done, operation); }, stall_seconds_,
                                            [&](double waited) { OnStall(operation, waited); });
  if (status.ok()) return;
  LOG_ERROR << status.message() << "; ending the job";
  Abort(1);
}

// NCCL's asynchronous error first: a collective whose peer is gone never completes, so the event
// alone would be waited for in vain.
std::optional<Status> NcclCommunicator::PollOnce(cudaEvent_t done, const char* operation) {
  {
    std::lock_guard<std::mutex> lock(abort_mutex_);
    if (aborted_) return std::nullopt;  // another thread's Abort is ending the process
    ncclResult_t pending = ncclSuccess;
    const ncclResult_t result = Nccl().comm_get_async_error(nccl_, &pending);
    if (result != ncclSuccess) return Internal(nccl::NcclFailure("ncclCommGetAsyncError", result));
    if (pending != ncclSuccess && pending != ncclInProgress) {
      return Internal(nccl::NcclFailure(std::string("waiting for ") + operation + " on GPU " + std::to_string(device_) +
                                            " (NCCL's asynchronous error)",
                                        pending));
    }
  }
  const cudaError_t state = cudaEventQuery(done);
  if (state == cudaSuccess) return Status::Ok();
  if (state != cudaErrorNotReady) return Internal(nccl::CudaFailure(std::string("waiting for ") + operation, state));
  return std::nullopt;
}

void NcclCommunicator::OnStall(const char* operation, double waited_seconds) {
  if (on_stall_) return on_stall_(operation, waited_seconds);
  LOG_ERROR << "stalled for " << waited_seconds << " s waiting for " << operation << " on GPU " << device_
            << ": another rank is not taking part (it died, hangs, or is far slower); ending the job";
  Abort(1);
}

NcclBucketReducer::NcclBucketReducer(NcclCommunicator& comm) : comm_(comm) {
  nccl::CheckCuda(comm_, cudaSetDevice(comm_.device()), "cudaSetDevice (the bucket reducer's GPU)");
  nccl::CheckCuda(comm_, cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming), "cudaEventCreate");
  nccl::CheckCuda(comm_, cudaEventCreateWithFlags(&done_, cudaEventDisableTiming), "cudaEventCreate");
}

// An event destroyed with its record still queued is released once the GPU passes it.
NcclBucketReducer::~NcclBucketReducer() {
  if (ready_ != nullptr) cudaEventDestroy(ready_);
  if (done_ != nullptr) cudaEventDestroy(done_);
}

void NcclBucketReducer::Reserve(size_t num_buckets) { reserved_ = std::max(reserved_, num_buckets); }

void NcclBucketReducer::Start(std::span<float> bucket) {
  CHECK(started_ < reserved_) << "BucketReducer::Start: more buckets than Reserve(" << reserved_
                              << ") allows between two Waits";
  ++started_;
  Reduce(bucket);
}

void NcclBucketReducer::Reduce(std::span<float> bucket) {
  comm_.NcclAfterCompute(ready_);
  CheckQueued(comm_,
              Nccl().all_reduce(bucket.data(), bucket.data(), bucket.size(), ncclFloat32, ncclSum, comm_.nccl_,
                                comm_.nccl_stream_),
              "ncclAllReduce of a gradient bucket", bucket.size_bytes());
}

void NcclBucketReducer::Wait() {
  comm_.ComputeAfterNccl(done_);
  comm_.WaitFor(done_, "the gradient buckets' all-reduces");
  started_ = 0;
}

void NcclBucketReducer::ExchangeRows(size_t num_bytes, GatherReader& rows) {
  Wait();
  AllGatherVRead(comm_.target(), num_bytes, rows, gather_buffers_);  // Collective
}

}  // namespace ectrain::comm
