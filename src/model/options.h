// Settings of the model module, filled and validated by config/; plain values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ectrain::model {

struct ModelOptions {
  std::string type = "mlp";
  int64_t embedding_dim = 16;
  std::vector<int64_t> hidden_units = {64, 32};
};

}  // namespace ectrain::model
