#include "train/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <vector>

#include "kernels/cpu_kernels.h"

namespace ectrain::train {

double RocAuc(std::span<const float> scores, std::span<const float> labels) {
  const size_t n = scores.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double positive_rank_sum = 0.0;
  int64_t positives = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    double average_rank = 0.5 * static_cast<double>(i + 1 + j);  // ranks i+1..j
    for (size_t k = i; k < j; ++k) {
      if (labels[order[k]] > 0.5f) {
        positive_rank_sum += average_rank;
        ++positives;
      }
    }
    i = j;
  }
  const auto negatives = static_cast<int64_t>(n) - positives;
  if (positives == 0 || negatives == 0) return std::numeric_limits<double>::quiet_NaN();
  const double p = static_cast<double>(positives);
  return (positive_rank_sum - p * (p + 1) / 2) / (p * static_cast<double>(negatives));
}

BinaryMetrics ComputeBinaryMetrics(std::span<const float> logits, std::span<const float> labels) {
  BinaryMetrics m;
  m.count = static_cast<int64_t>(logits.size());
  if (m.count == 0) return m;
  double loss = kernels::BceWithLogits(logits.data(), labels.data(), m.count, 0.0f, nullptr);
  int64_t correct = 0;
  double label_sum = 0.0;
  double prediction_sum = 0.0;
  for (int64_t i = 0; i < m.count; ++i) {
    float p = kernels::Sigmoid(logits[i]);
    correct += ((p > 0.5f) == (labels[i] > 0.5f));
    label_sum += labels[i];
    prediction_sum += p;
  }
  const auto n = static_cast<double>(m.count);
  m.log_loss = loss / n;
  m.auc = RocAuc(logits, labels);  // sigmoid is monotone: the AUC of logits is the AUC of probabilities
  m.accuracy = static_cast<double>(correct) / n;
  m.positive_rate = label_sum / n;
  m.mean_prediction = prediction_sum / n;
  return m;
}

std::string FormatMetrics(const BinaryMetrics& m) {
  char buf[200];
  std::snprintf(buf, sizeof(buf), "auc %.4f  log_loss %.4f  accuracy %.4f  positive_rate %.4f  mean_prediction %.4f  (n=%lld)",
                m.auc, m.log_loss, m.accuracy, m.positive_rate, m.mean_prediction, static_cast<long long>(m.count));
  return buf;
}

}  // namespace ectrain::train
