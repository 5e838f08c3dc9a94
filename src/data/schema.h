// FeatureSchema: which columns feed the model and how raw values become model inputs.
// `ectrain prepare` writes it (as JSON in the dataset "/ectrain/schema" of each HDF5 file it
// makes) and checkpoints carry a copy, so `predict` encodes raw rows exactly as training did.
// Value type; immutable after construction by convention.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace ectrain::data {

// Where `ectrain prepare` stores FeatureSchema::ToJson() in each HDF5 file it writes.
inline constexpr char kSchemaDataset[] = "/ectrain/schema";
// Where `prepare` marks the rows it added as sampled negatives (int32, 1 = sampled): not a
// feature; `recommend` leaves them out of what a user has seen.
inline constexpr char kSampledDataset[] = "/ectrain/sampled";

// How one dense model input is computed from a raw value x: filled (x missing -> fill_value),
// optionally log-transformed (t = SignedLog1p(x)), then scaled: (t - mean) / stddev. Min-max
// scaling is the same affine map with mean = min and stddev = max - min; `none` has 0 and 1.
// A missing-value indicator column instead reads raw column `indicator_of`: 1 when missing, else 0.
// Heterogeneous lookup (find by string_view without a copy).
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};
using IdMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

struct DenseColumnStats {
  DenseColumnStats() = default;
  DenseColumnStats(double fill_value, double mean, double stddev)
      : fill_value(fill_value), mean(mean), stddev(stddev) {}

  double fill_value = 0.0;  // replaces a missing value (training mean, median or a constant)
  double mean = 0.0;        // scaling: (t - mean) / stddev
  double stddev = 1.0;
  bool log = false;                // t = SignedLog1p(filled x)
  std::string fill = "mean";       // how fill_value was chosen: mean, median or constant
  std::string scale = "standard";  // standard, minmax or none: how mean/stddev were chosen
  std::string indicator_of;        // non-empty: this column is the "was missing" flag of that column
};

// How a multi-valued field's raw text becomes ids: split on `separator` (or tokenized as a
// title), then each value mapped through the vocabulary (id = index + 1, 0 = not in it) or,
// when hash_buckets > 0, hashed (HashedId). Duplicates within a row are kept.
struct BagEncoding {
  bool text = false;      // tokenize (lower-case, alphanumeric runs) instead of splitting
  std::string separator;  // when !text
  std::vector<std::string> vocabulary;
  int64_t hash_buckets = 0;
};
// The values of one raw multi-valued text under `encoding` (before ids), appended to `values`.
void BagValues(const BagEncoding& encoding, std::string_view text, std::vector<std::string>& values);

struct FeatureSchema {
  std::string label;
  std::vector<std::string> dense;        // model order
  std::vector<std::string> categorical;  // model order
  std::vector<int64_t> vocab_sizes;      // per categorical column: ids lie in [0, size)
  // Multi-valued categorical columns (genres, title tokens): CSR in the file (a group NAME with
  // datasets `values` and `offsets`), one pooled embedding each in the model.
  std::vector<std::string> multi_valued;   // model order
  std::vector<int64_t> multi_vocab_sizes;  // parallel to multi_valued: ids lie in [0, size)

  // Preprocessing, present when the data was written by `ectrain prepare` (empty otherwise).
  std::vector<DenseColumnStats> dense_stats;           // parallel to `dense`
  std::vector<std::vector<std::string>> vocabularies;  // parallel to `categorical`; id = index + 1
  // Parallel to `categorical`, or empty (all vocabularies): > 0 means the column is hashed into
  // that many ids (HashedId) and its vocabulary is empty.
  std::vector<int64_t> hash_buckets;
  std::vector<BagEncoding> bag_encodings;  // parallel to `multi_valued`
  bool has_preprocessing() const { return !dense_stats.empty() || !vocabularies.empty() || !bag_encodings.empty(); }

  // What the label column holds: "binary" (values in [0, 1]), "regression" (any finite number)
  // or "class" (ids 0..K-1 of label_classes). How a binary label was derived, if by a rule:
  // label_positive_values (1 when the raw text is one of them) or label_threshold (1 when >=).
  std::string label_type = "binary";
  std::vector<std::string> label_classes;
  std::vector<std::string> label_positive_values;
  std::optional<double> label_threshold;

