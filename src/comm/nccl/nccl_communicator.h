// NcclCommunicator: NCCL between the GPUs of the job's ranks, in front of the job's host
// communicator (MPI under mpirun or srun, or any Communicator), which it wraps. Target
// ectrain_comm_nccl, built with the CUDA backend (ECTRAIN_HAVE_CUDA), the only target that includes
// nccl.h.
//  - Host-memory collectives (the step agreement, metrics, checkpoints' broadcasts) go to the
//    wrapped communicator unchanged, as in any CommunicatorWrapper.
//  - Device buffers: AllReduceDevice, AllGatherVDevice and AllToAllVDevice, and the bucket reducer
//    (MakeBucketReducer: NcclBucketReducer, below), run on an NCCL stream of its own, ordered after
//    the work queued so far on the compute stream (where the model's kernels run, given at
//    construction) and before the work queued on it afterwards. Their float sums are NCCL's (its
//    ring or tree, chosen by size and topology), not the ring order of comm/ring.h: the same from
//    run to run on the same GPUs and NCCL, but not bit for bit the CPU backends' sums.
//  - One rank per GPU: rank r takes the GPU of its local rank among those CUDA_VISIBLE_DEVICES
//    leaves visible; Create refuses ranks that would share one (NCCL would).
//  - Failure: a failing NCCL or CUDA call, or an error NCCL reports while a wait polls
//    (ncclCommGetAsyncError), logs the operation and NCCL's or CUDA's reason and ends the job with
//    Abort(1), as the CPU backend's MPI errors do. Abort runs ncclCommAbort (this rank leaves its
//    NCCL collectives), then the host communicator's Abort (MPI_Abort ends every rank). Abort may
//    be called from another thread (the stall watchdog's) while a wait polls.
// Calls from one thread at a time (the Communicator rule); that thread's current CUDA device is set
// to this rank's GPU by Create, and the device calls expect it so.
#pragma once

#include <cuda_runtime_api.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "comm/bucket_reducer.h"
#include "comm/communicator_wrapper.h"

struct ncclComm;  // nccl.h's ncclComm_t is a pointer to it

namespace ectrain::comm {

class NcclCommunicator final : public CommunicatorWrapper {
 public:
  // Called on the waiting thread when a device wait has lasted the stall timeout: what it waits
  // for, and for how long.
  using StallHandler = std::function<void(const std::string& operation, double waited_seconds)>;

  // The GPU this rank takes (its local rank among the visible GPUs), or why there is none. Not a
  // collective: the caller makes its compute stream on this GPU before Create.
  static StatusOr<int> LocalDevice(const Communicator& host);

  // Collective over `host`: this rank's GPU (made current on this thread), the check that no two
  // ranks share one, rank 0's ncclUniqueId broadcast over `host`, ncclCommInitRank. An error on
  // every rank, and no NCCL communicator, where any rank has no GPU or two ranks would share one;
  // a failure of ncclCommInitRank itself ends the job (the other ranks may be waiting inside it).
  // `compute_stream`: the stream the model's kernels run on, on LocalDevice()'s GPU (null: that
  // GPU's default stream). The host communicator is owned (gone with it, a failed Create
  // too), or borrowed (it must outlive this).
  static StatusOr<std::unique_ptr<NcclCommunicator>> Create(std::unique_ptr<Communicator> host,
                                                            cudaStream_t compute_stream);
  static StatusOr<std::unique_ptr<NcclCommunicator>> Create(Communicator& host, cudaStream_t compute_stream);
  // ncclCommDestroy (it lets queued collectives finish), or ncclCommAbort where NCCL has an error
  // pending (a rank gone: they never would); frees the stream and events.
  ~NcclCommunicator() override;

  std::string name() const override { return "nccl + " + target().name(); }
  [[noreturn]] void Abort(int exit_code) override;
  // An NcclBucketReducer: the gradient buckets are device memory, summed on the NCCL stream.
  std::unique_ptr<BucketReducer> MakeBucketReducer() override;

  int device() const { return device_; }
  cudaStream_t compute_stream() const { return compute_stream_; }
  cudaStream_t nccl_stream() const { return nccl_stream_; }

  // Collective: the float sum of `count` floats of device memory at `data`, in place, queued after
  // the compute stream's work so far; the compute stream's later work sees the sums. Returns once
  // queued (Synchronize waits for it).
  void AllReduceDevice(float* data, size_t count);
  // Collective, device memory: rank r's counts[r] elements of `type` at `mine` land in `all` after
  // those of ranks < r; `counts` already agreed (the same on every rank; Communicator::AllGather
  // gathers them), `all` holds their sum. Ordered as AllReduceDevice.
  void AllGatherVDevice(const void* mine, DataType type, std::span<const int64_t> counts, void* all);
  // Collective, device memory: Communicator::AllToAllV on device buffers `send` and `recv` (its
  // counts on the host, agreed as there: recv_counts from AllToAllCounts, a host collective).
  // Ordered as AllReduceDevice. Host buffers' AllToAllV goes to the wrapped communicator.
  void AllToAllVDevice(const void* send, std::span<const int64_t> send_counts, DataType type, void* recv,
                       std::span<const int64_t> recv_counts);
  // Returns when every device collective queued so far is done; a failure ends the job.
  void Synchronize();

