#include "optim/optimizer.h"

#include <Eigen/Core>
#include <cmath>

namespace ectrain::optim {
namespace {
using Array = Eigen::Map<Eigen::ArrayXf, Eigen::Aligned64>;
using ConstArray = Eigen::Map<const Eigen::ArrayXf, Eigen::Aligned64>;
}  // namespace

std::unique_ptr<Optimizer> Optimizer::Create(const OptimOptions& options, const ParamLayout& layout) {
  if (options.type == "sgd") return std::make_unique<Sgd>(options);
  return std::make_unique<Adam>(options, layout);
}

Adam::Adam(const OptimOptions& options, const ParamLayout& layout) : options_(options), m_(layout), v_(layout) {}

void Adam::Step(ParamArena& params, const ParamArena& grads) {
  ++step_count_;
  const auto t = static_cast<double>(step_count_);
  const auto b1 = static_cast<float>(options_.beta1);
  const auto b2 = static_cast<float>(options_.beta2);
  const auto step_size = static_cast<float>(options_.learning_rate / (1.0 - std::pow(options_.beta1, t)));
  const auto inv_sqrt_bias2 = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(options_.beta2, t)));
  const auto eps = static_cast<float>(options_.epsilon);
  Array p(params.data(), params.size());
  ConstArray g(grads.data(), grads.size());
  Array m(m_.data(), m_.size());
  Array v(v_.data(), v_.size());
  m = b1 * m + (1.0f - b1) * g;
  v = b2 * v + (1.0f - b2) * g.square();
  p -= step_size * m / (v.sqrt() * inv_sqrt_bias2 + eps);
}

void Sgd::Step(ParamArena& params, const ParamArena& grads) {
  ++step_count_;
  Array(params.data(), params.size()) -=
      static_cast<float>(options_.learning_rate) * ConstArray(grads.data(), grads.size());
}

}  // namespace ectrain::optim
