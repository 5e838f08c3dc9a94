// Optimizers over flat spans. Every rank holds the same summed gradients and takes the same step,
// so parameters stay identical. Tensors updated whole run as a few long contiguous passes; row-sparse
// embedding tables are updated only at the rows the step looked up (lazy updates, as in
// TensorFlow's LazyAdam or PyTorch's SparseAdam: an untouched row's parameters, moments and weight
// decay stay put). Each step also applies the learning-rate schedule (optim/schedule.h) and, when
// asked, clips the gradient's global norm: the gradients are already summed over ranks, so that
// norm is the same on every rank without another collective.
// Weight decay of a row-sparse row is kept correct under lazy updates: when a row is looked up
// again, it first decays for the steps it was skipped (p *= exp(-decay * the learning rates of those
// steps), the decoupled form), from a per-row clock kept as optimizer state ("decay_clock").
// The wide part can take FTRL-Proximal instead of the main rule (optimizer.wide: ftrl): each tensor
// is updated by one rule, chosen in RuleOf.
// State (moments, accumulators) lives in arenas of the parameter layout, exposed for checkpoints.
// Ranks that share one copy of the parameters and state (the ranks of a host) split the step:
// each updates its slice of every whole tensor and the row-sparse rows it was given (ShareUpdates).
// Every update runs through kernels/ (kernels::Kernels: the CPU's or a GPU's), on arenas in that
// device's memory. One instance per model; not thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/device_buffer.h"
#include "core/param_arena.h"
#include "core/row_selection.h"
#include "kernels/kernels.h"
#include "optim/options.h"
#include "optim/schedule.h"

namespace ectrain::optim {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;
  // options.type is one of sgd, rmsprop, adagrad, adam, adamw, ftrl (config/ validates it).
  // State arenas in `kernels`' memory.
  static std::unique_ptr<Optimizer> Create(const OptimOptions& options, const ParamLayout& layout, RunShape shape = {},
                                           const kernels::Kernels& kernels = kernels::Cpu());

  // "adam", or with an FTRL wide part "adam, wide: ftrl" (checkpoints record it).
  std::string type() const;
  // One step. Without `rows` (or for tensors it does not mark sparse) every element is updated
  // with its gradient in `grads`; a row-sparse tensor only at its listed rows, with their compact
  // gradient rows in `rows` (the rows' ids on the host, their gradients in the kernels' memory).
  void Step(ParamArena& params, const ParamArena& grads, const RowSelection* rows = nullptr);

  // From now on this optimizer is part `part` of `parts` sharing the parameters and state: it
  // updates only slice `part` of each tensor updated whole (cut at 64-byte boundaries), and the
  // rows of row-sparse tensors it is given (the caller hands each part its own rows). Clipping then
  // needs the row-sparse gradients' squared norm over all parts: `sum_over_parts` adds a value
  // over them (a collective, called in Step only when clipping is on).
  void ShareUpdates(int part, int parts, std::function<double(double)> sum_over_parts);

  // Steps taken so far (the schedule and Adam's bias correction depend on it).
  int64_t step_count() const { return step_count_; }
  void set_step_count(int64_t steps);
  // optimizer.schedule: plateau: the plateaus met so far (the training loop decides them).
  void set_rate_reductions(int64_t reductions) { rate_reductions_ = reductions; }
  // No row has decay pending (for state restored from a checkpoint written without the clock).
  void StartDecayClocksNow();
  // The learning rate and the clipping factor the last step used (for logs and tests).
  double last_learning_rate() const { return lr_; }
  double last_gradient_norm() const { return grad_norm_; }
  // Named state arenas, in a fixed order (e.g. "adam_m", "adam_v", then the wide part's and the
  // decay clock); empty for plain SGD without decay.
  std::vector<std::pair<std::string, ParamArena*>> state();

 protected:
  Optimizer(const OptimOptions& options, const ParamLayout& layout, RunShape shape, const kernels::Kernels& kernels)
      : options_(options), kernels_(kernels), layout_(layout), shape_(shape), device_rows_(kernels.allocator()) {}
  virtual std::string OwnType() const = 0;
  // This rule's own state arenas.
  virtual std::vector<std::pair<std::string, ParamArena*>> OwnState() { return {}; }
  // Once per step, after lr_ is set and before its Update calls: per-step coefficients.
  virtual void BeginStep() {}
  // Updates `span`'s rows (kernels::RowSpan) with gradient clip_scale_ * grad and weight decay
  // `decay` (L2 unless the optimizer decouples it), through its kernel. `regularized`: not a bias.
  virtual void Update(ParamArena& params, const float* grad, const kernels::RowSpan& span, float decay,
                      bool regularized) = 0;

  const OptimOptions options_;
  const kernels::Kernels& kernels_;
  float lr_ = 0;
  float clip_scale_ = 1;

 private:
  // How a tensor is updated: by which rule, with which decay.
  struct Rule {
    Optimizer* by;
    float decay;
    bool regularized;
    bool operator==(const Rule&) const = default;
  };
  struct Range {
    int64_t offset;
    int64_t count;
    Rule rule;
  };
  Rule RuleOf(const ParamSpec& spec);  // for Create, which keeps each tensor's in rules_
  float DecayOf(const ParamSpec& spec) const;
  // Row-sparse tensor `spec`'s rows: catch up their skipped decay, then update them.
  void UpdateRows(ParamArena& params, const RowSelection& rows, int spec, double lr_before);
  double GradientNorm(const ParamArena& grads, const RowSelection* rows) const;
  // Where the kernels read tensor `spec`'s row ids: the selection's own on the host, a copy in
  // device memory otherwise.
  const int64_t* RowIds(const RowSelection& rows, int spec);

