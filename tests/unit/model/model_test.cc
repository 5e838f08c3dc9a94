// Every model of the zoo against finite differences of its own loss, over every field kind (dense
// columns, categorical columns, a multi-valued field read through a row slice), with each
// embedding table row-sparse (`touched`) and `ready` counted; plus CreateModel's option checks.
#include "model/model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "core/rng.h"
#include "kernels/cpu_kernels.h"
#include "model/ctr_model.h"
#include "row_gradients.h"

namespace ectrain::model {
namespace {

// Seven rows: dense x1, x2 (none when `dense` is false); categorical user (5), item (6), color (3);
// multi-valued genres (5), rows of 0..3 ids with repeats. Tests use rows 2..6, so the bag numbering
// starts mid-table.
struct Inputs {
  FeatureShape shape{2, {"user", "item", "color"}, {5, 6, 3}, {"genres"}, {5}};
  std::vector<float> dense;
  std::vector<int32_t> ids;
  std::vector<int64_t> offsets{0};
  std::vector<int32_t> values;
  std::vector<float> labels;
  BagColumnView bag;
  BatchView all;

  explicit Inputs(Task task, int64_t classes = 1, bool with_dense = true) {
    Rng rng(11);
    if (!with_dense) shape.num_dense = 0;
    for (int r = 0; r < 7; ++r) {
      for (int d = 0; d < shape.num_dense; ++d) dense.push_back(static_cast<float>(rng.Normal()));
      ids.push_back(static_cast<int32_t>(rng.Below(5)));
      ids.push_back(static_cast<int32_t>(rng.Below(6)));
      ids.push_back(static_cast<int32_t>(rng.Below(3)));
      for (int k = 0; k < r % 4; ++k) values.push_back(static_cast<int32_t>(rng.Below(5)));
      offsets.push_back(static_cast<int64_t>(values.size()));
      if (task == Task::kBinary) labels.push_back(rng.Uniform() < 0.4 ? 1.0f : 0.0f);
      if (task == Task::kRegression) labels.push_back(static_cast<float>(rng.Uniform(-1.0, 1.0)));
      if (task == Task::kMulticlass) labels.push_back(static_cast<float>(rng.Below(static_cast<uint64_t>(classes))));
    }
    bag = {offsets.data(), values.data()};
    all = {7, dense.data(), shape.num_dense, ids.data(), 3, labels.data(), &bag, 1, 0};
  }
  BatchView Slice() const { return SliceRows(all, 2, 7); }
};

struct Case {
  std::string name;
  ModelOptions options;
  bool dense = true;  // the inputs have dense columns
};
void PrintTo(const Case& c, std::ostream* out) { *out << c.name; }

ModelOptions Options(std::string type) {
  ModelOptions o;
  o.type = std::move(type);
  o.embedding_dim = 3;
  o.hidden_units = {5};
  o.tower_units = {4, 3};
  o.user_fields = {"user"};
  o.user_field = "user";
  o.item_field = "item";
  o.num_classes = 3;
  return o;
}

std::vector<Case> Cases() {
  std::vector<Case> cases;
  for (const char* type : {"logistic", "mlp", "wide_deep", "deepfm", "dcn", "two_tower", "mf", "classifier"}) {
    cases.push_back({type, Options(type)});
  }
  Case c{"mlp_layer_norm_dropout_sum_bags", Options("mlp")};
  c.options.hidden_units = {6, 4};
  c.options.layer_norm = true;
  c.options.dropout = 0.3;
  c.options.bag_pooling = "sum";
  cases.push_back(c);
  c = {"mlp_mse", Options("mlp")};
  c.options.loss = "mse";
  cases.push_back(c);
  c = {"dcn_without_hidden_layers", Options("dcn")};
  c.options.hidden_units = {};
  c.options.cross_layers = 3;
  cases.push_back(c);
  c = {"deepfm_layer_norm_dropout", Options("deepfm")};
  c.options.layer_norm = true;
  c.options.dropout = 0.2;
  cases.push_back(c);
  c = {"two_tower_dense_on_item_side_layer_norm_dropout", Options("two_tower")};
  c.options.dense_tower = "item";
  c.options.item_fields = {"item", "genres"};
  c.options.user_fields = {"user", "color"};
  c.options.layer_norm = true;
  c.options.dropout = 0.25;
  c.options.tower_units = {5, 4, 3};
  cases.push_back(c);
  c = {"mf_bce", Options("mf")};
  c.options.loss = "bce";
  cases.push_back(c);
  c = {"classifier_class_weights", Options("classifier")};
  c.options.class_weights = {0.5, 2.0, 1.0};
  c.options.layer_norm = true;
  cases.push_back(c);
  // DLRM's dot interaction: the projected dense columns and the four fields (the bag among them).
  c = {"mlp_dot_interaction", Options("mlp")};
  c.options.interaction = "dot";
  c.options.hidden_units = {6, 4};
  cases.push_back(c);
  c = {"mlp_dot_interaction_without_dense_columns", Options("mlp")};
  c.options.interaction = "dot";
  c.options.bag_pooling = "sum";
  c.dense = false;
  cases.push_back(c);
  c = {"wide_deep_dot_interaction_layer_norm_dropout", Options("wide_deep")};
  c.options.interaction = "dot";
  c.options.layer_norm = true;
  c.options.dropout = 0.2;
  cases.push_back(c);
  // Hierarchical ids and embedding dropout (which leaves p and the dense columns alone).
  c = {"deepfm_item_under_color", Options("deepfm")};
  c.options.parents = {{"item", "color"}};
  cases.push_back(c);
  c = {"deepfm_embedding_dropout", Options("deepfm")};
  c.options.embedding_dropout = 0.3;
  cases.push_back(c);
  c = {"deepfm_item_under_color_embedding_dropout", Options("deepfm")};
  c.options.parents = {{"item", "color"}};
  c.options.embedding_dropout = 0.2;
  cases.push_back(c);
  c = {"mlp_dot_user_and_item_under_color_embedding_dropout", Options("mlp")};
  c.options.interaction = "dot";
  c.options.parents = {{"item", "color"}, {"user", "color"}};
  c.options.embedding_dropout = 0.25;
  cases.push_back(c);
  c = {"dcn_item_under_color", Options("dcn")};
  c.options.parents = {{"item", "color"}};
  cases.push_back(c);
  c = {"wide_deep_embedding_dropout", Options("wide_deep")};
  c.options.embedding_dropout = 0.4;
  cases.push_back(c);
  c = {"mf_bce_item_under_color_embedding_dropout", Options("mf")};
  c.options.loss = "bce";
  c.options.parents = {{"item", "color"}};
  c.options.embedding_dropout = 0.2;
  cases.push_back(c);
  c = {"classifier_dot_interaction_without_hidden_layers", Options("classifier")};
  c.options.interaction = "dot";
  c.options.hidden_units = {};
  cases.push_back(c);
  return cases;
}

class CountingListener : public GradientReadyListener {
 public:
  void OnGradientReady(int spec) override { ++counts[spec]; }
  std::map<int, int> counts;
};

class ZooTest : public ::testing::TestWithParam<Case> {};

std::unique_ptr<Model> Make(const ModelOptions& options, const FeatureShape& shape) {
  auto model = CreateModel(options, shape);
  EXPECT_TRUE(model.ok()) << model.status().message();
  return model.ok() ? std::move(model).value() : nullptr;
}

TEST_P(ZooTest, GradientMatchesFiniteDifferencesAndEveryTensorIsAnnouncedOnce) {
  const Case& c = GetParam();
  auto probe = Make(c.options, Inputs(Task::kBinary, 1, c.dense).shape);
  ASSERT_NE(probe, nullptr);
  Inputs in(probe->task(), probe->num_outputs(), c.dense);
  auto model = Make(c.options, in.shape);
  const ParamLayout& layout = model->layout();
  ParamArena params(layout), grads(layout), scratch(layout);
  model->Initialize(params, 5);
  // Off zero, so every ReLU unit and bias is exercised on both sides.
  Rng rng(3);
  for (int64_t i = 0; i < params.size(); ++i) params.data()[i] += static_cast<float>(rng.Uniform(-0.4, 0.4));
  const BatchView batch = in.Slice();
  const float scale = 1.0f;  // the rows' sum, so that small terms are not lost in the tolerance
  RowSelection touched;
  touched.Reset(static_cast<int>(layout.specs().size()));
  for (size_t i = 0; i < layout.specs().size(); ++i) {
    const ParamSpec& spec = layout.spec(static_cast<int>(i));
    if (spec.kind == ParamKind::kEmbedding) touched.SetSparse(static_cast<int>(i), spec.rows, spec.cols);
  }
  CountingListener ready;
  // The same step key before every call: dropout draws the same masks each time.
  model->SetTrainingStep(9, 4);
  const double loss = model->ForwardBackward(batch, params, grads, scale, &touched, &ready);
  EXPECT_TRUE(std::isfinite(loss));

  for (size_t i = 0; i < layout.specs().size(); ++i) {
    const ParamSpec& spec = layout.spec(static_cast<int>(i));
    EXPECT_EQ(ready.counts[static_cast<int>(i)], 1)
        << spec.name << " announced " << ready.counts[static_cast<int>(i)] << " times";
    if (spec.kind != ParamKind::kEmbedding) continue;
    // The ids this batch looked up in the table: its field's column, or the bag's values.
    std::vector<int64_t> expected;
    const std::string field = spec.name.substr(spec.name.rfind('/') + 1);
    if (spec.name.find("embedding_bag/") != std::string::npos) {
      expected.assign(in.values.begin() + in.offsets[2], in.values.end());
    } else {
      const auto& names = in.shape.categorical_names;
      const int64_t f = std::find(names.begin(), names.end(), field) - names.begin();
      for (int64_t r = 0; r < batch.num_rows; ++r) expected.push_back(batch.categorical[r * 3 + f]);
    }
    std::vector<int64_t> got = touched.rows(static_cast<int>(i));
    std::sort(got.begin(), got.end());
    std::sort(expected.begin(), expected.end());
    expected.erase(std::unique(expected.begin(), expected.end()), expected.end());
    EXPECT_EQ(got, expected) << spec.name << ": each id once";
  }

  auto total = [&] {
    model->SetTrainingStep(9, 4);
    return scale * model->ForwardBackward(batch, params, scratch, scale);
  };
  const double h = 1e-3;
  int64_t checked = 0;
  for (int i = 0; i < static_cast<int>(layout.specs().size()); ++i) {
    const ParamSpec& spec = layout.spec(i);
    for (int64_t j = 0; j < spec.size(); ++j) {
      float& p = params.data()[spec.offset + j];
      const float saved = p;
      p = static_cast<float>(saved + h);
      const double up = total();
      p = static_cast<float>(saved - h);
      const double down = total();
      p = saved;
      const double numeric = (up - down) / (2 * h);
      EXPECT_NEAR(ectrain::testing::GradientAt(grads, touched, layout, i, j), numeric, 1e-3 + 3e-3 * std::fabs(numeric))
          << spec.name << "[" << j << "]";
      ++checked;
    }
  }
  EXPECT_EQ(checked, layout.num_parameters());
}

TEST_P(ZooTest, ForwardGivesTheOutputsTheLossUses) {
  // Training drops units and Forward does not, so the comparison is made with dropout off (the
  // layers are otherwise the same; dropout's own behaviour is tested with the kernels).
  ModelOptions options = GetParam().options;
  options.dropout = 0;
  options.embedding_dropout = 0;
  const bool dense = GetParam().dense;
  auto probe = Make(options, Inputs(Task::kBinary, 1, dense).shape);
  Inputs in(probe->task(), probe->num_outputs(), dense);
  auto model = Make(options, in.shape);
  ParamArena params(model->layout()), grads(model->layout());
  model->Initialize(params, 1);
  const int64_t k = model->num_outputs();
  std::vector<float> outputs(7 * k);
  model->Forward(in.all, params, outputs.data());
  std::vector<float> weights(options.class_weights.begin(), options.class_weights.end());
  double expected = 0;
  switch (model->task()) {
    case Task::kBinary:
      expected = kernels::BceWithLogits(outputs.data(), in.labels.data(), 7, 1, nullptr);
      break;
    case Task::kRegression:
      expected = kernels::SquaredError(outputs.data(), in.labels.data(), 7, 1, nullptr);
      break;
    case Task::kMulticlass:
      expected = kernels::SoftmaxCrossEntropy(outputs.data(), in.labels.data(), 7, k,
                                              weights.empty() ? nullptr : weights.data(), 1, nullptr);
      break;
  }
  EXPECT_NEAR(model->ForwardBackward(in.all, params, grads, 1.0f), expected, 1e-4 * (1 + expected));
  // A slice scores its rows as the whole batch did.
  std::vector<float> tail(5 * k);
  model->Forward(in.Slice(), params, tail.data());
  for (int64_t i = 0; i < 5 * k; ++i) EXPECT_NEAR(tail[i], outputs[2 * k + i], 1e-5);
}

TEST_P(ZooTest, EmptyBatchAddsNothingAndAnnouncesEveryTensor) {
  const Case& c = GetParam();
  Inputs in(Task::kBinary, 1, c.dense);
  auto model = Make(c.options, in.shape);
  ParamArena params(model->layout()), grads(model->layout());
  model->Initialize(params, 1);
  BatchView empty = in.all;
  empty.num_rows = 0;
  CountingListener ready;
  EXPECT_EQ(model->ForwardBackward(empty, params, grads, 1.0f, nullptr, &ready), 0.0);
  for (int64_t i = 0; i < grads.size(); ++i) ASSERT_EQ(grads.data()[i], 0.0f);
  for (size_t i = 0; i < model->layout().specs().size(); ++i) EXPECT_EQ(ready.counts[static_cast<int>(i)], 1);
}

INSTANTIATE_TEST_SUITE_P(Models, ZooTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(Dropout, MasksFollowTheStepKeyAndForwardNeverDrops) {
  Inputs in(Task::kBinary);
  ModelOptions o = Options("mlp");
  o.hidden_units = {16, 16};
  o.dropout = 0.5;
  auto model = Make(o, in.shape);
  ParamArena params(model->layout()), a(model->layout()), b(model->layout()), c(model->layout());
  model->Initialize(params, 2);
  model->SetTrainingStep(1, 10);
  model->ForwardBackward(in.all, params, a, 1.0f);
  model->SetTrainingStep(1, 10);
  model->ForwardBackward(in.all, params, b, 1.0f);
  model->SetTrainingStep(1, 11);
  model->ForwardBackward(in.all, params, c, 1.0f);
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << "same step, same masks";
  EXPECT_NE(0, std::memcmp(a.data(), c.data(), a.size() * sizeof(float))) << "another step, other masks";
  // A second micro-batch in the same step draws other masks than the first.
  ParamArena first(model->layout()), second(model->layout());
  model->SetTrainingStep(1, 10);
  model->ForwardBackward(in.all, params, first, 1.0f);
  model->ForwardBackward(in.all, params, second, 1.0f);
  EXPECT_NE(0, std::memcmp(first.data(), second.data(), first.size() * sizeof(float)));
  // Forward is the expectation: the same outputs as the model without dropout.
  ModelOptions plain = o;
  plain.dropout = 0;
  auto reference = Make(plain, in.shape);
  std::vector<float> with(7), without(7);
  model->Forward(in.all, params, with.data());
  reference->Forward(in.all, params, without.data());
  EXPECT_EQ(with, without);
}

TEST(EmbeddingDropout, TrainingDropsAndForwardNeverDoes) {
  for (const char* type : {"deepfm", "mf"}) {
    SCOPED_TRACE(type);
    Inputs in(Task::kBinary);
    ModelOptions o = Options(type);
    o.embedding_dropout = 0.5;
    ModelOptions plain = o;
    plain.embedding_dropout = 0;
    auto model = Make(o, in.shape), reference = Make(plain, in.shape);
    ParamArena params(model->layout()), dropped(model->layout()), kept(model->layout());
    model->Initialize(params, 3);
    model->SetTrainingStep(1, 4);
    reference->SetTrainingStep(1, 4);
    EXPECT_NE(model->ForwardBackward(in.all, params, dropped, 1.0f),
              reference->ForwardBackward(in.all, params, kept, 1.0f));
    std::vector<float> with(7), without(7);
    model->Forward(in.all, params, with.data());
    reference->Forward(in.all, params, without.data());
    EXPECT_EQ(with, without);
  }
}

// mf with model.parents {item: color}: score = wide + <user, item + color>.
TEST(Parents, TheChildsVectorIsItsOwnPlusItsParents) {
  Inputs in(Task::kBinary);
  ModelOptions o = Options("mf");
  o.loss = "bce";
  o.parents = {{"item", "color"}};
  auto model = Make(o, in.shape);
  const ParamLayout& layout = model->layout();
  ASSERT_EQ(layout.specs().back().name, "mf/embedding/color");
  ParamArena params(layout);
  params.SetZero();
  for (const ParamSpec& spec : layout.specs()) {
    for (int64_t r = 0; r < spec.rows; ++r) {
      for (int64_t c = 0; c < spec.cols; ++c) {
        float* p = params.data() + spec.offset + r * spec.cols + c;
        if (spec.name == "mf/embedding/user") *p = 1.0f;
        if (spec.name == "mf/embedding/item") *p = 0.01f * static_cast<float>(r);
        if (spec.name == "mf/embedding/color") *p = 0.1f * static_cast<float>(r);
      }
    }
  }
  std::vector<float> scores(7);
  model->Forward(in.all, params, scores.data());
  for (int r = 0; r < 7; ++r) {
    const float item = static_cast<float>(in.ids[r * 3 + 1]), color = static_cast<float>(in.ids[r * 3 + 2]);
    EXPECT_NEAR(scores[r], 3 * (0.01 * item + 0.1 * color), 1e-6) << "row " << r;
  }
}

TEST(CreateModel, LayoutsNameTheirParts) {
  Inputs in(Task::kBinary);
  auto names = [&](const ModelOptions& o) {
    std::vector<std::string> out;
    auto model = Make(o, in.shape);
    for (const auto& spec : model->layout().specs()) out.push_back(spec.name);
    return out;
  };
  EXPECT_EQ(names(Options("logistic")),
            (std::vector<std::string>{"wide/embedding/user", "wide/embedding/item", "wide/embedding/color",
                                      "wide/embedding_bag/genres", "wide/dense/weight", "wide/bias"}));
  EXPECT_EQ(names(Options("mf")),
            (std::vector<std::string>{"wide/embedding/user", "wide/embedding/item", "wide/embedding/color",
                                      "wide/embedding_bag/genres", "wide/dense/weight", "wide/bias",
                                      "mf/embedding/user", "mf/embedding/item"}));
  const auto dcn = names(Options("dcn"));
  EXPECT_EQ(dcn[4], "cross_0/weight");
  EXPECT_EQ(dcn.back(), "output/bias");
  const auto towers = names(Options("two_tower"));
  EXPECT_EQ(towers[0], "embedding/user");
  EXPECT_EQ(towers[1], "embedding/item");
  EXPECT_NE(std::find(towers.begin(), towers.end(), "item_tower/output/weight"), towers.end());
  auto classifier = Make(Options("classifier"), in.shape);
  EXPECT_EQ(classifier->num_outputs(), 3);
  EXPECT_EQ(classifier->task(), Task::kMulticlass);
  EXPECT_EQ(classifier->layout().specs().back().cols, 3);
  EXPECT_EQ(Make(Options("mf"), in.shape)->task(), Task::kRegression);
  EXPECT_EQ(Make(Options("deepfm"), in.shape)->task(), Task::kBinary);
}

// The dot interaction by hand: without hidden layers the logit is a linear map of
// [p | <v_i, v_j> for i < j], v = (p, user, item, color, genres), p = relu(dense W + b).
TEST(DotInteraction, TheTopMlpReadsTheProjectedDenseThenThePairwiseDots) {
  Inputs in(Task::kBinary);
  ModelOptions o = Options("mlp");
  o.interaction = "dot";
  o.hidden_units = {};
  auto model = Make(o, in.shape);
  const ParamLayout& layout = model->layout();
  ParamArena params(layout);
  model->Initialize(params, 4);
  Rng rng(8);
  for (int64_t i = 0; i < params.size(); ++i) params.data()[i] += static_cast<float>(rng.Uniform(-0.3, 0.3));
  auto tensor = [&](const std::string& name) -> const float* {
    for (const auto& spec : layout.specs()) {
      if (spec.name == name) return params.data() + spec.offset;
    }
    ADD_FAILURE() << "no tensor " << name;
    return nullptr;
  };
  const int64_t d = 3, vectors = 5, pairs = vectors * (vectors - 1) / 2;
  const float* w_out = tensor("output/weight");  // (d + pairs, 1)
  ASSERT_NE(w_out, nullptr);
  std::vector<float> logits(7);
  model->Forward(in.all, params, logits.data());
  for (int64_t r = 0; r < 7; ++r) {
    std::vector<std::vector<double>> v(vectors, std::vector<double>(d, 0.0));
    for (int64_t k = 0; k < d; ++k) {
      double z = tensor("bottom/bias")[k];
      for (int64_t j = 0; j < 2; ++j) z += in.dense[r * 2 + j] * tensor("bottom/weight")[j * d + k];
      v[0][k] = std::max(z, 0.0);
      v[1][k] = tensor("embedding/user")[in.ids[r * 3 + 0] * d + k];
      v[2][k] = tensor("embedding/item")[in.ids[r * 3 + 1] * d + k];
      v[3][k] = tensor("embedding/color")[in.ids[r * 3 + 2] * d + k];
      const int64_t begin = in.offsets[r], end = in.offsets[r + 1];
      for (int64_t i = begin; i < end; ++i) {
        v[4][k] += tensor("embedding_bag/genres")[in.values[i] * d + k] / static_cast<double>(end - begin);
      }
    }
    double logit = tensor("output/bias")[0];
    for (int64_t k = 0; k < d; ++k) logit += v[0][k] * w_out[k];
    int64_t p = d;
    for (int64_t i = 0; i < vectors; ++i) {
      for (int64_t j = i + 1; j < vectors; ++j, ++p) {
        double dot = 0;
        for (int64_t k = 0; k < d; ++k) dot += v[i][k] * v[j][k];
        logit += dot * w_out[p];
      }
    }
    EXPECT_EQ(p, d + pairs);
    EXPECT_NEAR(logits[r], logit, 1e-5) << "row " << r;
  }
}

TEST(DotInteraction, LayoutHasTheBottomLayerOnlyWithDenseColumns) {
  auto names = [](const ModelOptions& o, const FeatureShape& shape) {
    std::vector<std::string> out;
    auto model = Make(o, shape);
    for (const auto& spec : model->layout().specs()) out.push_back(spec.name + " " + std::to_string(spec.rows));
    return out;
  };
  ModelOptions o = Options("mlp");
  o.interaction = "dot";
  // p and four fields: 3 + 10 inputs to the first hidden layer.
  EXPECT_EQ(names(o, Inputs(Task::kBinary).shape),
            (std::vector<std::string>{"embedding/user 5", "embedding/item 6", "embedding/color 3",
                                      "embedding_bag/genres 5", "bottom/weight 2", "bottom/bias 1", "dense_0/weight 13",
                                      "dense_0/bias 1", "output/weight 5", "output/bias 1"}));
  EXPECT_EQ(
      names(o, Inputs(Task::kBinary, 1, /*with_dense=*/false).shape),
      (std::vector<std::string>{"embedding/user 5", "embedding/item 6", "embedding/color 3", "embedding_bag/genres 5",
                                "dense_0/weight 6", "dense_0/bias 1", "output/weight 5", "output/bias 1"}));
  o = Options("wide_deep");
  o.interaction = "dot";
  const auto wide_deep = names(o, Inputs(Task::kBinary).shape);
  // Reverse layout order is backward order: output, deep, bottom, wide, embeddings.
  EXPECT_EQ(wide_deep[9], "wide/bias 1");
  EXPECT_EQ(wide_deep[10], "bottom/weight 2");
}

TEST(CreateModel, TheMlpIsTheCtrModelOfBefore) {
  Inputs in(Task::kBinary);
  ModelOptions o{"mlp", 4, {8}};
  auto created = Make(o, in.shape);
  CtrModel direct(o, in.shape);
  EXPECT_EQ(created->layout().Describe(), direct.layout().Describe());
  ParamArena a(direct.layout()), b(direct.layout());
  created->Initialize(a, 3);
  direct.Initialize(b, 3);
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
}

TEST(CtrModel, RefusesTypesOutsideItsFamily) {
  Inputs in(Task::kBinary);
  EXPECT_DEATH(CtrModel(Options("mf"), in.shape),
               "CtrModel cannot build model.type 'mf'; build models with CreateModel");
}

// Each bad setting comes back as an error that names its key.
TEST(CreateModel, RejectsOptionsThatDoNotFitTheFeatures) {
  Inputs in(Task::kBinary);
  auto error = [&](ModelOptions o) {
    auto model = CreateModel(o, in.shape);
    EXPECT_FALSE(model.ok());
    return model.ok() ? std::string() : model.status().message();
  };
  ModelOptions o = Options("two_tower");
  o.user_fields = {"user", "x"};
  EXPECT_EQ(error(o), "model.user_fields: column 'x' is not among data.categorical or data.multi_valued");
  o = Options("two_tower");
  o.item_fields = {"item", "user"};
  EXPECT_NE(error(o).find("model.item_fields: column 'user' is also in model.user_fields"), std::string::npos);
  o = Options("two_tower");
  o.item_fields = {"item"};
  EXPECT_NE(error(o).find("field 'color' is in neither"), std::string::npos);
  o = Options("two_tower");
  o.user_fields = {"user", "item", "color", "genres"};
  EXPECT_NE(error(o).find("leaves the item tower none"), std::string::npos);
  o = Options("mf");
  o.item_field = "genres";
  EXPECT_EQ(error(o), "model.item_field: column 'genres' is not among data.categorical");
  o = Options("mf");
  o.user_field = "";
  EXPECT_NE(error(o).find("model.user_field"), std::string::npos);
  o = Options("mlp");
  o.loss = "softmax";
  EXPECT_NE(error(o).find("model.loss"), std::string::npos);
  o = Options("classifier");
  o.loss = "bce";
  EXPECT_NE(error(o).find("model.loss"), std::string::npos);
  o = Options("classifier");
  o.class_weights = {1, 2};
  EXPECT_NE(error(o).find("model.class_weights: 2 weights for model.num_classes 3"), std::string::npos);
  o = Options("mlp");
  o.class_weights = {1, 2};
  EXPECT_NE(error(o).find("model.class_weights"), std::string::npos);
  o = Options("classifier");
  o.num_classes = 1;
  EXPECT_NE(error(o).find("model.num_classes"), std::string::npos);
  o = Options("dcn");
  o.cross_layers = 0;
  EXPECT_NE(error(o).find("model.cross_layers"), std::string::npos);
  o = Options("mlp");
  o.dropout = 1.0;
  EXPECT_NE(error(o).find("model.dropout"), std::string::npos);
  o = Options("mlp");
  o.bag_pooling = "max";
  EXPECT_NE(error(o).find("model.bag_pooling"), std::string::npos);
  o = Options("fm");
  EXPECT_NE(error(o).find("model.type: 'fm'"), std::string::npos);
  o = Options("two_tower");
  o.tower_units = {};
  EXPECT_NE(error(o).find("model.tower_units"), std::string::npos);
  EXPECT_NE(error(o).find("model.tower_units"), std::string::npos);
  EXPECT_FALSE(CreateModel(Options("mlp"), FeatureShape{}).ok()) << "a model needs inputs";
  o = Options("mlp");
  o.interaction = "cross";
  EXPECT_EQ(error(o), "model.interaction: 'cross' is not allowed; allowed: concat, dot");
  o = Options("deepfm");
  o.interaction = "dot";
  EXPECT_NE(error(o).find("model.interaction: dot goes with model.type mlp, wide_deep or classifier, not deepfm"),
            std::string::npos);
  for (const char* type : {"logistic", "dcn", "two_tower", "mf"}) {
    o = Options(type);
    o.interaction = "dot";
    EXPECT_EQ(error(o).rfind("model.interaction: dot goes with", 0), 0u) << type;
  }
  // Fewer than two vectors leave nothing to pair: one field alone, or dense columns alone.
  o = Options("mlp");
  o.interaction = "dot";
  for (const FeatureShape& shape : {FeatureShape{0, {"user"}, {5}, {}, {}}, FeatureShape{3, {}, {}, {}, {}}}) {
    auto model = CreateModel(o, shape);
    ASSERT_FALSE(model.ok());
    EXPECT_NE(model.status().message().find("model.interaction: dot pairs the field embeddings"), std::string::npos)
        << model.status().message();
  }
  EXPECT_TRUE(CreateModel(o, FeatureShape{3, {"user"}, {5}, {}, {}}).ok()) << "p and one field make one pair";
  EXPECT_TRUE(CreateModel(o, FeatureShape{0, {"user", "item"}, {5, 6}, {}, {}}).ok());
}

}  // namespace
}  // namespace ectrain::model
