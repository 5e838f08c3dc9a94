#include "data/schema.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "data/csv.h"
#include "data/encoding.h"

namespace ectrain::data {
namespace {

using nlohmann::json;

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The whole trimmed text as a number; nullopt when anything is left over. from_chars is
// locale-independent and several times faster than strtod; it rejects a leading '+', which
// strtod took, so that is skipped first.
std::optional<double> ParseNumber(std::string_view text) {
  std::string_view trimmed = TrimSpaces(text);
  if (!trimmed.empty() && trimmed[0] == '+') trimmed.remove_prefix(1);
  if (trimmed.empty()) return std::nullopt;
  double value = 0;
  const auto [end, error] = std::from_chars(trimmed.data(), trimmed.data() + trimmed.size(), value);
  if (end != trimmed.data() + trimmed.size()) return std::nullopt;
  if (error == std::errc::result_out_of_range) {  // strtod's answer: +-inf or a denormal/zero
    const std::string copy(trimmed);
    return std::strtod(copy.c_str(), nullptr);
  }
  if (error != std::errc()) return std::nullopt;
  return value;
}

// The label column and what it holds.
void CopyLabel(const FeatureSchema& from, FeatureSchema& to) {
  to.label = from.label;
  to.label_type = from.label_type;
  to.label_classes = from.label_classes;
  to.label_positive_values = from.label_positive_values;
  to.label_threshold = from.label_threshold;
}

// doc[key], or an empty array when absent, by reference: json::value() returns a copy, and a
// vocabulary's copy is tens of MB.
const json& MemberOrEmpty(const json& doc, const char* key) {
  static const json empty = json::array();
  const auto it = doc.find(key);
  return it == doc.end() ? empty : *it;
}
}  // namespace

std::string FeatureSchema::ToJson() const {
  json stats = json::array();
  for (const DenseColumnStats& s : dense_stats) {
    json entry = {{"fill_value", s.fill_value},
                  {"mean", s.mean},
                  {"stddev", s.stddev},
                  {"log", s.log},
                  {"fill", s.fill},
                  {"scale", s.scale}};
    if (!s.indicator_of.empty()) entry["indicator_of"] = s.indicator_of;
    stats.push_back(std::move(entry));
  }
  json bags = json::array();
  for (const BagEncoding& b : bag_encodings) {
    bags.push_back(json{{"tokenizer", b.text ? "text" : "split"},
                        {"separator", b.separator},
                        {"hash_buckets", b.hash_buckets},
                        {"vocabulary", b.vocabulary}});
  }
  json doc = {{"label", label},
              {"dense", dense},
              {"categorical", categorical},
              {"vocab_sizes", vocab_sizes},
              {"multi_valued", multi_valued},
              {"multi_vocab_sizes", multi_vocab_sizes},
              {"label_type", label_type},
              {"label_classes", label_classes},
              {"label_positive_values", label_positive_values},
              {"label_threshold", label_threshold ? json(*label_threshold) : json(nullptr)},
              {"dense_stats", stats},
              {"hash_buckets", hash_buckets},
              {"bag_encodings", std::move(bags)}};
  doc["vocabularies"] = vocabularies;  // assigned, not in the list above: that would copy the tree
  return doc.dump(2);
}

StatusOr<FeatureSchema> FeatureSchema::FromJson(const std::string& text, const std::string& where) {
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return DataError(where + ": the feature schema is not a JSON object; re-run `ectrain prepare`");
  }
  FeatureSchema schema;
  try {
    schema.label = doc.at("label").get<std::string>();
    schema.dense = doc.at("dense").get<std::vector<std::string>>();
    schema.categorical = doc.at("categorical").get<std::vector<std::string>>();
    schema.vocab_sizes = doc.at("vocab_sizes").get<std::vector<int64_t>>();
    schema.multi_valued = doc.value("multi_valued", json::array()).get<std::vector<std::string>>();
    schema.multi_vocab_sizes = doc.value("multi_vocab_sizes", json::array()).get<std::vector<int64_t>>();
    schema.label_type = doc.value("label_type", std::string("binary"));
    schema.label_classes = doc.value("label_classes", json::array()).get<std::vector<std::string>>();
    schema.label_positive_values = doc.value("label_positive_values", json::array()).get<std::vector<std::string>>();
    if (doc.contains("label_threshold") && !doc["label_threshold"].is_null()) {
      schema.label_threshold = doc["label_threshold"].get<double>();
    }
    for (const json& s : doc.value("dense_stats", json::array())) {
      DenseColumnStats stats;
      stats.fill_value = s.at("fill_value").get<double>();
      stats.mean = s.at("mean").get<double>();
      stats.stddev = s.at("stddev").get<double>();
      stats.log = s.value("log", false);
      stats.fill = s.value("fill", std::string("mean"));
      stats.scale = s.value("scale", std::string("standard"));
      stats.indicator_of = s.value("indicator_of", std::string());
      schema.dense_stats.push_back(std::move(stats));
    }
    schema.vocabularies = MemberOrEmpty(doc, "vocabularies").get<std::vector<std::vector<std::string>>>();
    schema.hash_buckets = doc.value("hash_buckets", json::array()).get<std::vector<int64_t>>();
    for (const json& b : MemberOrEmpty(doc, "bag_encodings")) {
      BagEncoding bag;
      const std::string tokenizer = b.at("tokenizer").get<std::string>();
      if (tokenizer != "text" && tokenizer != "split") throw std::invalid_argument("unknown tokenizer " + tokenizer);
      bag.text = tokenizer == "text";
      bag.separator = b.value("separator", std::string());
      bag.hash_buckets = b.value("hash_buckets", int64_t{0});
      bag.vocabulary = MemberOrEmpty(b, "vocabulary").get<std::vector<std::string>>();
      schema.bag_encodings.push_back(std::move(bag));
    }
  } catch (const std::exception& e) {
    return DataError(where + ": malformed feature schema (" + e.what() + "); re-run `ectrain prepare`");
  }
  if (schema.vocab_sizes.size() != schema.categorical.size()) {
    return DataError(where + ": feature schema has " + std::to_string(schema.vocab_sizes.size()) + " vocab_sizes for " +
                     std::to_string(schema.categorical.size()) + " categorical columns; re-run `ectrain prepare`");
  }
  if (schema.multi_vocab_sizes.size() != schema.multi_valued.size()) {
    return DataError(where + ": feature schema has " + std::to_string(schema.multi_vocab_sizes.size()) +
                     " multi_vocab_sizes for " + std::to_string(schema.multi_valued.size()) +
                     " multi-valued columns; re-run `ectrain prepare`");
  }
  if (schema.has_preprocessing() &&
      (schema.dense_stats.size() != schema.dense.size() || schema.vocabularies.size() != schema.categorical.size() ||
       schema.bag_encodings.size() != schema.multi_valued.size() ||
       (!schema.hash_buckets.empty() && schema.hash_buckets.size() != schema.categorical.size()))) {
    return DataError(where +
                     ": feature schema statistics do not match its columns; re-run "
                     "`ectrain prepare`");
  }
  if (schema.label_type != "binary" && schema.label_type != "regression" && schema.label_type != "class") {
    return DataError(where + ": unknown label_type '" + schema.label_type + "'; re-run `ectrain prepare`");
  }
  return schema;
}

