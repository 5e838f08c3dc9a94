#include "export/onnx_export.h"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include "export/onnx_builder.h"
#include "model/layers.h"

namespace ectrain::exporter {
namespace {

using onnx::TensorProto;

bool IsCtrType(const std::string& type) {
  return type == "logistic" || type == "mlp" || type == "wide_deep" || type == "deepfm" || type == "dcn" ||
         type == "classifier";
}

// Builds the graph part by part, mirroring model/ctr_model.cc, mf_model.cc, two_tower_model.cc and
// model/layers.cc. A missing tensor is remembered (the first) and reported by Finish, so the parts
// read as the forward pass.
class GraphWriter {
 public:
  GraphWriter(const model::Model& m, const model::ModelOptions& options, const ParamArena& params,
              onnx::GraphProto* graph)
      : features_(m.features()), layout_(m.layout()), options_(options), params_(params), b_(graph) {}

  Status AddInputs(const std::vector<std::string>& dense_columns);
  // The model's outputs before the task's link: (batch, num_outputs).
  std::string Logits();
  // Probabilities, classes' probabilities or predictions, as the graph's output.
  Status AddOutput(const std::string& logits, model::Task task, int64_t num_outputs);
  // The first error met, or an error naming the model's tensors the graph left out.
  Status Finish() const;

 private:
  // A parameter tensor by name, as an initializer of its layout shape or of `dims`.
  std::string Param(const std::string& name, std::vector<int64_t> dims = {});
  std::string Unsqueeze(const std::string& x, const std::vector<int64_t>& axes) {
    return b_.Node("Unsqueeze", {x, b_.Int64s(axes)});
  }
  std::string Concat(const std::vector<std::string>& parts, int64_t axis) {
    return parts.size() == 1 ? parts[0] : b_.Node("Concat", parts, {IntAttr("axis", axis)});
  }
  std::string Add(const std::string& a, const std::string& c) { return b_.Node("Add", {a, c}); }
  std::string Mul(const std::string& a, const std::string& c) { return b_.Node("Mul", {a, c}); }
  // x W + b (the Dense layer `name`), W of shape (in, out).
  std::string Dense(const std::string& x, const std::string& name) {
    return b_.Node("Gemm", {x, Param(name + "/weight"), Param(name + "/bias")}, {}, name);
  }
  // The row-wise dot product of (batch, d) a and c, as (batch, 1).
  std::string RowDot(const std::string& a, const std::string& c) {
    return b_.Node("ReduceSum", {Mul(a, c), b_.Int64s({1})}, {IntAttr("keepdims", 1)});
  }
  // The dense columns as one (batch, num_dense) matrix.
  std::string DenseMatrix();
  // Table `table`'s rows for categorical column c: (batch, width).
  std::string Lookup(const std::string& table, int c) {
    return b_.Node("Gather", {Param(table), categorical_[c]}, {IntAttr("axis", 0)}, table);
  }
  // Bag b's ids in table `table` (rows of `width`) pooled by sum or mean (an empty bag gives 0).
  std::string Pool(const std::string& table, int b, int64_t width, bool sum);
  // FieldEmbeddings(prefix): the categorical fields' vectors, then the pooled bags'.
  std::vector<std::string> FieldVectors(const std::string& prefix, const model::FieldSet& fields, int64_t width,
                                        bool sum_bags);
  // WideLinear: (batch, 1).
  std::string Wide(bool sum_bags);
  // Mlp: `hidden` Dense [-> LayerNorm] -> ReLU layers named prefix + "dense_<i>", then the linear
  // output layer `output_name`. Dropout is identity at inference.
  std::string Mlp(std::string x, size_t hidden, const std::string& prefix, const std::string& output_name);
  std::string CtrLogits();
  std::string MfLogits();
  std::string TwoTowerLogits();
  // FM's 0.5 * (|sum of v|^2 - sum of |v|^2) over the field vectors: (batch, 1).
  std::string FmTerm(const std::vector<std::string>& vectors);
  // DLRM's pairwise dots <v_i, v_j>, i < j, of `vectors`: (batch, pairs).
  std::string PairwiseDots(const std::vector<std::string>& vectors);

