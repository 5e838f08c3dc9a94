#include "prep/prepare.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "core/log.h"
#include "core/rng.h"
#include "data/column_writer.h"
#include "data/csv.h"
#include "data/encoding.h"
#include "prep/importers.h"
#include "prep/sparse_source.h"

namespace ectrain::prep {
namespace {

constexpr int64_t kMedianSample = int64_t{1} << 20;  // values per median-filled column
constexpr int64_t kTimeSample = int64_t{1} << 22;    // times for the time-split threshold
constexpr size_t kBadRowExamples = 5;
constexpr size_t kFlushRows = 8192;  // rows buffered per split before they go to the writer

using Clock = std::chrono::steady_clock;

// A set of 64-bit row fingerprints, open addressing at most 70% full: 11-23 bytes per distinct
// row (e.g. 45M Criteo rows: about 0.5-1 GB). Two different rows share a fingerprint with
// probability about n^2 / 2^65 (45M rows: 5e-5), in which case the later one is dropped.
class FingerprintSet {
 public:
  // True when `fingerprint` was not in the set.
  bool Insert(uint64_t fingerprint) {
    if (fingerprint == 0) fingerprint = 1;  // 0 marks an empty slot
    if ((size_ + 1) * 10 > slots_.size() * 7) Grow();
    const size_t mask = slots_.size() - 1;
    for (size_t i = fingerprint & mask;; i = (i + 1) & mask) {
      if (slots_[i] == fingerprint) return false;
      if (slots_[i] == 0) {
        slots_[i] = fingerprint;
        ++size_;
        return true;
      }
    }
  }

 private:
  void Grow() {
    std::vector<uint64_t> old = std::move(slots_);
    slots_.assign(std::max<size_t>(1024, old.size() * 2), 0);
    const size_t mask = slots_.size() - 1;
    for (const uint64_t f : old) {
      if (f == 0) continue;
      size_t i = f & mask;
      while (slots_[i] != 0) i = (i + 1) & mask;
      slots_[i] = f;
    }
  }
  std::vector<uint64_t> slots_;
  size_t size_ = 0;
};

// A uniform sample of at most `capacity` values (Vitter's algorithm R): all of them while they fit.
class Reservoir {
 public:
  Reservoir(int64_t capacity, uint64_t seed) : capacity_(capacity), rng_(seed) {}
  void Add(double value) {
    ++seen_;
    if (static_cast<int64_t>(values_.size()) < capacity_) {
      values_.push_back(value);
    } else {
      const uint64_t slot = rng_.Below(static_cast<uint64_t>(seen_));
      if (slot < static_cast<uint64_t>(capacity_)) values_[slot] = value;
    }
  }
  // The value at quantile q in [0, 1] of the sample (the lower one between two).
  double Quantile(double q) {
    if (values_.empty()) return 0.0;
    const auto index = static_cast<size_t>(std::floor(q * static_cast<double>(values_.size() - 1)));
    std::nth_element(values_.begin(), values_.begin() + index, values_.end());
    return values_[index];
  }
  bool exact() const { return seen_ <= capacity_; }
  bool empty() const { return values_.empty(); }

 private:
  int64_t capacity_;
  int64_t seen_ = 0;
  Rng rng_;
  std::vector<double> values_;
};

struct ValueCount {
  int64_t count = 0;
  int64_t first = 0;  // order of first appearance in training
};
using CountMap = std::unordered_map<std::string, ValueCount, data::StringHash, std::equal_to<>>;

void CountValue(CountMap& counts, std::string_view value) {
  auto it = counts.find(value);
  if (it == counts.end()) {
    counts.emplace(std::string(value), ValueCount{1, static_cast<int64_t>(counts.size())});
  } else {
    ++it->second.count;
  }
}

// Values seen at least min_count times, in order of first appearance.
std::vector<std::string> Vocabulary(const CountMap& counts, int64_t min_count) {
  std::vector<std::pair<int64_t, const std::string*>> kept;
  for (const auto& [value, count] : counts) {
    if (count.count >= min_count) kept.emplace_back(count.first, &value);
  }
  std::sort(kept.begin(), kept.end());
  std::vector<std::string> vocabulary;
  vocabulary.reserve(kept.size());
  for (const auto& [first, value] : kept) vocabulary.push_back(*value);
  return vocabulary;
}

// A dense column's training statistics, gathered in one pass. Welford's running mean and M2 of
// the transformed present values; the missing ones are added at the end as copies of the
// (transformed) fill value, which is only known then (Chan et al.'s pairwise combination).
struct DenseAccumulator {
  int64_t present = 0, missing = 0;
  double raw_mean = 0;          // of present raw values (a mean fill)
  double mean_t = 0, m2_t = 0;  // of present transformed values
  double min_t = std::numeric_limits<double>::infinity();
  double max_t = -std::numeric_limits<double>::infinity();
  std::unique_ptr<Reservoir> median;  // only for a median fill

