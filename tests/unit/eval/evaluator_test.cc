#include "eval/evaluator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

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

std::string Written(const model::Model& model, const std::vector<float>& outputs,
                    const std::vector<std::string>& classes, const PredictionColumns& columns) {
  const std::string path = ::testing::TempDir() + "/predictions.csv";
  EXPECT_TRUE(WritePredictions(model, outputs, classes, path, columns).ok());
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::remove(path.c_str());
  return text.str();
}

model::ModelOptions Classifier(int64_t classes) {
  model::ModelOptions options;
  options.type = "classifier";
  options.loss = "softmax";
  options.hidden_units = {4};
  options.num_classes = classes;
  return options;
}

// A classifier's file holds every class's probability, one column per class named by its class
// (quoted where the name needs it), after the id column passed through; --top-k K the K most
// likely, most likely first, ties in class order.
TEST(WritePredictions, ClassifierGivesEveryClassOrTheTopK) {
  model::CtrModel model(Classifier(3), model::FeatureShape{1, {"k"}, {3}});
  // Logits whose softmax is (0.2, 0.5, 0.3), then (0.25, 0.25, 0.5).
  const std::vector<float> outputs = {std::log(0.2f),  std::log(0.5f),  std::log(0.3f),
                                      std::log(0.25f), std::log(0.25f), std::log(0.5f)};
  const std::vector<std::string> classes = {"Phones", "TVs, large", "say \"hi\""};
  const std::vector<std::string> ids = {"order-7", "8"};
  EXPECT_EQ(Written(model, outputs, classes, {"order_id", &ids, 0}),
            "order_id,Phones,\"TVs, large\",\"say \"\"hi\"\"\"\n"
            "order-7,0.199999996,0.500000004,0.3\n"
            "8,0.25,0.25,0.5\n");
  EXPECT_EQ(Written(model, outputs, classes, {"", nullptr, 2}),
            "top1_class,top1_prob,top2_class,top2_prob\n"
            "\"TVs, large\",0.500000004,\"say \"\"hi\"\"\",0.3\n"
            "\"say \"\"hi\"\"\",0.5,Phones,0.25\n");
  // K beyond the classes: every class, ranked.
  EXPECT_EQ(Written(model, outputs, {}, {"", nullptr, 9}).substr(0, 55),
            "top1_class,top1_prob,top2_class,top2_prob,top3_class,to");
}

// Binary and regression files are as before, with the id column first when asked.
TEST(WritePredictions, BinaryKeepsOneProbabilityColumn) {
  model::CtrModel model(model::ModelOptions{"logistic", 4, {}}, model::FeatureShape{1, {"k"}, {3}});
  const std::vector<std::string> ids = {"a", "b"};
  EXPECT_EQ(Written(model, {0.0f, 0.0f}, {}, {}), "probability\n0.5\n0.5\n");
  EXPECT_EQ(Written(model, {0.0f, 0.0f}, {}, {"session", &ids, 0}), "session,probability\na,0.5\nb,0.5\n");
  // Ids that do not match the rows are an error, not a read past their end.
  const std::vector<std::string> one = {"a"};
  const Status short_ids = WritePredictions(model, {0.0f, 0.0f}, {}, "-", {"session", &one, 0});
  EXPECT_EQ(short_ids.code(), StatusCode::kInternal);
  EXPECT_NE(short_ids.message().find("1 ids of 'session' for 2 rows"), std::string::npos) << short_ids.message();
}

}  // namespace
}  // namespace ectrain::eval
