#include "optim/optimizer.h"

#include <Eigen/Core>
#include <cmath>

namespace ectrain::optim {
namespace {
using Array = Eigen::Map<Eigen::ArrayXf>;
using ConstArray = Eigen::Map<const Eigen::ArrayXf>;
}  // namespace

std::unique_ptr<Optimizer> Optimizer::Create(const OptimOptions& options, const ParamLayout& layout) {
  if (options.type == "sgd") return std::make_unique<Sgd>(options, layout);
  return std::make_unique<Adam>(options, layout);
}

void Optimizer::Step(ParamArena& params, const ParamArena& grads, const RowSelection* rows) {
  ++step_count_;
  BeginStep();
  if (rows == nullptr) {
    UpdateRange(params, grads, 0, params.size());
    return;
  }
  // Which tensors are row-sparse is fixed for a selection's lifetime: compute its ranges once.
  if (ranges_for_ != rows) {
    dense_ranges_ = DenseRanges(layout_, *rows);
    ranges_for_ = rows;
  }
  for (const auto& [offset, count] : dense_ranges_) UpdateRange(params, grads, offset, count);
  for (int i = 0; i < rows->num_specs(); ++i) {
    if (!rows->sparse(i)) continue;
    const ParamSpec& spec = layout_.spec(i);
    for (int64_t row : rows->rows(i)) UpdateRange(params, grads, spec.offset + row * spec.cols, spec.cols);
  }
}

Adam::Adam(const OptimOptions& options, const ParamLayout& layout)
    : Optimizer(layout), options_(options), m_(layout), v_(layout) {}

void Adam::BeginStep() {
  const auto t = static_cast<double>(step_count());
  step_size_ = static_cast<float>(options_.learning_rate / (1.0 - std::pow(options_.beta1, t)));
  inv_sqrt_bias2_ = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(options_.beta2, t)));
}

void Adam::UpdateRange(ParamArena& params, const ParamArena& grads, int64_t offset, int64_t count) {
  const auto b1 = static_cast<float>(options_.beta1);
  const auto b2 = static_cast<float>(options_.beta2);
  const auto eps = static_cast<float>(options_.epsilon);
  Array p(params.data() + offset, count);
  ConstArray g(grads.data() + offset, count);
  Array m(m_.data() + offset, count);
  Array v(v_.data() + offset, count);
  m = b1 * m + (1.0f - b1) * g;
  v = b2 * v + (1.0f - b2) * g.square();
  p -= step_size_ * m / (v.sqrt() * inv_sqrt_bias2_ + eps);
}

void Sgd::UpdateRange(ParamArena& params, const ParamArena& grads, int64_t offset, int64_t count) {
  Array(params.data() + offset, count) -=
      static_cast<float>(options_.learning_rate) * ConstArray(grads.data() + offset, count);
}

}  // namespace ectrain::optim
