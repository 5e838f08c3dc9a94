#include "kernels/simulated_device.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>

#include "core/log.h"

namespace ectrain::kernels {
namespace {

// Device memory: page-aligned anonymous mappings, inaccessible unless opened. Opening nests and
// counts across threads (ranks as threads share the process): the blocks close when the last
// opener is done.
class GuardedMemory final : public Allocator {
 public:
  DeviceKind kind() const override { return DeviceKind::kSimulated; }

  void* Allocate(size_t bytes) override {
    const size_t mapped = RoundUp(bytes);
    const std::lock_guard<std::mutex> lock(mutex_);
    void* p =
        mmap(nullptr, mapped, open_count_ > 0 ? PROT_READ | PROT_WRITE : PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    blocks_[p] = mapped;
    return p;
  }
  void Free(void* p, size_t /*bytes*/) override {
    if (p == nullptr) return;
    const std::lock_guard<std::mutex> lock(mutex_);
    const auto it = blocks_.find(p);
    CHECK(it != blocks_.end()) << "simulated device: freeing memory it did not allocate";
    munmap(p, it->second);
    blocks_.erase(it);
  }
  void Zero(void* p, size_t bytes) override {
    Open();
    std::memset(p, 0, bytes);
    Close();
  }
  void CopyFromHost(void* dst, const void* host_src, size_t bytes) override {
    Open();
    std::memcpy(dst, host_src, bytes);
    Close();
  }
  void CopyToHost(void* host_dst, const void* src, size_t bytes) override {
    Open();
    std::memcpy(host_dst, src, bytes);
    Close();
  }

  void Open() {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (open_count_++ == 0) Protect(PROT_READ | PROT_WRITE);
  }
  void Close() {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (--open_count_ == 0) Protect(PROT_NONE);
  }

 private:
  static size_t RoundUp(size_t bytes) {
    const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    return (bytes + page - 1) / page * page;
  }
  void Protect(int protection) {
    for (const auto& [p, mapped] : blocks_) {
      CHECK(mprotect(p, mapped, protection) == 0) << "simulated device: mprotect failed";
    }
  }

  std::mutex mutex_;
  int open_count_ = 0;
  std::unordered_map<void*, size_t> blocks_;
};

// Opens the device memory for one call.
class Opened {
 public:
  explicit Opened(GuardedMemory& memory) : memory_(memory) { memory_.Open(); }
  ~Opened() { memory_.Close(); }
  Opened(const Opened&) = delete;
  Opened& operator=(const Opened&) = delete;

