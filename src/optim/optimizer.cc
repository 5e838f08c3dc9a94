#include "optim/optimizer.h"

#include <Eigen/Core>
#include <cmath>

namespace ectrain::optim {
namespace {
using Array = Eigen::Map<Eigen::ArrayXf>;
using ConstArray = Eigen::Map<const Eigen::ArrayXf>;
}  // namespace

std::unique_ptr<Optimizer> Optimizer::Create(const OptimOptions& options, const ParamLayout& layout, RunShape shape) {
  if (options.type == "sgd") return std::make_unique<Sgd>(options, layout, shape);
  if (options.type == "rmsprop") return std::make_unique<RmsProp>(options, layout, shape);
  if (options.type == "adagrad") return std::make_unique<Adagrad>(options, layout, shape);
  return std::make_unique<Adam>(options, layout, shape, /*decoupled_decay=*/options.type == "adamw");
}

float Optimizer::DecayOf(const ParamSpec& spec) const {
  switch (spec.kind) {
    case ParamKind::kDenseWeight: return static_cast<float>(options_.weight_decay);
    case ParamKind::kEmbedding: return static_cast<float>(options_.embedding_weight_decay);
    case ParamKind::kBias: return 0.0f;
  }
  return 0.0f;
}

double Optimizer::GradientNorm(const ParamArena& grads, const RowSelection* rows) const {
  double sum = 0;
  for (const Range& r : ranges_) sum += ConstArray(grads.data() + r.offset, r.count).matrix().squaredNorm();
  if (rows != nullptr) {
    for (int i = 0; i < rows->num_specs(); ++i) {
      if (!rows->sparse(i)) continue;
      const auto values = static_cast<Eigen::Index>(rows->rows(i).size()) * rows->cols(i);
      sum += ConstArray(rows->gradients(i), values).matrix().squaredNorm();
    }
  }
  return std::sqrt(sum);
}

void Optimizer::Step(ParamArena& params, const ParamArena& grads, const RowSelection* rows) {
  ++step_count_;
  // Which tensors are row-sparse is fixed for a selection's lifetime: compute its ranges once.
  if (!ranges_ready_ || ranges_for_ != rows) {
    ranges_.clear();
    const auto& specs = layout_.specs();
    for (size_t i = 0; i < specs.size(); ++i) {
      if (rows != nullptr && rows->num_specs() > 0 && rows->sparse(static_cast<int>(i))) continue;
      const int64_t begin = specs[i].offset;
      const int64_t end = i + 1 < specs.size() ? specs[i + 1].offset : layout_.total_size();
      const float decay = DecayOf(specs[i]);
      if (!ranges_.empty() && ranges_.back().offset + ranges_.back().count == begin && ranges_.back().decay == decay) {
        ranges_.back().count += end - begin;
      } else {
        ranges_.push_back({begin, end - begin, decay});
      }
    }
    ranges_for_ = rows;
    ranges_ready_ = true;
    state_data_.clear();
    for (auto& [name, arena] : state()) state_data_.push_back(arena->data());
  }
  lr_ = static_cast<float>(LearningRateAt(options_, shape_, step_count_));
  clip_scale_ = 1.0f;
  if (options_.clip_norm > 0) {
    grad_norm_ = GradientNorm(grads, rows);
    if (grad_norm_ > options_.clip_norm) clip_scale_ = static_cast<float>(options_.clip_norm / grad_norm_);
  }
  BeginStep();
  for (const Range& r : ranges_) UpdateRange(params, grads.data() + r.offset, r.offset, r.count, r.decay);
  if (rows == nullptr) return;
  for (int i = 0; i < rows->num_specs(); ++i) {
    if (!rows->sparse(i)) continue;
    const ParamSpec& spec = layout_.spec(i);
    const float decay = DecayOf(spec);
    // The rows come in the order they were first touched, scattered over tables larger than the
    // caches: each row's value and state are fetched a few rows ahead, or every row would wait on
    // memory in turn (bench/RESULTS.md, profile of the seed model). Gradients are compact rows.
    constexpr size_t kAhead = 8;
    const std::vector<int64_t>& list = rows->rows(i);
    const float* grad = rows->gradients(i);
    for (size_t k = 0; k < list.size(); ++k) {
      if (k + kAhead < list.size()) {
        const int64_t ahead = spec.offset + list[k + kAhead] * spec.cols;
        for (int64_t c = 0; c < spec.cols; c += 64 / sizeof(float)) {
          __builtin_prefetch(params.data() + ahead + c, 1);
          for (float* state : state_data_) __builtin_prefetch(state + ahead + c, 1);
        }
      }
      UpdateRange(params, grad + k * spec.cols, spec.offset + list[k] * spec.cols, spec.cols, decay);
    }
  }
}

Sgd::Sgd(const OptimOptions& options, const ParamLayout& layout, RunShape shape) : Optimizer(options, layout, shape) {
  if (options.momentum > 0) momentum_ = std::make_unique<ParamArena>(layout);
}

std::vector<std::pair<std::string, ParamArena*>> Sgd::state() {
  if (!momentum_) return {};
  return {{"sgd_momentum", momentum_.get()}};
}

void Sgd::UpdateRange(ParamArena& params, const float* grad, int64_t offset, int64_t count, float decay) {
  Array p(params.data() + offset, count);
  ConstArray g(grad, count);
  if (!momentum_) {
    p -= lr_ * (clip_scale_ * g + decay * p);
    return;
  }
  const auto mu = static_cast<float>(options_.momentum);
  Array buf(momentum_->data() + offset, count);
  if (options_.nesterov) {
    // buf = mu buf + d; p -= lr (d + mu buf), with d the decayed, clipped gradient.
    buf = mu * buf + clip_scale_ * g + decay * p;
    p -= lr_ * (clip_scale_ * g + decay * p + mu * buf);
  } else {
    buf = mu * buf + clip_scale_ * g + decay * p;
    p -= lr_ * buf;
  }
}

void RmsProp::UpdateRange(ParamArena& params, const float* grad, int64_t offset, int64_t count, float decay) {
  const auto rho = static_cast<float>(options_.rho);
  const auto eps = static_cast<float>(options_.epsilon);
  Array p(params.data() + offset, count);
  Array v(square_.data() + offset, count);
  const auto g = clip_scale_ * ConstArray(grad, count) + decay * p;
  v = rho * v + (1.0f - rho) * g.square();
  p -= lr_ * g / (v.sqrt() + eps);
}

void Adagrad::UpdateRange(ParamArena& params, const float* grad, int64_t offset, int64_t count, float decay) {
  const auto eps = static_cast<float>(options_.epsilon);
  Array p(params.data() + offset, count);
  Array s(sum_.data() + offset, count);
  const auto g = clip_scale_ * ConstArray(grad, count) + decay * p;
  s += g.square();
  p -= lr_ * g / (s.sqrt() + eps);
}

void Adam::BeginStep() {
  const auto t = static_cast<double>(step_count());
  step_size_ = static_cast<float>(lr_ / (1.0 - std::pow(options_.beta1, t)));
  inv_sqrt_bias2_ = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(options_.beta2, t)));
}

