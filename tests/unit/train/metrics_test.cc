#include "train/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace ectrain::train {
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

TEST(RocAuc, OneClassIsUndefined) {
  EXPECT_TRUE(std::isnan(RocAuc(std::vector<float>{0.1f, 0.2f}, std::vector<float>{1, 1})));
}

TEST(BinaryMetrics, AllFieldsByHand) {
  // logits 0 -> p 0.5, ln(3) -> 0.75, -ln(3) -> 0.25
  std::vector<float> logits{0.0f, std::log(3.0f), -std::log(3.0f), std::log(3.0f)};
  std::vector<float> labels{1, 1, 0, 0};
  BinaryMetrics m = ComputeBinaryMetrics(logits, labels);
  EXPECT_EQ(m.count, 4);
  EXPECT_NEAR(m.log_loss, -(std::log(0.5) + std::log(0.75) + std::log(0.75) + std::log(0.25)) / 4, 1e-6);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.5);  // 0.5 is not > 0.5; 0.75 right; 0.25 right; 0.75 wrong
  EXPECT_DOUBLE_EQ(m.positive_rate, 0.5);
  EXPECT_NEAR(m.mean_prediction, (0.5 + 0.75 + 0.25 + 0.75) / 4, 1e-6);
  // positives score {0, ln3}, negatives {-ln3, ln3}: wins 1 + 1 + 0 + 0.5 = 2.5 of 4
  EXPECT_DOUBLE_EQ(m.auc, 0.625);
}

}  // namespace
}  // namespace ectrain::train
