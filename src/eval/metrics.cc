#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <vector>

#include "kernels/cpu_kernels.h"

namespace ectrain::eval {
namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
double Ratio(double a, double b) { return b > 0 ? a / b : kNaN; }
}  // namespace

double Metrics::Get(std::string_view name) const {
  for (const auto& [key, value] : values) {
    if (key == name) return value;
  }
  return kNaN;
}

bool Metrics::Has(std::string_view name) const {
  return std::any_of(values.begin(), values.end(), [&](const auto& kv) { return kv.first == name; });
}

double RocAuc(std::span<const float> scores, std::span<const float> labels) {
  const size_t n = scores.size();
  // NaN compares unequal to itself: it would break the sort's ordering and the tie loop below.
  if (std::any_of(scores.begin(), scores.end(), [](float s) { return std::isnan(s); })) return kNaN;
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
  if (positives == 0 || negatives == 0) return kNaN;
  const double p = static_cast<double>(positives);
  return (positive_rank_sum - p * (p + 1) / 2) / (p * static_cast<double>(negatives));
}

Metrics ComputeBinaryMetrics(std::span<const float> logits, std::span<const float> labels) {
  Metrics m;
  m.count = static_cast<int64_t>(logits.size());
  if (m.count == 0) return m;
  const double loss = kernels::BceWithLogits(logits.data(), labels.data(), m.count, 0.0f, nullptr);
  int64_t true_positives = 0, false_positives = 0, false_negatives = 0, correct = 0;
  double label_sum = 0.0, prediction_sum = 0.0;
  for (int64_t i = 0; i < m.count; ++i) {
    const float p = kernels::Sigmoid(logits[i]);
    const bool predicted = p > 0.5f;
    const bool actual = labels[i] > 0.5f;
    correct += predicted == actual;
    true_positives += predicted && actual;
    false_positives += predicted && !actual;
    false_negatives += !predicted && actual;
    label_sum += labels[i];
    prediction_sum += p;
  }
  const auto n = static_cast<double>(m.count);
  const double precision = Ratio(true_positives, true_positives + false_positives);
  const double recall = Ratio(true_positives, true_positives + false_negatives);
  const double f1 = Ratio(2.0 * true_positives, 2.0 * true_positives + false_positives + false_negatives);
  m.values = {{"auc", RocAuc(logits, labels)},  // sigmoid is monotone: the AUC of logits is that of probabilities
              {"log_loss", loss / n},
              {"accuracy", static_cast<double>(correct) / n},
              {"precision", precision},
              {"recall", recall},
              {"f1", f1},
              {"positive_rate", label_sum / n},
              {"mean_prediction", prediction_sum / n},
              {"calibration", Ratio(prediction_sum, label_sum)}};
  return m;
}

Metrics ComputeMulticlassMetrics(std::span<const float> logits, int num_classes, std::span<const float> labels,
                                 int top_k) {
  Metrics m;
  m.count = static_cast<int64_t>(labels.size());
  m.num_classes = num_classes;
  m.confusion.assign(static_cast<size_t>(num_classes) * num_classes, 0);
  top_k = std::clamp(top_k, 1, num_classes);
  double loss = 0;
  int64_t correct = 0, in_top_k = 0;
  for (int64_t i = 0; i < m.count; ++i) {
    const float* z = logits.data() + i * num_classes;
    const int truth = static_cast<int>(labels[i]);
    const int predicted = static_cast<int>(std::max_element(z, z + num_classes) - z);
    const float max = z[predicted];
    double sum = 0;
    int above = 0;  // classes scored above the true one: it is in the top k when fewer than k are
    for (int c = 0; c < num_classes; ++c) {
      sum += std::exp(static_cast<double>(z[c] - max));
      above += z[c] > z[truth] || (z[c] == z[truth] && c < truth);
    }
    loss += std::log(sum) - static_cast<double>(z[truth] - max);
    correct += predicted == truth;
    in_top_k += above < top_k;
    ++m.confusion[static_cast<size_t>(truth) * num_classes + predicted];
  }
  // Macro F1 over the classes that occur (as truth or prediction): F1 = 2 TP / (2 TP + FP + FN).
  double f1_sum = 0;
  int classes_seen = 0;
  for (int c = 0; c < num_classes; ++c) {
    int64_t tp = m.confusion[static_cast<size_t>(c) * num_classes + c], row = 0, column = 0;
    for (int o = 0; o < num_classes; ++o) {
      row += m.confusion[static_cast<size_t>(c) * num_classes + o];
      column += m.confusion[static_cast<size_t>(o) * num_classes + c];
    }
    if (row + column == 0) continue;
    ++classes_seen;
    f1_sum += 2.0 * tp / static_cast<double>(row + column);
  }
  const double n = std::max<double>(static_cast<double>(m.count), 1);
  m.values = {{"log_loss", loss / n},
              {"accuracy", correct / n},
              {"top" + std::to_string(top_k) + "_accuracy", in_top_k / n},
              {"macro_f1", classes_seen > 0 ? f1_sum / classes_seen : kNaN}};
  return m;
}