StatusOr<FeatureSchema> FeatureSchema::Select(const std::vector<std::string>& dense_names,
                                              const std::vector<std::string>& categorical_names,
                                              const std::vector<std::string>& multi_names) const& {
  return FeatureSchema(*this).Select(dense_names, categorical_names, multi_names);
}

StatusOr<FeatureSchema> FeatureSchema::Select(const std::vector<std::string>& dense_names,
                                              const std::vector<std::string>& categorical_names,
                                              const std::vector<std::string>& multi_names) && {
  auto find = [](const std::vector<std::string>& names, const std::string& name, const char* role,
                 std::vector<size_t>& found) -> Status {
    auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      return NotFound(std::string(role) + " column '" + name + "' is not in the schema; its " + role +
                      " columns are: " + list);
    }
    found.push_back(static_cast<size_t>(it - names.begin()));
    return Status::Ok();
  };
  // Every name first, so that an error moves nothing out.
  std::vector<size_t> dense_at, categorical_at, multi_at;
  for (const std::string& name : dense_names) RETURN_IF_ERROR(find(dense, name, "dense", dense_at));
  for (const std::string& name : categorical_names)
    RETURN_IF_ERROR(find(categorical, name, "categorical", categorical_at));
  for (const std::string& name : multi_names) RETURN_IF_ERROR(find(multi_valued, name, "multi-valued", multi_at));
  FeatureSchema out;
  CopyLabel(*this, out);
  for (const size_t i : dense_at) {
    out.dense.push_back(dense[i]);
    if (i < dense_stats.size()) out.dense_stats.push_back(dense_stats[i]);
  }
  for (const size_t i : categorical_at) {
    out.categorical.push_back(categorical[i]);
    out.vocab_sizes.push_back(vocab_sizes[i]);
    if (i < vocabularies.size()) out.vocabularies.push_back(std::move(vocabularies[i]));
    if (i < hash_buckets.size()) out.hash_buckets.push_back(hash_buckets[i]);
  }
  for (const size_t i : multi_at) {
    out.multi_valued.push_back(multi_valued[i]);
    out.multi_vocab_sizes.push_back(multi_vocab_sizes[i]);
    if (i < bag_encodings.size()) out.bag_encodings.push_back(std::move(bag_encodings[i]));
  }
  return out;
}

