// The CUDA backend of kernels::Kernels (library ectrain_kernels_cuda, built where CMake finds CUDA):
// one GPU and one non-blocking stream, on which every kernel, cuBLAS product and allocator copy is
// queued, so calls run in the order made. The arithmetic is in kernels/cuda/kernel_bodies.h, tested
// on the host against the CPU reference; the dense products are cuBLAS's FP32 SGEMM (no TF32).
// Plain C++ for g++: no CUDA syntax, cuBLAS's handle only declared.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/allocator.h"
#include "kernels/kernels.h"

struct cublasContext;  // cublasHandle_t points to one

namespace ectrain::kernels::cuda {

// The GPUs this process may use; 0 where there is no driver or no GPU. Never throws or aborts.
int VisibleDevices();
// GPU `ordinal`'s name (e.g. "NVIDIA H100 80GB HBM3"); empty when there is no such GPU.
std::string DeviceName(int ordinal);

// One GPU's memory. Zero and the copies are queued on `stream`, after the work queued before them,
// and return when done. No memory: std::bad_alloc; any other CUDA error: a CHECK failure naming
// the call. Each call makes the GPU current on the calling thread.
class CudaAllocator final : public Allocator {
 public:
  CudaAllocator(int device_ordinal, cudaStream_t stream);

  DeviceKind kind() const override { return DeviceKind::kCuda; }
  void* Allocate(size_t bytes) override;  // cudaMalloc (256-byte aligned), zeroed
  void Free(void* p, size_t bytes) override;
  void Zero(void* p, size_t bytes) override;
  void CopyFromHost(void* dst, const void* host_src, size_t bytes) override;
  void CopyToHost(void* host_dst, const void* src, size_t bytes) override;
  // Page-locked host memory (cudaHostAlloc): copies from and to it run at the bus's full speed.
  void* AllocateStaging(size_t bytes) override;
  void FreeStaging(void* p, size_t bytes) override;

 private:
  void Synchronize() const;

  int device_;
  cudaStream_t stream_;
};

// In kernels/cuda/cuda_kernels.cu and kernel_steps.h: the device memory of the sums, the GPU as a
// KernelSteps device, and the calls written over it.
struct ReduceScratch;
struct CudaQueue;
template <typename Device>
class KernelSteps;

// Kernels on GPU `device_ordinal` (a CHECK failure when it is not visible). Every pointer is in its
// allocator()'s memory. Each call makes the GPU current on the calling thread and queues its work;
// the losses and SquaredNorm wait for their result. Thread-compatible, as Kernels says.
class CudaKernels final : public Kernels {
 public:
  explicit CudaKernels(int device_ordinal);
  ~CudaKernels() override;
  CudaKernels(const CudaKernels&) = delete;
  CudaKernels& operator=(const CudaKernels&) = delete;

  int device_ordinal() const { return device_; }
  cudaStream_t stream() const { return stream_; }
  Allocator& allocator() const override { return allocator_; }

  void Fill(float* x, int64_t n, float value) const override;
  void Add(const float* x, float* y, int64_t n) const override;
  void AddScalar(const float* scalar, float* y, int64_t n) const override;
  void AddSum(const float* x, int64_t n, float* sum) const override;
  void CopyRows(const float* src, int64_t src_stride, int64_t rows, int64_t width, float* dst,
                int64_t dst_stride) const override;
  void AddRowSums(const float* x, int64_t rows, int64_t width, float* y) const override;
  void BroadcastRows(const float* x, int64_t rows, int64_t width, float* y) const override;
  void AddStrided(const float* a, int64_t a_stride, const float* b, int64_t b_stride, int64_t rows, int64_t width,
                  float* out) const override;
  double SquaredNorm(const float* x, int64_t n) const override;

