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

}  // namespace
}  // namespace ectrain::optim