namespace {
template <typename T>
int IndexOf(const std::vector<T>& names, const T& name) {
  const auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

template <typename T>
const T* At(const std::vector<T>& values, int index) {
  return index >= 0 && static_cast<size_t>(index) < values.size() ? &values[static_cast<size_t>(index)] : nullptr;
}

bool SameStats(const DenseColumnStats& a, const DenseColumnStats& b) {
  return a.fill_value == b.fill_value && a.mean == b.mean && a.stddev == b.stddev && a.log == b.log &&
         a.indicator_of == b.indicator_of;
}

std::string Count(size_t n, const char* what) { return std::to_string(n) + " " + what; }

// "id 3 is 'Nov' there but 'Mar' in training; 10 and 10 values", or the sizes when one is a prefix.
std::string VocabularyDifference(const std::vector<std::string>& data, const std::vector<std::string>& model) {
  const auto [d, m] = std::mismatch(data.begin(), data.end(), model.begin(), model.end());
  const std::string sizes = Count(data.size(), "values") + "; the checkpoint's has " + Count(model.size(), "values");
  if (d == data.end() || m == model.end()) return sizes;
  return "id " + std::to_string(d - data.begin() + 1) + " is '" + *d + "' there but '" + *m + "' in training; " + sizes;
}
}  // namespace

Status CheckEncodedAlike(const FeatureSchema& data, const FeatureSchema& model, bool with_labels,
                         const std::string& data_path) {
  const auto differ = [&](const std::string& column, const std::string& how) {
    return InvalidArgument("data file '" + data_path +
                           "' was not encoded like the checkpoint's training data: column '" + column + "' " + how +
                           ", so its values mean other things to this model; give rows " +
                           "prepared together with the training data (the same `ectrain prepare` run, or " +
                           "prepare.test_source), or raw rows as CSV (`predict --input rows.csv`)");
  };
  if (with_labels && data.has_preprocessing() && model.has_preprocessing()) {
    if (data.label_type != model.label_type) {
      return differ(data.label,
                    "is a " + data.label_type + " label there but a " + model.label_type + " label in training");
    }
    if (data.label_classes != model.label_classes || data.label_positive_values != model.label_positive_values ||
        data.label_threshold != model.label_threshold) {
      return differ(data.label, "was made into a label by another rule or other classes");
    }
  }
  for (size_t c = 0; c < model.categorical.size(); ++c) {
    const std::string& name = model.categorical[c];
    const int d = IndexOf(data.categorical, name);
    if (d < 0) continue;  // a plain column of a file without this role: ids are range-checked on reading
    const int64_t model_buckets = At(model.hash_buckets, static_cast<int>(c)) ? model.hash_buckets[c] : 0;
    const int64_t data_buckets = At(data.hash_buckets, d) ? data.hash_buckets[static_cast<size_t>(d)] : 0;
    if (model_buckets != data_buckets) {
      return differ(name, "is hashed into " + std::to_string(data_buckets) + " ids there but " +
                              std::to_string(model_buckets) + " in training (0: a vocabulary)");
    }
    const auto* model_vocabulary = At(model.vocabularies, static_cast<int>(c));
    const auto* data_vocabulary = At(data.vocabularies, d);
    if (model_vocabulary && data_vocabulary && *model_vocabulary != *data_vocabulary) {
      return differ(name, "has another vocabulary (" + VocabularyDifference(*data_vocabulary, *model_vocabulary) + ")");
    }
    if (data.vocab_sizes[static_cast<size_t>(d)] > model.vocab_sizes[c]) {
      return differ(name, "has ids up to " + std::to_string(data.vocab_sizes[static_cast<size_t>(d)]) +
                              " but the model's table has " + std::to_string(model.vocab_sizes[c]) + " rows");
    }
  }
  for (size_t i = 0; i < model.dense.size(); ++i) {
    const int d = IndexOf(data.dense, model.dense[i]);
    const auto* model_stats = At(model.dense_stats, static_cast<int>(i));
    const auto* data_stats = At(data.dense_stats, d);
    if (model_stats && data_stats && !SameStats(*model_stats, *data_stats)) {
      return differ(model.dense[i], "is filled or scaled differently (mean " + std::to_string(data_stats->mean) +
                                        ", stddev " + std::to_string(data_stats->stddev) + "; in training " +
                                        std::to_string(model_stats->mean) + ", " + std::to_string(model_stats->stddev) +
                                        ")");
    }
  }
  for (size_t b = 0; b < model.multi_valued.size(); ++b) {
    const int d = IndexOf(data.multi_valued, model.multi_valued[b]);
    const auto* model_bag = At(model.bag_encodings, static_cast<int>(b));
    const auto* data_bag = At(data.bag_encodings, d);
    if (model_bag && data_bag &&
        (model_bag->vocabulary != data_bag->vocabulary || model_bag->hash_buckets != data_bag->hash_buckets ||
         model_bag->text != data_bag->text || model_bag->separator != data_bag->separator)) {
      return differ(model.multi_valued[b],
                    "has another vocabulary or encoding (" + Count(data_bag->vocabulary.size(), "values") +
                        "; the checkpoint's has " + Count(model_bag->vocabulary.size(), "values") + ")");
    }
  }
  return Status::Ok();
}

FeatureSchema FeatureSchema::ColumnsOnly() const {
  FeatureSchema out;
  CopyLabel(*this, out);
  out.dense = dense;
  out.categorical = categorical;
  out.vocab_sizes = vocab_sizes;
  out.multi_valued = multi_valued;
  out.multi_vocab_sizes = multi_vocab_sizes;
  return out;
}

void BagValues(const BagEncoding& encoding, std::string_view text, std::vector<std::string>& values) {
  if (encoding.text) {
    Tokenize(text, values);
  } else {
    SplitValues(text, encoding.separator, values);
  }
}

StatusOr<RowEncoder> RowEncoder::Create(const FeatureSchema& schema, const std::vector<std::string>& raw_columns) {
  if (schema.dense_stats.size() != schema.dense.size() || schema.vocabularies.size() != schema.categorical.size() ||
      schema.bag_encodings.size() != schema.multi_valued.size() ||
      (!schema.hash_buckets.empty() && schema.hash_buckets.size() != schema.categorical.size())) {
    return InvalidArgument(
        "the feature schema has no preprocessing statistics, so raw rows "
        "cannot be encoded; use data written by `ectrain prepare`");
  }
  RowEncoder encoder;
  encoder.schema_ = &schema;
  auto field = [&](const std::string& column) -> StatusOr<int> {
    auto it = std::find(raw_columns.begin(), raw_columns.end(), column);
    if (it != raw_columns.end()) return static_cast<int>(it - raw_columns.begin());
    std::string list;
    for (const auto& n : raw_columns) list += (list.empty() ? "" : ", ") + n;
    return InvalidArgument("input row has no column '" + column + "'; it has: " + list);
  };
  for (size_t d = 0; d < schema.dense.size(); ++d) {
    const std::string& source = schema.dense_stats[d].indicator_of;
    ASSIGN_OR_RETURN(const int index, field(source.empty() ? schema.dense[d] : source));
    encoder.dense_fields_.push_back(index);
  }
  for (size_t c = 0; c < schema.categorical.size(); ++c) {
    ASSIGN_OR_RETURN(const int index, field(schema.categorical[c]));
    encoder.categorical_fields_.push_back(index);
    const int64_t buckets = c < schema.hash_buckets.size() ? schema.hash_buckets[c] : 0;
    const std::vector<std::string>& vocabulary = schema.vocabularies[c];
    // A vocabulary column has exactly one id per value plus 0; anything else means the schema
    // lost its hashing (a copy that dropped hash_buckets) and every id would silently be 0.
    if (buckets == 0 && schema.vocab_sizes[c] != static_cast<int64_t>(vocabulary.size()) + 1) {
      return InvalidArgument("categorical column '" + schema.categorical[c] + "' has " +
                             std::to_string(schema.vocab_sizes[c]) + " ids but a vocabulary of " +
                             std::to_string(vocabulary.size()) +
                             " values and no hashing; the schema is incomplete, re-run `ectrain prepare`");
    }
    IdMap& ids = encoder.categorical_ids_.emplace_back();
    for (size_t i = 0; i < vocabulary.size(); ++i) ids.emplace(vocabulary[i], static_cast<int32_t>(i + 1));
  }
  for (size_t b = 0; b < schema.multi_valued.size(); ++b) {
    ASSIGN_OR_RETURN(const int index, field(schema.multi_valued[b]));
    encoder.bag_fields_.push_back(index);
    IdMap& ids = encoder.bag_ids_.emplace_back();
    const std::vector<std::string>& vocabulary = schema.bag_encodings[b].vocabulary;
    for (size_t i = 0; i < vocabulary.size(); ++i) ids.emplace(vocabulary[i], static_cast<int32_t>(i + 1));
  }
  return encoder;
}

int32_t RowEncoder::CategoricalId(size_t c, std::string_view value) const {
  value = TrimSpaces(value);
  const int64_t buckets = c < schema_->hash_buckets.size() ? schema_->hash_buckets[c] : 0;
  if (buckets > 0) return HashedId(value, buckets);
  auto it = categorical_ids_[c].find(value);
  return it == categorical_ids_[c].end() ? 0 : it->second;  // 0: not in the vocabulary
}

void RowEncoder::BagIds(size_t b, std::string_view text, std::vector<int32_t>& ids) const {
  const BagEncoding& encoding = schema_->bag_encodings[b];
  std::vector<std::string> values;
  BagValues(encoding, text, values);
  for (const std::string& value : values) {
    if (encoding.hash_buckets > 0) {
      ids.push_back(HashedId(value, encoding.hash_buckets));
    } else {
      auto it = bag_ids_[b].find(value);
      ids.push_back(it == bag_ids_[b].end() ? 0 : it->second);
    }
  }
}

StatusOr<float> RowEncoder::DenseValue(size_t d, std::string_view text) const {
  ASSIGN_OR_RETURN(const std::optional<double> value, ParseDenseValue(text));
  const DenseColumnStats& s = schema_->dense_stats[d];
  if (!s.indicator_of.empty()) return value ? 0.0f : 1.0f;
  double x = value.value_or(s.fill_value);
  if (s.log) x = SignedLog1p(x);
  return static_cast<float>((x - s.mean) / s.stddev);
}

Status RowEncoder::Encode(const std::vector<std::string_view>& fields, float* dense_out, int32_t* categorical_out,
                          std::vector<std::vector<int32_t>>* bags_out) const {
  const FeatureSchema& schema = *schema_;
  for (size_t d = 0; d < dense_fields_.size(); ++d) {
    StatusOr<float> value = DenseValue(d, fields[dense_fields_[d]]);
    if (!value.ok()) {
      const std::string& source = schema.dense_stats[d].indicator_of;
      return DataError("column '" + (source.empty() ? schema.dense[d] : source) + "': " + value.status().message());
    }
    dense_out[d] = *value;
  }
  for (size_t c = 0; c < categorical_fields_.size(); ++c) {
    categorical_out[c] = CategoricalId(c, fields[categorical_fields_[c]]);
  }
  if (bag_fields_.empty()) return Status::Ok();
  if (bags_out == nullptr) {
    return InvalidArgument("this schema has multi-valued columns; the caller must take their ids");
  }
  bags_out->resize(bag_fields_.size());
  for (size_t b = 0; b < bag_fields_.size(); ++b) {
    (*bags_out)[b].clear();
    BagIds(b, fields[bag_fields_[b]], (*bags_out)[b]);
  }
  return Status::Ok();
}

Status FeatureSchema::EncodeRow(const std::map<std::string, std::string>& raw, float* dense_out,
                                int32_t* categorical_out, std::vector<std::vector<int32_t>>* bags_out) const {
  std::vector<std::string> columns;
  std::vector<std::string_view> fields;
  for (const auto& [name, text] : raw) {
    columns.push_back(name);
    fields.push_back(text);
  }
  ASSIGN_OR_RETURN(const RowEncoder encoder, RowEncoder::Create(*this, columns));
  return encoder.Encode(fields, dense_out, categorical_out, bags_out);
}

StatusOr<float> FeatureSchema::EncodeLabel(std::string_view text) const {
  const std::string_view trimmed = TrimSpaces(text);
  // label_type is one of binary, class, regression (checked when the schema is made or read);
  // its first letter decides, as this runs once per row.
  const char type = label_type.empty() ? 'b' : label_type[0];
  if (type == 'c') {
    auto it = std::find(label_classes.begin(), label_classes.end(), trimmed);
    if (it == label_classes.end()) {
      return DataError("'" + std::string(text) + "' is not one of the " + std::to_string(label_classes.size()) +
                       " classes of the label");
    }
    return static_cast<float>(it - label_classes.begin());
  }
  if (type == 'r') return ParseLabel(text);
  if (!label_positive_values.empty()) {
    return std::find(label_positive_values.begin(), label_positive_values.end(), trimmed) != label_positive_values.end()
               ? 1.0f
               : 0.0f;
  }
  if (label_threshold) {
    const std::optional<double> value = ParseNumber(text);
    if (!value || !std::isfinite(*value)) {
      return DataError("'" + std::string(text) + "' is not a number to compare with label_threshold " +
                       std::to_string(*label_threshold));
    }
    return *value >= *label_threshold ? 1.0f : 0.0f;
  }
  ASSIGN_OR_RETURN(const float label, ParseLabel(text));
  if (label < 0 || label > 1) {
    return DataError("label '" + std::string(text) +
                     "' is outside [0, 1]; use 0/1 or a probability, or set prepare.label_type "
                     "(regression, class) or prepare.label_threshold");
  }
  return label;
}

StatusOr<float> ParseLabel(std::string_view text) {
  const std::string_view trimmed = TrimSpaces(text);
  const bool word = trimmed.size() <= 5 && !trimmed.empty() && std::isalpha(static_cast<unsigned char>(trimmed[0]));
  const std::string lower = word ? Lower(trimmed) : std::string();
  if (lower == "true" || lower == "yes") return 1.0f;
  if (lower == "false" || lower == "no") return 0.0f;
  const std::optional<double> value = ParseNumber(text);
  if (!value || !std::isfinite(*value)) {
    return DataError("'" + std::string(text) + "' is not a label; use a finite number, true/false or yes/no");
  }
  return static_cast<float>(*value);
}

bool IsMissingValue(std::string_view text) {
  const std::string_view trimmed = TrimSpaces(text);
  // The common cases without a copy: long texts, and numbers (every missing marker starts
  // with a letter or '?').
  if (trimmed.size() > 4) return false;
  if (!trimmed.empty() && (std::isdigit(static_cast<unsigned char>(trimmed[0])) || trimmed[0] == '-' ||
                           trimmed[0] == '+' || trimmed[0] == '.')) {
    return false;
  }
  const auto same_in_any_case = [trimmed](std::string_view missing) {
    return std::equal(trimmed.begin(), trimmed.end(), missing.begin(), missing.end(), [](char a, char b) {
      return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
    });
  };
  return std::any_of(kMissingValueTexts.begin(), kMissingValueTexts.end(), same_in_any_case);
}

StatusOr<std::optional<double>> ParseDenseValue(std::string_view text) {
  if (IsMissingValue(text)) return std::optional<double>();
  const std::optional<double> value = ParseNumber(text);
  if (!value) return DataError("'" + std::string(text) + "' is not a number");
  if (!std::isfinite(*value)) return DataError("'" + std::string(text) + "' is not a finite number");
  return value;
}

}  // namespace ectrain::data
