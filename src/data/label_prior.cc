#include "data/label_prior.h"

#include <algorithm>

#include "data/column_file.h"

namespace ectrain::data {

StatusOr<std::vector<double>> LabelPrior(const std::vector<std::string>& files, const FeatureSchema& schema,
                                         int64_t max_rows) {
  // Only the label column is read.
  FeatureSchema labels_only;
  labels_only.label = schema.label;
  labels_only.label_type = schema.label_type;
  labels_only.label_classes = schema.label_classes;
  const bool classes = schema.label_type == "class";
  std::vector<double> sums(classes ? schema.label_classes.size() : 1, 0.0);
  int64_t rows = 0;
  std::vector<float> labels;
  ReadScratch scratch;
  for (const std::string& path : files) {
    if (rows >= max_rows) break;
    ASSIGN_OR_RETURN(ColumnFile file, ColumnFile::Open(path));
    ASSIGN_OR_RETURN(const int64_t in_file, file.Bind(labels_only, /*with_labels=*/true));
    const int64_t take = std::min(in_file, max_rows - rows);
    labels.resize(static_cast<size_t>(take));
    RowsOut out;
    out.labels = labels.data();
    RETURN_IF_ERROR(file.ReadRows(0, take, out, scratch));
    for (const float label : labels) {
      if (classes) {
        const auto k = static_cast<size_t>(label);  // ReadRows checked the label; the guard keeps it so
        if (k < sums.size()) sums[k] += 1.0;
      } else {
        sums[0] += label;
      }
    }
    rows += take;
  }
  if (rows == 0) return DataError("the training data has no rows to take the label's prior from");
  for (double& sum : sums) sum /= static_cast<double>(rows);
  return sums;
}

}  // namespace ectrain::data