  const model::FeatureShape& features_;
  const ParamLayout& layout_;
  const model::ModelOptions& options_;
  const ParamArena& params_;
  OnnxBuilder b_;
  Status error_;
  std::set<std::string> used_;  // tensors given to the graph
  std::vector<std::string> dense_, categorical_, bag_values_, bag_offsets_;
  std::optional<std::string> dense_matrix_;
  // Per bag, made once: each id's row (ids, 1), 1 / max(1, ids in the row) (batch, 1), and {batch}.
  struct BagRows {
    std::string rows, scale, batch;
  };
  std::map<int, BagRows> bag_rows_;
};

Status GraphWriter::AddInputs(const std::vector<std::string>& dense_columns) {
  if (static_cast<int>(dense_columns.size()) != features_.num_dense) {
    return Internal("export: " + std::to_string(dense_columns.size()) + " dense column names for a model of " +
                    std::to_string(features_.num_dense) + " dense inputs");
  }
  for (const std::string& column : dense_columns) {
    ASSIGN_OR_RETURN(const std::string name, b_.Input(column, TensorProto::FLOAT, {"batch"}));
    dense_.push_back(name);
  }
  for (const std::string& column : features_.categorical_names) {
    ASSIGN_OR_RETURN(const std::string name, b_.Input(column, TensorProto::INT64, {"batch"}));
    categorical_.push_back(name);
  }
  for (const std::string& column : features_.bag_names) {
    ASSIGN_OR_RETURN(const std::string values, b_.Input(BagValuesName(column), TensorProto::INT64, {column + "_ids"}));
    ASSIGN_OR_RETURN(const std::string offsets, b_.Input(BagOffsetsName(column), TensorProto::INT64, {"batch_plus_1"}));
    bag_values_.push_back(values);
    bag_offsets_.push_back(offsets);
  }
  return Status::Ok();
}

std::string GraphWriter::Param(const std::string& name, std::vector<int64_t> dims) {
  const auto& specs = layout_.specs();
  const auto spec = std::find_if(specs.begin(), specs.end(), [&](const ParamSpec& s) { return s.name == name; });
  if (spec == specs.end()) {
    if (error_.ok()) {
      error_ = Internal("export: the checkpoint has no tensor '" + name + "', which model.type " + options_.type +
                        " reads; the exporter does not match this model");
    }
    return name;
  }
  if (used_.count(name) > 0) return name;  // an initializer already
  used_.insert(name);
  if (dims.empty()) dims = {spec->rows, spec->cols};
  StatusOr<std::string> added = b_.Initializer(name, dims, params_.data() + spec->offset);
  if (!added.ok() && error_.ok()) error_ = added.status();
  return name;
}

std::string GraphWriter::DenseMatrix() {
  if (!dense_matrix_) {
    std::vector<std::string> columns;
    for (const std::string& d : dense_) columns.push_back(Unsqueeze(d, {1}));
    dense_matrix_ = Concat(columns, 1);
  }
  return *dense_matrix_;
}

std::string GraphWriter::Pool(const std::string& table, int bag, int64_t width, bool sum) {
  BagRows& r = bag_rows_[bag];
  if (r.rows.empty()) {
    const std::string& values = bag_values_[bag];
    const std::string& offsets = bag_offsets_[bag];
    const std::string zero = b_.Int64s({0}), one = b_.Int64s({1}), minus_one = b_.Int64s({-1});
    const std::string end = b_.Int64s({std::numeric_limits<int64_t>::max()});
    const std::string begins = b_.Node("Slice", {offsets, zero, minus_one, zero}, {}, "bag_begins");
    const std::string ends = b_.Node("Slice", {offsets, one, end, zero}, {}, "bag_ends");
    r.batch = b_.Node("Shape", {ends});
    // An id's row is the number of rows that end at or before it: a 1 scattered at each row's end
    // (into ids + 1 slots, as the last rows may end after the last id), then a running sum.
    const std::string slots = Add(b_.Node("Shape", {values}), one);
    const std::string marks = b_.Node("ScatterElements",
                                      {b_.Node("ConstantOfShape", {slots}, {Int64TensorAttr("value", 0)}), ends,
                                       b_.Node("ConstantOfShape", {r.batch}, {Int64TensorAttr("value", 1)})},
                                      {IntAttr("axis", 0), StringAttr("reduction", "add")}, "bag_row_ends");
    const std::string running = b_.Node("CumSum", {marks, b_.Int64Scalar(0)});
    r.rows = Unsqueeze(b_.Node("Slice", {running, zero, minus_one, zero}, {}, "bag_rows"), {1});
    // The mean multiplies by 1 / count, as the kernel does (EmbeddingBagMean).
    const std::string counts = b_.Node("Cast", {b_.Node("Sub", {ends, begins})}, {IntAttr("to", TensorProto::FLOAT)});
    r.scale = Unsqueeze(b_.Node("Reciprocal", {b_.Node("Max", {counts, b_.FloatScalar(1.0f)})}), {1});
  }
  const std::string vectors = b_.Node("Gather", {Param(table), bag_values_[bag]}, {IntAttr("axis", 0)}, table);
  const std::string shape = b_.Node("Concat", {r.batch, b_.Int64s({width})}, {IntAttr("axis", 0)});
  // Summed in id order from 0, as the kernel sums.
  const std::string pooled =
      b_.Node("ScatterND", {b_.Node("ConstantOfShape", {shape}, {FloatTensorAttr("value", 0.0f)}), r.rows, vectors},
              {StringAttr("reduction", "add")}, table + "/pooled");
  return sum ? pooled : Mul(pooled, r.scale);
}

std::vector<std::string> GraphWriter::FieldVectors(const std::string& prefix, const model::FieldSet& fields,
                                                   int64_t width, bool sum_bags) {
  std::vector<std::string> vectors;
  for (int f : fields.categorical) vectors.push_back(Lookup(prefix + "embedding/" + features_.categorical_names[f], f));
  for (int b : fields.bags) {
    vectors.push_back(Pool(prefix + "embedding_bag/" + features_.bag_names[b], b, width, sum_bags));
  }
  return vectors;
}

std::string GraphWriter::Wide(bool sum_bags) {
  // bias + dense . w first, then each field's weight added in turn (WideLinear::Forward's order).
  std::string out = features_.num_dense > 0
                        ? b_.Node("Gemm", {DenseMatrix(), Param("wide/dense/weight"), Param("wide/bias")}, {}, "wide")
                        : Param("wide/bias");
  for (const std::string& weight : FieldVectors("wide/", model::FieldSet::All(features_, false), 1, sum_bags)) {
    out = Add(out, weight);
  }
  return out;
}

std::string GraphWriter::Mlp(std::string x, size_t hidden, const std::string& prefix, const std::string& output_name) {
  for (size_t i = 0; i < hidden; ++i) {
    const std::string layer = prefix + "dense_" + std::to_string(i);
    x = Dense(x, layer);
    if (options_.layer_norm) {
      const std::string norm = prefix + "layer_norm_" + std::to_string(i);
      const int64_t width = options_.type == "two_tower" ? options_.tower_units[i] : options_.hidden_units[i];
      x = b_.Node("LayerNormalization", {x, Param(norm + "/gamma", {width}), Param(norm + "/beta", {width})},
                  {IntAttr("axis", -1), FloatAttr("epsilon", model::kLayerNormEpsilon)}, norm);
    }
    x = b_.Node("Relu", {x});
  }
  return Dense(x, output_name);
}

std::string GraphWriter::FmTerm(const std::vector<std::string>& vectors) {
  const int64_t fields = static_cast<int64_t>(vectors.size());
  const std::string v =
      b_.Node("Reshape", {Concat(vectors, 1), b_.Int64s({0, fields, options_.embedding_dim})}, {}, "fm_fields");
  const std::string sum = b_.Node("ReduceSum", {v, b_.Int64s({1})}, {IntAttr("keepdims", 0)});
  const std::string square_of_sum = b_.Node("ReduceSumSquare", {sum}, {IntsAttr("axes", {1}), IntAttr("keepdims", 1)});
  const std::string sum_of_squares = b_.Node("ReduceSumSquare", {b_.Node("Reshape", {v, b_.Int64s({0, -1})})},
                                             {IntsAttr("axes", {1}), IntAttr("keepdims", 1)});
  return Mul(b_.Node("Sub", {square_of_sum, sum_of_squares}), b_.FloatScalar(0.5f));
}

std::string GraphWriter::PairwiseDots(const std::vector<std::string>& vectors) {
  const int64_t n = static_cast<int64_t>(vectors.size());
  const std::string v =
      b_.Node("Reshape", {Concat(vectors, 1), b_.Int64s({0, n, options_.embedding_dim})}, {}, "dot_vectors");
  const std::string gram = b_.Node("MatMul", {v, b_.Node("Transpose", {v}, {IntsAttr("perm", {0, 2, 1})})});
  std::vector<int64_t> upper;  // (i, j) for i < j, row by row: DotInteractionForward's order
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = i + 1; j < n; ++j) upper.push_back(i * n + j);
  }
  return b_.Node("Gather", {b_.Node("Reshape", {gram, b_.Int64s({0, n * n})}), b_.Int64s(upper)}, {IntAttr("axis", 1)},
                 "pairwise_dots");
}