  void Add(std::optional<double> x, bool log) {
    if (!x) {
      ++missing;
      return;
    }
    ++present;
    raw_mean += (*x - raw_mean) / static_cast<double>(present);
    const double t = log ? data::SignedLog1p(*x) : *x;
    const double delta = t - mean_t;
    mean_t += delta / static_cast<double>(present);
    m2_t += delta * (t - mean_t);
    min_t = std::min(min_t, t);
    max_t = std::max(max_t, t);
    if (median) median->Add(*x);
  }
};

// One dense output column as planned from the prepare.
struct DensePlan {
  std::string name;
  int field = -1;          // raw field (the source column for an indicator)
  bool indicator = false;  // NAME_missing of another dense column
  std::string fill;        // mean, median or constant
  double constant = 0;
  std::string scale;
  bool log = false;
};
struct CategoricalPlan {
  std::string name;
  int field = -1;
  int64_t hash_buckets = 0;
  int64_t min_count = 1;
};

struct Plan {
  std::unique_ptr<RowSource> source;
  int label_field = -1;
  int time_field = -1;
  int user_field = -1;           // split: last_per_user; negatives
  std::vector<int> item_fields;  // negatives: the item column, then the item's other columns
  std::vector<DensePlan> dense;
  std::vector<CategoricalPlan> categorical, bags;
  std::vector<data::BagEncoding> bag_encodings;  // without vocabularies yet
  data::FeatureSchema label_schema;              // label settings only, to check labels in pass 1
};

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Keys of a per-column map must name columns of the right role: a typo is an error, not a no-op.
template <typename Map>
Status CheckColumnKeys(const Map& map, const std::vector<std::string>& allowed, const std::string& key,
                       const std::string& role) {
  for (const auto& [name, value] : map) {
    if (!Contains(allowed, name)) {
      return InvalidArgument("prepare." + key + ": '" + name + "' is not one of the " + role + " columns (" +
                             Join(allowed) + ")");
    }
  }
  return Status::Ok();
}

Status CheckList(const std::vector<std::string>& names, const std::vector<std::string>& allowed, const std::string& key,
                 const std::string& role) {
  for (const auto& name : names) {
    if (!Contains(allowed, name)) {
      return InvalidArgument("prepare." + key + ": '" + name + "' is not one of the " + role + " columns (" +
                             Join(allowed) + ")");
    }
  }
  return Status::Ok();
}

// A format's default roles when the data: section names none (and Taobao's purchase label).
void ApplyFormatDefaults(PrepareOptions& prepare, data::DataOptions& data) {
  if (data.label.empty() && data.dense.empty() && data.categorical.empty() && data.multi_valued.empty()) {
    FormatRoles roles = DefaultRoles(prepare.format);
    data.label = roles.label;
    data.dense = roles.dense;
    data.categorical = roles.categorical;
    data.multi_valued = roles.multi_valued;
    for (const auto& [name, separator] : roles.separators) prepare.separators.emplace(name, separator);
  }
  if (prepare.format == "taobao" && prepare.positive_values.empty() && data.label == "behavior_type" &&
      prepare.label_type == "binary") {
    prepare.positive_values = DefaultRoles("taobao").positive_values;
  }
}

bool IsSparseFormat(const std::string& format) { return format == "libsvm" || format == "libffm"; }

// libsvm's and libffm's settings: how the lines name their fields, and each field's role (which
// decides its column's text); the keys of the other formats are refused, not ignored.
Status SparseSourceFor(const PrepareOptions& prepare, const data::DataOptions& data, SparseOptions& sparse) {
  const std::string& format = prepare.format;
  if (!prepare.delimiter.empty() || prepare.header == "true" || prepare.encoding != "utf-8") {
    return InvalidArgument("prepare.delimiter, prepare.header: true and prepare.encoding are not for format " + format +
                           " (UTF-8 lines of values separated by spaces or tabs, no header); leave them out");
  }
  if (format == "libsvm") {
    if (!prepare.columns.empty()) {
      return InvalidArgument(
          "prepare.columns names libffm's fields by number; libsvm's fields come from prepare.feature_index or "
          "prepare.field_ranges");
    }
    if (prepare.feature_index.empty() == prepare.field_ranges.empty()) {
      return InvalidArgument(
          "format libsvm needs the fields of the feature indices: prepare.feature_index (a file of "
          "'field:value<TAB>index' lines) or prepare.field_ranges ({field: [first, last], ...}), one of them");
    }
  } else if (!prepare.feature_index.empty() || !prepare.field_ranges.empty()) {
    return InvalidArgument(
        "prepare.feature_index and prepare.field_ranges are for libsvm; libffm's lines number their fields: name "
        "them in prepare.columns (default f0, f1, ...)");
  }
  if (!prepare.leading_columns.empty()) sparse.leading_columns = prepare.leading_columns;
  sparse.feature_index = prepare.feature_index;
  for (const auto& [field, range] : prepare.field_ranges)
    sparse.field_ranges.push_back({field, range.first, range.second});
  sparse.dense = data.dense;
  sparse.categorical = data.categorical;
  sparse.multi_valued = data.multi_valued;
  sparse.separators = prepare.separators;
  if (prepare.label_type == "binary" && prepare.positive_values.empty() && !prepare.label_threshold) {
    sparse.binary_label = data.label;  // libsvm's -1/+1 labels
  }
  return Status::Ok();
}

// How to read prepare.source, as the importers take it: the delimiter, header and encoding parsed.
StatusOr<SourceOptions> SourceFor(const PrepareOptions& prepare, const data::DataOptions& data) {
  SourceOptions source;
  source.format = prepare.format;
  source.path = prepare.source;
  if (!prepare.delimiter.empty()) {
    StatusOr<char> delimiter = data::ParseDelimiter(prepare.delimiter);
    if (!delimiter.ok()) return InvalidArgument("prepare.delimiter: " + delimiter.status().message());
    source.delimiter = *delimiter;
  }
  if (prepare.header != "auto" && prepare.header != "true" && prepare.header != "false") {
    return InvalidArgument("prepare.header: '" + prepare.header + "'; allowed: auto, true, false");
  }
  source.header = prepare.header == "auto" ? -1 : prepare.header == "true" ? 1 : 0;
  source.columns = prepare.columns;
  if (prepare.encoding != "utf-8" && prepare.encoding != "latin-1") {
    return InvalidArgument("prepare.encoding: '" + prepare.encoding + "'; allowed: utf-8, latin-1");
  }
  source.latin1 = prepare.encoding == "latin-1";
  if (IsSparseFormat(prepare.format)) {
    RETURN_IF_ERROR(SparseSourceFor(prepare, data, source.sparse));
  } else if (!prepare.leading_columns.empty() || !prepare.feature_index.empty() || !prepare.field_ranges.empty()) {
    return InvalidArgument(
        "prepare.leading_columns, prepare.feature_index and prepare.field_ranges are for formats "
        "libsvm and libffm, not " +
        prepare.format);
  }
  return source;
}

// The output files and the column roles: every column an HDF5 name, none with two roles.
Status CheckRoles(const data::DataOptions& data) {
  if (data.train.empty() || data.test.empty() || data.train == data.test) {
    return InvalidArgument("prepare needs two different output paths for train and test");
  }
  if (data.label.empty()) return InvalidArgument("data.label is required (the label column)");
  if (data.dense.empty() && data.categorical.empty() && data.multi_valued.empty()) {
    return InvalidArgument("no input columns: name them in data.dense, data.categorical or data.multi_valued");
  }
  std::vector<std::string> names = {data.label};
  names.insert(names.end(), data.dense.begin(), data.dense.end());
  names.insert(names.end(), data.categorical.begin(), data.categorical.end());
  names.insert(names.end(), data.multi_valued.begin(), data.multi_valued.end());
  std::set<std::string> seen;
  for (const std::string& name : names) {
    // Each column becomes a root dataset (or group), next to the "ectrain" group of the schema.
    if (name.empty() || name == "." || name == "ectrain" || name.find('/') != std::string::npos) {
      return InvalidArgument("column name '" + name +
                             "' cannot name an HDF5 dataset (empty, '.', 'ectrain' or containing "
                             "'/'); rename the column in the CSV header");
    }
    if (!seen.insert(name).second) {
      return InvalidArgument("column '" + name +
                             "' is listed twice among the label, dense, categorical and multi-valued columns");
    }
  }
  return Status::Ok();
}

// The label's type and rule, and which rows are read, kept and held out.
Status CheckLabelAndRows(const PrepareOptions& prepare) {
  if (prepare.label_type != "binary" && prepare.label_type != "regression" && prepare.label_type != "class") {
    return InvalidArgument("prepare.label_type: '" + prepare.label_type + "'; allowed: binary, regression, class");
  }
  if (prepare.label_type != "binary" && (!prepare.positive_values.empty() || prepare.label_threshold)) {
    return InvalidArgument(
        "prepare.positive_values and prepare.label_threshold make a binary label; they do not "
        "go with prepare.label_type: " +
        prepare.label_type);
  }
  if (!prepare.positive_values.empty() && prepare.label_threshold) {
    return InvalidArgument("give prepare.positive_values or prepare.label_threshold, not both");
  }
  if (prepare.bad_rows != "fail" && prepare.bad_rows != "skip") {
    return InvalidArgument("prepare.bad_rows: '" + prepare.bad_rows + "'; allowed: fail, skip");
  }
  if (!prepare.test_source.empty() && prepare.split != "random") {
    return InvalidArgument("prepare.test_source gives the test rows; it does not go with prepare.split: " +
                           prepare.split);
  }
  if (prepare.split != "random" && prepare.split != "time" && prepare.split != "last_per_user") {
    return InvalidArgument("prepare.split: '" + prepare.split + "'; allowed: random, time, last_per_user");
  }
  if (prepare.negatives_per_positive > 0 &&
      (prepare.user_column.empty() || prepare.item_columns.empty() || prepare.label_type != "binary")) {
    return InvalidArgument(
        "prepare.negatives_per_positive needs the user and item columns (data.user_column and "
        "data.item_column, or prepare.user_column and prepare.item_columns, the item column first) and a 0/1 label");
  }
  if (prepare.split == "last_per_user" &&
      (prepare.time_column.empty() || prepare.user_column.empty() || prepare.label_type != "binary")) {
    return InvalidArgument(
        "prepare.split: last_per_user needs data.user_column (or prepare.user_column), prepare.time_column and a 0/1 "
        "label (prepare.label_threshold or prepare.positive_values): each user's latest "
        "positive row becomes the test row");
  }
  if (prepare.split == "time" && prepare.time_column.empty()) {
    return InvalidArgument("prepare.split: time needs prepare.time_column (the column holding each row's time)");
  }
  return Status::Ok();
}

Status CheckBuckets(int64_t buckets, const std::string& key) {
  if (buckets == 1 || buckets < 0 || buckets > std::numeric_limits<int32_t>::max()) {
    return InvalidArgument(key + ": " + std::to_string(buckets) +
                           " buckets; use 0 (a vocabulary) or 2 to 2^31-1 (id 0 stays free)");
  }
  return Status::Ok();
}

// How each role's values are encoded; per-column settings must name a column of their role.
Status CheckEncodings(const PrepareOptions& prepare, const data::DataOptions& data) {
  if (prepare.min_count < 1) return InvalidArgument("prepare.min_count must be at least 1");
  RETURN_IF_ERROR(CheckBuckets(prepare.hash_buckets, "prepare.hash_buckets"));
  for (const auto& [name, buckets] : prepare.hash_buckets_by_column) {
    RETURN_IF_ERROR(CheckBuckets(buckets, "prepare.hash_buckets_by_column." + name));
  }
  for (const auto& [name, count] : prepare.min_count_by_column) {
    if (count < 1) return InvalidArgument("prepare.min_count_by_column." + name + " must be at least 1");
  }
  for (const std::string& name : prepare.text) {
    if (!Contains(data.multi_valued, name)) {
      return InvalidArgument("prepare.text: '" + name +
                             "' is not in data.multi_valued; list it there too (its tokens become a multi-valued "
                             "column)");
    }
    if (prepare.separators.count(name) != 0) {
      return InvalidArgument("prepare.separators: '" + name + "' is a text column (prepare.text), which is tokenized");
    }
  }
  RETURN_IF_ERROR(CheckColumnKeys(prepare.separators, data.multi_valued, "separators", "multi-valued"));
  for (const auto& [name, separator] : prepare.separators) {
    if (separator.empty()) return InvalidArgument("prepare.separators." + name + ": the separator is empty");
  }
  std::vector<std::string> id_columns = data.categorical;
  id_columns.insert(id_columns.end(), data.multi_valued.begin(), data.multi_valued.end());
  RETURN_IF_ERROR(
      CheckColumnKeys(prepare.min_count_by_column, id_columns, "min_count_by_column", "categorical or multi-valued"));
  RETURN_IF_ERROR(CheckColumnKeys(prepare.hash_buckets_by_column, id_columns, "hash_buckets_by_column",
                                  "categorical or multi-valued"));
  RETURN_IF_ERROR(CheckColumnKeys(prepare.fill_by_column, data.dense, "fill_by_column", "dense"));
  RETURN_IF_ERROR(CheckColumnKeys(prepare.scale_by_column, data.dense, "scale_by_column", "dense"));
  RETURN_IF_ERROR(CheckList(prepare.log, data.dense, "log", "dense"));
  RETURN_IF_ERROR(CheckList(prepare.missing_indicator, data.dense, "missing_indicator", "dense"));
  for (const std::string& name : prepare.missing_indicator) {
    if (!Contains(data.dense, name + "_missing")) {
      return InvalidArgument("prepare.missing_indicator: '" + name + "' adds the 0/1 column '" + name +
                             "_missing'; list it in data.dense too (where you want it)");
    }
  }
  return Status::Ok();
}

Status CheckValidationSplit(const PrepareOptions& prepare, const data::DataOptions& data) {
  const double v = prepare.validation_fraction;
  if (v == 0) return Status::Ok();
  const double room = prepare.test_source.empty() ? 1.0 - prepare.test_fraction : 1.0;
  if (!(v > 0 && v < room)) {
    return InvalidArgument("prepare.validation_fraction is " + std::to_string(v) + "; it must lie in [0, " +
                           std::to_string(room) + ") (what test_fraction leaves)");
  }
  if (prepare.split == "last_per_user") {
    return InvalidArgument(
        "prepare.validation_fraction goes with prepare.split: random or time, not last_per_user; "
        "for a ranking validation set, prepare it separately and name it in data.validation");
  }
  if (data.validation.empty()) {
    return InvalidArgument("prepare.validation_fraction is set but data.validation is empty: name the file to write");
  }
  return Status::Ok();
}

// Every setting, before any file is opened; errors name the key.
Status CheckOptions(const PrepareOptions& prepare, const data::DataOptions& data) {
  RETURN_IF_ERROR(SourceFor(prepare, data).status());
  if (!(prepare.test_fraction > 0 && prepare.test_fraction < 1)) {
    return InvalidArgument("test_fraction is " + std::to_string(prepare.test_fraction) +
                           "; it must lie strictly between 0 and 1");
  }
  RETURN_IF_ERROR(CheckValidationSplit(prepare, data));
  RETURN_IF_ERROR(CheckRoles(data));
  RETURN_IF_ERROR(CheckLabelAndRows(prepare));
  return CheckEncodings(prepare, data);
}

// libsvm and libffm: one pass over the files names libffm's fields f0, f1, ... when prepare.columns
// does not (so the source and a test_source have the same columns), and gives the default roles
// when the data: section names none (SparseSurvey: by what each field holds).
Status ApplySparseDefaults(PrepareOptions& prepare, data::DataOptions& data) {
  const bool no_roles =
      data.label.empty() && data.dense.empty() && data.categorical.empty() && data.multi_valued.empty();
  const bool name_fields = prepare.format == "libffm" && prepare.columns.empty();
  if (!IsSparseFormat(prepare.format) || (!no_roles && !name_fields)) return Status::Ok();
  ASSIGN_OR_RETURN(const SourceOptions options, SourceFor(prepare, data));
  RETURN_IF_ERROR(CheckLabelAndRows(prepare));  // before a pass over the data
  std::vector<std::string> paths = {prepare.source};
  if (!prepare.test_source.empty()) paths.push_back(prepare.test_source);
  ASSIGN_OR_RETURN(const SparseSurvey survey, SurveySparseFiles(options, paths, prepare.bad_rows == "skip"));
  if (name_fields) prepare.columns = survey.fields;
  if (!no_roles) return Status::Ok();
  data.label = survey.roles.label;
  data.dense = survey.roles.dense;
  data.categorical = survey.roles.categorical;
  data.multi_valued = survey.roles.multi_valued;
  LOG_INFO << prepare.format << " roles from the data (name them in data.* to choose, and for `ectrain train`): label '"
           << data.label << "', dense [" << Join(data.dense) << "], categorical [" << Join(data.categorical)
           << "], multi_valued [" << Join(data.multi_valued) << "]";
  if (!survey.absent.empty()) LOG_INFO << "fields no line has, left out: " << Join(survey.absent);
  if (!survey.unreadable.empty()) {
    LOG_WARNING << "left out: fields with values other than 0 and 1 on several indices (neither one-hot nor one "
                   "dense value): "
                << Join(survey.unreadable) << "; split them into one-index fields to read them as dense";
  }
  return Status::Ok();
}

// "mean", "median" or a number.
Status ParseFill(const std::string& spec, const std::string& key, DensePlan& plan) {
  if (spec == "mean" || spec == "median") {
    plan.fill = spec;
    return Status::Ok();
  }
  StatusOr<std::optional<double>> value = data::ParseDenseValue(spec);
  if (!value.ok() || !value->has_value()) {
    return InvalidArgument(key + ": '" + spec + "'; allowed: mean, median or a number");
  }
  plan.fill = "constant";
  plan.constant = **value;
  return Status::Ok();
}

// prepare.source, then prepare.test_source's rows when it is given.
StatusOr<std::unique_ptr<RowSource>> OpenSource(const PrepareOptions& prepare, const data::DataOptions& data) {
  ASSIGN_OR_RETURN(SourceOptions options, SourceFor(prepare, data));
  ASSIGN_OR_RETURN(std::unique_ptr<RowSource> source, OpenRowSource(options));
  if (prepare.test_source.empty()) return source;
  options.path = prepare.test_source;
  ASSIGN_OR_RETURN(std::unique_ptr<RowSource> test, OpenRowSource(options));
  return ConcatRowSource(std::move(source), std::move(test));
}

// The field of column `name` in `source`: an error when there is none, or two.
StatusOr<int> FieldOf(const RowSource& source, const std::string& name) {
  const std::vector<std::string>& columns = source.columns();
  int found = -1;
  for (int c = 0; c < static_cast<int>(columns.size()); ++c) {
    if (columns[c] != name) continue;
    if (found >= 0) return DataError("'" + source.file() + "' has two columns named '" + name + "'; rename one");
    found = c;
  }
  if (found < 0) return NotFound("'" + source.file() + "' has no column '" + name + "'; columns are: " + Join(columns));
  return found;
}

// Dense column `name`: its field, fill, scaling and log, or the indicator of another's missing values.
StatusOr<DensePlan> PlanDense(const PrepareOptions& prepare, const RowSource& source, const std::string& name) {
  DensePlan d;
  d.name = name;
  const bool indicator = name.size() > 8 && name.ends_with("_missing") &&
                         Contains(prepare.missing_indicator, name.substr(0, name.size() - 8));
  if (indicator) {
    d.indicator = true;
    d.scale = "none";
    d.fill = "constant";
    ASSIGN_OR_RETURN(d.field, FieldOf(source, name.substr(0, name.size() - 8)));
    return d;
  }
  ASSIGN_OR_RETURN(d.field, FieldOf(source, name));
  auto fill = prepare.fill_by_column.find(name);
  RETURN_IF_ERROR(ParseFill(
      fill != prepare.fill_by_column.end() ? fill->second : prepare.fill,
      fill != prepare.fill_by_column.end() ? "prepare.fill_by_column." + name : std::string("prepare.fill"), d));
  auto scale = prepare.scale_by_column.find(name);
  d.scale = scale != prepare.scale_by_column.end() ? scale->second : prepare.scale;
  if (d.scale != "standard" && d.scale != "minmax" && d.scale != "none") {
    return InvalidArgument("prepare.scale" +
                           std::string(scale != prepare.scale_by_column.end() ? "_by_column." + name : "") + ": '" +
                           d.scale + "'; allowed: standard, minmax, none");
  }
  d.log = Contains(prepare.log, name);
  return d;
}

// Categorical or multi-valued column `name`: its field, hashing or vocabulary threshold.
StatusOr<CategoricalPlan> PlanIds(const PrepareOptions& prepare, const RowSource& source, const std::string& name) {
  CategoricalPlan c;
  c.name = name;
  ASSIGN_OR_RETURN(c.field, FieldOf(source, name));
  auto buckets = prepare.hash_buckets_by_column.find(name);
  c.hash_buckets = buckets != prepare.hash_buckets_by_column.end() ? buckets->second : prepare.hash_buckets;
  auto min_count = prepare.min_count_by_column.find(name);
  c.min_count = min_count != prepare.min_count_by_column.end() ? min_count->second : prepare.min_count;
  return c;
}

StatusOr<Plan> MakePlan(const PrepareOptions& prepare, const data::DataOptions& data) {
  Plan plan;
  ASSIGN_OR_RETURN(plan.source, OpenSource(prepare, data));
  const RowSource& source = *plan.source;
  ASSIGN_OR_RETURN(plan.label_field, FieldOf(source, data.label));
  if (prepare.split == "time" || prepare.split == "last_per_user") {
    ASSIGN_OR_RETURN(plan.time_field, FieldOf(source, prepare.time_column));
  }
  if (prepare.split == "last_per_user" || prepare.negatives_per_positive > 0) {
    ASSIGN_OR_RETURN(plan.user_field, FieldOf(source, prepare.user_column));
  }
  for (const std::string& name :
       prepare.negatives_per_positive > 0 ? prepare.item_columns : std::vector<std::string>{}) {
    ASSIGN_OR_RETURN(const int f, FieldOf(source, name));
    plan.item_fields.push_back(f);
  }
  for (const std::string& name : data.dense) {
    ASSIGN_OR_RETURN(DensePlan d, PlanDense(prepare, source, name));
    plan.dense.push_back(std::move(d));
  }
  for (const std::string& name : data.categorical) {
    ASSIGN_OR_RETURN(CategoricalPlan c, PlanIds(prepare, source, name));
    plan.categorical.push_back(std::move(c));
  }
  for (const std::string& name : data.multi_valued) {
    ASSIGN_OR_RETURN(CategoricalPlan c, PlanIds(prepare, source, name));
    data::BagEncoding encoding;
    encoding.text = Contains(prepare.text, name);
    if (!encoding.text) {
      auto separator = prepare.separators.find(name);
      encoding.separator = separator != prepare.separators.end() ? separator->second : "|";
    }
    encoding.hash_buckets = c.hash_buckets;
    plan.bags.push_back(std::move(c));
    plan.bag_encodings.push_back(std::move(encoding));
  }
  plan.label_schema.label = data.label;
  plan.label_schema.label_type = prepare.label_type;
  plan.label_schema.label_positive_values = prepare.positive_values;
  plan.label_schema.label_threshold = prepare.label_threshold;
  return plan;
}

// A progress line on stderr, redrawn at most every 0.2 s.
class Progress {
 public:
  Progress(bool show, std::string what, int64_t total_bytes)
      : show_(show), what_(std::move(what)), total_(std::max<int64_t>(total_bytes, 1)) {}
  void Update(int64_t bytes, int64_t rows) {
    if (!show_ || (rows & 4095) != 0) return;
    const auto now = Clock::now();
    if (now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const double seconds = std::chrono::duration<double>(now - start_).count();
    std::fprintf(stderr, "\r%s %3d%%  %.0f/%.0f MB  %lld rows  %.0f MB/s   ", what_.c_str(),
                 static_cast<int>(100.0 * static_cast<double>(bytes) / static_cast<double>(total_)), bytes / 1e6,
                 total_ / 1e6, static_cast<long long>(rows), seconds > 0 ? bytes / 1e6 / seconds : 0.0);
    std::fflush(stderr);
    drawn_ = true;
  }
  ~Progress() {
    if (drawn_) std::fprintf(stderr, "\r%*s\r", 72, "");
  }

 private:
  bool show_;
  std::string what_;
  int64_t total_;
  Clock::time_point start_ = Clock::now(), last_ = Clock::now();
  bool drawn_ = false;
};

// What pass 1 learns about the rows, for pass 2 and the report.
struct Pass1 {
  std::vector<bool> dropped;  // per row ordinal: a duplicate or a skipped bad row
  std::vector<DenseAccumulator> dense;
  std::vector<CountMap> categorical_counts, bag_counts;
  std::set<std::string> classes;
  std::optional<double> time_threshold;
  std::optional<double> validation_time_threshold;  // split: time; validation = (this, time_threshold]
  std::vector<bool> latest_positive;                // split: last_per_user; per row ordinal
  // Negatives: per item (first seen), its raw item columns; per user, fingerprints of its items.
  std::unordered_map<std::string, int64_t> item_index;
  std::vector<std::vector<std::string>> item_values;
  std::unordered_map<std::string, std::unordered_set<uint64_t>> user_items;
  int64_t train_rows = 0, validation_rows = 0, test_rows = 0;
};

// Which file a row goes to.
enum class Part { kTrain = 0, kTest = 1, kValidation = 2 };

class Preparer {
 public:
  Preparer(const PrepareOptions& prepare, const data::DataOptions& data, bool show_progress, Plan& plan)
      : prepare_(prepare),
        data_(data),
        show_progress_(show_progress),
        seed_(static_cast<uint64_t>(prepare.seed)),
        plan_(plan),
        class_label_(prepare.label_type == "class") {}

