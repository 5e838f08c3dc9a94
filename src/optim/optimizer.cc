#include "optim/optimizer.h"

#include <algorithm>
#include <cmath>

namespace ectrain::optim {
std::unique_ptr<Optimizer> Optimizer::Create(const OptimOptions& options, const ParamLayout& layout, RunShape shape,
                                             const kernels::Kernels& kernels) {
  if (options.type == "sgd") return std::make_unique<Sgd>(options, layout, shape, kernels);
  if (options.type == "rmsprop") return std::make_unique<RmsProp>(options, layout, shape, kernels);
  if (options.type == "adagrad") return std::make_unique<Adagrad>(options, layout, shape, kernels);
  return std::make_unique<Adam>(options, layout, shape, kernels, /*decoupled_decay=*/options.type == "adamw");
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
  for (const Range& r : ranges_) sum += kernels_.SquaredNorm(grads.data() + r.offset, r.count);
  if (rows != nullptr) {
    double sparse = 0;
    for (int i = 0; i < rows->num_specs(); ++i) {
      if (!rows->sparse(i)) continue;
      const auto values = static_cast<int64_t>(rows->rows(i).size()) * rows->cols(i);
      sparse += kernels_.SquaredNorm(rows->gradients(i), values);
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
  }
  lr_ = static_cast<float>(LearningRateAt(options_, shape_, step_count_));
  clip_scale_ = 1.0f;
  if (options_.clip_norm > 0) {
    grad_norm_ = GradientNorm(grads, rows);
    if (grad_norm_ > options_.clip_norm) clip_scale_ = static_cast<float>(options_.clip_norm / grad_norm_);
  }
  BeginStep();
  for (const Range& r : ranges_) {
    // This part's slice, whole cache lines (16 floats), so that no two parts write one line.
    const int64_t slice = (r.count + 16 * parts_ - 1) / (16 * parts_) * 16;
    const int64_t begin = std::min(r.count, slice * part_);
    const int64_t end = std::min(r.count, begin + slice);
    // A range updated whole: one row of all its elements.
    if (begin < end)
      Update(params, grads.data() + r.offset + begin, {nullptr, 1, r.offset + begin, end - begin}, r.decay);
  }
  if (rows == nullptr) return;
  for (int i = 0; i < rows->num_specs(); ++i) {
    if (!rows->sparse(i)) continue;
    const ParamSpec& spec = layout_.spec(i);
    const auto num_rows = static_cast<int64_t>(rows->rows(i).size());
    if (num_rows > 0)
      Update(params, rows->gradients(i), {RowIds(*rows, i), num_rows, spec.offset, spec.cols}, DecayOf(spec));
  }
}

const int64_t* Optimizer::RowIds(const RowSelection& rows, int spec) {
  const std::vector<int64_t>& ids = rows.rows(spec);
  if (kernels_.device() == DeviceKind::kCpu) return ids.data();
  return device_rows_.CopyFromHost(ids.data(), ids.size());
}

Sgd::Sgd(const OptimOptions& options, const ParamLayout& layout, RunShape shape, const kernels::Kernels& kernels)
    : Optimizer(options, layout, shape, kernels) {
  if (options.momentum > 0) momentum_ = std::make_unique<ParamArena>(layout, kernels.allocator());
}

std::vector<std::pair<std::string, ParamArena*>> Sgd::state() {
  if (!momentum_) return {};
  return {{"sgd_momentum", momentum_.get()}};
}

void Sgd::Update(ParamArena& params, const float* grad, const kernels::RowSpan& span, float decay) {
  const kernels::SgdCoefficients c{lr_, clip_scale_, decay, static_cast<float>(options_.momentum), options_.nesterov};
  kernels_.SgdStep(span, params.data(), momentum_ ? momentum_->data() : nullptr, grad, c);
}

void RmsProp::Update(ParamArena& params, const float* grad, const kernels::RowSpan& span, float decay) {
  const kernels::RmsPropCoefficients c{lr_, clip_scale_, decay, static_cast<float>(options_.rho),
                                       static_cast<float>(options_.epsilon)};
  kernels_.RmsPropStep(span, params.data(), square_.data(), grad, c);
}

void Adagrad::Update(ParamArena& params, const float* grad, const kernels::RowSpan& span, float decay) {
  const kernels::AdagradCoefficients c{lr_, clip_scale_, decay, static_cast<float>(options_.epsilon)};
  kernels_.AdagradStep(span, params.data(), sum_.data(), grad, c);
}

void Adam::BeginStep() {
  const auto t = static_cast<double>(step_count());
  step_size_ = static_cast<float>(lr_ / (1.0 - std::pow(options_.beta1, t)));
  inv_sqrt_bias2_ = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(options_.beta2, t)));
}

void Adam::Update(ParamArena& params, const float* grad, const kernels::RowSpan& span, float decay) {
  const kernels::AdamCoefficients c{static_cast<float>(options_.beta1),
                                    static_cast<float>(options_.beta2),
                                    static_cast<float>(options_.epsilon),
                                    decoupled_ ? 1.0f - lr_ * decay : 1.0f,
                                    decoupled_ ? 0.0f : decay,
                                    clip_scale_,
                                    step_size_,
                                    inv_sqrt_bias2_};
  kernels_.AdamStep(span, params.data(), m_.data(), v_.data(), grad, c);
}

}  // namespace ectrain::optim
