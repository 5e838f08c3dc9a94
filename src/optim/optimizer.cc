#include "optim/optimizer.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

namespace ectrain::optim {
namespace {
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
    case ParamKind::kDenseWeight:
      return static_cast<float>(options_.weight_decay);
    case ParamKind::kEmbedding:
      return static_cast<float>(options_.embedding_weight_decay);
    case ParamKind::kBias:
      return 0.0f;
  }
  return 0.0f;
}

void Optimizer::ShareUpdates(int part, int parts, std::function<double(double)> sum_over_parts) {
  part_ = part;
  parts_ = parts;
  sum_over_parts_ = std::move(sum_over_parts);
}

double Optimizer::GradientNorm(const ParamArena& grads, const RowSelection* rows) const {
  // Every part holds the whole tensors' summed gradients, but only its own sparse rows.
  double sum = 0;
  for (const Range& r : ranges_) sum += ConstArray(grads.data() + r.offset, r.count).matrix().squaredNorm();
  if (rows != nullptr) {
    double sparse = 0;
    for (int i = 0; i < rows->num_specs(); ++i) {
      if (!rows->sparse(i)) continue;
      const auto values = static_cast<Eigen::Index>(rows->rows(i).size()) * rows->cols(i);
      sparse += ConstArray(rows->gradients(i), values).matrix().squaredNorm();
    }
    sum += parts_ > 1 ? sum_over_parts_(sparse) : sparse;
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
  static const std::vector<int64_t> kOneRow{0};  // a range updated whole: one row of all its elements
  for (const Range& r : ranges_) {
    // This part's slice, whole cache lines (16 floats), so that no two parts write one line.
    const int64_t slice = (r.count + 16 * parts_ - 1) / (16 * parts_) * 16;
    const int64_t begin = std::min(r.count, slice * part_);
    const int64_t end = std::min(r.count, begin + slice);
    if (begin < end) Update(params, grads.data() + r.offset + begin, kOneRow, r.offset + begin, end - begin, r.decay);
  }
  if (rows == nullptr) return;
  for (int i = 0; i < rows->num_specs(); ++i) {
    if (!rows->sparse(i)) continue;
    const ParamSpec& spec = layout_.spec(i);
    Update(params, rows->gradients(i), rows->rows(i), spec.offset, spec.cols, DecayOf(spec));
  }
}

template <typename RowUpdate>
void Optimizer::ForEachRow(const ParamArena& params, const std::vector<int64_t>& rows, int64_t offset, int64_t cols,
                           RowUpdate update) const {
  // The rows come in the order they were first touched, scattered over tables larger than the
  // caches: each row's value and state are fetched a few rows ahead, or every row would wait on
  // memory in turn (bench/RESULTS.md, profile of the seed model). Gradients are compact rows.
  constexpr size_t kAhead = 8;
  for (size_t k = 0; k < rows.size(); ++k) {
    if (k + kAhead < rows.size()) {
      const int64_t ahead = offset + rows[k + kAhead] * cols;
      for (int64_t c = 0; c < cols; c += 64 / sizeof(float)) {
        __builtin_prefetch(params.data() + ahead + c, 1);
        for (float* state : state_data_) __builtin_prefetch(state + ahead + c, 1);
      }
    }
    update(static_cast<int64_t>(k), offset + rows[k] * cols);
  }
}

// Each optimizer's update of n elements: one fused pass that the compiler vectorizes (with
// -fno-math-errno; restrict arguments and coefficients by value, so that no store can be taken to
// change them), inlined into ForEachRow. Most calls are one embedding row of 16-64 values: a
// scalar loop was 38% of a 2-rank step, and a virtual call per row took Adam 1.8-2x the time a
// row (bench/RESULTS.md, profile). g is the clipped gradient plus L2 decay: clip * raw + decay * p.
namespace {

// SGD; with momentum (buf not null) buf = momentum buf + g, and p -= lr (nesterov ? g + momentum buf : buf).
[[gnu::always_inline]] inline void SgdUpdate(float* __restrict p, float* __restrict buf, const float* __restrict raw,
                                             int64_t n, float lr, float clip, float decay, float momentum,
                                             bool nesterov) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = clip * raw[i] + decay * p[i];
    if (buf == nullptr) {
      p[i] -= lr * g;
    } else {
      buf[i] = momentum * buf[i] + g;
      p[i] -= lr * (nesterov ? g + momentum * buf[i] : buf[i]);
    }
  }
}

// RMSprop: v = rho v + (1 - rho) g^2; p -= lr g / (sqrt(v) + eps).
[[gnu::always_inline]] inline void RmsPropUpdate(float* __restrict p, float* __restrict v, const float* __restrict raw,
                                                 int64_t n, float lr, float clip, float decay, float rho, float eps) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = clip * raw[i] + decay * p[i];
    v[i] = rho * v[i] + (1.0f - rho) * g * g;
    p[i] -= lr * g / (std::sqrt(v[i]) + eps);
  }
}