  StatusOr<PrepareReport> Run() {
    const auto start = Clock::now();
    report_.bytes_read = plan_.source->total_bytes();
    if (prepare_.split == "time") RETURN_IF_ERROR(FindTimeThreshold());
    if (prepare_.split == "last_per_user") RETURN_IF_ERROR(FindLatestPositives());
    RETURN_IF_ERROR(FirstPass());
    const int64_t kept = pass1_.train_rows + pass1_.validation_rows + pass1_.test_rows;
    if (!prepare_.test_source.empty() && pass1_.test_rows == 0) {
      return InvalidArgument("prepare.test_source '" + prepare_.test_source +
                             "' has no rows: the test split would be empty; give a file with test rows");
    }
    if (pass1_.train_rows == 0 || pass1_.test_rows == 0) {
      return InvalidArgument("test_fraction " + std::to_string(prepare_.test_fraction) + " of " + std::to_string(kept) +
                             " rows in '" + plan_.source->file() + "' leaves the " +
                             (pass1_.test_rows == 0 ? "test" : "training") + " split empty; change " +
                             (prepare_.split == "time" ? "the time column or " : "") +
                             "test_fraction or use more data");
    }
    if (prepare_.validation_fraction > 0 && pass1_.validation_rows == 0) {
      return InvalidArgument("prepare.validation_fraction " + std::to_string(prepare_.validation_fraction) + " of " +
                             std::to_string(kept) + " rows in '" + plan_.source->file() +
                             "' leaves the validation split empty; raise it or use more data");
    }
    RETURN_IF_ERROR(MakeSchema());
    RETURN_IF_ERROR(SecondPass());
    report_.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return report_;
  }

