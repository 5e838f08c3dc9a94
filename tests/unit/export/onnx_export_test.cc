// The ONNX graph of each model type: built from a freshly initialised model, it passes ONNX's
// checker and strict shape inference, takes the columns as named inputs of the right types with a
// dynamic batch, and gives the task's output; a model the graph does not match is refused by name.
// (tests/e2e/export_test.sh runs the graphs under onnxruntime against `predict`.)
#include "export/onnx_export.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "export/onnx_builder.h"
#include "export/sidecar.h"
#include "model/model.h"

namespace ectrain::exporter {
namespace {

model::FeatureShape Features() { return {2, {"user", "item", "category"}, {10, 8, 3}, {"recent"}, {8}}; }
const std::vector<std::string> kDense = {"price", "age"};

struct Built {
  std::unique_ptr<model::Model> model;
  std::unique_ptr<ParamArena> params;
};

Built Build(const model::ModelOptions& options, const model::FeatureShape& features = Features()) {
  StatusOr<std::unique_ptr<model::Model>> m = model::CreateModel(options, features);
  EXPECT_TRUE(m.ok()) << m.status().message();
  Built b{std::move(m.value()), nullptr};
  b.params = std::make_unique<ParamArena>(b.model->layout());
  b.model->Initialize(*b.params, 1);
  return b;
}

StatusOr<onnx::ModelProto> Export(const model::ModelOptions& options, const Built& b) {
  return BuildOnnxModel(*b.model, options, kDense, *b.params, {"0.test", "ckpt-1.h5", 1});
}

model::ModelOptions Options(const std::string& type) {
  model::ModelOptions o;
  o.type = type;
  o.embedding_dim = 4;
  o.hidden_units = {6, 5};
  if (type == "classifier") o.num_classes = 3;
  if (type == "mf") {
    o.user_field = "user";
    o.item_field = "item";
  }
  if (type == "two_tower") {
    o.user_fields = {"user", "recent"};
    o.tower_units = {6, 4};
  }
  return o;
}

TEST(OnnxExport, EveryModelTypePassesOnnxChecks) {
  for (const std::string& type : model::ModelTypes()) {
    for (bool options_on : {false, true}) {
      model::ModelOptions o = Options(type);
      if (options_on) {
        o.layer_norm = type != "logistic" && type != "mf";
        o.dropout = 0.3;
        o.bag_pooling = "sum";
        if (model::HasIdVectors(type)) o.parents = {{"item", "category"}};
        if (type == "mlp" || type == "wide_deep" || type == "classifier") o.interaction = "dot";
      }
      SCOPED_TRACE(type + (options_on ? " with options" : ""));
      const Built b = Build(o);
      StatusOr<onnx::ModelProto> proto = Export(o, b);
      ASSERT_TRUE(proto.ok()) << proto.status().message();
      EXPECT_TRUE(CheckOnnxModel(*proto).ok()) << CheckOnnxModel(*proto).message();
      const onnx::GraphProto& g = proto->graph();
      ASSERT_EQ(g.input_size(), 7);  // 2 dense, 3 categorical, a bag's values and offsets
      EXPECT_EQ(g.input(0).name(), "price");
      EXPECT_EQ(g.input(0).type().tensor_type().elem_type(), onnx::TensorProto::FLOAT);
      EXPECT_EQ(g.input(2).name(), "user");
      EXPECT_EQ(g.input(2).type().tensor_type().elem_type(), onnx::TensorProto::INT64);
      EXPECT_EQ(g.input(2).type().tensor_type().shape().dim(0).dim_param(), "batch");
      EXPECT_EQ(g.input(5).name(), "recent/values");
      EXPECT_EQ(g.input(6).name(), "recent/offsets");
      ASSERT_EQ(g.output_size(), 1);
      // mf's loss "auto" is mse: a rating.
      EXPECT_EQ(g.output(0).name(), type == "classifier" ? "probabilities"
                                    : type == "mf"       ? "prediction"
                                                         : "probability");
      EXPECT_EQ(proto->opset_import(0).version(), kOpsetVersion);
    }
  }
}

TEST(OnnxExport, RegressionGivesPredictions) {
  model::ModelOptions o = Options("dcn");
  o.loss = "mse";
  const Built b = Build(o);
  StatusOr<onnx::ModelProto> proto = Export(o, b);
  ASSERT_TRUE(proto.ok()) << proto.status().message();
  EXPECT_EQ(proto->graph().output(0).name(), "prediction");
}

TEST(OnnxExport, ATensorTheGraphLeavesOutIsRefusedByName) {
  // A model with layer norm, described without it: its layer-norm tensors would go unused.
  model::ModelOptions trained = Options("mlp");
  trained.layer_norm = true;
  const Built b = Build(trained);
  model::ModelOptions described = trained;
  described.layer_norm = false;
  StatusOr<onnx::ModelProto> proto = Export(described, b);
  ASSERT_FALSE(proto.ok());
  EXPECT_NE(proto.status().message().find("layer_norm_0/gamma"), std::string::npos) << proto.status().message();
  EXPECT_NE(proto.status().message().find("nothing was written"), std::string::npos);
}

TEST(OnnxExport, ATensorTheModelLacksIsRefusedByName) {
  const model::ModelOptions trained = Options("mlp");
  const Built b = Build(trained);
  model::ModelOptions described = trained;
  described.type = "deepfm";  // also reads a wide part
  StatusOr<onnx::ModelProto> proto = Export(described, b);
  ASSERT_FALSE(proto.ok());
  EXPECT_NE(proto.status().message().find("no tensor 'wide/"), std::string::npos) << proto.status().message();
}

TEST(OnnxExport, AColumnNamedLikeATensorIsAnError) {
  const model::ModelOptions o = Options("mlp");
  const Built b = Build(o);
  StatusOr<onnx::ModelProto> proto = BuildOnnxModel(*b.model, o, {"price", "output/weight"}, *b.params, {});
  ASSERT_FALSE(proto.ok());
  EXPECT_NE(proto.status().message().find("output/weight"), std::string::npos) << proto.status().message();
}

TEST(OnnxBuilder, NamesAreUniqueAndInputsCannotRepeat) {
  onnx::GraphProto graph;
  OnnxBuilder b(&graph);
  ASSERT_TRUE(b.Input("x", onnx::TensorProto::FLOAT, {"batch", int64_t{3}}).ok());
  EXPECT_FALSE(b.Input("x", onnx::TensorProto::FLOAT, {"batch"}).ok());
  const std::string r1 = b.Node("Relu", {"x"}), r2 = b.Node("Relu", {"x"});
  EXPECT_NE(r1, r2);
  EXPECT_EQ(graph.input(0).type().tensor_type().shape().dim(1).dim_value(), 3);
  EXPECT_EQ(graph.node_size(), 2);
}

TEST(Sidecar, DescribesInputsEncodingAndOutput) {
  data::FeatureSchema schema;
  schema.label = "clicked";
  schema.dense = kDense;
  schema.categorical = {"user", "item", "category"};
  schema.vocab_sizes = {10, 8, 3};
  schema.multi_valued = {"recent"};
  schema.multi_vocab_sizes = {8};
  schema.dense_stats = {{0.0, 2.0, 4.0}, {1.0, 0.0, 1.0}};
  schema.dense_stats[0].log = true;
  schema.vocabularies = {{"u1", "u2"}, {}, {"shoes", "hats"}};
  schema.hash_buckets = {0, 8, 0};
  schema.bag_encodings = {{false, "|", {"i1", "i2"}, 0}};
  const model::ModelOptions o = Options("mlp");
  const Built b = Build(o);
  const nlohmann::json j =
      nlohmann::json::parse(SidecarJson(schema, *b.model, o, {"0.test", "ckpt-7.h5", 7}, "m.onnx"));
  EXPECT_EQ(j["checkpoint_step"], 7);
  EXPECT_EQ(j["onnx_file"], "m.onnx");
  ASSERT_EQ(j["inputs"].size(), 6u);
  EXPECT_EQ(j["inputs"][0]["name"], "price");
  EXPECT_EQ(j["inputs"][0]["preprocessing"]["mean"], 2.0);
  EXPECT_EQ(j["inputs"][0]["preprocessing"]["log"], true);
  EXPECT_EQ(j["inputs"][2]["vocabulary"]["u2"], 2);
  EXPECT_EQ(j["inputs"][2]["unknown_id"], 0);
  EXPECT_EQ(j["inputs"][3]["encoding"], "hash");
  EXPECT_EQ(j["inputs"][5]["split"]["separator"], "|");
  EXPECT_EQ(j["inputs"][5]["inputs"]["offsets"]["name"], "recent/offsets");
  EXPECT_EQ(j["output"]["name"], "probability");
  EXPECT_EQ(j["output"]["label"], "clicked");
}

}  // namespace
}  // namespace ectrain::exporter