// Adagrad: s += g^2; p -= lr g / (sqrt(s) + eps).
[[gnu::always_inline]] inline void AdagradUpdate(float* __restrict p, float* __restrict s, const float* __restrict raw,
                                                 int64_t n, float lr, float clip, float decay, float eps) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = clip * raw[i] + decay * p[i];
    s[i] += g * g;
    p[i] -= lr * g / (std::sqrt(s[i]) + eps);
  }
}

struct AdamCoefficients {
  float b1, b2, eps;
  float keep;            // AdamW: 1 - lr decay (the weight decays itself); Adam: 1
  float gradient_decay;  // Adam: decay (added to the gradient); AdamW: 0
  float clip, step_size, inv_sqrt_bias2;
};

// Adam: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p = keep p - step_size m / (sqrt(v) inv_sqrt_bias2 + eps).
[[gnu::always_inline]] inline void AdamUpdate(float* __restrict p, float* __restrict m, float* __restrict v,
                                              const float* __restrict raw, int64_t n, const AdamCoefficients c) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = c.clip * raw[i] + c.gradient_decay * p[i];
    m[i] = c.b1 * m[i] + (1.0f - c.b1) * g;
    v[i] = c.b2 * v[i] + (1.0f - c.b2) * g * g;
    p[i] = c.keep * p[i] - c.step_size * m[i] / (std::sqrt(v[i]) * c.inv_sqrt_bias2 + c.eps);
  }
}

}  // namespace

Sgd::Sgd(const OptimOptions& options, const ParamLayout& layout, RunShape shape) : Optimizer(options, layout, shape) {
  if (options.momentum > 0) momentum_ = std::make_unique<ParamArena>(layout);
}

std::vector<std::pair<std::string, ParamArena*>> Sgd::state() {
  if (!momentum_) return {};
  return {{"sgd_momentum", momentum_.get()}};
}

void Sgd::Update(ParamArena& params, const float* grad, const std::vector<int64_t>& rows, int64_t offset, int64_t cols,
                 float decay) {
  const float lr = lr_, clip = clip_scale_, momentum = static_cast<float>(options_.momentum);
  const bool nesterov = options_.nesterov;
  float* const p = params.data();
  float* const buf = momentum_ ? momentum_->data() : nullptr;
  ForEachRow(params, rows, offset, cols, [&](int64_t k, int64_t at) {
    SgdUpdate(p + at, buf ? buf + at : nullptr, grad + k * cols, cols, lr, clip, decay, momentum, nesterov);
  });
}

void RmsProp::Update(ParamArena& params, const float* grad, const std::vector<int64_t>& rows, int64_t offset,
                     int64_t cols, float decay) {
  const float lr = lr_, clip = clip_scale_, rho = static_cast<float>(options_.rho);
  const auto eps = static_cast<float>(options_.epsilon);
  float* const p = params.data();
  float* const v = square_.data();
  ForEachRow(params, rows, offset, cols, [&](int64_t k, int64_t at) {
    RmsPropUpdate(p + at, v + at, grad + k * cols, cols, lr, clip, decay, rho, eps);
  });
}

void Adagrad::Update(ParamArena& params, const float* grad, const std::vector<int64_t>& rows, int64_t offset,
                     int64_t cols, float decay) {
  const float lr = lr_, clip = clip_scale_, eps = static_cast<float>(options_.epsilon);
  float* const p = params.data();
  float* const sum = sum_.data();
  ForEachRow(params, rows, offset, cols, [&](int64_t k, int64_t at) {
    AdagradUpdate(p + at, sum + at, grad + k * cols, cols, lr, clip, decay, eps);
  });
}

void Adam::BeginStep() {
  const auto t = static_cast<double>(step_count());
  step_size_ = static_cast<float>(lr_ / (1.0 - std::pow(options_.beta1, t)));
  inv_sqrt_bias2_ = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(options_.beta2, t)));
}

void Adam::Update(ParamArena& params, const float* grad, const std::vector<int64_t>& rows, int64_t offset, int64_t cols,
                  float decay) {
  const AdamCoefficients c{static_cast<float>(options_.beta1),
                           static_cast<float>(options_.beta2),
                           static_cast<float>(options_.epsilon),
                           decoupled_ ? 1.0f - lr_ * decay : 1.0f,
                           decoupled_ ? 0.0f : decay,
                           clip_scale_,
                           step_size_,
                           inv_sqrt_bias2_};
  float* const p = params.data();
  float* const m = m_.data();
  float* const v = v_.data();
  ForEachRow(params, rows, offset, cols,
             [&](int64_t k, int64_t at) { AdamUpdate(p + at, m + at, v + at, grad + k * cols, cols, c); });
}

}  // namespace ectrain::optim