std::string GraphWriter::CtrLogits() {
  const std::string& type = options_.type;
  const bool sum_bags = options_.bag_pooling == "sum";
  std::optional<std::string> out;
  if (type != "logistic") {
    const int64_t dim = options_.embedding_dim;
    std::vector<std::string> vectors = FieldVectors("", model::FieldSet::All(features_, false), dim, sum_bags);
    // model.parents: the child's vector plus the parent's own (a parent has no parent).
    const std::vector<std::string> own = vectors;
    const auto& names = features_.categorical_names;
    for (const auto& [child, parent] : options_.parents) {
      const auto c = std::find(names.begin(), names.end(), child) - names.begin();
      const auto p = std::find(names.begin(), names.end(), parent) - names.begin();
      vectors[c] = Add(own[c], own[p]);
    }
    std::string deep_input;
    if (options_.interaction == "dot") {
      std::vector<std::string> pairs = vectors;
      std::string p;
      if (features_.num_dense > 0) {
        // p = ReLU(bottom(dense)) pairs with the fields and also goes to the MLP itself.
        p = b_.Node("Relu", {Dense(DenseMatrix(), "bottom")});
        pairs.insert(pairs.begin(), p);
      }
      const std::string dots = PairwiseDots(pairs);
      deep_input = p.empty() ? dots : Concat({p, dots}, 1);
    } else {
      std::vector<std::string> parts = vectors;
      if (features_.num_dense > 0) parts.push_back(DenseMatrix());
      deep_input = Concat(parts, 1);
      if (type == "dcn") {
        // x_{l+1} = x0 * (x_l W_l + b_l) + x_l
        const std::string x0 = deep_input;
        for (int64_t l = 0; l < options_.cross_layers; ++l) {
          deep_input = Add(Mul(x0, Dense(deep_input, "cross_" + std::to_string(l))), deep_input);
        }
      }
    }
    out = Mlp(deep_input, options_.hidden_units.size(), "", "output");
    if (type == "deepfm") out = Add(*out, FmTerm(vectors));
  }
  if (type == "logistic" || type == "wide_deep" || type == "deepfm") {
    const std::string wide = Wide(sum_bags);
    out = out ? Add(*out, wide) : wide;
  }
  return *out;
}

