// CudaKernels: KernelSteps (kernels/cuda/kernel_steps.h) on a GPU. Three generic kernels run the
// bodies of kernels/cuda/kernel_bodies.h (each index; a partial sum per block; the partials' total)
// and cuBLAS runs the products they plan, all on the one stream.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <string>

#include "core/log.h"
#include "kernels/cuda/cublas_loader.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/kernel_bodies.h"
#include "kernels/cuda/kernel_steps.h"

#define CUBLAS_CHECK(call)                                                        \
  do {                                                                            \
    const cublasStatus_t ectrain_cublas_status = (call);                          \
    CHECK(ectrain_cublas_status == CUBLAS_STATUS_SUCCESS)                         \
        << #call << " failed: " << Cublas().status_string(ectrain_cublas_status); \
  } while (false)

namespace ectrain::kernels::cuda {

// The sums' device memory: the first pass's partial sums, then the total and the flag a loss body
// raises for a label that is no class id, read back together.
struct ReduceResult {
  double total;
  int bad_label;
};
struct ReduceScratch {
  ReduceResult result;
  double partials[kSumBlocks];
};

namespace {

constexpr int64_t kMaxBlocks = int64_t{1} << 20;  // more elements: each thread takes several

void CheckLaunch(const char* kernel) {
  const cudaError_t status = cudaGetLastError();
  CHECK(status == cudaSuccess) << "CUDA kernel " << kernel << " failed to launch: " << cudaGetErrorString(status);
}

template <typename Body>
__global__ void __launch_bounds__(kThreadsPerBlock) ForEachIndex(int64_t n, Body body) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * kThreadsPerBlock;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * kThreadsPerBlock + threadIdx.x; i < n; i += step) body(i);
}

// The sum of `value` over the block's threads, returned to every thread.
__device__ double BlockSum(double value) {
  __shared__ double shared[kThreadsPerBlock];
  shared[threadIdx.x] = value;
  __syncthreads();
  for (int half = kThreadsPerBlock / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) shared[threadIdx.x] += shared[threadIdx.x + half];
    __syncthreads();
  }
  return shared[0];
}

template <typename Term>
__global__ void __launch_bounds__(kThreadsPerBlock) SumPartials(int64_t n, Term term, double* partials) {
  const int64_t thread = static_cast<int64_t>(blockIdx.x) * kThreadsPerBlock + threadIdx.x;
  const double sum = BlockSum(bodies::StridedSum(term, n, thread, static_cast<int64_t>(gridDim.x) * kThreadsPerBlock));
  if (threadIdx.x == 0) partials[blockIdx.x] = sum;
}

// One block: *total = the partials' sum, also added to *add_to when not null.
__global__ void __launch_bounds__(kThreadsPerBlock)
    SumTotal(const double* partials, int count, double* total, float* add_to) {
  const double sum = BlockSum(bodies::StridedSum(bodies::Partial{partials}, count, threadIdx.x, kThreadsPerBlock));
  if (threadIdx.x != 0) return;
  *total = sum;
  if (add_to != nullptr) *add_to = static_cast<float>(*add_to + sum);
}

int BlasInt(int64_t value) {
  CHECK(value >= 0 && value <= INT_MAX) << "matrix dimension " << value << " does not fit cuBLAS's int";
  return static_cast<int>(value);
}

}  // namespace

// The GPU as KernelSteps' device: everything queued on one stream.
struct CudaQueue {
  cudaStream_t stream;
  cublasHandle_t blas;
  ReduceScratch* scratch;
  CudaAllocator* memory;

  Allocator& allocator() const { return *memory; }

  template <typename Body>
  void ForEach(const char* name, int64_t n, const Body& body) const {
    const auto blocks = static_cast<unsigned>(std::min((n + kThreadsPerBlock - 1) / kThreadsPerBlock, kMaxBlocks));
    ForEachIndex<<<blocks, kThreadsPerBlock, 0, stream>>>(n, body);
    CheckLaunch(name);
  }

  // A fixed grid and a fixed order of additions: the same input gives the same sum.
  template <typename Term>
  void Sum(const char* name, int64_t n, const Term& term, float* add_to) const {
    const auto blocks = static_cast<int>(std::min<int64_t>((n + kThreadsPerBlock - 1) / kThreadsPerBlock, kSumBlocks));
    SumPartials<<<blocks, kThreadsPerBlock, 0, stream>>>(n, term, scratch->partials);
    CheckLaunch(name);
    SumTotal<<<1, kThreadsPerBlock, 0, stream>>>(scratch->partials, blocks, &scratch->result.total, add_to);
    CheckLaunch("SumTotal");
  }