  std::string ToJson() const;
  static StatusOr<FeatureSchema> FromJson(const std::string& json, const std::string& where);

  // This schema restricted to the named columns, in that order, with their preprocessing.
  // An error names a column the schema does not have (and leaves this schema as it was). The
  // rvalue form moves the encodings out instead of copying them: with real data a vocabulary
  // holds millions of values.
  StatusOr<FeatureSchema> Select(const std::vector<std::string>& dense, const std::vector<std::string>& categorical,
                                 const std::vector<std::string>& multi_valued) const&;
  StatusOr<FeatureSchema> Select(const std::vector<std::string>& dense, const std::vector<std::string>& categorical,
                                 const std::vector<std::string>& multi_valued) &&;
  // The columns, their id ranges and the label, without the preprocessing (vocabularies, bag
  // encodings, dense statistics): what reading and checking the data needs.
  FeatureSchema ColumnsOnly() const;

  // Encodes one raw row given as column name -> text, exactly as `prepare` encoded training:
  // dense values parsed, filled, transformed and scaled (dense_out: dense.size()); categorical
  // values mapped to ids, 0 for a value not in the vocabulary (categorical_out:
  // categorical.size()); multi-valued fields split or tokenized and mapped (bags_out resized to
  // multi_valued.size(); may be null when there are none). Needs has_preprocessing(). Errors
  // name the column and the bad value. For many rows, RowEncoder avoids rebuilding lookups.
  Status EncodeRow(const std::map<std::string, std::string>& raw, float* dense_out, int32_t* categorical_out,
                   std::vector<std::vector<int32_t>>* bags_out = nullptr) const;

  // The label value stored for a raw label text (label_type and its rule). Class labels must be
  // one of label_classes. Errors say what the text is; callers add where it came from.
  StatusOr<float> EncodeLabel(std::string_view text) const;
};

// Encodes raw rows given as fields in a fixed column order, with hash maps built once.
// Holds a pointer to the schema, which must outlive it. Thread-compatible (const methods).
class RowEncoder {
 public:
  // `raw_columns` names the fields Encode() receives. Every feature's raw column must be there
  // (error lists the columns there are).
  static StatusOr<RowEncoder> Create(const FeatureSchema& schema, const std::vector<std::string>& raw_columns);

  // Output sizes as in FeatureSchema::EncodeRow. `fields` parallel to raw_columns.
  Status Encode(const std::vector<std::string_view>& fields, float* dense_out, int32_t* categorical_out,
                std::vector<std::vector<int32_t>>* bags_out) const;

  // One value of categorical column `c` / multi-valued column `b` (appends ids to `ids`).
  int32_t CategoricalId(size_t c, std::string_view value) const;
  void BagIds(size_t b, std::string_view text, std::vector<int32_t>& ids) const;
  // Dense column `d` from its raw text; an error says what the text is.
  StatusOr<float> DenseValue(size_t d, std::string_view text) const;

 private:
  const FeatureSchema* schema_ = nullptr;
  std::vector<int> dense_fields_, categorical_fields_, bag_fields_;  // index into raw fields
  std::vector<IdMap> categorical_ids_, bag_ids_;
};

// Whether the rows of a data file, encoded as `data` says (its stored schema), mean to a model
// what they meant in training (`model`: the checkpoint's schema): every column the model reads
// encoded alike (the same vocabulary or hashing, the same dense filling and scaling, the same bag
// encoding) and, with `with_labels`, the same kind of label (and classes). An InvalidArgument
// names the first column that differs and what to do; `data_path` names the file.
Status CheckEncodedAlike(const FeatureSchema& data, const FeatureSchema& model, bool with_labels,
                         const std::string& data_path);

// Parses a label text: a number, or true/false, yes/no (any case). Error on anything else.
StatusOr<float> ParseLabel(std::string_view text);
// The texts that mean a missing value, in any case and with spaces around them (the export sidecar
// lists them for serving).
inline constexpr std::array<std::string_view, 6> kMissingValueTexts = {"", "NA", "N/A", "NaN", "null", "?"};
// True for those texts.
bool IsMissingValue(std::string_view text);
// Parses a dense feature text: nullopt when missing, else a finite number. The error says what
// the text is; callers add where it came from. Shared by `prepare` and EncodeRow so both agree.
StatusOr<std::optional<double>> ParseDenseValue(std::string_view text);

}  // namespace ectrain::data
