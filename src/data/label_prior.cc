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

StatusOr<bool> LabelsAreZeroOrOne(const std::string& path, const std::string& label, int64_t max_rows) {
  FeatureSchema labels_only;  // read as numbers: any finite value passes, so each can be looked at
  labels_only.label = label;
  labels_only.label_type = "regression";
  ASSIGN_OR_RETURN(ColumnFile file, ColumnFile::Open(path));
  ASSIGN_OR_RETURN(const int64_t in_file, file.Bind(labels_only, /*with_labels=*/true));
  std::vector<float> labels(static_cast<size_t>(std::min(in_file, max_rows)));
  RowsOut out;
  out.labels = labels.data();
  ReadScratch scratch;
  RETURN_IF_ERROR(file.ReadRows(0, static_cast<int64_t>(labels.size()), out, scratch));
  return std::all_of(labels.begin(), labels.end(), [](float v) { return v == 0.0f || v == 1.0f; });
}

}  // namespace ectrain::data