  const ParamLayout& layout_;
  const RunShape shape_;
  int64_t step_count_ = 0;
  // The sum of the scheduled learning rates of the steps taken (the decay clock's time; before plateau
  // reductions, so that it is a function of the step count alone).
  double cumulative_lr_ = 0;
  int64_t rate_reductions_ = 0;
  std::unique_ptr<Optimizer> wide_;          // optimizer.wide: ftrl (and the main rule is not FTRL)
  std::unique_ptr<ParamArena> decay_clock_;  // with a decaying embedding table
  std::vector<Rule> rules_;                  // per tensor of the layout, decided once
  int part_ = 0;
  int parts_ = 1;
  std::function<double(double)> sum_over_parts_;
  double grad_norm_ = 0;
  // The dense ranges (split where the decay changes) of the last selection seen, kept so that a
  // step allocates nothing.
  const RowSelection* ranges_for_ = nullptr;
  bool ranges_ready_ = false;
  std::vector<Range> ranges_;
  // Device kernels: the row ids of the step, copied to the device (grown, never shrunk).
  DeviceBuffer<int64_t> device_rows_;
};

// PyTorch's SGD: g += decay p; buf = momentum buf + g; p -= lr (nesterov ? g + momentum buf : buf).
class Sgd final : public Optimizer {
 public:
  Sgd(const OptimOptions& options, const ParamLayout& layout, RunShape shape, const kernels::Kernels& kernels);

 protected:
  std::string OwnType() const override { return "sgd"; }
  std::vector<std::pair<std::string, ParamArena*>> OwnState() override;
  void Update(ParamArena& params, const float* grad, const kernels::RowSpan& span, float decay,
              bool regularized) override;

 private:
  std::unique_ptr<ParamArena> momentum_;  // only with momentum > 0
};

// PyTorch's RMSprop: g += decay p; v = rho v + (1 - rho) g^2; p -= lr g / (sqrt(v) + eps).
class RmsProp final : public Optimizer {
 public:
  RmsProp(const OptimOptions& options, const ParamLayout& layout, RunShape shape, const kernels::Kernels& kernels)
      : Optimizer(options, layout, shape, kernels), square_(layout, kernels.allocator()) {}

 protected:
  std::string OwnType() const override { return "rmsprop"; }
  std::vector<std::pair<std::string, ParamArena*>> OwnState() override { return {{"rmsprop_square", &square_}}; }
  void Update(ParamArena& params, const float* grad, const kernels::RowSpan& span, float decay,
              bool regularized) override;

 private:
  ParamArena square_;
};

// Adagrad: g += decay p; s += g^2; p -= lr g / (sqrt(s) + eps).
class Adagrad final : public Optimizer {
 public:
  Adagrad(const OptimOptions& options, const ParamLayout& layout, RunShape shape, const kernels::Kernels& kernels)
      : Optimizer(options, layout, shape, kernels), sum_(layout, kernels.allocator()) {}

 protected:
  std::string OwnType() const override { return "adagrad"; }
  std::vector<std::pair<std::string, ParamArena*>> OwnState() override { return {{"adagrad_sum", &sum_}}; }
  void Update(ParamArena& params, const float* grad, const kernels::RowSpan& span, float decay,
              bool regularized) override;

 private:
  ParamArena sum_;
};

// PyTorch's Adam (L2 decay: g += decay p) and AdamW (decoupled: p -= lr decay p first):
// m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).
class Adam final : public Optimizer {
 public:
  Adam(const OptimOptions& options, const ParamLayout& layout, RunShape shape, const kernels::Kernels& kernels,
       bool decoupled_decay)
      : Optimizer(options, layout, shape, kernels),
        decoupled_(decoupled_decay),
        m_(layout, kernels.allocator()),
        v_(layout, kernels.allocator()) {}

 protected:
  std::string OwnType() const override { return decoupled_ ? "adamw" : "adam"; }
  std::vector<std::pair<std::string, ParamArena*>> OwnState() override { return {{"adam_m", &m_}, {"adam_v", &v_}}; }
  void BeginStep() override;
  void Update(ParamArena& params, const float* grad, const kernels::RowSpan& span, float decay,
              bool regularized) override;

 private:
  bool decoupled_;
  ParamArena m_;
  ParamArena v_;
  float step_size_ = 0;       // lr / (1 - b1^t)
  float inv_sqrt_bias2_ = 0;  // 1 / sqrt(1 - b2^t)
};

// FTRL-Proximal (McMahan et al. 2013), per coordinate, with g = clip * gradient:
// sigma = (sqrt(n + g^2) - sqrt(n)) / alpha; z += g - sigma p; n += g^2;
// p = |z| <= l1 ? 0 : -(z - sign(z) l1) / ((beta + sqrt(n)) / alpha + l2)   (l1 = l2 = 0 for biases).
// Its state does not move for a zero gradient, so lazy row updates are exact. A coordinate's first
// update starts from its current value (the initialisation, e.g. the prior bias), not from 0.
// The learning-rate schedule and weight decay do not apply (alpha, l1 and l2 take their place).
class Ftrl final : public Optimizer {
 public:
  Ftrl(const OptimOptions& options, const ParamLayout& layout, RunShape shape, const kernels::Kernels& kernels)
      : Optimizer(options, layout, shape, kernels), z_(layout, kernels.allocator()), n_(layout, kernels.allocator()) {}

 protected:
  std::string OwnType() const override { return "ftrl"; }
  std::vector<std::pair<std::string, ParamArena*>> OwnState() override { return {{"ftrl_z", &z_}, {"ftrl_n", &n_}}; }
  void Update(ParamArena& params, const float* grad, const kernels::RowSpan& span, float decay,
              bool regularized) override;

 private:
  ParamArena z_;
  ParamArena n_;
};

}  // namespace ectrain::optim
