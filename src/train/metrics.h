// Binary-classification metrics over a whole evaluation set, computed exactly (no sampling).
// Pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace ectrain::train {

struct BinaryMetrics {
  int64_t count = 0;
  double log_loss = 0.0;        // mean binary cross-entropy
  double auc = 0.0;             // ROC AUC; ties count one half; NaN when only one class is present
  double accuracy = 0.0;        // prediction > 0.5 vs label > 0.5
  double positive_rate = 0.0;   // mean label
  double mean_prediction = 0.0; // mean predicted probability
};

// `logits` and `labels` are parallel; labels in [0, 1].
BinaryMetrics ComputeBinaryMetrics(std::span<const float> logits, std::span<const float> labels);

// ROC AUC of scores against 0/1 labels (label > 0.5 is positive), by the rank-sum statistic with
// tied scores given their average rank.
double RocAuc(std::span<const float> scores, std::span<const float> labels);

// "auc 0.9312  log_loss 0.2561  accuracy 0.8972  positive_rate 0.1546  (n=2441)"
std::string FormatMetrics(const BinaryMetrics& m);

}  // namespace ectrain::train