  void DenseForward(const float* x, const float* w, const float* bias, int64_t batch, int64_t in, int64_t out,
                    float* y) const override;
  void DenseBackward(const float* x, const float* w, const float* dy, int64_t batch, int64_t in, int64_t out, float* dw,
                     float* dbias, float* dx) const override;
  void ReluForward(float* y, int64_t n) const override;
  void ReluBackward(const float* y, float* dy, int64_t n) const override;
  void EmbeddingGather(const int32_t* ids, int64_t id_stride, int64_t batch, const float* table, int64_t dim,
                       float* out, int64_t out_stride, int64_t col_offset) const override;
  void EmbeddingScatterAdd(const int32_t* ids, int64_t id_stride, int64_t batch, const float* dout, int64_t dout_stride,
                           int64_t col_offset, int64_t dim, float* dtable) const override;
  void EmbeddingBagMean(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* table, int64_t dim,
                        float* out, int64_t out_stride, int64_t col_offset) const override;
  void EmbeddingBagMeanBackward(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* dout,
                                int64_t dout_stride, int64_t col_offset, int64_t dim, float* dtable) const override;
  void EmbeddingBagSum(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* table, int64_t dim,
                       float* out, int64_t out_stride, int64_t col_offset) const override;
  void EmbeddingBagSumBackward(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* dout,
                               int64_t dout_stride, int64_t col_offset, int64_t dim, float* dtable) const override;
  void DropoutMask(uint64_t key, int64_t rows, int64_t width, float rate, float* mask) const override;
  void ScaleBy(float* x, const float* m, int64_t n) const override;
  void LayerNormForward(const float* x, const float* gamma, const float* beta, int64_t rows, int64_t width, float eps,
                        float* y, float* xhat, float* inv_std) const override;
  void LayerNormBackward(const float* xhat, const float* inv_std, const float* gamma, const float* dy, int64_t rows,
                         int64_t width, float* dgamma, float* dbeta, float* dx) const override;
  void FmInteractionForward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                            int64_t dim, float* out) const override;
  void FmInteractionBackward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                             int64_t dim, const float* dout, float* dx) const override;
  void DotInteractionForward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                             int64_t dim, float* out, int64_t out_stride, int64_t out_col) const override;
  void DotInteractionBackward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                              int64_t dim, const float* dout, int64_t dout_stride, int64_t dout_col,
                              float* dx) const override;
  void CrossLayerForward(const float* x0, const float* xl, const float* w, const float* b, int64_t rows, int64_t d,
                         float* u, float* x_next) const override;
  void CrossLayerBackward(const float* x0, const float* xl, const float* u, const float* w, float* dnext, int64_t rows,
                          int64_t d, float* dw, float* db, float* dxl, float* dx0) const override;
  void RowDotForward(const float* a, const float* b, int64_t rows, int64_t dim, float* out) const override;
  void RowDotBackward(const float* a, const float* b, const float* dout, int64_t rows, int64_t dim, float* da,
                      float* db) const override;

  double SoftmaxCrossEntropy(const float* logits, const float* labels, int64_t rows, int64_t classes,
                             const float* class_weights, float scale, float* dlogits) const override;
  double SquaredError(const float* predictions, const float* labels, int64_t n, float scale,
                      float* dpred) const override;
  double BceWithLogits(const float* logits, const float* labels, int64_t n, float scale, float* dlogits) const override;

  void SgdStep(const RowSpan& span, float* p, float* momentum, const float* grad,
               const SgdCoefficients& c) const override;
  void RmsPropStep(const RowSpan& span, float* p, float* square, const float* grad,
                   const RmsPropCoefficients& c) const override;
  void AdagradStep(const RowSpan& span, float* p, float* sum, const float* grad,
                   const AdagradCoefficients& c) const override;
  void AdamStep(const RowSpan& span, float* p, float* m, float* v, const float* grad,
                const AdamCoefficients& c) const override;
  void FtrlStep(const RowSpan& span, float* p, float* z, float* n, const float* grad,
                const FtrlCoefficients& c) const override;
  void CatchUpDecay(const RowSpan& span, float* p, float* clock, const CatchUpCoefficients& c) const override;

 private:
  // Makes the GPU current on the calling thread; returns the calls, queued on the stream.
  KernelSteps<CudaQueue> Steps() const;

  int device_;
  cudaStream_t stream_;
  mutable CudaAllocator allocator_;
  cublasContext* blas_ = nullptr;
  void* blas_workspace_ = nullptr;  // cuBLAS's, ours so that it never allocates during a step
  size_t blas_workspace_bytes_ = 0;
  ReduceScratch* scratch_ = nullptr;
};

}  // namespace ectrain::kernels::cuda