void Adam::UpdateRange(ParamArena& params, const float* grad, int64_t offset, int64_t count, float decay) {
  const auto b1 = static_cast<float>(options_.beta1);
  const auto b2 = static_cast<float>(options_.beta2);
  const auto eps = static_cast<float>(options_.epsilon);
  // AdamW decays the weight itself; Adam adds the decay to the gradient.
  const float keep = decoupled_ ? 1.0f - lr_ * decay : 1.0f;
  const float gradient_decay = decoupled_ ? 0.0f : decay;
  const float clip = clip_scale_, step = step_size_, inv_sqrt_bias2 = inv_sqrt_bias2_;  // locals: no reloads
  float* __restrict p = params.data() + offset;
  const float* __restrict raw = grad;
  float* __restrict m = m_.data() + offset;
  float* __restrict v = v_.data() + offset;
  // One fused pass that the compiler vectorizes (with -fno-math-errno; members read into locals
  // above so that stores through p cannot be taken to change them). Most calls are one embedding
  // row of 16-64 values; the scalar loop was 38% of a 2-rank step (bench/RESULTS.md, profile).
  for (int64_t i = 0; i < count; ++i) {
    const float g = clip * raw[i] + gradient_decay * p[i];
    m[i] = b1 * m[i] + (1.0f - b1) * g;
    v[i] = b2 * v[i] + (1.0f - b2) * g * g;
    p[i] = keep * p[i] - step * m[i] / (std::sqrt(v[i]) * inv_sqrt_bias2 + eps);
  }
}

}  // namespace ectrain::optim