std::string GraphWriter::MfLogits() {
  const auto& names = features_.categorical_names;
  auto index = [&](const std::string& name) {
    return static_cast<int>(std::find(names.begin(), names.end(), name) - names.begin());
  };
  std::string users = Lookup("mf/embedding/" + options_.user_field, index(options_.user_field));
  std::string items = Lookup("mf/embedding/" + options_.item_field, index(options_.item_field));
  for (const auto& [child, parent] : options_.parents) {
    std::string& vectors = child == options_.user_field ? users : items;
    vectors = Add(vectors, Lookup("mf/embedding/" + parent, index(parent)));
  }
  return Add(Wide(options_.bag_pooling == "sum"), RowDot(users, items));
}

std::string GraphWriter::TwoTowerLogits() {
  // The fields of each tower as TwoTowerModel picks them: the item side is model.item_fields, or
  // every field not on the user side.
  auto side = [&](const std::vector<std::string>& listed, bool item, bool dense) {
    auto on_side = [&](const std::string& name) {
      const bool in_list = std::find(listed.begin(), listed.end(), name) != listed.end();
      if (item && listed.empty()) {
        const auto& user = options_.user_fields;
        return std::find(user.begin(), user.end(), name) == user.end();
      }
      return in_list;
    };
    model::FieldSet set;
    for (size_t f = 0; f < features_.categorical_names.size(); ++f) {
      if (on_side(features_.categorical_names[f])) set.categorical.push_back(static_cast<int>(f));
    }
    for (size_t b = 0; b < features_.bag_names.size(); ++b) {
      if (on_side(features_.bag_names[b])) set.bags.push_back(static_cast<int>(b));
    }
    set.dense = dense && features_.num_dense > 0;
    return set;
  };
  const bool sum_bags = options_.bag_pooling == "sum";
  std::vector<std::string> towers;
  for (const auto& [set, name] :
       {std::pair{side(options_.user_fields, false, options_.dense_tower == "user"), std::string("user_tower/")},
        {side(options_.item_fields, true, options_.dense_tower == "item"), std::string("item_tower/")}}) {
    std::vector<std::string> parts = FieldVectors("", set, options_.embedding_dim, sum_bags);
    if (set.dense) parts.push_back(DenseMatrix());
    towers.push_back(Mlp(Concat(parts, 1), options_.tower_units.size() - 1, name, name + "output"));
  }
  return Add(RowDot(towers[0], towers[1]), Param("output/bias"));
}

