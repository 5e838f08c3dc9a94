// Optimizers over flat spans: one pass over the whole parameter arena per step. Every rank
// holds the same averaged gradients and takes the same step, so parameters stay identical.
// State (Adam's moments) lives in arenas of the parameter layout, exposed for checkpoints.
// One instance per model; not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/param_arena.h"
#include "optim/options.h"

namespace ectrain::optim {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // options.type must be "adam" or "sgd" (config/ validates it).
  static std::unique_ptr<Optimizer> Create(const OptimOptions& options, const ParamLayout& layout);

  virtual std::string type() const = 0;
  virtual void Step(ParamArena& params, const ParamArena& grads) = 0;

  // Steps taken so far (Adam's bias correction depends on it).
  int64_t step_count() const { return step_count_; }
  void set_step_count(int64_t steps) { step_count_ = steps; }
  // Named state arenas, in a fixed order ("adam_m", "adam_v"); empty for plain SGD.
  virtual std::vector<std::pair<std::string, ParamArena*>> state() { return {}; }

 protected:
  int64_t step_count_ = 0;
};

// PyTorch's Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).
class Adam final : public Optimizer {
 public:
  Adam(const OptimOptions& options, const ParamLayout& layout);
  std::string type() const override { return "adam"; }
  void Step(ParamArena& params, const ParamArena& grads) override;
  std::vector<std::pair<std::string, ParamArena*>> state() override {
    return {{"adam_m", &m_}, {"adam_v", &v_}};
  }

 private:
  OptimOptions options_;
  ParamArena m_;
  ParamArena v_;
};

// p -= lr * g
class Sgd final : public Optimizer {
 public:
  explicit Sgd(const OptimOptions& options) : options_(options) {}
  std::string type() const override { return "sgd"; }
  void Step(ParamArena& params, const ParamArena& grads) override;

 private:
  OptimOptions options_;
};

}  // namespace ectrain::optim