 private:
  // "file:line column 'name': message"
  std::string Where(int64_t line, int field) const {
    return plan_.source->file() + ":" + std::to_string(line) + " column '" + plan_.source->columns()[field] + "': ";
  }

  // A bad row: the error, or (bad_rows: skip) counted and remembered.
  Status BadRow(const Status& status) {
    if (prepare_.bad_rows == "fail") return status;
    ++report_.bad_rows_skipped;
    if (report_.bad_row_examples.size() < kBadRowExamples) report_.bad_row_examples.push_back(status.message());
    return Status::Ok();
  }

  StatusOr<double> RowTime(const RawRow& row) const {
    const std::optional<double> time = data::ParseTime(row.fields[plan_.time_field]);
    if (!time) {
      return DataError(Where(row.line, plan_.time_field) + "'" + std::string(row.fields[plan_.time_field]) +
                       "' is not a time; use a number (e.g. Unix seconds) or YYYY-MM-DD[ HH:MM[:SS]]");
    }
    return *time;
  }

  bool IsTest(int64_t ordinal, double time) const {
    if (!prepare_.test_source.empty()) return plan_.source->in_test_part();
    if (pass1_.time_threshold) return time > *pass1_.time_threshold;
    if (prepare_.split == "last_per_user") {
      return static_cast<size_t>(ordinal) < pass1_.latest_positive.size() && pass1_.latest_positive[ordinal];
    }
    return Uniform(seed_, ordinal) < prepare_.test_fraction;
  }

