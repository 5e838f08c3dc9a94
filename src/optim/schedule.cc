#include "optim/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace ectrain::optim {

double LearningRateAt(const OptimOptions& options, const RunShape& shape, int64_t step, int64_t reductions) {
  double base = options.learning_rate;
  if (options.scale_with_batch > 0 && shape.global_batch_size > 0) {
    base *= static_cast<double>(shape.global_batch_size) / static_cast<double>(options.scale_with_batch);
  }
  if (step <= options.warmup_steps) {
    return base * static_cast<double>(step) / static_cast<double>(options.warmup_steps);
  }
  const int64_t after = step - options.warmup_steps;
  if (options.schedule == "step") {
    return base * std::pow(options.decay_factor, static_cast<double>((after - 1) / options.decay_every_steps));
  }
  if (options.schedule == "plateau" && reductions > 0) {
    return std::max(options.min_learning_rate, base * std::pow(options.decay_factor, static_cast<double>(reductions)));
  }
  if (options.schedule == "cosine" && shape.total_steps > options.warmup_steps) {
    const double span = static_cast<double>(shape.total_steps - options.warmup_steps);
    const double progress = std::clamp(static_cast<double>(after - 1) / std::max(span - 1, 1.0), 0.0, 1.0);
    return options.min_learning_rate +
           (base - options.min_learning_rate) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  }
  return base;
}

}  // namespace ectrain::optim