  // Device waits (Synchronize, the reducer's Wait) that last `seconds` call `on_stall` once; null:
  // log that this rank stalled in what, and Abort(1). By default there is no timeout: the stall
  // watchdog (train/watchdog.h) ends a stall from its own thread through Abort, which is safe while
  // a wait polls. Not during a wait.
  void SetStallTimeout(double seconds, StallHandler on_stall = nullptr);

 private:
  friend class NcclBucketReducer;
  NcclCommunicator(std::unique_ptr<Communicator> host, cudaStream_t compute_stream)
      : CommunicatorWrapper(std::move(host)), compute_stream_(compute_stream) {}
  NcclCommunicator(Communicator& host, cudaStream_t compute_stream)
      : CommunicatorWrapper(host), compute_stream_(compute_stream) {}
  // Create's steps after construction: this rank's GPU, streams and events (InitCuda), agreed
  // among the ranks before the first NCCL call, then NCCL.
  static StatusOr<std::unique_ptr<NcclCommunicator>> Init(std::unique_ptr<NcclCommunicator> comm);
  Status InitCuda();
  Status CheckOneRankPerGpu();
  Status MakeUniqueId(std::array<int64_t, 16>& id);
  void InitNccl(const std::array<int64_t, 16>& id);

  // Queues `ready` on the compute stream and makes the NCCL stream wait for it: what follows on
  // the NCCL stream sees what backward has written so far.
  void NcclAfterCompute(cudaEvent_t ready);
  // Queues `done` on the NCCL stream and makes the compute stream wait for it.
  void ComputeAfterNccl(cudaEvent_t done);
  // Returns once `done` has happened; polls NCCL's asynchronous errors meanwhile. `operation`
  // names the wait in messages.
  void WaitFor(cudaEvent_t done, const char* operation);
  std::optional<Status> PollOnce(cudaEvent_t done, const char* operation);
  void OnStall(const char* operation, double waited_seconds);

  cudaStream_t compute_stream_;
  int device_ = -1;
  int visible_gpus_ = 0;
  std::array<int64_t, 2> gpu_uuid_{};  // cudaDeviceProp::uuid, to tell ranks on one GPU
  cudaStream_t nccl_stream_ = nullptr;
  cudaEvent_t ready_ = nullptr, done_ = nullptr;  // the device collectives' (AllReduceDevice's ...)
  ncclComm* nccl_ = nullptr;
  // Abort (any thread) against a wait's ncclCommGetAsyncError. The NCCL calls that queue work are
  // not under it: one blocked inside NCCL (connecting to a rank that is gone) must not hold up the
  // watchdog's Abort, and ncclCommAbort is NCCL's way to end such a call.
  std::mutex abort_mutex_;
  bool aborted_ = false;  // guarded by abort_mutex_: nccl_ is freed
  double stall_seconds_ = std::numeric_limits<double>::infinity();
  StallHandler on_stall_;
};

// Sums GradSync's buckets (comm/bucket_reducer.h), which lie in device memory, with NCCL: Start
// queues the bucket's all-reduce on the NCCL stream after what backward has queued so far on the
// compute stream, and returns, so that the sums overlap the rest of backward; Reduce the same (on
// return the sum is queued, not done: device memory is read on the compute stream or after Wait);
// Wait makes the compute stream wait for the NCCL stream and returns when every bucket is summed.
// Two events, made once at construction, not in Reserve (Reduce needs them without a Reserve too;
// a re-recorded event serves every bucket: a stream waits for the record made before its wait), so
// a step allocates nothing. ExchangeRows: the row-sparse exchange is host bytes (GatherReader
// fills and reads host memory), so for now it is the host communicator's AllGatherVRead, as
// ThreadedBucketReducer's; the rows on the GPU (AllGatherVDevice) come with GradSync's device path.
class NcclBucketReducer final : public BucketReducer {
 public:
  explicit NcclBucketReducer(NcclCommunicator& comm);
  ~NcclBucketReducer() override;

  bool reads_device_memory() const override { return true; }
  void Reserve(size_t num_buckets) override;
  void Start(std::span<float> bucket) override;
  void Reduce(std::span<float> bucket) override;
  void Wait() override;
  void ExchangeRows(size_t num_bytes, GatherReader& rows) override;

 private:
  NcclCommunicator& comm_;
  cudaEvent_t ready_ = nullptr, done_ = nullptr;
  size_t reserved_ = 0;  // Start's limit between two Waits
  size_t started_ = 0;   // since the last Wait
  GatherBuffers gather_buffers_;
};

}  // namespace ectrain::comm
