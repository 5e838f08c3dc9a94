// Optimizer steps against values computed by hand (see the comments for the arithmetic).
#include "optim/optimizer.h"

#include <gtest/gtest.h>

namespace ectrain::optim {
namespace {

ParamLayout OneParam() {
  ParamLayout layout;
  layout.Add("w", 1, 1, ParamKind::kDenseWeight);
  return layout;
}

TEST(Adam, TwoStepsMatchHandComputedValues) {
  ParamLayout layout = OneParam();
  ParamArena params(layout), grads(layout);
  OptimOptions options{"adam", 0.1, 0.9, 0.999, 1e-8};
  auto adam = Optimizer::Create(options, layout);
  params.data()[0] = 1.0f;
  // t=1, g=0.5: m=0.05, v=0.00025, m^=0.5, v^=0.25 -> p = 1 - 0.1*0.5/(0.5+1e-8) = 0.9
  grads.data()[0] = 0.5f;
  adam->Step(params, grads);
  EXPECT_NEAR(params.data()[0], 0.9, 1e-6);
  // t=2, g=-1: m=-0.055, v=0.00124975, m^=-0.2894737, v^=0.6251876 -> p = 0.9366104
  grads.data()[0] = -1.0f;
  adam->Step(params, grads);
  EXPECT_NEAR(params.data()[0], 0.9366103542, 1e-6);
  EXPECT_EQ(adam->step_count(), 2);
  ASSERT_EQ(adam->state().size(), 2u);
  EXPECT_NEAR(adam->state()[0].second->data()[0], -0.055, 1e-7);
  EXPECT_NEAR(adam->state()[1].second->data()[0], 0.00124975, 1e-7);  // float: 1 - 0.999 is inexact
}

TEST(Sgd, StepIsLearningRateTimesGradient) {
  ParamLayout layout;
  layout.Add("w", 2, 2, ParamKind::kDenseWeight);
  ParamArena params(layout), grads(layout);
  OptimOptions options;
  options.type = "sgd";
  options.learning_rate = 0.5;
  auto sgd = Optimizer::Create(options, layout);
  EXPECT_EQ(sgd->type(), "sgd");
  for (int i = 0; i < 4; ++i) {
    params.data()[i] = static_cast<float>(i);
    grads.data()[i] = 1.0f - static_cast<float>(i);
  }
  sgd->Step(params, grads);
  EXPECT_FLOAT_EQ(params.data()[0], 0 - 0.5f * 1);
  EXPECT_FLOAT_EQ(params.data()[1], 1 - 0.5f * 0);
  EXPECT_FLOAT_EQ(params.data()[3], 3 - 0.5f * -2);
  EXPECT_TRUE(sgd->state().empty());
}

TEST(Adam, RowSparseUpdatesTouchOnlyTheListedRows) {
  ParamLayout layout;
  layout.Add("table", 4, 2, ParamKind::kEmbedding);
  layout.Add("w", 1, 3, ParamKind::kDenseWeight);
  ParamArena lazy_params(layout), dense_params(layout), grads(layout);
  for (int64_t i = 0; i < lazy_params.size(); ++i) lazy_params.data()[i] = dense_params.data()[i] = 0.5f;
  const ParamSpec& table = layout.spec(0);
  grads.data()[table.offset + 1 * 2] = 0.3f;  // row 1
  grads.data()[table.offset + 3 * 2 + 1] = -0.2f;  // row 3
  for (int i = 0; i < 3; ++i) grads.data()[layout.spec(1).offset + i] = 0.1f * (i + 1);
  RowSelection rows;
  rows.Reset(2);
  rows.SetSparse(0, true);
  rows.rows(0) = {1, 3};
  auto lazy = Optimizer::Create(OptimOptions{}, layout);
  auto dense = Optimizer::Create(OptimOptions{}, layout);
  lazy->Step(lazy_params, grads, &rows);
  dense->Step(dense_params, grads);
  // Listed rows and whole tensors match the dense update; unlisted rows did not move.
  for (int64_t row : {1, 3}) {
    for (int c = 0; c < 2; ++c) {
      EXPECT_EQ(lazy_params.data()[table.offset + row * 2 + c], dense_params.data()[table.offset + row * 2 + c]);
    }
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(lazy_params.data()[layout.spec(1).offset + i], dense_params.data()[layout.spec(1).offset + i]);
  }
  for (int64_t row : {0, 2}) {
    EXPECT_EQ(lazy_params.data()[table.offset + row * 2], 0.5f);
    EXPECT_EQ(lazy->state()[0].second->data()[table.offset + row * 2], 0.0f);
  }
  // A second lazy step on row 0 only: row 1 keeps its value (its momentum does not carry it on).
  const float row1 = lazy_params.data()[table.offset + 2];
  grads.SetZero();
  grads.data()[table.offset] = 1.0f;
  rows.rows(0) = {0};
  lazy->Step(lazy_params, grads, &rows);
  EXPECT_EQ(lazy_params.data()[table.offset + 2], row1);
  EXPECT_NE(lazy_params.data()[table.offset], 0.5f);
}

}  // namespace
}  // namespace ectrain::optim
