// `ectrain prepare`: a CSV with a header -> train and test HDF5 files in the columnar layout,
// with the seed's preprocessing. Statistics come from the training split only:
//   drop exact duplicate rows; seeded random train/test split; missing numeric values filled with
//   the training mean; dense columns standardized; categorical values mapped to ids 1..V in order
//   of first appearance in the training split (0 = unseen). The FeatureSchema (with those
//   statistics and vocabularies) is stored in both files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace ectrain::data {

struct PrepareRequest {
  std::string csv_path;
  char delimiter = ',';
  std::string label;
  std::vector<std::string> dense;
  std::vector<std::string> categorical;
  double test_fraction = 0.2;
  uint64_t seed = 1;
  bool drop_duplicates = true;
  std::string train_path;  // output
  std::string test_path;   // output
};

struct PrepareReport {
  int64_t rows_read = 0;
  int64_t duplicates_dropped = 0;
  int64_t train_rows = 0;
  int64_t test_rows = 0;
  double train_positive_rate = 0.0;
};

// Writes each output through a temporary name and a rename, so a failure leaves no half file.
StatusOr<PrepareReport> PrepareCsv(const PrepareRequest& request);

}  // namespace ectrain::data
