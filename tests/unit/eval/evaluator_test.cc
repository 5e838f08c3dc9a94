#include "eval/evaluator.h"

#include <gtest/gtest.h>

#include <limits>

#include "model/ctr_model.h"

namespace ectrain::eval {
namespace {

// Outputs that overflow (or parameters that hold NaN) give an error naming how many and where,
// never metrics or predictions made of them.
TEST(ScoreTable, NonFiniteOutputsAreAnError) {
  model::CtrModel model(model::ModelOptions{"logistic", 4, {}}, model::FeatureShape{1, {"k"}, {3}});
  ParamArena params(model.layout());
  model.Initialize(params, 1);
  data::Table table;
  table.num_rows = 3;
  table.num_dense = 1;
  table.num_categorical = 1;
  table.dense = {1.0f, 2.0f, 3.0f};
  table.categorical = {0, 1, 2};
  table.labels = {0, 1, 1};
  ASSERT_TRUE(ScoreTable(model, params, table, 2).ok());
  const ParamSpec& bias = model.layout().specs().back();
  params.data()[bias.offset] = std::numeric_limits<float>::infinity();
  StatusOr<std::vector<float>> scores = ScoreTable(model, params, table, 2);
  ASSERT_FALSE(scores.ok());
  EXPECT_EQ(scores.status().code(), StatusCode::kDataError);
  EXPECT_NE(scores.status().message().find("the model's output is not finite for 3 of 3 values (first in row 0)"),
            std::string::npos)
      << scores.status().message();
  EXPECT_FALSE(EvaluateTable(model, params, table, 2).ok());
}

}  // namespace
}  // namespace ectrain::eval
