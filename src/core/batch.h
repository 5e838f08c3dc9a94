// BatchView: a non-owning view of rows ready for a model (features already encoded).
// Rows are row-major: dense is (num_rows, num_dense), categorical is (num_rows, num_categorical).
// Valid as long as the table it points into.
#pragma once

#include <cstdint>

namespace ectrain {

struct BatchView {
  int64_t num_rows = 0;
  const float* dense = nullptr;         // (num_rows, num_dense)
  int num_dense = 0;
  const int32_t* categorical = nullptr;  // (num_rows, num_categorical), ids in [0, vocab_size)
  int num_categorical = 0;
  const float* labels = nullptr;         // (num_rows), in [0, 1]; null when unlabelled
};

}  // namespace ectrain