  double ReadSum(int* bad_label) const {
    ReduceResult result{};
    memory->CopyToHost(&result, &scratch->result, sizeof(result));
    if (bad_label != nullptr) *bad_label = result.bad_label;
    return result.total;
  }

  int* BadLabelFlag() const { return &scratch->result.bad_label; }
  void ClearBadLabel() const { CUDA_CHECK(cudaMemsetAsync(BadLabelFlag(), 0, sizeof(int), stream)); }

  void Gemm(const bodies::Gemm& g) const {
    const float one = 1.0f;
    CUBLAS_CHECK(Cublas().sgemm(blas, g.transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                g.transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N, BlasInt(g.m), BlasInt(g.n), BlasInt(g.k),
                                &one, g.a, BlasInt(g.lda), g.b, BlasInt(g.ldb), &g.beta, g.c, BlasInt(g.ldc)));
  }

  void Zero(float* x, int64_t n) const {
    CUDA_CHECK(cudaMemsetAsync(x, 0, static_cast<size_t>(n) * sizeof(float), stream));
  }

  void CopyToHost(void* host, const void* src, size_t bytes) const { memory->CopyToHost(host, src, bytes); }
};

namespace {

int CheckedDevice(int ordinal) {
  int visible = 0;
  const cudaError_t status = cudaGetDeviceCount(&visible);
  cudaGetLastError();  // not an error of anything queued
  if (status != cudaSuccess) visible = 0;
  CHECK(ordinal >= 0 && ordinal < visible)
      << "CUDA device " << ordinal << " is not visible: this process sees " << visible << " GPU(s)"
      << (status != cudaSuccess ? std::string(" (") + cudaGetErrorString(status) + ")" : std::string());
  CUDA_CHECK(cudaSetDevice(ordinal));
  return ordinal;
}

cudaStream_t CreateStream() {
  cudaStream_t stream = nullptr;
  // Non-blocking: work on the legacy default stream (other libraries') does not serialise with ours.
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  return stream;
}

}  // namespace

CudaKernels::CudaKernels(int device_ordinal)
    : device_(CheckedDevice(device_ordinal)), stream_(CreateStream()), allocator_(device_, stream_) {
  CUBLAS_CHECK(Cublas().create(&blas_));
  CUBLAS_CHECK(Cublas().set_stream(blas_, stream_));
  // FP32 products, never TF32 (cuBLAS's default math mode): results as close to the CPU's as FP32 allows.
  CUBLAS_CHECK(Cublas().set_math_mode(blas_, CUBLAS_DEFAULT_MATH));
  // Our own workspace of cuBLAS's recommended size (32 MiB from Hopper on, 4 MiB before), so that
  // no product allocates during a step.
  int major = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device_));
  blas_workspace_bytes_ = static_cast<size_t>(major >= 9 ? 32 : 4) << 20;
  blas_workspace_ = allocator_.Allocate(blas_workspace_bytes_);
  CUBLAS_CHECK(Cublas().set_workspace(blas_, blas_workspace_, blas_workspace_bytes_));
  scratch_ = static_cast<ReduceScratch*>(allocator_.Allocate(sizeof(ReduceScratch)));
}

CudaKernels::~CudaKernels() {
  // Errors here are logged, not fatal: the process may be ending on an earlier one.
  const bool released = cudaSetDevice(device_) == cudaSuccess && cudaStreamSynchronize(stream_) == cudaSuccess &&
                        Cublas().destroy(blas_) == CUBLAS_STATUS_SUCCESS && cudaFree(blas_workspace_) == cudaSuccess &&
                        cudaFree(scratch_) == cudaSuccess && cudaStreamDestroy(stream_) == cudaSuccess;
  if (!released) {
    LOG_ERROR << "CudaKernels on GPU " << device_ << ": releasing failed: " << cudaGetErrorString(cudaGetLastError());
  }
}

KernelSteps<CudaQueue> CudaKernels::Steps() const {
  CUDA_CHECK(cudaSetDevice(device_));
  return KernelSteps<CudaQueue>(CudaQueue{stream_, blas_, scratch_, &allocator_});
}

// --- Every call: KernelSteps on this GPU.