Metrics ComputeRegressionMetrics(std::span<const float> predictions, std::span<const float> labels) {
  Metrics m;
  m.count = static_cast<int64_t>(labels.size());
  double squared = 0, absolute = 0, label_sum = 0, prediction_sum = 0;
  for (int64_t i = 0; i < m.count; ++i) {
    const double e = static_cast<double>(predictions[i]) - labels[i];
    squared += e * e;
    absolute += std::fabs(e);
    label_sum += labels[i];
    prediction_sum += predictions[i];
  }
  const double n = std::max<double>(static_cast<double>(m.count), 1);
  m.values = {{"rmse", std::sqrt(squared / n)},
              {"mae", absolute / n},
              {"mean_label", label_sum / n},
              {"mean_prediction", prediction_sum / n}};
  return m;
}

void RankingMetrics::AddUser(std::span<const float> scores, std::span<const int64_t> positives) {
  if (positives.empty()) return;
  double dcg = 0, ideal = 0;
  int found = 0;
  for (int64_t p : positives) {
    // Its rank: candidates scored higher, or equal with a smaller index.
    int64_t rank = 0;
    for (size_t c = 0; c < scores.size() && rank < k_; ++c) {
      rank += scores[c] > scores[p] || (scores[c] == scores[p] && static_cast<int64_t>(c) < p);
    }
    if (rank < k_) {
      ++found;
      dcg += 1.0 / std::log2(static_cast<double>(rank) + 2);
    }
  }
  for (int r = 0; r < std::min<int>(k_, static_cast<int>(positives.size())); ++r) ideal += 1.0 / std::log2(r + 2.0);
  ++users_;
  hits_ += found > 0;
  ndcg_ += dcg / ideal;
  recall_ += static_cast<double>(found) / static_cast<double>(positives.size());
}

Metrics RankingMetrics::Result() const {
  Metrics m;
  m.count = users_;
  const double n = std::max<double>(static_cast<double>(users_), 1);
  const std::string k = std::to_string(k_);
  m.values = {{"hr@" + k, hits_ / n}, {"ndcg@" + k, ndcg_ / n}, {"recall@" + k, recall_ / n}};
  return m;
}

bool HigherIsBetter(std::string_view metric) {
  for (std::string_view lower : {"log_loss", "rmse", "mae"}) {
    if (metric == lower) return false;
  }
  return true;
}

bool IsRankingMetric(std::string_view metric) {
  for (std::string_view prefix : {"hr@", "ndcg@", "recall@"}) {
    if (metric.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

const std::vector<std::string>& KnownMetricNames() {
  static const std::vector<std::string> names = {"auc", "log_loss",    "accuracy", "precision", "recall",
                                                 "f1",  "calibration", "macro_f1", "rmse",      "mae"};
  return names;
}

std::string FormatMetrics(const Metrics& m) {
  std::string out;
  char buf[64];
  for (const auto& [name, value] : m.values) {
    std::snprintf(buf, sizeof(buf), "%.4f", value);
    out += name + " " + buf + "  ";
  }
  return out + "(n=" + std::to_string(m.count) + ")";
}

}  // namespace ectrain::eval