 private:
  GuardedMemory& memory_;
};

class SimulatedKernels final : public Kernels {
 public:
  Allocator& allocator() const override { return memory_; }
  void Fill(float* x, int64_t n, float value) const override {
    const Opened opened(memory_);
    cpu_.Fill(x, n, value);
  }
  void Add(const float* x, float* y, int64_t n) const override {
    const Opened opened(memory_);
    cpu_.Add(x, y, n);
  }
  void AddScalar(const float* scalar, float* y, int64_t n) const override {
    const Opened opened(memory_);
    cpu_.AddScalar(scalar, y, n);
  }
  void AddSum(const float* x, int64_t n, float* sum) const override {
    const Opened opened(memory_);
    cpu_.AddSum(x, n, sum);
  }
  void CopyRows(const float* src, int64_t src_stride, int64_t rows, int64_t width, float* dst,
                int64_t dst_stride) const override {
    const Opened opened(memory_);
    cpu_.CopyRows(src, src_stride, rows, width, dst, dst_stride);
  }
  void AddRowSums(const float* x, int64_t rows, int64_t width, float* y) const override {
    const Opened opened(memory_);
    cpu_.AddRowSums(x, rows, width, y);
  }
  void BroadcastRows(const float* x, int64_t rows, int64_t width, float* y) const override {
    const Opened opened(memory_);
    cpu_.BroadcastRows(x, rows, width, y);
  }
  void AddStrided(const float* a, int64_t a_stride, const float* b, int64_t b_stride, int64_t rows, int64_t width,
                  float* out) const override {
    const Opened opened(memory_);
    cpu_.AddStrided(a, a_stride, b, b_stride, rows, width, out);
  }
  double SquaredNorm(const float* x, int64_t n) const override {
    const Opened opened(memory_);
    return cpu_.SquaredNorm(x, n);
  }
  void DenseForward(const float* x, const float* w, const float* bias, int64_t batch, int64_t in, int64_t out,
                    float* y) const override {
    const Opened opened(memory_);
    cpu_.DenseForward(x, w, bias, batch, in, out, y);
  }
  void DenseBackward(const float* x, const float* w, const float* dy, int64_t batch, int64_t in, int64_t out, float* dw,
                     float* dbias, float* dx) const override {
    const Opened opened(memory_);
    cpu_.DenseBackward(x, w, dy, batch, in, out, dw, dbias, dx);
  }
  void ReluForward(float* y, int64_t n) const override {
    const Opened opened(memory_);
    cpu_.ReluForward(y, n);
  }
  void ReluBackward(const float* y, float* dy, int64_t n) const override {
    const Opened opened(memory_);
    cpu_.ReluBackward(y, dy, n);
  }
  void EmbeddingGather(const int32_t* ids, int64_t id_stride, int64_t batch, const float* table, int64_t dim,
                       float* out, int64_t out_stride, int64_t col_offset) const override {
    const Opened opened(memory_);
    cpu_.EmbeddingGather(ids, id_stride, batch, table, dim, out, out_stride, col_offset);
  }
  void EmbeddingScatterAdd(const int32_t* ids, int64_t id_stride, int64_t batch, const float* dout, int64_t dout_stride,
                           int64_t col_offset, int64_t dim, float* dtable) const override {
    const Opened opened(memory_);
    cpu_.EmbeddingScatterAdd(ids, id_stride, batch, dout, dout_stride, col_offset, dim, dtable);
  }
  void EmbeddingBagMean(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* table, int64_t dim,
                        float* out, int64_t out_stride, int64_t col_offset) const override {
    const Opened opened(memory_);
    cpu_.EmbeddingBagMean(offsets, ids, batch, table, dim, out, out_stride, col_offset);
  }
  void EmbeddingBagMeanBackward(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* dout,
                                int64_t dout_stride, int64_t col_offset, int64_t dim, float* dtable) const override {
    const Opened opened(memory_);
    cpu_.EmbeddingBagMeanBackward(offsets, ids, batch, dout, dout_stride, col_offset, dim, dtable);
  }
  void EmbeddingBagSum(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* table, int64_t dim,
                       float* out, int64_t out_stride, int64_t col_offset) const override {
    const Opened opened(memory_);
    cpu_.EmbeddingBagSum(offsets, ids, batch, table, dim, out, out_stride, col_offset);
  }
  void EmbeddingBagSumBackward(const int64_t* offsets, const int32_t* ids, int64_t batch, const float* dout,
                               int64_t dout_stride, int64_t col_offset, int64_t dim, float* dtable) const override {
    const Opened opened(memory_);
    cpu_.EmbeddingBagSumBackward(offsets, ids, batch, dout, dout_stride, col_offset, dim, dtable);
  }
  void DropoutMask(uint64_t key, int64_t rows, int64_t width, float rate, float* mask) const override {
    const Opened opened(memory_);
    cpu_.DropoutMask(key, rows, width, rate, mask);
  }
  void ScaleBy(float* x, const float* m, int64_t n) const override {
    const Opened opened(memory_);
    cpu_.ScaleBy(x, m, n);
  }
  void LayerNormForward(const float* x, const float* gamma, const float* beta, int64_t rows, int64_t width, float eps,
                        float* y, float* xhat, float* inv_std) const override {
    const Opened opened(memory_);
    cpu_.LayerNormForward(x, gamma, beta, rows, width, eps, y, xhat, inv_std);
  }
  void LayerNormBackward(const float* xhat, const float* inv_std, const float* gamma, const float* dy, int64_t rows,
                         int64_t width, float* dgamma, float* dbeta, float* dx) const override {
    const Opened opened(memory_);
    cpu_.LayerNormBackward(xhat, inv_std, gamma, dy, rows, width, dgamma, dbeta, dx);
  }
  void FmInteractionForward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                            int64_t dim, float* out) const override {
    const Opened opened(memory_);
    cpu_.FmInteractionForward(x, x_stride, col_offset, rows, fields, dim, out);
  }
  void FmInteractionBackward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                             int64_t dim, const float* dout, float* dx) const override {
    const Opened opened(memory_);
    cpu_.FmInteractionBackward(x, x_stride, col_offset, rows, fields, dim, dout, dx);
  }
  void DotInteractionForward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                             int64_t dim, float* out, int64_t out_stride, int64_t out_col) const override {
    const Opened opened(memory_);
    cpu_.DotInteractionForward(x, x_stride, col_offset, rows, fields, dim, out, out_stride, out_col);
  }
  void DotInteractionBackward(const float* x, int64_t x_stride, int64_t col_offset, int64_t rows, int64_t fields,
                              int64_t dim, const float* dout, int64_t dout_stride, int64_t dout_col,
                              float* dx) const override {
    const Opened opened(memory_);
    cpu_.DotInteractionBackward(x, x_stride, col_offset, rows, fields, dim, dout, dout_stride, dout_col, dx);
  }
  void CrossLayerForward(const float* x0, const float* xl, const float* w, const float* b, int64_t rows, int64_t d,
                         float* u, float* x_next) const override {
    const Opened opened(memory_);
    cpu_.CrossLayerForward(x0, xl, w, b, rows, d, u, x_next);
  }
  void CrossLayerBackward(const float* x0, const float* xl, const float* u, const float* w, float* dnext, int64_t rows,
                          int64_t d, float* dw, float* db, float* dxl, float* dx0) const override {
    const Opened opened(memory_);
    cpu_.CrossLayerBackward(x0, xl, u, w, dnext, rows, d, dw, db, dxl, dx0);
  }
  void RowDotForward(const float* a, const float* b, int64_t rows, int64_t dim, float* out) const override {
    const Opened opened(memory_);
    cpu_.RowDotForward(a, b, rows, dim, out);
  }
  void RowDotBackward(const float* a, const float* b, const float* dout, int64_t rows, int64_t dim, float* da,
                      float* db) const override {
    const Opened opened(memory_);
    cpu_.RowDotBackward(a, b, dout, rows, dim, da, db);
  }
  double SoftmaxCrossEntropy(const float* logits, const float* labels, int64_t rows, int64_t classes,
                             const float* class_weights, float scale, float* dlogits) const override {
    const Opened opened(memory_);
    return cpu_.SoftmaxCrossEntropy(logits, labels, rows, classes, class_weights, scale, dlogits);
  }
  double SquaredError(const float* predictions, const float* labels, int64_t n, float scale,
                      float* dpred) const override {
    const Opened opened(memory_);
    return cpu_.SquaredError(predictions, labels, n, scale, dpred);
  }
  double BceWithLogits(const float* logits, const float* labels, int64_t n, float scale,
                       float* dlogits) const override {
    const Opened opened(memory_);
    return cpu_.BceWithLogits(logits, labels, n, scale, dlogits);
  }
  void SgdStep(const RowSpan& span, float* p, float* momentum, const float* grad,
               const SgdCoefficients& c) const override {
    const Opened opened(memory_);
    cpu_.SgdStep(span, p, momentum, grad, c);
  }
  void RmsPropStep(const RowSpan& span, float* p, float* square, const float* grad,
                   const RmsPropCoefficients& c) const override {
    const Opened opened(memory_);
    cpu_.RmsPropStep(span, p, square, grad, c);
  }
  void AdagradStep(const RowSpan& span, float* p, float* sum, const float* grad,
                   const AdagradCoefficients& c) const override {
    const Opened opened(memory_);
    cpu_.AdagradStep(span, p, sum, grad, c);
  }
  void AdamStep(const RowSpan& span, float* p, float* m, float* v, const float* grad,
                const AdamCoefficients& c) const override {
    const Opened opened(memory_);
    cpu_.AdamStep(span, p, m, v, grad, c);
  }
  void FtrlStep(const RowSpan& span, float* p, float* z, float* n, const float* grad,
                const FtrlCoefficients& c) const override {
    const Opened opened(memory_);
    cpu_.FtrlStep(span, p, z, n, grad, c);
  }
  void CatchUpDecay(const RowSpan& span, float* p, float* clock, const CatchUpCoefficients& c) const override {
    const Opened opened(memory_);
    cpu_.CatchUpDecay(span, p, clock, c);
  }

 private:
  const Kernels& cpu_ = Cpu();
  mutable GuardedMemory memory_;
};

}  // namespace

const Kernels& Simulated() {
  static const SimulatedKernels simulated;
  return simulated;
}

}  // namespace ectrain::kernels