void CudaKernels::Fill(float* x, int64_t n, float value) const { Steps().Fill(x, n, value); }
void CudaKernels::Add(const float* x, float* y, int64_t n) const { Steps().Add(x, y, n); }
void CudaKernels::AddScalar(const float* scalar, float* y, int64_t n) const { Steps().AddScalar(scalar, y, n); }
void CudaKernels::AddSum(const float* x, int64_t n, float* sum) const { Steps().AddSum(x, n, sum); }
void CudaKernels::CopyRows(const float* src, int64_t src_stride, int64_t rows, int64_t width, float* dst,
                           int64_t dst_stride) const {
  Steps().CopyRows(src, src_stride, rows, width, dst, dst_stride);
}
void CudaKernels::AddRowSums(const float* x, int64_t rows, int64_t width, float* y) const {
  Steps().AddRowSums(x, rows, width, y);
}
void CudaKernels::BroadcastRows(const float* x, int64_t rows, int64_t width, float* y) const {
  Steps().BroadcastRows(x, rows, width, y);
}
void CudaKernels::AddStrided(const float* a, int64_t a_stride, const float* b, int64_t b_stride, int64_t rows,
                             int64_t width, float* out) const {
  Steps().AddStrided(a, a_stride, b, b_stride, rows, width, out);
}
double CudaKernels::SquaredNorm(const float* x, int64_t n) const { return Steps().SquaredNorm(x, n); }

void CudaKernels::DenseForward(const float* x, const float* w, const float* bias, int64_t batch, int64_t in,
                               int64_t out, float* y) const {
  Steps().DenseForward(x, w, bias, batch, in, out, y);
}
void CudaKernels::DenseBackward(const float* x, const float* w, const float* dy, int64_t batch, int64_t in, int64_t out,
                                float* dw, float* dbias, float* dx) const {
  Steps().DenseBackward(x, w, dy, batch, in, out, dw, dbias, dx);
}
void CudaKernels::ReluForward(float* y, int64_t n) const { Steps().ReluForward(y, n); }
void CudaKernels::ReluBackward(const float* y, float* dy, int64_t n) const { Steps().ReluBackward(y, dy, n); }

void CudaKernels::EmbeddingGather(const int32_t* ids, int64_t id_stride, int64_t batch, const float* table, int64_t dim,
                                  float* out, int64_t out_stride, int64_t col_offset) const {
  Steps().EmbeddingGather(ids, id_stride, batch, table, dim, out, out_stride, col_offset);
}
void CudaKernels::EmbeddingScatterAdd(const int32_t* ids, int64_t id_stride, int64_t batch, const float* dout,
                                      int64_t dout_stride, int64_t col_offset, int64_t dim, float* dtable) const {
  Steps().EmbeddingScatterAdd(ids, id_stride, batch, dout, dout_stride, col_offset, dim, dtable);
}
void CudaKernels::EmbeddingBagMean(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* table,
                                   int64_t dim, float* out, int64_t out_stride, int64_t col_offset) const {
  Steps().EmbeddingBagMean(offsets, ids, batch, table, dim, out, out_stride, col_offset);
}
void CudaKernels::EmbeddingBagMeanBackward(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* dout,
                                           int64_t dout_stride, int64_t col_offset, int64_t dim, float* dtable) const {
  Steps().EmbeddingBagMeanBackward(offsets, ids, batch, dout, dout_stride, col_offset, dim, dtable);
}
void CudaKernels::EmbeddingBagSum(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* table,
                                  int64_t dim, float* out, int64_t out_stride, int64_t col_offset) const {
  Steps().EmbeddingBagSum(offsets, ids, batch, table, dim, out, out_stride, col_offset);
}
void CudaKernels::EmbeddingBagSumBackward(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* dout,
                                          int64_t dout_stride, int64_t col_offset, int64_t dim, float* dtable) const {
  Steps().EmbeddingBagSumBackward(offsets, ids, batch, dout, dout_stride, col_offset, dim, dtable);
}

void CudaKernels::DropoutMask(uint64_t key, int64_t rows, int64_t width, float rate, float* mask) const {
  Steps().DropoutMask(key, rows, width, rate, mask);
}
void CudaKernels::ScaleBy(float* x, const float* m, int64_t n) const { Steps().ScaleBy(x, m, n); }
void CudaKernels::LayerNormForward(const float* x, const float* gamma, const float* beta, int64_t rows, int64_t width,
                                   float eps, float* y, float* xhat, float* inv_std) const {
  Steps().LayerNormForward(x, gamma, beta, rows, width, eps, y, xhat, inv_std);
}
void CudaKernels::LayerNormBackward(const float* xhat, const float* inv_std, const float* gamma, const float* dy,
                                    int64_t rows, int64_t width, float* dgamma, float* dbeta, float* dx) const {
  Steps().LayerNormBackward(xhat, inv_std, gamma, dy, rows, width, dgamma, dbeta, dx);
}

