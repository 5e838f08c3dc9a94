#include "data/schema.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "data/csv.h"

namespace ectrain::data {
namespace {

using nlohmann::json;

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// strtod over the whole trimmed text; nullopt when anything is left over.
std::optional<double> ParseNumber(const std::string& text) {
  const std::string trimmed(TrimSpaces(text));
  if (trimmed.empty()) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(trimmed.c_str(), &end);
  if (end != trimmed.c_str() + trimmed.size()) return std::nullopt;
  return value;
}

}  // namespace

std::string FeatureSchema::ToJson() const {
  json stats = json::array();
  for (const DenseColumnStats& s : dense_stats) {
    stats.push_back(json{{"fill_value", s.fill_value}, {"mean", s.mean}, {"stddev", s.stddev}});
  }
  const json doc = {{"label", label},
                    {"dense", dense},
                    {"categorical", categorical},
                    {"vocab_sizes", vocab_sizes},
                    {"multi_valued", multi_valued},
                    {"multi_vocab_sizes", multi_vocab_sizes},
                    {"dense_stats", stats},
                    {"vocabularies", vocabularies}};
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
    for (const json& s : doc.value("dense_stats", json::array())) {
      schema.dense_stats.push_back({s.at("fill_value").get<double>(), s.at("mean").get<double>(),
                                    s.at("stddev").get<double>()});
    }
    schema.vocabularies =
        doc.value("vocabularies", json::array()).get<std::vector<std::vector<std::string>>>();
  } catch (const json::exception& e) {
    return DataError(where + ": malformed feature schema (" + e.what() +
                     "); re-run `ectrain prepare`");
  }
  if (schema.vocab_sizes.size() != schema.categorical.size()) {
    return DataError(where + ": feature schema has " + std::to_string(schema.vocab_sizes.size()) +
                     " vocab_sizes for " + std::to_string(schema.categorical.size()) +
                     " categorical columns; re-run `ectrain prepare`");
  }
  if (schema.multi_vocab_sizes.size() != schema.multi_valued.size()) {
    return DataError(where + ": feature schema has " + std::to_string(schema.multi_vocab_sizes.size()) +
                     " multi_vocab_sizes for " + std::to_string(schema.multi_valued.size()) +
                     " multi-valued columns; re-run `ectrain prepare`");
  }
  if (schema.has_preprocessing() && (schema.dense_stats.size() != schema.dense.size() ||
                                     schema.vocabularies.size() != schema.categorical.size())) {
    return DataError(where +
                     ": feature schema statistics do not match its columns; re-run "
                     "`ectrain prepare`");
  }
  return schema;
}

Status FeatureSchema::EncodeRow(const std::map<std::string, std::string>& raw, float* dense_out,
                                int32_t* categorical_out) const {
  if (dense_stats.size() != dense.size() || vocabularies.size() != categorical.size()) {
    return InvalidArgument(
        "the feature schema has no preprocessing statistics, so raw rows "
        "cannot be encoded; use data written by `ectrain prepare`");
  }
  auto find = [&](const std::string& column) -> StatusOr<const std::string*> {
    auto it = raw.find(column);
    if (it == raw.end()) return InvalidArgument("input row has no column '" + column + "'");
    return &it->second;
  };
  for (size_t i = 0; i < dense.size(); ++i) {
    ASSIGN_OR_RETURN(const std::string* text, find(dense[i]));
    StatusOr<std::optional<double>> value = ParseDenseValue(*text);
    if (!value.ok()) return DataError("column '" + dense[i] + "': " + value.status().message());
    const DenseColumnStats& s = dense_stats[i];
    dense_out[i] = static_cast<float>((value->value_or(s.fill_value) - s.mean) / s.stddev);
  }
  for (size_t i = 0; i < categorical.size(); ++i) {
    ASSIGN_OR_RETURN(const std::string* text, find(categorical[i]));
    // Linear search: prediction encodes few rows, and the schema stays a plain value type.
    const std::vector<std::string>& vocab = vocabularies[i];
    auto it = std::find(vocab.begin(), vocab.end(), TrimSpaces(*text));
    categorical_out[i] = it == vocab.end() ? 0 : static_cast<int32_t>(it - vocab.begin()) + 1;
  }
  return Status::Ok();
}

StatusOr<float> ParseLabel(const std::string& text) {
  const std::string lower = Lower(TrimSpaces(text));
  if (lower == "true" || lower == "yes") return 1.0f;
  if (lower == "false" || lower == "no") return 0.0f;
  const std::optional<double> value = ParseNumber(text);
  if (!value || !std::isfinite(*value)) {
    return DataError("'" + text + "' is not a label; use a finite number, true/false or yes/no");
  }
  return static_cast<float>(*value);
}

bool IsMissingValue(const std::string& text) {
  const std::string lower = Lower(TrimSpaces(text));
  return lower.empty() || lower == "na" || lower == "n/a" || lower == "nan" || lower == "null" ||
         lower == "?";
}

StatusOr<std::optional<double>> ParseDenseValue(const std::string& text) {
  if (IsMissingValue(text)) return std::optional<double>();
  const std::optional<double> value = ParseNumber(text);
  if (!value) return DataError("'" + text + "' is not a number");
  if (!std::isfinite(*value)) return DataError("'" + text + "' is not a finite number");
  return value;
}

}  // namespace ectrain::data
