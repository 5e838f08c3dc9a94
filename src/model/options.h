// Settings of the model module, filled by config/ and checked by CheckModelOptions (config/ and
// CreateModel both call it, so a setting is judged the same way wherever it comes from); plain values.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/status.h"

namespace ectrain::model {

struct ModelOptions {
  // Every member has an initializer, so an aggregate initialization such as `{"mlp", 4, {8}}` may leave
  // out the trailing ones without a -Wmissing-field-initializers warning.
  // logistic | mlp | wide_deep | deepfm | dcn | two_tower | mf | classifier (see README "Models").
  std::string type = "mlp";
  int64_t embedding_dim = 16;
  std::vector<int64_t> hidden_units = {64, 32};  // the deep part's hidden layers (ReLU)
  // auto | bce | mse | softmax. auto follows the labels (`ectrain train` sets the loss it trains
  // with from the data: LossForLabelType); the classifier's is softmax.
  std::string loss = "auto";
  std::string bag_pooling = "mean";  // multi-valued fields: mean | sum of the ids' embeddings
  // The output's bias at the start: "prior" (from the training labels: the base rate's log-odds,
  // the classes' log shares, the mean rating; Model::InitializeOutputBias) or "zero".
  std::string initial_bias = "prior";
  double dropout = 0.0;      // after each hidden layer's ReLU, training only (inverted)
  bool layer_norm = false;   // after each hidden dense layer, before the ReLU
  int64_t cross_layers = 2;  // dcn
  // How the field embeddings meet in the deep part: concat (into the MLP, with the dense columns)
  // or dot (DLRM: the pairwise dot products of the embeddings and the dense columns projected to
  // embedding_dim; mlp, wide_deep and classifier).
  std::string interaction = "concat";
  // two_tower: the fields (categorical or multi-valued) of each tower; item_fields empty means
  // every field not in user_fields. The dense columns go to the tower dense_tower names.
  std::vector<std::string> user_fields{};
  std::vector<std::string> item_fields{};
  std::vector<int64_t> tower_units = {64, 32};  // hidden widths, then the tower's output width
  std::string dense_tower = "user";             // user | item
  std::string user_field{};                     // mf: the categorical fields whose vectors meet
  std::string item_field{};
  int64_t num_classes = 2;              // classifier: labels are class ids 0..num_classes-1
  std::vector<double> class_weights{};  // softmax loss: one weight per class (empty: all 1)
  // Hierarchical ids: child column -> parent column (both categorical), e.g. {item: category}. The
  // child's vector is its own (a residual) plus its parent's, so rare children borrow from the parent.
  std::map<std::string, std::string> parents{};
  double embedding_dropout = 0.0;  // inverted dropout on the embedding vectors, training only
};

// The model types whose id vectors can have parents (model.parents).
inline bool HasIdVectors(const std::string& type) {
  return type == "mlp" || type == "wide_deep" || type == "deepfm" || type == "dcn" || type == "classifier" ||
         type == "mf";
}

inline const std::vector<std::string>& ModelTypes() {
  static const std::vector<std::string> types = {"logistic", "mlp",       "wide_deep", "deepfm",
                                                 "dcn",      "two_tower", "mf",        "classifier"};
  return types;
}

// The loss a model trains with: model.loss, or the type's default while it is "auto" (before the
// labels are known, and in checkpoints written before auto followed them).
inline std::string ResolvedLoss(const ModelOptions& o) {
  if (o.loss != "auto") return o.loss;
  if (o.type == "classifier") return "softmax";
  if (o.type == "mf") return "mse";
  return "bce";
}

// What model.loss auto trains with on labels of `label_type` (data/schema.h): bce for binary (0/1)
// labels, mse for regression labels (ratings), softmax for class labels.
inline std::string LossForLabelType(const std::string& label_type) {
  if (label_type == "class") return "softmax";
  if (label_type == "regression") return "mse";
  return "bce";
}

// Checks that need no data. Errors name the config key.
inline Status CheckModelOptions(const ModelOptions& o) {
  const auto& types = ModelTypes();
  if (std::find(types.begin(), types.end(), o.type) == types.end()) {
    return InvalidArgument("model.type: '" + o.type + "' is not a model type");
  }
  if (o.embedding_dim < 1) return InvalidArgument("model.embedding_dim: must be at least 1");
  const std::string loss = ResolvedLoss(o);
  if (loss != "bce" && loss != "mse" && loss != "softmax") {
    return InvalidArgument("model.loss: '" + o.loss + "' is not allowed; allowed: auto, bce, mse, softmax");
  }
  if ((loss == "softmax") != (o.type == "classifier")) {
    return InvalidArgument("model.loss: softmax goes with model.type: classifier, and only with it (" + o.type +
                           " has one output); use bce for 0/1 labels or mse for ratings");
  }
  if (o.type == "classifier" && o.num_classes < 2) {
    return InvalidArgument("model.num_classes: a classifier needs at least 2 classes");
  }
  if (!o.class_weights.empty()) {
    if (loss != "softmax") return InvalidArgument("model.class_weights: only the softmax loss (classifier) uses them");
    if (static_cast<int64_t>(o.class_weights.size()) != o.num_classes) {
      return InvalidArgument("model.class_weights: " + std::to_string(o.class_weights.size()) +
                             " weights for model.num_classes " + std::to_string(o.num_classes) +
                             "; give one per class");
    }
    for (double w : o.class_weights) {
      if (!(w > 0)) return InvalidArgument("model.class_weights: every weight must be positive");
    }
  }
  if (o.bag_pooling != "mean" && o.bag_pooling != "sum") {
    return InvalidArgument("model.bag_pooling: '" + o.bag_pooling + "' is not allowed; allowed: mean, sum");
  }
  if (!(o.dropout >= 0 && o.dropout < 1)) return InvalidArgument("model.dropout: must be in [0, 1)");
  if (o.interaction != "concat" && o.interaction != "dot") {
    return InvalidArgument("model.interaction: '" + o.interaction + "' is not allowed; allowed: concat, dot");
  }
  if (o.interaction == "dot" && o.type != "mlp" && o.type != "wide_deep" && o.type != "classifier") {
    // Each other type has its own way for the fields to meet, which the dots would duplicate or skip.
    const char* why = o.type == "logistic" ? "it has no embeddings or deep part"
                      : o.type == "deepfm" ? "its FM term already sums the pairwise dots"
                      : o.type == "dcn"    ? "its cross layers work on the concatenated row"
                                           : "its score is already a dot product of its two sides";
    return InvalidArgument("model.interaction: dot goes with model.type mlp, wide_deep or classifier, not " + o.type +
                           " (" + why + "); use concat");
  }
  if (!(o.embedding_dropout >= 0 && o.embedding_dropout < 1)) {
    return InvalidArgument("model.embedding_dropout: must be in [0, 1)");
  }
  if (o.embedding_dropout > 0 && !HasIdVectors(o.type)) {
    return InvalidArgument("model.embedding_dropout: model.type " + o.type +
                           " has no embedding vectors to drop (mlp, wide_deep, deepfm, dcn, classifier and mf have)");
  }
  if (!o.parents.empty() && !HasIdVectors(o.type)) {
    const char* why = o.type == "logistic" ? "its per-id weights already add up over the columns, the parent's included"
                                           : "its towers do not take parents yet";
    return InvalidArgument("model.parents: model.type " + o.type + " cannot use them (" + why +
                           "); use mlp, wide_deep, deepfm, dcn, classifier or mf");
  }
  for (const auto& [child, parent] : o.parents) {
    if (child == parent) return InvalidArgument("model.parents." + child + ": a column cannot be its own parent");
    if (o.parents.count(parent) > 0) {
      return InvalidArgument("model.parents." + child + ": its parent '" + parent +
                             "' has a parent itself; one level only (give the child the top parent)");
    }
    if (o.type == "mf" && child != o.user_field && child != o.item_field) {
      return InvalidArgument("model.parents." + child +
                             ": mf gives parents to model.user_field or model.item_field only");
    }
    if (o.type == "mf" && (parent == o.user_field || parent == o.item_field)) {
      return InvalidArgument("model.parents." + child + ": the parent '" + parent + "' is mf's user or item column");
    }
  }
  if (o.type == "dcn" && o.cross_layers < 1) return InvalidArgument("model.cross_layers: dcn needs at least 1");
  if (o.type == "two_tower") {
    if (o.user_fields.empty()) {
      return InvalidArgument(
          "model.user_fields: two_tower needs the user-side fields (categorical or multi-valued), or data.user_column "
          "(then the user tower is that column)");
    }
    if (o.tower_units.empty()) return InvalidArgument("model.tower_units: two_tower needs at least the output width");
    if (o.dense_tower != "user" && o.dense_tower != "item") {
      return InvalidArgument("model.dense_tower: '" + o.dense_tower + "' is not allowed; allowed: user, item");
    }
  }
  if (o.type == "mf") {
    if (o.user_field.empty() || o.item_field.empty()) {
      return InvalidArgument(
          "model.user_field and model.item_field: mf needs both (categorical columns); name them in "
          "data.user_column and data.item_column");
    }
    if (o.user_field == o.item_field) return InvalidArgument("model.item_field: must differ from model.user_field");
  }
  return Status::Ok();
}

// The user and item columns named once (data.user_column, data.item_column; empty: not named)
// fill what the model type takes from them: mf's user_field and item_field, and two_tower's user
// tower when model.user_fields is empty (the item tower then has every other field). A model key
// naming another column than the data key is an error naming both.
inline Status TakeDataRoles(ModelOptions& o, const std::string& user_column, const std::string& item_column) {
  if (o.type == "mf") {
    for (const auto& [key, field, data_key, column] :
         {std::tuple{"model.user_field", &o.user_field, "data.user_column", &user_column},
          {"model.item_field", &o.item_field, "data.item_column", &item_column}}) {
      if (column->empty()) continue;
      if (field->empty()) {
        *field = *column;
      } else if (*field != *column) {
        return InvalidArgument(std::string(key) + " is '" + *field + "' but " + data_key + " is '" + *column +
                               "'; name the column once, in " + data_key + ", and leave " + key + " out");
      }
    }
  }
  if (o.type == "two_tower" && o.user_fields.empty() && !user_column.empty()) o.user_fields = {user_column};
  return Status::Ok();
}

// Checks the options that name input fields against the fields there are (data.categorical and
// data.multi_valued).
inline Status CheckModelFields(const ModelOptions& o, const std::vector<std::string>& categorical,
                               const std::vector<std::string>& multi_valued) {
  auto has = [](const std::vector<std::string>& list, const std::string& name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  if (o.type == "mf") {
    for (const auto& [key, name] : {std::pair{"model.user_field", o.user_field}, {"model.item_field", o.item_field}}) {
      if (!has(categorical, name)) {
        return InvalidArgument(std::string(key) + ": column '" + name + "' is not among data.categorical");
      }
    }
  }
  for (const auto& [child, parent] : o.parents) {
    for (const auto& name : {child, parent}) {
      if (!has(categorical, name)) {
        return InvalidArgument("model.parents." + child + ": column '" + name + "' is not among data.categorical");
      }
    }
  }
  if (o.type != "two_tower") return Status::Ok();
  for (const auto& [key, list] :
       {std::pair{"model.user_fields", &o.user_fields}, {"model.item_fields", &o.item_fields}}) {
    for (const auto& name : *list) {
      if (!has(categorical, name) && !has(multi_valued, name)) {
        return InvalidArgument(std::string(key) + ": column '" + name +
                               "' is not among data.categorical or data.multi_valued");
      }
    }
  }
  for (const auto& name : o.item_fields) {
    if (has(o.user_fields, name)) {
      return InvalidArgument("model.item_fields: column '" + name +
                             "' is also in model.user_fields; a field feeds one tower");
    }
  }
  if (!o.item_fields.empty()) {
    for (const auto* list : {&categorical, &multi_valued}) {
      for (const auto& name : *list) {
        if (!has(o.user_fields, name) && !has(o.item_fields, name)) {
          return InvalidArgument("model.item_fields: field '" + name +
                                 "' is in neither model.user_fields nor model.item_fields; add it to one, or leave "
                                 "model.item_fields empty (then it holds every field not in user_fields)");
        }
      }
    }
  } else if (o.user_fields.size() >= categorical.size() + multi_valued.size()) {
    return InvalidArgument("model.user_fields: lists every field, which leaves the item tower none");
  }
  return Status::Ok();
}

}  // namespace ectrain::model