void CudaKernels::FmInteractionForward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows,
                                       int64_t fields, int64_t dim, float* out) const {
  Steps().FmInteractionForward(x, x_stride, col_offset, rows, fields, dim, out);
}
void CudaKernels::FmInteractionBackward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows,
                                        int64_t fields, int64_t dim, const float* dout, float* dx) const {
  Steps().FmInteractionBackward(x, x_stride, col_offset, rows, fields, dim, dout, dx);
}
void CudaKernels::DotInteractionForward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows,
                                        int64_t fields, int64_t dim, float* out, int64_t out_stride,
                                        int64_t out_col) const {
  Steps().DotInteractionForward(x, x_stride, col_offset, rows, fields, dim, out, out_stride, out_col);
}
void CudaKernels::DotInteractionBackward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows,
                                         int64_t fields, int64_t dim, const float* dout, int64_t dout_stride,
                                         int64_t dout_col, float* dx) const {
  Steps().DotInteractionBackward(x, x_stride, col_offset, rows, fields, dim, dout, dout_stride, dout_col, dx);
}
void CudaKernels::CrossLayerForward(const float* x0, const float* xl, const float* w, const float* b, int64_t rows,
                                    int64_t d, float* u, float* x_next) const {
  Steps().CrossLayerForward(x0, xl, w, b, rows, d, u, x_next);
}
void CudaKernels::CrossLayerBackward(const float* x0, const float* xl, const float* u, const float* w, float* dnext,
                                     int64_t rows, int64_t d, float* dw, float* db, float* dxl, float* dx0) const {
  Steps().CrossLayerBackward(x0, xl, u, w, dnext, rows, d, dw, db, dxl, dx0);
}
void CudaKernels::RowDotForward(const float* a, const float* b, int64_t rows, int64_t dim, float* out) const {
  Steps().RowDotForward(a, b, rows, dim, out);
}
void CudaKernels::RowDotBackward(const float* a, const float* b, const float* dout, int64_t rows, int64_t dim,
                                 float* da, float* db) const {
  Steps().RowDotBackward(a, b, dout, rows, dim, da, db);
}

double CudaKernels::SoftmaxCrossEntropy(const float* logits, const float* labels, int64_t rows, int64_t classes,
                                        const float* class_weights, float scale, float* dlogits) const {
  return Steps().SoftmaxCrossEntropy(logits, labels, rows, classes, class_weights, scale, dlogits);
}
double CudaKernels::SquaredError(const float* predictions, const float* labels, int64_t n, float scale,
                                 float* dpred) const {
  return Steps().SquaredError(predictions, labels, n, scale, dpred);
}
double CudaKernels::BceWithLogits(const float* logits, const float* labels, int64_t n, float scale,
                                  float* dlogits) const {
  return Steps().BceWithLogits(logits, labels, n, scale, dlogits);
}

void CudaKernels::SgdStep(const RowSpan& span, float* p, float* momentum, const float* grad,
                          const SgdCoefficients& c) const {
  Steps().SgdStep(span, p, momentum, grad, c);
}
void CudaKernels::RmsPropStep(const RowSpan& span, float* p, float* square, const float* grad,
                              const RmsPropCoefficients& c) const {
  Steps().RmsPropStep(span, p, square, grad, c);
}
void CudaKernels::AdagradStep(const RowSpan& span, float* p, float* sum, const float* grad,
                              const AdagradCoefficients& c) const {
  Steps().AdagradStep(span, p, sum, grad, c);
}
void CudaKernels::AdamStep(const RowSpan& span, float* p, float* m, float* v, const float* grad,
                           const AdamCoefficients& c) const {
  Steps().AdamStep(span, p, m, v, grad, c);
}
void CudaKernels::FtrlStep(const RowSpan& span, float* p, float* z, float* n, const float* grad,
                           const FtrlCoefficients& c) const {
  Steps().FtrlStep(span, p, z, n, grad, c);
}
void CudaKernels::CatchUpDecay(const RowSpan& span, float* p, float* clock, const CatchUpCoefficients& c) const {
  Steps().CatchUpDecay(span, p, clock, c);
}

}  // namespace ectrain::kernels::cuda
