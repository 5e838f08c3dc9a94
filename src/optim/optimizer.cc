#include "optim/optimizer.h"

#include <algorithm>
#include <cmath>

namespace ectrain::optim {
namespace {
std::unique_ptr<Optimizer> CreateRule(const OptimOptions& options, const ParamLayout& layout, RunShape shape,
                                      const kernels::Kernels& kernels) {
  if (options.type == "sgd") return std::make_unique<Sgd>(options, layout, shape, kernels);
  if (options.type == "rmsprop") return std::make_unique<RmsProp>(options, layout, shape, kernels);
  if (options.type == "adagrad") return std::make_unique<Adagrad>(options, layout, shape, kernels);
  if (options.type == "ftrl") return std::make_unique<Ftrl>(options, layout, shape, kernels);
  return std::make_unique<Adam>(options, layout, shape, kernels, /*decoupled_decay=*/options.type == "adamw");
}

bool IsWide(const ParamSpec& spec) { return spec.name.starts_with("wide/"); }

// The column of an embedding table's name: ".../embedding/<field>" or ".../embedding_bag/<field>".
std::string FieldOfTable(const std::string& name) {
  const size_t slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}
}  // namespace

std::unique_ptr<Optimizer> Optimizer::Create(const OptimOptions& options, const ParamLayout& layout, RunShape shape,
                                             const kernels::Kernels& kernels) {
  std::unique_ptr<Optimizer> optimizer = CreateRule(options, layout, shape, kernels);
  const auto& specs = layout.specs();
  if (options.wide == "ftrl" && options.type != "ftrl" && std::any_of(specs.begin(), specs.end(), IsWide)) {
    optimizer->wide_ = std::make_unique<Ftrl>(options, layout, shape, kernels);
  }
  for (const ParamSpec& spec : specs) optimizer->rules_.push_back(optimizer->RuleOf(spec));
  // Only tensors that may be row-sparse need the clock: the decaying embedding tables (not under FTRL,
  // whose rule has no decay).
  for (size_t i = 0; i < specs.size(); ++i) {
    if (specs[i].kind != ParamKind::kEmbedding || optimizer->rules_[i].decay == 0.0f) continue;
    optimizer->decay_clock_ = std::make_unique<ParamArena>(layout, kernels.allocator());
    optimizer->decay_clock_->SetZero();
    break;
  }
  return optimizer;
}

std::string Optimizer::type() const { return OwnType() + (wide_ ? ", wide: ftrl" : ""); }

std::vector<std::pair<std::string, ParamArena*>> Optimizer::state() {
  auto all = OwnState();
  if (wide_) {
    for (auto& entry : wide_->OwnState()) all.push_back(entry);
  }
  if (decay_clock_) all.emplace_back("decay_clock", decay_clock_.get());
  return all;
}

void Optimizer::set_step_count(int64_t steps) {
  step_count_ = steps;
  // The decay clock's time is the sum of the rates, as Step adds them.
  cumulative_lr_ = 0;
  for (int64_t step = 1; step <= steps; ++step) {
    cumulative_lr_ += static_cast<float>(LearningRateAt(options_, shape_, step));
  }
}

void Optimizer::StartDecayClocksNow() {
  if (decay_clock_) kernels_.Fill(decay_clock_->data(), decay_clock_->size(), static_cast<float>(cumulative_lr_));
}

Optimizer::Rule Optimizer::RuleOf(const ParamSpec& spec) {
  Optimizer* by = wide_ && IsWide(spec) ? wide_.get() : this;
  const bool ftrl = by->OwnType() == "ftrl";
  return {by, ftrl ? 0.0f : DecayOf(spec), spec.kind != ParamKind::kBias};
}

float Optimizer::DecayOf(const ParamSpec& spec) const {
  switch (spec.kind) {
    case ParamKind::kDenseWeight:
      return static_cast<float>(options_.weight_decay);
    case ParamKind::kEmbedding: {
      const auto field = options_.embedding_weight_decay_by_field.find(FieldOfTable(spec.name));
      if (field != options_.embedding_weight_decay_by_field.end()) return static_cast<float>(field->second);
      return static_cast<float>(options_.embedding_weight_decay);
    }
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
      const Rule& rule = rules_[i];
      if (!ranges_.empty() && ranges_.back().offset + ranges_.back().count == begin && ranges_.back().rule == rule) {
        ranges_.back().count += end - begin;
      } else {
        ranges_.push_back({begin, end - begin, rule});
      }
    }
    ranges_for_ = rows;
    ranges_ready_ = true;
  }
  lr_ = static_cast<float>(LearningRateAt(options_, shape_, step_count_, rate_reductions_));
  clip_scale_ = 1.0f;
  if (options_.clip_norm > 0) {
    grad_norm_ = GradientNorm(grads, rows);
    if (grad_norm_ > options_.clip_norm) clip_scale_ = static_cast<float>(options_.clip_norm / grad_norm_);
  }
  const double lr_before = cumulative_lr_;
  cumulative_lr_ += static_cast<float>(LearningRateAt(options_, shape_, step_count_));
  BeginStep();
  if (wide_) {
    wide_->clip_scale_ = clip_scale_;
    wide_->BeginStep();
  }
  for (const Range& r : ranges_) {
    // This part's slice, whole cache lines (16 floats), so that no two parts write one line.
    const int64_t slice = (r.count + 16 * parts_ - 1) / (16 * parts_) * 16;
    const int64_t begin = std::min(r.count, slice * part_);
    const int64_t end = std::min(r.count, begin + slice);
    // A range updated whole: one row of all its elements.
    if (begin < end) {
      r.rule.by->Update(params, grads.data() + r.offset + begin, {nullptr, 1, r.offset + begin, end - begin},
                        r.rule.decay, r.rule.regularized);
    }
  }
  if (rows == nullptr) return;
  for (int i = 0; i < rows->num_specs(); ++i) {
    if (rows->sparse(i)) UpdateRows(params, *rows, i, lr_before);
  }
}

