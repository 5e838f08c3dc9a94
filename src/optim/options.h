// Settings of the optim module, filled and validated by config/; plain values.
#pragma once

#include <string>

namespace ectrain::optim {

struct OptimOptions {
  std::string type = "adam";  // adam | sgd
  double learning_rate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
};

}  // namespace ectrain::optim