  Part PartOf(int64_t ordinal, double time) const {
    if (IsTest(ordinal, time)) return Part::kTest;
    if (prepare_.validation_fraction <= 0) return Part::kTrain;
    if (pass1_.validation_time_threshold) {
      return time > *pass1_.validation_time_threshold ? Part::kValidation : Part::kTrain;
    }
    // Of the rows that are not test rows, the share that makes validation_fraction of all rows;
    // drawn from a stream of its own, so the test rows are those of a run without validation.
    const double share = prepare_.test_source.empty() ? prepare_.validation_fraction / (1.0 - prepare_.test_fraction)
                                                      : prepare_.validation_fraction;
    return Uniform(seed_ ^ 0x7a11d, ordinal) < share ? Part::kValidation : Part::kTrain;
  }

  // A uniform draw in [0, 1) from (seed, row).
  static double Uniform(uint64_t seed, int64_t ordinal) {
    const uint64_t hash = data::Mix64(data::Mix64(seed) ^ static_cast<uint64_t>(ordinal));
    return static_cast<double>(hash >> 11) * 0x1.0p-53;
  }

  // Time split: test = the rows after the (1 - test_fraction) quantile of all times, from a
  // sample of at most kTimeSample times (exact below that).
  Status FindTimeThreshold() {
    Reservoir times(kTimeSample, data::Mix64(seed_ ^ 0x7133));
    Progress progress(show_progress_, "prepare: times", plan_.source->total_bytes());
    RawRow row;
    int64_t rows = 0;
    while (true) {
      StatusOr<bool> next = plan_.source->Next(row);
      if (next.ok() && !*next) break;
      progress.Update(plan_.source->bytes_read(), ++rows);
      if (!next.ok()) continue;  // reported by the first pass
      StatusOr<double> time = RowTime(row);
      if (time.ok()) {
        times.Add(*time);
      } else if (prepare_.bad_rows == "fail") {
        return time.status();
      }
    }
    RETURN_IF_ERROR(plan_.source->Rewind());
    if (times.empty()) {
      return DataError("'" + plan_.source->file() + "' has no valid time in column '" + prepare_.time_column + "'");
    }
    pass1_.time_threshold = times.Quantile(1.0 - prepare_.test_fraction);
    report_.time_threshold = pass1_.time_threshold;
    if (prepare_.validation_fraction > 0) {
      pass1_.validation_time_threshold = times.Quantile(1.0 - prepare_.test_fraction - prepare_.validation_fraction);
      report_.validation_time_threshold = pass1_.validation_time_threshold;
    }
    if (!times.exact()) LOG_INFO << "time split: threshold from a sample of " << kTimeSample << " times";
    return Status::Ok();
  }