void Optimizer::UpdateRows(ParamArena& params, const RowSelection& rows, int spec_index, double lr_before) {
  const ParamSpec& spec = layout_.spec(spec_index);
  const auto num_rows = static_cast<int64_t>(rows.rows(spec_index).size());
  if (num_rows == 0) return;
  const kernels::RowSpan span{RowIds(rows, spec_index), num_rows, spec.offset, spec.cols};
  const Rule& rule = rules_[spec_index];
  if (rule.decay > 0 && decay_clock_) {
    const kernels::CatchUpCoefficients c{rule.decay, static_cast<float>(lr_before), static_cast<float>(cumulative_lr_)};
    kernels_.CatchUpDecay(span, params.data(), decay_clock_->data(), c);
  }
  rule.by->Update(params, rows.gradients(spec_index), span, rule.decay, rule.regularized);
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

std::vector<std::pair<std::string, ParamArena*>> Sgd::OwnState() {
  if (!momentum_) return {};
  return {{"sgd_momentum", momentum_.get()}};
}

void Sgd::Update(ParamArena& params, const float* grad, const kernels::RowSpan& span, float decay, bool) {
  const kernels::SgdCoefficients c{lr_, clip_scale_, decay, static_cast<float>(options_.momentum), options_.nesterov};
  kernels_.SgdStep(span, params.data(), momentum_ ? momentum_->data() : nullptr, grad, c);
}

void RmsProp::Update(ParamArena& params, const float* grad, const kernels::RowSpan& span, float decay, bool) {
  const kernels::RmsPropCoefficients c{lr_, clip_scale_, decay, static_cast<float>(options_.rho),
                                       static_cast<float>(options_.epsilon)};
  kernels_.RmsPropStep(span, params.data(), square_.data(), grad, c);
}

void Adagrad::Update(ParamArena& params, const float* grad, const kernels::RowSpan& span, float decay, bool) {
  const kernels::AdagradCoefficients c{lr_, clip_scale_, decay, static_cast<float>(options_.epsilon)};
  kernels_.AdagradStep(span, params.data(), sum_.data(), grad, c);
}

void Adam::BeginStep() {
  const auto t = static_cast<double>(step_count());
  step_size_ = static_cast<float>(lr_ / (1.0 - std::pow(options_.beta1, t)));
  inv_sqrt_bias2_ = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(options_.beta2, t)));
}

void Adam::Update(ParamArena& params, const float* grad, const kernels::RowSpan& span, float decay, bool) {
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

void Ftrl::Update(ParamArena& params, const float* grad, const kernels::RowSpan& span, float, bool regularized) {
  const kernels::FtrlCoefficients c{static_cast<float>(options_.ftrl_alpha), static_cast<float>(options_.ftrl_beta),
                                    regularized ? static_cast<float>(options_.ftrl_l1) : 0.0f,
                                    regularized ? static_cast<float>(options_.ftrl_l2) : 0.0f, clip_scale_};
  kernels_.FtrlStep(span, params.data(), z_.data(), n_.data(), grad, c);
}

}  // namespace ectrain::optim
