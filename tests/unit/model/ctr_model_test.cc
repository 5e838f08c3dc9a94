// The whole model's backward against finite differences of its loss, parameter by parameter.
#include "model/ctr_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/rng.h"
#include "row_gradients.h"

namespace ectrain::model {
namespace {

struct Fixture {
  FeatureShape shape{3, {"a", "b"}, {4, 6}};
  std::vector<float> dense;
  std::vector<int32_t> ids;
  std::vector<float> labels;
  BatchView batch;

  explicit Fixture(int64_t rows) {
    Rng rng(11);
    for (int64_t r = 0; r < rows; ++r) {
      for (int d = 0; d < 3; ++d) dense.push_back(static_cast<float>(rng.Normal()));
      ids.push_back(static_cast<int32_t>(rng.Below(4)));
      ids.push_back(static_cast<int32_t>(rng.Below(6)));
      labels.push_back(rng.Uniform() < 0.4 ? 1.0f : 0.0f);
    }
    batch = {rows, dense.data(), 3, ids.data(), 2, labels.data()};
  }
};

// The output's bias starts where the labels' prior puts it: in the tensor the output adds last.
float BiasAfterPrior(const Model& model, const std::string& tensor, const std::vector<double>& prior, int64_t at = 0) {
  ParamArena params(model.layout());
  model.Initialize(params, 5);
  model.InitializeOutputBias(params, prior);
  for (const auto& spec : model.layout().specs()) {
    if (spec.name == tensor) return params.data()[spec.offset + at];
  }
  ADD_FAILURE() << "no tensor " << tensor;
  return 0;
}

TEST(CtrModel, OutputBiasStartsAtTheLabelsPrior) {
  Fixture f(1);
  const float log_odds = static_cast<float>(std::log(0.05 / 0.95));
  EXPECT_FLOAT_EQ(BiasAfterPrior(CtrModel(ModelOptions{"mlp", 5, {7}}, f.shape), "output/bias", {0.05}), log_odds);
  EXPECT_FLOAT_EQ(BiasAfterPrior(CtrModel(ModelOptions{"logistic", 5, {}}, f.shape), "wide/bias", {0.05}), log_odds);
  // wide_deep adds two parts: only the deep output's bias carries the prior.
  CtrModel wide_deep(ModelOptions{"wide_deep", 5, {7}}, f.shape);
  EXPECT_FLOAT_EQ(BiasAfterPrior(wide_deep, "output/bias", {0.05}), log_odds);
  EXPECT_FLOAT_EQ(BiasAfterPrior(wide_deep, "wide/bias", {0.05}), 0.0f);
  // A positive rate of 0 or 1 gives a finite bias.
  EXPECT_TRUE(std::isfinite(BiasAfterPrior(CtrModel(ModelOptions{"mlp", 5, {7}}, f.shape), "output/bias", {0.0})));
  ModelOptions classifier{"classifier", 5, {7}};
  classifier.num_classes = 3;
  CtrModel multiclass(classifier, f.shape);
  for (int c = 0; c < 3; ++c) {
    const double share = std::vector<double>{0.5, 0.3, 0.2}[c];
    EXPECT_FLOAT_EQ(BiasAfterPrior(multiclass, "output/bias", {0.5, 0.3, 0.2}, c), static_cast<float>(std::log(share)));
  }
  ModelOptions ratings{"mlp", 5, {7}};
  ratings.loss = "mse";
  EXPECT_FLOAT_EQ(BiasAfterPrior(CtrModel(ratings, f.shape), "output/bias", {3.5}), 3.5f);
}

TEST(CtrModel, LayoutNamesEveryTensor) {
  Fixture f(1);
  CtrModel model(ModelOptions{"mlp", 5, {7, 4}}, f.shape);
  std::vector<std::string> names;
  for (const auto& spec : model.layout().specs()) names.push_back(spec.name);
  EXPECT_EQ(names, (std::vector<std::string>{"embedding/a", "embedding/b", "dense_0/weight", "dense_0/bias",
                                             "dense_1/weight", "dense_1/bias", "output/weight", "output/bias"}));
  EXPECT_EQ(model.layout().spec(2).rows, 2 * 5 + 3);  // two embeddings + three dense columns
  EXPECT_EQ(model.layout().num_parameters(), 4 * 5 + 6 * 5 + 13 * 7 + 7 + 7 * 4 + 4 + 4 + 1);
}

TEST(CtrModel, WorkspaceHoldsTheLargestBatchsActivationsAndGradients) {
  Fixture large(9), small(4);
  CtrModel model(ModelOptions{"mlp", 5, {7, 4}}, large.shape);
  ParamArena params(model.layout()), grads(model.layout());
  model.Initialize(params, 5);
  EXPECT_EQ(model.workspace_bytes(), 0);
  model.ForwardBackward(large.batch, params, grads, 1.0f);
  // One block; per row, each twice (value and gradient): x0 (2 x 5 + 3), the layers' 7 + 4 + 1
  // units and the output; and the wide/FM term's row. Each buffer starts on a 64-byte line.
  const auto floats = [](int64_t per_row) { return (9 * per_row + 15) / 16 * 16; };
  const int64_t block = 2 * (floats(13) + floats(7) + floats(4) + floats(1) + floats(1)) + floats(1);
  EXPECT_EQ(model.workspace_bytes(), block * 4);
  model.ForwardBackward(small.batch, params, grads, 1.0f);  // a smaller batch reuses it
  EXPECT_EQ(model.workspace_bytes(), block * 4);
}

TEST(CtrModel, GradientMatchesFiniteDifferences) {
  Fixture f(9);
  CtrModel model(ModelOptions{"mlp", 3, {6, 4}}, f.shape);
  ParamArena params(model.layout()), grads(model.layout());
  model.Initialize(params, 5);
  // Move biases off zero so every ReLU unit is exercised on both sides.
  Rng rng(3);
  for (int64_t i = 0; i < params.size(); ++i) params.data()[i] += static_cast<float>(rng.Uniform(-0.2, 0.2));
  const float scale = 1.0f / 9;
  model.ForwardBackward(f.batch, params, grads, scale);
  ParamArena scratch(model.layout());
  auto loss = [&] { return scale * model.ForwardBackward(f.batch, params, scratch, scale); };
  const double h = 1e-3;  // small enough that no ReLU input crosses zero
  int checked = 0;
  for (const auto& spec : model.layout().specs()) {
    for (int64_t j = 0; j < spec.size(); ++j) {
      float& p = params.data()[spec.offset + j];
      const float saved = p;
      p = static_cast<float>(saved + h);
      double up = loss();
      p = static_cast<float>(saved - h);
      double down = loss();
      p = saved;
      double numeric = (up - down) / (2 * h);
      EXPECT_NEAR(grads.data()[spec.offset + j], numeric, 2e-3 * (1 + std::fabs(numeric)))
          << spec.name << "[" << j << "]";
      ++checked;
    }
  }
  EXPECT_EQ(checked, model.layout().num_parameters());
}

// The same check with a multi-valued field (rows of 0..3 ids, repeats included), pooled by mean.
TEST(CtrModel, GradientMatchesFiniteDifferencesWithAMultiValuedField) {
  Fixture f(7);
  f.shape.bag_names = {"genres"};
  f.shape.bag_vocab_sizes = {5};
  std::vector<int64_t> offsets{0};
  std::vector<int32_t> values;
  Rng rng(21);
  for (int r = 0; r < 7; ++r) {
    const int n = r % 4;
    for (int k = 0; k < n; ++k) values.push_back(static_cast<int32_t>(rng.Below(5)));
    offsets.push_back(static_cast<int64_t>(values.size()));
  }
  const BagColumnView bag{offsets.data(), values.data()};
  BatchView batch = f.batch;
  batch.bags = &bag;
  batch.num_bags = 1;
  CtrModel model(ModelOptions{"mlp", 3, {5}}, f.shape);
  EXPECT_EQ(model.layout().spec(2).name, "embedding_bag/genres");
  EXPECT_EQ(model.layout().spec(3).rows, 3 * 3 + 3);  // two embeddings + one pooled bag + three dense
  ParamArena params(model.layout()), grads(model.layout()), scratch(model.layout());
  model.Initialize(params, 8);
  for (int64_t i = 0; i < params.size(); ++i) params.data()[i] += static_cast<float>(rng.Uniform(-0.2, 0.2));
  const float scale = 1.0f / 7;
  // Rows 2..6 only: the bag's row numbering starts where the view does.
  const BatchView slice = SliceRows(batch, 2, 7);
  RowSelection touched;
  touched.Reset(static_cast<int>(model.layout().specs().size()));
  touched.SetSparse(2, model.layout().spec(2).rows, model.layout().spec(2).cols);
  model.ForwardBackward(slice, params, grads, scale, &touched);
  std::vector<int64_t> expected_ids;  // distinct, in the order first looked up
  for (auto v = values.begin() + offsets[2]; v != values.end(); ++v) {
    if (std::find(expected_ids.begin(), expected_ids.end(), *v) == expected_ids.end()) expected_ids.push_back(*v);
  }
  EXPECT_EQ(touched.rows(2), expected_ids);
  auto loss = [&] { return scale * model.ForwardBackward(slice, params, scratch, scale); };
  const double h = 1e-3;
  for (int i = 0; i < static_cast<int>(model.layout().specs().size()); ++i) {
    const ParamSpec& spec = model.layout().spec(i);
    for (int64_t j = 0; j < spec.size(); ++j) {
      float& p = params.data()[spec.offset + j];
      const float saved = p;
      p = static_cast<float>(saved + h);
      const double up = loss();
      p = static_cast<float>(saved - h);
      const double down = loss();
      p = saved;
      const double numeric = (up - down) / (2 * h);
      EXPECT_NEAR(ectrain::testing::GradientAt(grads, touched, model.layout(), i, j), numeric,
                  2e-3 * (1 + std::fabs(numeric)))
          << spec.name << "[" << j << "]";
    }
  }
}

TEST(CtrModel, ForwardGivesTheLogitsTheLossUses) {
  Fixture f(5);
  CtrModel model(ModelOptions{"mlp", 4, {8}}, f.shape);
  ParamArena params(model.layout()), grads(model.layout());
  model.Initialize(params, 1);
  std::vector<float> logits(5);
  model.Forward(f.batch, params, logits.data());
  double expected = 0;
  for (int i = 0; i < 5; ++i) {
    double z = logits[i];
    expected += std::max(z, 0.0) - z * f.labels[i] + std::log1p(std::exp(-std::fabs(z)));
  }
  EXPECT_NEAR(model.ForwardBackward(f.batch, params, grads, 1.0f), expected, 1e-5);
}

TEST(CtrModel, EmptyBatchAddsNothing) {
  Fixture f(2);
  CtrModel model(ModelOptions{"mlp", 4, {8}}, f.shape);
  ParamArena params(model.layout()), grads(model.layout());
  model.Initialize(params, 1);
  BatchView empty = f.batch;
  empty.num_rows = 0;
  EXPECT_EQ(model.ForwardBackward(empty, params, grads, 1.0f), 0.0);
  for (int64_t i = 0; i < grads.size(); ++i) ASSERT_EQ(grads.data()[i], 0.0f);
}

TEST(CtrModel, InitializationDependsOnlyOnTheSeed) {
  Fixture f(1);
  CtrModel model(ModelOptions{"mlp", 4, {8}}, f.shape);
  ParamArena a(model.layout()), b(model.layout()), c(model.layout());
  model.Initialize(a, 7);
  model.Initialize(b, 7);
  model.Initialize(c, 8);
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
  EXPECT_NE(0, std::memcmp(a.data(), c.data(), a.size() * sizeof(float)));
}

}  // namespace
}  // namespace ectrain::model