  // negatives_per_positive rows of this row's user, each with an item drawn uniformly (seeded by
  // the row) from those the user never had: its item columns replaced, the rest kept.
  template <typename Emit>
  Status EmitNegatives(const RawRow& row, int64_t ordinal, Emit&& emit) {
    const auto& items = pass1_.item_values;
    const auto& had = pass1_.user_items[std::string(data::TrimSpaces(row.fields[plan_.user_field]))];
    if (had.size() >= items.size()) return Status::Ok();  // the user had every item
    std::vector<std::string_view> fields = row.fields;
    for (int64_t j = 0; j < prepare_.negatives_per_positive; ++j) {
      uint64_t draw = data::Mix64(data::Mix64(seed_ ^ 0x9e6) ^ (static_cast<uint64_t>(ordinal) * 1000 + j));
      const std::vector<std::string>* item = nullptr;
      for (int attempt = 0; attempt < 100; ++attempt, draw = data::Mix64(draw)) {
        const auto& candidate = items[draw % items.size()];
        if (!had.count(data::StableHash(data::TrimSpaces(candidate[0]), 0x17e3))) {
          item = &candidate;
          break;
        }
      }
      if (item == nullptr) continue;  // a user with nearly every item: fewer negatives
      for (size_t k = 0; k < plan_.item_fields.size(); ++k) fields[plan_.item_fields[k]] = (*item)[k];
      RETURN_IF_ERROR(emit(fields));
      ++report_.negatives_sampled;
    }
    return Status::Ok();
  }

  // Every row counts as the user having the item; only training rows make an item a candidate
  // negative (an item seen only in test has no training id).
  void RecordInteraction(const RawRow& row, bool test) {
    const std::string_view item = data::TrimSpaces(row.fields[plan_.item_fields[0]]);
    pass1_.user_items[std::string(data::TrimSpaces(row.fields[plan_.user_field]))].insert(
        data::StableHash(item, 0x17e3));
    if (test) return;
    auto [it, first] =
        pass1_.item_index.try_emplace(std::string(item), static_cast<int64_t>(pass1_.item_values.size()));
    if (first) {
      std::vector<std::string> values;
      for (int f : plan_.item_fields) values.emplace_back(row.fields[f]);
      pass1_.item_values.push_back(std::move(values));
    }
  }

  // Leave-latest-out for recommendation: per user, the positive row with the latest time (the
  // last in the file among equal times) is the test row. Memory: one entry per user.
  Status FindLatestPositives() {
    std::unordered_map<std::string, std::pair<double, int64_t>> latest;
    Progress progress(show_progress_, "prepare: users", plan_.source->total_bytes());
    RawRow row;
    int64_t ordinal = 0;
    for (;; ++ordinal) {
      StatusOr<bool> next = plan_.source->Next(row);
      if (next.ok() && !*next) break;
      progress.Update(plan_.source->bytes_read(), ordinal + 1);
      if (!next.ok()) continue;  // reported by the first pass
      StatusOr<float> label = plan_.label_schema.EncodeLabel(row.fields[plan_.label_field]);
      StatusOr<double> time = RowTime(row);
      if (!label.ok() || !time.ok()) {
        if (prepare_.bad_rows == "fail") return label.ok() ? time.status() : label.status();
        continue;
      }
      if (*label < 0.5f) continue;
      auto [it, inserted] =
          latest.try_emplace(std::string(data::TrimSpaces(row.fields[plan_.user_field])), *time, ordinal);
      if (!inserted && *time >= it->second.first) it->second = {*time, ordinal};
    }
    RETURN_IF_ERROR(plan_.source->Rewind());
    pass1_.latest_positive.assign(static_cast<size_t>(ordinal), false);
    for (const auto& [user, time_and_row] : latest) pass1_.latest_positive[time_and_row.second] = true;
    return Status::Ok();
  }

  // Checks every field the output needs; the error names file, line and column.
  Status CheckRow(const RawRow& row, std::vector<std::optional<double>>& dense_values, double& time) {
    const std::string_view label = row.fields[plan_.label_field];
    if (class_label_) {
      if (data::TrimSpaces(label).empty())
        return DataError(Where(row.line, plan_.label_field) + "the class label is empty");
    } else {
      StatusOr<float> value = plan_.label_schema.EncodeLabel(label);
      if (!value.ok()) return DataError(Where(row.line, plan_.label_field) + value.status().message());
    }
    for (size_t d = 0; d < plan_.dense.size(); ++d) {
      StatusOr<std::optional<double>> value = data::ParseDenseValue(row.fields[plan_.dense[d].field]);
      if (!value.ok()) return DataError(Where(row.line, plan_.dense[d].field) + value.status().message());
      dense_values[d] = *value;
    }
    if (plan_.time_field >= 0) {
      ASSIGN_OR_RETURN(time, RowTime(row));
    }
    return Status::Ok();
  }

  Status FirstPass() {
    pass1_.dense.resize(plan_.dense.size());
    for (size_t d = 0; d < plan_.dense.size(); ++d) {
      if (plan_.dense[d].fill == "median") {
        pass1_.dense[d].median = std::make_unique<Reservoir>(kMedianSample, data::Mix64(seed_ + d));
      }
    }
    pass1_.categorical_counts.resize(plan_.categorical.size());
    pass1_.bag_counts.resize(plan_.bags.size());
    FingerprintSet fingerprints;
    Progress progress(show_progress_, "prepare: pass 1/2", plan_.source->total_bytes());
    std::vector<std::optional<double>> dense_values(plan_.dense.size());
    std::vector<std::string> values;
    RawRow row;
    for (int64_t ordinal = 0;; ++ordinal) {
      StatusOr<bool> next = plan_.source->Next(row);
      if (next.ok() && !*next) break;
      ++report_.rows_read;
      progress.Update(plan_.source->bytes_read(), report_.rows_read);
      double time = 0;
      Status status = next.ok() ? CheckRow(row, dense_values, time) : next.status();
      if (!status.ok()) {
        RETURN_IF_ERROR(BadRow(status));
        pass1_.dropped.push_back(true);
        continue;
      }
      const Part part = PartOf(ordinal, time);
      if (prepare_.drop_duplicates) {
        uint64_t fingerprint = 0x5eed;
        for (const std::string_view f : row.fields) fingerprint = data::StableHash(f, fingerprint);
        if (!fingerprints.Insert(fingerprint)) {
          // A test file given as such is the user's benchmark: its rows all stay, counted apart.
          if (part == Part::kTest && !prepare_.test_source.empty()) {
            ++report_.test_duplicates_kept;
          } else {
            ++report_.duplicates_dropped;
            pass1_.dropped.push_back(true);
            continue;
          }
        }
      }
      pass1_.dropped.push_back(false);
      if (class_label_) pass1_.classes.emplace(data::TrimSpaces(row.fields[plan_.label_field]));
      if (prepare_.negatives_per_positive > 0) RecordInteraction(row, part != Part::kTrain);
      if (part == Part::kTest) {
        ++pass1_.test_rows;
        continue;
      }
      if (part == Part::kValidation) {  // like test rows: no vocabulary or statistics from them
        ++pass1_.validation_rows;
        continue;
      }
      ++pass1_.train_rows;
      for (size_t d = 0; d < plan_.dense.size(); ++d) {
        if (!plan_.dense[d].indicator) pass1_.dense[d].Add(dense_values[d], plan_.dense[d].log);
      }
      for (size_t c = 0; c < plan_.categorical.size(); ++c) {
        if (plan_.categorical[c].hash_buckets == 0) {
          CountValue(pass1_.categorical_counts[c], data::TrimSpaces(row.fields[plan_.categorical[c].field]));
        }
      }
      for (size_t b = 0; b < plan_.bags.size(); ++b) {
        if (plan_.bags[b].hash_buckets != 0) continue;
        values.clear();
        data::BagValues(plan_.bag_encodings[b], row.fields[plan_.bags[b].field], values);
        for (const std::string& value : values) CountValue(pass1_.bag_counts[b], value);
      }
    }
    return Status::Ok();
  }

