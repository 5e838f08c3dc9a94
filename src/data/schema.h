// FeatureSchema: which columns feed the model and how raw values become model inputs.
// `ectrain prepare` writes it (as JSON in the dataset "/ectrain/schema" of each HDF5 file it
// makes) and checkpoints carry a copy, so `predict` encodes raw rows exactly as training did.
// Value type; immutable after construction by convention.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace ectrain::data {

// Where `ectrain prepare` stores FeatureSchema::ToJson() in each HDF5 file it writes.
inline constexpr char kSchemaDataset[] = "/ectrain/schema";

struct DenseColumnStats {
  double fill_value = 0.0;  // replaces a missing value (the training mean)
  double mean = 0.0;        // standardization: (x - mean) / stddev
  double stddev = 1.0;
};

struct FeatureSchema {
  std::string label;
  std::vector<std::string> dense;        // model order
  std::vector<std::string> categorical;  // model order
  std::vector<int64_t> vocab_sizes;      // per categorical column: ids lie in [0, size)
  // Multi-valued categorical columns (genres, title tokens): CSR in the file (a group NAME with
  // datasets `values` and `offsets`), one pooled embedding each in the model.
  std::vector<std::string> multi_valued;  // model order
  std::vector<int64_t> multi_vocab_sizes;  // parallel to multi_valued: ids lie in [0, size)

  // Preprocessing, present when the data was written by `ectrain prepare` (empty otherwise).
  std::vector<DenseColumnStats> dense_stats;            // parallel to `dense`
  std::vector<std::vector<std::string>> vocabularies;   // parallel to `categorical`; id = index + 1
  bool has_preprocessing() const { return !dense_stats.empty() || !vocabularies.empty(); }

  std::string ToJson() const;
  static StatusOr<FeatureSchema> FromJson(const std::string& json, const std::string& where);

  // Encodes one raw row given as column name -> text: dense values parsed, filled and
  // standardized; categorical values mapped to ids (0 for a value not seen in training).
  // Needs has_preprocessing(). Errors name the column and the bad value.
  Status EncodeRow(const std::map<std::string, std::string>& raw, float* dense_out,
                   int32_t* categorical_out) const;
};

// Parses a label text: a number, or true/false, yes/no (any case). Error on anything else.
StatusOr<float> ParseLabel(const std::string& text);
// True for the texts that mean a missing numeric value: "", "NA", "N/A", "NaN", "null", "?".
bool IsMissingValue(const std::string& text);
// Parses a dense feature text: nullopt when missing, else a finite number. The error says what
// the text is; callers add where it came from. Shared by `prepare` and EncodeRow so both agree.
StatusOr<std::optional<double>> ParseDenseValue(const std::string& text);

}  // namespace ectrain::data
