// Optimizers over flat spans. Every rank holds the same summed gradients and takes the same step,
// so parameters stay identical. Tensors updated whole run as a few long contiguous passes; row-sparse
// embedding tables are updated only at the rows the step looked up (lazy updates, as in
// TensorFlow's LazyAdam or PyTorch's SparseAdam: an untouched row's parameters and moments stay put).
// State (Adam's moments) lives in arenas of the parameter layout, exposed for checkpoints.
// One instance per model; not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/param_arena.h"
#include "core/row_selection.h"
#include "optim/options.h"

namespace ectrain::optim {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // options.type must be "adam" or "sgd" (config/ validates it).
  static std::unique_ptr<Optimizer> Create(const OptimOptions& options, const ParamLayout& layout);

  virtual std::string type() const = 0;
  // One step. Without `rows` (or for tensors it does not mark sparse) every element is updated;
  // a row-sparse tensor only at its listed rows (sorted, unique).
  void Step(ParamArena& params, const ParamArena& grads, const RowSelection* rows = nullptr);

  // Steps taken so far (Adam's bias correction depends on it).
  int64_t step_count() const { return step_count_; }
  void set_step_count(int64_t steps) { step_count_ = steps; }
  // Named state arenas, in a fixed order ("adam_m", "adam_v"); empty for plain SGD.
  virtual std::vector<std::pair<std::string, ParamArena*>> state() { return {}; }

 protected:
  explicit Optimizer(const ParamLayout& layout) : layout_(layout) {}
  // Once per step, before its UpdateRange calls: per-step coefficients.
  virtual void BeginStep() {}
  // Updates arena elements [offset, offset + count) at the current step_count_.
  virtual void UpdateRange(ParamArena& params, const ParamArena& grads, int64_t offset, int64_t count) = 0;

 private:
  const ParamLayout& layout_;
  int64_t step_count_ = 0;
  // DenseRanges of the last selection seen, kept so that a step allocates nothing.
  const RowSelection* ranges_for_ = nullptr;
  std::vector<std::pair<int64_t, int64_t>> dense_ranges_;
};

// PyTorch's Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps), t the global step count.
class Adam final : public Optimizer {
 public:
  Adam(const OptimOptions& options, const ParamLayout& layout);
  std::string type() const override { return "adam"; }
  std::vector<std::pair<std::string, ParamArena*>> state() override {
    return {{"adam_m", &m_}, {"adam_v", &v_}};
  }

 protected:
  void BeginStep() override;
  void UpdateRange(ParamArena& params, const ParamArena& grads, int64_t offset, int64_t count) override;

 private:
  OptimOptions options_;
  ParamArena m_;
  ParamArena v_;
  float step_size_ = 0;       // lr / (1 - b1^t)
  float inv_sqrt_bias2_ = 0;  // 1 / sqrt(1 - b2^t)
};

// p -= lr * g
class Sgd final : public Optimizer {
 public:
  Sgd(const OptimOptions& options, const ParamLayout& layout) : Optimizer(layout), options_(options) {}
  std::string type() const override { return "sgd"; }

 protected:
  void UpdateRange(ParamArena& params, const ParamArena& grads, int64_t offset, int64_t count) override;

 private:
  OptimOptions options_;
};

}  // namespace ectrain::optim