  data::DenseColumnStats DenseStats(size_t d) {
    const DensePlan& plan = plan_.dense[d];
    data::DenseColumnStats stats;
    stats.fill = plan.fill;
    stats.scale = plan.scale;
    stats.log = plan.log;
    if (plan.indicator) {
      stats.indicator_of = plan_.source->columns()[plan.field];
      return stats;
    }
    DenseAccumulator& a = pass1_.dense[d];
    if (a.present == 0 && plan.fill != "constant") {
      LOG_WARNING << "column '" << plan.name << "' has no values in training; filling with 0";
    }
    if (plan.fill == "constant") {
      stats.fill_value = plan.constant;
    } else if (plan.fill == "median") {
      stats.fill_value = a.median->Quantile(0.5);
      if (!a.median->exact()) {
        LOG_INFO << "column '" << plan.name << "': median from a sample of " << kMedianSample << " training values";
      }
    } else {
      stats.fill_value = a.present > 0 ? a.raw_mean : 0.0;
    }
    // Statistics over the filled column: the present values plus `missing` copies of the fill.
    const double t_fill = plan.log ? data::SignedLog1p(stats.fill_value) : stats.fill_value;
    const double n = static_cast<double>(a.present), k = static_cast<double>(a.missing);
    double mean = t_fill, m2 = 0, lo = t_fill, hi = t_fill;
    if (a.present > 0) {
      mean = (n * a.mean_t + k * t_fill) / (n + k);
      m2 = a.m2_t + n * k / (n + k) * (a.mean_t - t_fill) * (a.mean_t - t_fill);
      lo = a.missing > 0 ? std::min(a.min_t, t_fill) : a.min_t;
      hi = a.missing > 0 ? std::max(a.max_t, t_fill) : a.max_t;
    }
    if (plan.scale == "standard") {
      const double stddev = std::sqrt(m2 / std::max(n + k, 1.0));
      stats.mean = mean;
      stats.stddev = stddev > 0 ? stddev : 1.0;  // a constant column stays 0, not NaN
    } else if (plan.scale == "minmax") {
      stats.mean = lo;
      stats.stddev = hi > lo ? hi - lo : 1.0;
    } else {
      stats.mean = 0.0;
      stats.stddev = 1.0;
    }
    return stats;
  }

  Status MakeSchema() {
    data::FeatureSchema& schema = report_.schema;
    schema.label = data_.label;
    schema.label_type = prepare_.label_type;
    schema.label_positive_values = prepare_.positive_values;
    schema.label_threshold = prepare_.label_threshold;
    schema.label_classes.assign(pass1_.classes.begin(), pass1_.classes.end());
    for (size_t d = 0; d < plan_.dense.size(); ++d) {
      schema.dense.push_back(plan_.dense[d].name);
      schema.dense_stats.push_back(DenseStats(d));
    }
    for (size_t c = 0; c < plan_.categorical.size(); ++c) {
      const CategoricalPlan& plan = plan_.categorical[c];
      schema.categorical.push_back(plan.name);
      schema.hash_buckets.push_back(plan.hash_buckets);
      if (plan.hash_buckets > 0) {
        schema.vocabularies.emplace_back();
        schema.vocab_sizes.push_back(plan.hash_buckets);
      } else {
        schema.vocabularies.push_back(Vocabulary(pass1_.categorical_counts[c], plan.min_count));
        schema.vocab_sizes.push_back(static_cast<int64_t>(schema.vocabularies.back().size()) + 1);
      }
      pass1_.categorical_counts[c] = {};  // free the counts before pass 2
    }
    for (size_t b = 0; b < plan_.bags.size(); ++b) {
      const CategoricalPlan& plan = plan_.bags[b];
      data::BagEncoding encoding = plan_.bag_encodings[b];
      if (plan.hash_buckets == 0) encoding.vocabulary = Vocabulary(pass1_.bag_counts[b], plan.min_count);
      pass1_.bag_counts[b] = {};
      schema.multi_valued.push_back(plan.name);
      schema.multi_vocab_sizes.push_back(plan.hash_buckets > 0 ? plan.hash_buckets
                                                               : static_cast<int64_t>(encoding.vocabulary.size()) + 1);
      schema.bag_encodings.push_back(std::move(encoding));
    }
    return Status::Ok();
  }

  // One output file and its rows not yet handed to the writer.
  struct Output {
    std::string path;  // final
    std::optional<data::ColumnWriter> writer;
    std::vector<std::vector<float>> dense;
    std::vector<std::vector<int32_t>> categorical;
    std::vector<float> labels;
    int64_t rows = 0;
    double label_sum = 0;

    Status Flush() {
      const int num_dense = static_cast<int>(dense.size());
      const int num_categorical = static_cast<int>(categorical.size());
      for (int d = 0; d < num_dense; ++d) {
        RETURN_IF_ERROR(writer->Append(d, std::span<const float>(dense[d])));
        dense[d].clear();
      }
      for (int c = 0; c < num_categorical; ++c) {
        RETURN_IF_ERROR(writer->Append(num_dense + c, std::span<const int32_t>(categorical[c])));
        categorical[c].clear();
      }
      const int label_column = writer->ColumnIndex(label_name);
      RETURN_IF_ERROR(writer->Append(label_column, std::span<const float>(labels)));
      labels.clear();
      if (sampled_column >= 0) {
        RETURN_IF_ERROR(writer->Append(sampled_column, std::span<const int32_t>(sampled)));
        sampled.clear();
      }
      return Status::Ok();
    }
    std::string label_name;
    int sampled_column = -1;  // with negatives: kSampledDataset, 1 for a sampled row
    std::vector<int32_t> sampled;
  };

  Status OpenOutput(Output& out, const std::string& path) {
    const data::FeatureSchema& schema = report_.schema;
    std::vector<data::ColumnSpec> specs;
    for (const auto& name : schema.dense) specs.push_back({name, data::ColumnType::kFloat32, false});
    for (const auto& name : schema.categorical) specs.push_back({name, data::ColumnType::kInt32, false});
    for (const auto& name : schema.multi_valued) specs.push_back({name, data::ColumnType::kInt32, true});
    specs.push_back({schema.label, data::ColumnType::kFloat32, false});
    if (prepare_.negatives_per_positive > 0)
      specs.push_back({data::kSampledDataset + 1, data::ColumnType::kInt32, false});
    // The writer's own commit renames PATH.tmp.tmp to PATH.tmp; both PATH.tmp are renamed to
    // their final names only when both files are complete.
    ASSIGN_OR_RETURN(data::ColumnWriter writer, data::ColumnWriter::Create(path + ".tmp", std::move(specs)));
    out.path = path;
    out.writer.emplace(std::move(writer));
    out.dense.resize(schema.dense.size());
    out.categorical.resize(schema.categorical.size());
    out.label_name = schema.label;
    if (prepare_.negatives_per_positive > 0) out.sampled_column = out.writer->ColumnIndex(data::kSampledDataset + 1);
    return Status::Ok();
  }