std::string GraphWriter::Logits() {
  if (options_.type == "mf") return MfLogits();
  if (options_.type == "two_tower") return TwoTowerLogits();
  return CtrLogits();
}

Status GraphWriter::AddOutput(const std::string& logits, model::Task task, int64_t num_outputs) {
  RETURN_IF_ERROR(error_);
  const char* name = OutputName(task);
  switch (task) {
    case model::Task::kBinary:
      return b_.Output(b_.Node("Squeeze", {b_.Node("Sigmoid", {logits}), b_.Int64s({1})}), name, TensorProto::FLOAT,
                       {"batch"});
    case model::Task::kRegression:
      return b_.Output(b_.Node("Squeeze", {logits, b_.Int64s({1})}), name, TensorProto::FLOAT, {"batch"});
    case model::Task::kMulticlass:
      return b_.Output(b_.Node("Softmax", {logits}, {IntAttr("axis", 1)}), name, TensorProto::FLOAT,
                       {"batch", num_outputs});
  }
  return Internal("export: unknown task");
}

Status GraphWriter::Finish() const {
  RETURN_IF_ERROR(error_);
  std::string unused;
  for (const ParamSpec& spec : layout_.specs()) {
    if (used_.count(spec.name) == 0) unused += (unused.empty() ? "" : ", ") + spec.name;
  }
  if (!unused.empty()) {
    return Internal("export: the graph for model.type " + options_.type + " leaves the checkpoint's tensors " + unused +
                    " unused; this model is not one the exporter can express, so nothing was written");
  }
  return Status::Ok();
}

// Options with no ONNX form are refused by name (none today: dropout and embedding dropout are
// identity at inference, class weights and the initial bias only shape training).
Status CheckExportable(const model::ModelOptions& options) {
  if (!IsCtrType(options.type) && options.type != "mf" && options.type != "two_tower") {
    return InvalidArgument("export: model.type '" + options.type + "' has no ONNX export");
  }
  return Status::Ok();
}

}  // namespace

const char* OutputName(model::Task task) {
  switch (task) {
    case model::Task::kBinary:
      return "probability";
    case model::Task::kMulticlass:
      return "probabilities";
    case model::Task::kRegression:
      return "prediction";
  }
  return "output";
}

std::string BagValuesName(const std::string& column) { return column + "/values"; }
std::string BagOffsetsName(const std::string& column) { return column + "/offsets"; }

StatusOr<onnx::ModelProto> BuildOnnxModel(const model::Model& model, const model::ModelOptions& options,
                                          const std::vector<std::string>& dense_columns, const ParamArena& params,
                                          const ExportInfo& info) {
  RETURN_IF_ERROR(CheckExportable(options));
  if (!params.on_host()) return Internal("export: the parameters must be in host memory");
  onnx::ModelProto proto;
  proto.set_ir_version(kIrVersion);
  proto.set_producer_name("ectrain");
  proto.set_producer_version(info.version);
  proto.set_doc_string("ectrain " + options.type + " model from " + info.checkpoint + " (step " +
                       std::to_string(info.step) + ")");
  onnx::OperatorSetIdProto* opset = proto.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpsetVersion);
  for (const auto& [key, value] : {std::pair<std::string, std::string>{"ectrain.model_type", options.type},
                                   {"ectrain.checkpoint", info.checkpoint},
                                   {"ectrain.checkpoint_step", std::to_string(info.step)},
                                   {"ectrain.version", info.version}}) {
    onnx::StringStringEntryProto* entry = proto.add_metadata_props();
    entry->set_key(key);
    entry->set_value(value);
  }
  onnx::GraphProto* graph = proto.mutable_graph();
  graph->set_name("ectrain_" + options.type);
  GraphWriter writer(model, options, params, graph);
  RETURN_IF_ERROR(writer.AddInputs(dense_columns));
  const std::string logits = writer.Logits();
  RETURN_IF_ERROR(writer.AddOutput(logits, model.task(), model.num_outputs()));
  RETURN_IF_ERROR(writer.Finish());
  return proto;
}

Status CheckOnnxModel(const onnx::ModelProto& model) {
  try {
    onnx::checker::check_model(model);
    onnx::ModelProto inferred = model;
    onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(/*check_type=*/true, /*strict=*/1));
  } catch (const std::exception& e) {
    return Internal(std::string("export: ONNX's checker refuses the graph: ") + e.what());
  }
  return Status::Ok();
}

}  // namespace ectrain::exporter
