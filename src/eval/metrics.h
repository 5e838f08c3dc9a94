// Evaluation metrics over a whole evaluation set, computed exactly (no sampling). Each task has
// its own set; every set is a list of named values in report order, so the log line, metrics.jsonl,
// checkpoint.keep_best and early stopping all refer to a metric by the same name. Pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ectrain::eval {

struct Metrics {
  int64_t count = 0;  // rows (or users, for ranking) evaluated
  std::vector<std::pair<std::string, double>> values;
  int num_classes = 0;             // multiclass only:
  std::vector<int64_t> confusion;  // (num_classes, num_classes): row = true class, column = predicted

  // The value named `name`, or NaN when this set has no such metric.
  double Get(std::string_view name) const;
  bool Has(std::string_view name) const;
};

// Binary (labels 0/1, outputs are logits): auc, log_loss, accuracy, precision, recall, f1 (at
// probability > 0.5), positive_rate, mean_prediction, calibration (mean_prediction / positive_rate).
Metrics ComputeBinaryMetrics(std::span<const float> logits, std::span<const float> labels);

// Multiclass (labels are class ids 0..K-1, outputs are (rows, K) logits): log_loss (softmax
// cross-entropy), accuracy, top{k}_accuracy, macro_f1 (over the classes present in labels or
// predictions), and the confusion matrix.
Metrics ComputeMulticlassMetrics(std::span<const float> logits, int num_classes, std::span<const float> labels,
                                 int top_k = 5);

// Regression (outputs are predictions): rmse, mae, mean_label, mean_prediction.
Metrics ComputeRegressionMetrics(std::span<const float> predictions, std::span<const float> labels);

// Ranking for recommendation, user by user: each user's scores over the candidate items and the
// indices (into those scores) of the user's held-out positives. Ties rank by candidate index.
//   hr@K: 1 when any held-out positive is in the top K; recall@K: the share of them that is;
//   ndcg@K: sum over those in the top K of 1/log2(rank + 2), over the ideal sum. Means over users.
class RankingMetrics {
 public:
  explicit RankingMetrics(int k) : k_(k) {}
  void AddUser(std::span<const float> scores, std::span<const int64_t> positives);
  Metrics Result() const;  // hr@K, ndcg@K, recall@K; count = users

 private:
  int k_;
  int64_t users_ = 0;
  double hits_ = 0, ndcg_ = 0, recall_ = 0;
};

// True for metrics where larger is better (auc, accuracy, f1, hr@10, ...); false for losses and errors.
bool HigherIsBetter(std::string_view metric);

// True for the names RankingMetrics reports (hr@K, ndcg@K, recall@K).
bool IsRankingMetric(std::string_view metric);

// Every metric name a task can report, for validating checkpoint.keep_best ("hr@K" style names
// are matched by prefix).
const std::vector<std::string>& KnownMetricNames();

// ROC AUC of scores against 0/1 labels (label > 0.5 is positive), by the rank-sum statistic with
// tied scores given their average rank.
double RocAuc(std::span<const float> scores, std::span<const float> labels);

// "auc 0.9312  log_loss 0.2561  accuracy 0.8972 ...  (n=2441)"
std::string FormatMetrics(const Metrics& m);

}  // namespace ectrain::eval
