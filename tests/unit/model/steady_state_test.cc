// Once its workspace has grown to the batch size, no model allocates in ForwardBackward or
// Forward (what tests/integration/allocation_test.cc asks of a whole training step, for every
// model type here). Counts every operator new of this test binary.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/rng.h"
#include "counting_allocator.h"
#include "model/model.h"

namespace ectrain::model {
namespace {

class SteadyState : public ::testing::TestWithParam<const char*> {};

TEST_P(SteadyState, ForwardBackwardAndForwardMakeNoHeapAllocation) {
  const int64_t rows = 64;
  FeatureShape shape{3, {"user", "item"}, {500, 300}, {"tags"}, {40}};
  Rng rng(1);
  std::vector<float> dense, labels;
  std::vector<int32_t> ids, values;
  std::vector<int64_t> offsets{0};
  for (int64_t r = 0; r < 2 * rows; ++r) {
    for (int d = 0; d < 3; ++d) dense.push_back(static_cast<float>(rng.Normal()));
    ids.push_back(static_cast<int32_t>(rng.Below(500)));
    ids.push_back(static_cast<int32_t>(rng.Below(300)));
    for (uint64_t k = rng.Below(4); k > 0; --k) values.push_back(static_cast<int32_t>(rng.Below(40)));
    offsets.push_back(static_cast<int64_t>(values.size()));
    labels.push_back(static_cast<float>(rng.Below(2)));
  }
  const BagColumnView bag{offsets.data(), values.data()};
  const BatchView all{2 * rows, dense.data(), 3, ids.data(), 2, labels.data(), &bag, 1, 0};
  ModelOptions options;
  // "<type>:dot": the type with model.interaction: dot.
  const std::string param = GetParam();
  options.type = param.substr(0, param.find(':'));
  if (param.ends_with(":dot")) options.interaction = "dot";
  options.embedding_dim = 8;
  options.hidden_units = {32, 16};
  options.layer_norm = true;
  options.dropout = 0.1;
  options.user_fields = {"user"};
  options.user_field = "user";
  options.item_field = "item";
  auto created = CreateModel(options, shape);
  ASSERT_TRUE(created.ok()) << created.status().message();
  Model& model = **created;
  ParamArena params(model.layout()), grads(model.layout());
  model.Initialize(params, 1);
  RowSelection touched;
  touched.Reset(static_cast<int>(model.layout().specs().size()));
  for (size_t i = 0; i < model.layout().specs().size(); ++i) {
    const ParamSpec& spec = model.layout().spec(static_cast<int>(i));
    if (spec.kind == ParamKind::kEmbedding) touched.SetSparse(static_cast<int>(i), spec.rows, spec.cols);
  }
  std::vector<float> outputs(static_cast<size_t>(rows * model.num_outputs()));
  auto step = [&](int64_t i) {
    touched.ClearRows();
    const BatchView batch = SliceRows(all, i % 2 * rows, i % 2 * rows + rows);
    model.SetTrainingStep(3, i);
    model.ForwardBackward(batch, params, grads, 1.0f / rows, &touched);
    model.Forward(batch, params, outputs.data());
  };
  const int64_t at_start = ectrain::testing::Allocations();
  step(0);  // grows the workspace and the touched-row lists
  step(1);
  ASSERT_GT(ectrain::testing::Allocations(), at_start) << "the counter sees the first step's workspace";
  const int64_t before = ectrain::testing::Allocations();
  for (int64_t i = 2; i < 20; ++i) step(i);
  EXPECT_EQ(ectrain::testing::Allocations() - before, 0) << param;
}

INSTANTIATE_TEST_SUITE_P(Models, SteadyState,
                         ::testing::Values("logistic", "mlp", "wide_deep", "deepfm", "dcn", "two_tower", "mf",
                                           "classifier", "mlp:dot", "wide_deep:dot", "classifier:dot"));

}  // namespace
}  // namespace ectrain::model