  Status SecondPass() {
    namespace fs = std::filesystem;
    std::error_code error;
    const bool validation = prepare_.validation_fraction > 0;
    std::vector<std::string> paths{data_.train, data_.test};
    if (validation) paths.push_back(data_.validation);
    for (const std::string& path : paths) {
      const fs::path parent = fs::path(path).parent_path();
      if (!parent.empty()) fs::create_directories(parent, error);
      if (error) {
        return InvalidArgument("could not create directory '" + parent.string() + "' for '" + path +
                               "': " + error.message());
      }
    }
    const data::FeatureSchema& schema = report_.schema;
    ASSIGN_OR_RETURN(const data::RowEncoder encoder, data::RowEncoder::Create(schema, plan_.source->columns()));
    std::unordered_map<std::string, float, data::StringHash, std::equal_to<>> class_ids;
    for (size_t k = 0; k < schema.label_classes.size(); ++k) class_ids.emplace(schema.label_classes[k], float(k));

    std::vector<Output> outputs(paths.size());  // by Part: train, test, validation
    for (size_t i = 0; i < paths.size(); ++i) RETURN_IF_ERROR(OpenOutput(outputs[i], paths[i]));
    RETURN_IF_ERROR(plan_.source->Rewind());
    Progress progress(show_progress_, "prepare: pass 2/2", plan_.source->total_bytes());
    const int bag_column0 = static_cast<int>(schema.dense.size() + schema.categorical.size());
    std::vector<int32_t> ids;
    // Encodes one row's fields as `prepare` encodes every row, with `label`, into `out`.
    auto emit = [&](Output& out, const std::vector<std::string_view>& fields, int64_t line, float label,
                    bool sampled = false) -> Status {
      if (out.sampled_column >= 0) out.sampled.push_back(sampled ? 1 : 0);
      for (size_t d = 0; d < schema.dense.size(); ++d) {
        StatusOr<float> value = encoder.DenseValue(d, fields[plan_.dense[d].field]);
        if (!value.ok()) return DataError(Where(line, plan_.dense[d].field) + value.status().message());
        out.dense[d].push_back(*value);
      }
      for (size_t c = 0; c < schema.categorical.size(); ++c) {
        out.categorical[c].push_back(encoder.CategoricalId(c, fields[plan_.categorical[c].field]));
      }
      for (size_t b = 0; b < schema.multi_valued.size(); ++b) {
        ids.clear();
        encoder.BagIds(b, fields[plan_.bags[b].field], ids);
        RETURN_IF_ERROR(out.writer->AppendBagRow(bag_column0 + static_cast<int>(b), ids));
      }
      out.labels.push_back(label);
      out.label_sum += label;
      ++out.rows;
      if (out.labels.size() >= kFlushRows) RETURN_IF_ERROR(out.Flush());
      return Status::Ok();
    };
    RawRow row;
    for (int64_t ordinal = 0;; ++ordinal) {
      StatusOr<bool> next = plan_.source->Next(row);
      if (next.ok() && !*next) break;
      progress.Update(plan_.source->bytes_read(), ordinal + 1);
      if (static_cast<size_t>(ordinal) >= pass1_.dropped.size()) {
        return DataError("'" + plan_.source->file() + "' changed while it was being read; run prepare again");
      }
      if (pass1_.dropped[ordinal]) continue;
      if (!next.ok()) return next.status();  // (a row that passed the first pass)
      double time = 0;
      if (plan_.time_field >= 0) {
        ASSIGN_OR_RETURN(time, RowTime(row));
      }
      const Part part = PartOf(ordinal, time);
      Output& out = outputs[static_cast<size_t>(part)];
      const std::string_view label_text = row.fields[plan_.label_field];
      float label = 0;
      if (class_label_) {
        label = class_ids.find(data::TrimSpaces(label_text))->second;  // every class was seen in pass 1
      } else {
        StatusOr<float> value = schema.EncodeLabel(label_text);
        if (!value.ok()) return DataError(Where(row.line, plan_.label_field) + value.status().message());
        label = *value;
      }
      RETURN_IF_ERROR(emit(out, row.fields, row.line, label));
      if (part == Part::kTrain && label > 0.5f && prepare_.negatives_per_positive > 0) {
        RETURN_IF_ERROR(EmitNegatives(row, ordinal, [&](const std::vector<std::string_view>& fields) {
          return emit(out, fields, row.line, 0.0f, /*sampled=*/true);
        }));
      }
    }
    const std::string provenance = Provenance();
    for (Output& out : outputs) {
      RETURN_IF_ERROR(out.Flush());
      RETURN_IF_ERROR(out.writer->WriteSchema(schema));
      RETURN_IF_ERROR(out.writer->WriteText("/ectrain/provenance", provenance));
    }
    Status status = Status::Ok();
    for (Output& out : outputs) {
      if (status.ok()) status = out.writer->Commit();
    }
    for (Output& out : outputs) {
      if (status.ok()) {
        fs::rename(out.path + ".tmp", out.path, error);
        if (error)
          status = Internal("could not rename '" + out.path + ".tmp' to '" + out.path + "': " + error.message());
      }
      fs::remove(out.path + ".tmp", error);  // nothing to remove after a rename
    }
    RETURN_IF_ERROR(status);
    report_.train_rows = outputs[0].rows;
    report_.test_rows = outputs[1].rows;
    if (validation) report_.validation_rows = outputs[2].rows;
    report_.train_positive_rate = outputs[0].label_sum / static_cast<double>(std::max<int64_t>(outputs[0].rows, 1));
    return Status::Ok();
  }

  // Where the files came from, stored beside the schema ("/ectrain/provenance").
  std::string Provenance() const {
    nlohmann::json doc = {{"source", prepare_.source},
                          {"test_source", prepare_.test_source},
                          {"format", prepare_.format},
                          {"rows_read", report_.rows_read},
                          {"bad_rows_skipped", report_.bad_rows_skipped},
                          {"duplicates_dropped", report_.duplicates_dropped},
                          {"split", prepare_.split},
                          {"seed", seed_},
                          {"test_fraction", prepare_.test_fraction},
                          {"validation_fraction", prepare_.validation_fraction},
                          {"train_rows", pass1_.train_rows},
                          {"validation_rows", pass1_.validation_rows},
                          {"test_rows", pass1_.test_rows},
                          {"test_duplicates_kept", report_.test_duplicates_kept}};
    if (pass1_.time_threshold) {
      doc["time_column"] = prepare_.time_column;
      doc["time_threshold"] = *pass1_.time_threshold;
    }
    return doc.dump(2);
  }

  const PrepareOptions& prepare_;
  const data::DataOptions& data_;  // the column roles and the output files
  const bool show_progress_;
  const uint64_t seed_;
  Plan& plan_;
  const bool class_label_;
  Pass1 pass1_;
  PrepareReport report_;
};

}  // namespace

StatusOr<PrepareReport> PrepareDataSet(const PrepareOptions& options, const data::DataOptions& data_options,
                                       bool show_progress) {
  // The settings as given, with a format's defaults filled in.
  PrepareOptions prepare = options;
  data::DataOptions data = data_options;
  ApplyFormatDefaults(prepare, data);
  RETURN_IF_ERROR(ApplySparseDefaults(prepare, data));
  RETURN_IF_ERROR(data::CheckDataRoles(data));
  RETURN_IF_ERROR(TakeDataRoles(prepare, data.user_column, data.item_column));
  RETURN_IF_ERROR(CheckOptions(prepare, data));
  ASSIGN_OR_RETURN(Plan plan, MakePlan(prepare, data));
  Preparer preparer(prepare, data, show_progress, plan);
  return preparer.Run();
}

}  // namespace ectrain::prep
