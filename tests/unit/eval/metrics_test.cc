#include "eval/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace ectrain::eval {
namespace {

TEST(RocAuc, PerfectAndReversedRankings) {
  std::vector<float> labels{0, 0, 1, 1};
  EXPECT_DOUBLE_EQ(RocAuc(std::vector<float>{0.1f, 0.2f, 0.3f, 0.4f}, labels), 1.0);
  EXPECT_DOUBLE_EQ(RocAuc(std::vector<float>{0.4f, 0.3f, 0.2f, 0.1f}, labels), 0.0);
}

TEST(RocAuc, TiesCountOneHalf) {
  // All scores tied: every positive/negative pair counts 1/2.
  EXPECT_DOUBLE_EQ(RocAuc(std::vector<float>{0.5f, 0.5f, 0.5f}, std::vector<float>{0, 1, 1}), 0.5);
  // Pairs (pos, neg): (0.8,0.2)=1, (0.8,0.5)=1, (0.5,0.2)=1, (0.5,0.5)=1/2 -> 3.5 / 4.
  EXPECT_DOUBLE_EQ(RocAuc(std::vector<float>{0.2f, 0.5f, 0.5f, 0.8f}, std::vector<float>{0, 0, 1, 1}), 0.875);
  // Positives score 2, 2, 3; negatives 1, 2. Each 2 beats 1 and ties 2: 1.5 twice; 3 beats both: 2.
  // (1.5 + 1.5 + 2) / (3 * 2) = 5/6.
  EXPECT_NEAR(RocAuc(std::vector<float>{1, 2, 2, 2, 3}, std::vector<float>{0, 1, 0, 1, 1}), 5.0 / 6.0, 1e-12);
}

// NaN compares unequal to itself; it once broke the sort and the tie loop (an endless loop).
TEST(RocAuc, NaNScoresGiveNaNAtOnce) {
  const float nan = std::nanf("");
  EXPECT_TRUE(std::isnan(RocAuc(std::vector<float>{nan, nan, 0.3f, nan}, std::vector<float>{0, 1, 1, 0})));
}

TEST(RocAuc, OneClassIsUndefined) {
  EXPECT_TRUE(std::isnan(RocAuc(std::vector<float>{0.1f, 0.2f}, std::vector<float>{1, 1})));
}

TEST(BinaryMetrics, AllFieldsByHand) {
  // logits 0 -> p 0.5, ln(3) -> 0.75, -ln(3) -> 0.25
  std::vector<float> logits{0.0f, std::log(3.0f), -std::log(3.0f), std::log(3.0f)};
  std::vector<float> labels{1, 1, 0, 0};
  Metrics m = ComputeBinaryMetrics(logits, labels);
  EXPECT_EQ(m.count, 4);
  EXPECT_NEAR(m.Get("log_loss"), -(std::log(0.5) + std::log(0.75) + std::log(0.75) + std::log(0.25)) / 4, 1e-6);
  EXPECT_DOUBLE_EQ(m.Get("accuracy"), 0.5);  // 0.5 is not > 0.5; 0.75 right; 0.25 right; 0.75 wrong
  EXPECT_DOUBLE_EQ(m.Get("positive_rate"), 0.5);
  EXPECT_NEAR(m.Get("mean_prediction"), (0.5 + 0.75 + 0.25 + 0.75) / 4, 1e-6);
  // positives score {0, ln3}, negatives {-ln3, ln3}: wins 1 + 1 + 0 + 0.5 = 2.5 of 4
  EXPECT_DOUBLE_EQ(m.Get("auc"), 0.625);
  // Predicted positive: rows 1 (right) and 3 (wrong); missed: row 0. TP 1, FP 1, FN 1.
  EXPECT_DOUBLE_EQ(m.Get("precision"), 0.5);
  EXPECT_DOUBLE_EQ(m.Get("recall"), 0.5);
  EXPECT_DOUBLE_EQ(m.Get("f1"), 0.5);
  EXPECT_NEAR(m.Get("calibration"), 2.25 / 2.0, 1e-6);  // sum of predictions over sum of labels
  EXPECT_TRUE(std::isnan(m.Get("rmse"))) << "a binary evaluation has no rmse";
  EXPECT_EQ(FormatMetrics(m).substr(0, 11), "auc 0.6250 ");
}

TEST(MulticlassMetrics, AccuracyTopKMacroF1AndConfusionByHand) {
  // 3 classes, 4 rows. Predictions (argmax): 0, 2, 1, 2; truth: 0, 1, 1, 2.
  std::vector<float> logits{3, 1, 0, 0, 1, 2, 0, 5, 1, 1, 0, 4};
  std::vector<float> labels{0, 1, 1, 2};
  Metrics m = ComputeMulticlassMetrics(logits, 3, labels, /*top_k=*/2);
  EXPECT_DOUBLE_EQ(m.Get("accuracy"), 0.75);
  EXPECT_DOUBLE_EQ(m.Get("top2_accuracy"), 1.0);  // row 1: class 1 is second
  // Per class F1: class 0: TP1 FP0 FN0 -> 1; class 1: TP1 FP0 FN1 -> 2/3; class 2: TP1 FP1 FN0 -> 2/3.
  EXPECT_NEAR(m.Get("macro_f1"), (1 + 2.0 / 3 + 2.0 / 3) / 3, 1e-12);
  const std::vector<int64_t> confusion{1, 0, 0, 0, 1, 1, 0, 0, 1};
  EXPECT_EQ(m.confusion, confusion);
  // Row 0's softmax cross-entropy: log(e^3 + e^1 + e^0) - 3.
  double expected = 0;
  for (int r = 0; r < 4; ++r) {
    const float* z = logits.data() + 3 * r;
    expected += std::log(std::exp(z[0]) + std::exp(z[1]) + std::exp(z[2])) - z[static_cast<int>(labels[r])];
  }
  EXPECT_NEAR(m.Get("log_loss"), expected / 4, 1e-6);
}

TEST(RegressionMetrics, RmseAndMaeByHand) {
  Metrics m = ComputeRegressionMetrics(std::vector<float>{3, 4, 2}, std::vector<float>{4, 4, 5});
  EXPECT_NEAR(m.Get("rmse"), std::sqrt((1.0 + 0 + 9) / 3), 1e-12);
  EXPECT_NEAR(m.Get("mae"), 4.0 / 3, 1e-12);
  EXPECT_FALSE(HigherIsBetter("rmse"));
  EXPECT_TRUE(HigherIsBetter("auc"));
}

TEST(RankingMetrics, HitRateNdcgAndRecallByHand) {
  RankingMetrics ranking(2);
  // User A: positive at index 2, ranked first -> hr 1, ndcg 1, recall 1.
  ranking.AddUser(std::vector<float>{0.1f, 0.2f, 0.9f, 0.3f}, std::vector<int64_t>{2});
  // User B: positives 0 (rank 1) and 3 (rank 3, outside the top 2): hr 1, recall 1/2,
  // ndcg = (1/log2(3)) / (1 + 1/log2(3)).
  ranking.AddUser(std::vector<float>{0.5f, 0.9f, 0.1f, 0.2f}, std::vector<int64_t>{0, 3});
  // User C: a tie with a lower index ranks the positive second: hr 1, ndcg 1/log2(3).
  ranking.AddUser(std::vector<float>{0.7f, 0.7f, 0.1f}, std::vector<int64_t>{1});
  // User D: the positive ranks last -> 0.
  ranking.AddUser(std::vector<float>{0.9f, 0.8f, 0.1f}, std::vector<int64_t>{2});
  Metrics m = ranking.Result();
  EXPECT_EQ(m.count, 4);
  EXPECT_DOUBLE_EQ(m.Get("hr@2"), 0.75);
  EXPECT_NEAR(m.Get("recall@2"), (1 + 0.5 + 1 + 0) / 4, 1e-12);
  const double l3 = 1 / std::log2(3.0);
  EXPECT_NEAR(m.Get("ndcg@2"), (1 + l3 / (1 + l3) + l3 + 0) / 4, 1e-12);
}

}  // namespace
}  // namespace ectrain::eval
