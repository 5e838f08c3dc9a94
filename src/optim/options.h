// Settings of the optim module, filled and validated by config/; plain values.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace ectrain::optim {

struct OptimOptions {
  std::string type = "adam";  // sgd | rmsprop | adagrad | adam | adamw | ftrl
  double learning_rate = 1e-3;
  double beta1 = 0.9;     // adam, adamw
  double beta2 = 0.999;   // adam, adamw
  double epsilon = 1e-8;  // rmsprop, adagrad, adam, adamw
  double momentum = 0.0;  // sgd
  bool nesterov = false;  // sgd, with momentum > 0
  double rho = 0.99;      // rmsprop: decay of the mean square
  // Weight decay per parameter kind (biases never decay): L2 added to the gradient, except for
  // adamw where it is decoupled (p -= lr * decay * p).
  double weight_decay = 0.0;            // dense weights
  double embedding_weight_decay = 0.0;  // embedding tables
  // Per field (a column of data.categorical or data.multi_valued): its tables' decay instead of
  // embedding_weight_decay. Row-sparse tables also decay the steps a row was not looked up.
  std::map<std::string, double> embedding_weight_decay_by_field{};
  // The wide part (tensors "wide/...": logistic, the linear part of wide_deep, deepfm and mf):
  // "same" (optimizer.type) or "ftrl". type: ftrl updates every tensor by FTRL.
  std::string wide = "same";
  double ftrl_alpha = 0.05;  // FTRL-Proximal: per-coordinate rate alpha / (beta + sqrt(n))
  // Small: the gradients are means over the batch, so n (their squares' sum) is small too (the
  // paper's beta = 1 is for one example's gradient).
  double ftrl_beta = 0.001;
  double ftrl_l1 = 0.0;  // L1 (sparsity) and L2 of FTRL's weights (biases: none)
  double ftrl_l2 = 0.0;
  double clip_norm = 0.0;  // clip the global gradient norm to this (0: off)
  // Learning-rate schedule: `schedule` shapes it after a linear warm-up of warmup_steps.
  std::string schedule = "constant";  // constant | step | cosine | plateau
  int64_t warmup_steps = 0;
  int64_t decay_every_steps = 1000;  // step: multiply by decay_factor every this many steps
  double decay_factor = 0.1;         // step, plateau
  // plateau: the rate is multiplied by decay_factor each time checkpoint.keep_best's metric has gone
  // this many evaluations without improving (on the validation rows); min_learning_rate is its floor.
  int64_t plateau_patience = 1;
  double min_learning_rate = 0.0;  // cosine: the floor at the last step; plateau: the floor
  int64_t scale_with_batch = 0;    // if > 0: learning_rate is for this global batch; scaled linearly
};

}  // namespace ectrain::optim
