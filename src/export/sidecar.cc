#include "export/sidecar.h"

#include <nlohmann/json.hpp>

#include "export/onnx_builder.h"

namespace ectrain::exporter {
namespace {

using nlohmann::json;

constexpr char kHashRule[] =
    "id = 1 + StableHash(value) % (hash_buckets - 1); StableHash: h = 0xcbf29ce484222325 ^ mix64(0), then per byte "
    "h = (h ^ byte) * 0x100000001b3 (FNV-1a, 64-bit), then mix64(h); mix64 is splitmix64's finaliser "
    "(src/data/encoding.cc)";
constexpr char kTokenizeRule[] =
    "ASCII letters lower-cased; runs of letters, digits and bytes >= 0x80 are the tokens; anything else splits";

// A categorical or multi-valued column's ids: a vocabulary (id = index + 1) or hashing.
void AddIds(json& j, const std::vector<std::string>& vocabulary, int64_t hash_buckets, int64_t num_ids) {
  j["num_ids"] = num_ids;
  if (hash_buckets > 0) {
    j["encoding"] = "hash";
    j["hash_buckets"] = hash_buckets;
    j["hash"] = kHashRule;
    return;
  }
  j["encoding"] = "vocabulary";
  json ids = json::object();
  for (size_t i = 0; i < vocabulary.size(); ++i) ids[vocabulary[i]] = static_cast<int64_t>(i + 1);
  j["vocabulary"] = std::move(ids);
  j["unknown_id"] = 0;
  j["unknown"] =
      "a value not in the vocabulary (unseen in training, seen fewer than prepare.min_count times, or missing) "
      "has id 0";
}

json DenseInput(const data::FeatureSchema& schema, size_t d) {
  json j = {{"name", schema.dense[d]}, {"kind", "dense"}, {"dtype", "float32"}, {"shape", {"batch"}}};
  if (schema.dense_stats.size() != schema.dense.size()) {
    j["preprocessing"] = nullptr;  // data not written by prepare: the values as stored
    return j;
  }
  const data::DenseColumnStats& s = schema.dense_stats[d];
  if (!s.indicator_of.empty()) {
    j["raw_column"] = s.indicator_of;
    j["preprocessing"] = {{"indicator_of", s.indicator_of},
                          {"formula", "1 when the raw value of indicator_of is missing, else 0"}};
    return j;
  }
  j["raw_column"] = schema.dense[d];
  j["preprocessing"] = {{"fill_value", s.fill_value},
                        {"fill", s.fill},
                        {"log", s.log},
                        {"mean", s.mean},
                        {"stddev", s.stddev},
                        {"scale", s.scale},
                        {"formula",
                         "x = the raw number, or fill_value when missing; t = log ? sign(x) * log1p(|x|) : x; "
                         "value = (t - mean) / stddev"}};
  return j;
}

json CategoricalInput(const data::FeatureSchema& schema, size_t c) {
  json j = {{"name", schema.categorical[c]},
            {"kind", "categorical"},
            {"dtype", "int64"},
            {"shape", {"batch"}},
            {"raw_column", schema.categorical[c]}};
  if (schema.vocabularies.size() != schema.categorical.size()) {
    j["num_ids"] = schema.vocab_sizes[c];
    j["encoding"] = nullptr;  // ids as stored
    return j;
  }
  const int64_t buckets = c < schema.hash_buckets.size() ? schema.hash_buckets[c] : 0;
  j["value"] = "the raw text with leading and trailing spaces removed";
  AddIds(j, schema.vocabularies[c], buckets, schema.vocab_sizes[c]);
  return j;
}

json BagInput(const data::FeatureSchema& schema, const model::ModelOptions& options, size_t b) {
  const std::string& name = schema.multi_valued[b];
  json j = {{"name", name},
            {"kind", "multi_valued"},
            {"raw_column", name},
            {"inputs",
             {{"values", {{"name", BagValuesName(name)}, {"dtype", "int64"}, {"shape", {name + "_ids"}}}},
              {"offsets", {{"name", BagOffsetsName(name)}, {"dtype", "int64"}, {"shape", {"batch_plus_1"}}}}}},
            {"layout", "row r's ids are values[offsets[r]:offsets[r + 1]]; offsets[0] = 0, offsets[batch] = ids"},
            {"pooling", options.bag_pooling}};
  if (schema.bag_encodings.size() != schema.multi_valued.size()) {
    j["num_ids"] = schema.multi_vocab_sizes[b];
    j["encoding"] = nullptr;
    return j;
  }
  const data::BagEncoding& e = schema.bag_encodings[b];
  if (e.text) {
    j["split"] = {{"tokenize", kTokenizeRule}};
  } else {
    j["split"] = {{"separator", e.separator}, {"trim", "spaces and tabs around each value; empty values dropped"}};
  }
  AddIds(j, e.vocabulary, e.hash_buckets, schema.multi_vocab_sizes[b]);
  return j;
}

json Output(const data::FeatureSchema& schema, const model::Model& model) {
  json j = {{"name", OutputName(model.task())}, {"dtype", "float32"}, {"label", schema.label}};
  switch (model.task()) {
    case model::Task::kBinary:
      j["shape"] = {"batch"};
      j["meaning"] = "probability that " + schema.label + " is 1 (sigmoid of the model's logit)";
      if (!schema.label_positive_values.empty()) j["positive_values"] = schema.label_positive_values;
      if (schema.label_threshold) j["positive_threshold"] = *schema.label_threshold;
      break;
    case model::Task::kMulticlass: {
      j["shape"] = {"batch", model.num_outputs()};
      j["meaning"] = "each class's probability (softmax of the model's logits), classes in the order of `classes`";
      json classes = json::array();
      for (int64_t c = 0; c < model.num_outputs(); ++c) {
        classes.push_back(c < static_cast<int64_t>(schema.label_classes.size()) ? schema.label_classes[c]
                                                                                : std::to_string(c));
      }
      j["classes"] = classes;
      break;
    }
    case model::Task::kRegression:
      j["shape"] = {"batch"};
      j["meaning"] = "the predicted value of " + schema.label + " (a score or rating)";
      break;
  }
  return j;
}

}  // namespace

std::string SidecarJson(const data::FeatureSchema& schema, const model::Model& model,
                        const model::ModelOptions& options, const ExportInfo& info, const std::string& onnx_file) {
  json inputs = json::array();
  for (size_t d = 0; d < schema.dense.size(); ++d) inputs.push_back(DenseInput(schema, d));
  for (size_t c = 0; c < schema.categorical.size(); ++c) inputs.push_back(CategoricalInput(schema, c));
  for (size_t b = 0; b < schema.multi_valued.size(); ++b) inputs.push_back(BagInput(schema, options, b));
  const json j = {{"format", "ectrain-onnx-sidecar"},
                  {"format_version", 1},
                  {"onnx_file", onnx_file},
                  {"opset", kOpsetVersion},
                  {"ectrain_version", info.version},
                  {"checkpoint", info.checkpoint},
                  {"checkpoint_step", info.step},
                  {"model_type", options.type},
                  {"missing_values", data::kMissingValueTexts},
                  {"missing_values_rule",
                   "a raw value is missing when, spaces trimmed, it is one of missing_values "
                   "in any case"},
                  {"inputs", inputs},
                  {"output", Output(schema, model)}};
  return j.dump(1) + "\n";
}

}  // namespace ectrain::exporter
