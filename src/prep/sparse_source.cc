#include "prep/sparse_source.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <unordered_map>

namespace ectrain::prep {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kMaxFieldNumber = (1 << 16) - 1;  // libffm: fields beyond this are surely a typo

// A text file line by line (LF or CRLF), counting lines and bytes.
class LineReader {
 public:
  static StatusOr<LineReader> Open(const std::string& path, const std::string& what) {
    if (fs::is_directory(path)) return InvalidArgument(what + " '" + path + "' is a folder; name the file");
    LineReader reader;
    reader.path_ = path;
    reader.in_ = std::make_unique<std::ifstream>(path, std::ios::binary);
    if (!*reader.in_) return NotFound(what + " '" + path + "' not found (or not readable)");
    std::error_code error;
    reader.file_bytes_ = static_cast<int64_t>(fs::file_size(path, error));
    return reader;
  }

  // The next line without its line end; false at the end of the file.
  StatusOr<bool> Next(std::string& line) {
    if (!std::getline(*in_, line)) {
      if (in_->bad()) return DataError("could not read '" + path_ + "' after line " + std::to_string(line_number_));
      return false;
    }
    ++line_number_;
    terminated_ = !in_->eof();
    bytes_read_ += static_cast<int64_t>(line.size()) + (terminated_ ? 1 : 0);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  }

  Status Rewind() {
    in_->clear();
    in_->seekg(0);
    if (!*in_) return DataError("could not go back to the start of '" + path_ + "'");
    line_number_ = 0;
    bytes_read_ = 0;
    return Status::Ok();
  }

  // "path:line: ", and at a last line without a line end, the hint that the file was cut.
  std::string Where() const { return path_ + ":" + std::to_string(line_number_) + ": "; }
  std::string CutHint() const {
    return terminated_ ? "" : "; the file's last line has no line end, so it was probably cut";
  }
  const std::string& path() const { return path_; }
  int64_t line_number() const { return line_number_; }
  int64_t bytes_read() const { return bytes_read_; }
  int64_t file_bytes() const { return file_bytes_; }

 private:
  std::string path_;
  std::unique_ptr<std::ifstream> in_;
  int64_t line_number_ = 0, bytes_read_ = 0, file_bytes_ = 0;
  bool terminated_ = true;
};

bool ParseIndex(std::string_view text, int64_t& index) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), index);
  return !text.empty() && error == std::errc() && end == text.data() + text.size() && index >= 0;
}

bool ParseValue(std::string_view text, double& value) {
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return !text.empty() && error == std::errc() && end == text.data() + text.size() && std::isfinite(value);
}

// "token 'TOKEN': ", the start of a message about one token.
std::string Quoted(std::string_view token) { return "token '" + std::string(token) + "': "; }

bool IsBlank(std::string_view line) { return line.find_first_not_of(" \t") == std::string_view::npos; }

std::string_view Trim(std::string_view text) {
  const size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

// How libsvm's feature indices map to fields and value names: an index file or index ranges.
// (libffm's lines name their fields; only the names come from here.)
class FeatureMap {
 public:
  struct Entry {
    int field = -1;         // -1: the index is in no field
    std::string_view name;  // the value's name: the index file's, else the index as written
  };

  static StatusOr<FeatureMap> Create(const SourceOptions& options) {
    FeatureMap map;
    map.libffm_ = options.format == "libffm";
    if (map.libffm_) {
      map.fields_ = options.columns;
      map.indices_per_field_.assign(map.fields_.size(), 0);  // unknown
    } else if (!options.sparse.feature_index.empty()) {
      RETURN_IF_ERROR(map.LoadIndexFile(options.sparse.feature_index));
    } else {
      RETURN_IF_ERROR(map.SetRanges(options.sparse.field_ranges));
    }
    return map;
  }

  bool libffm() const { return libffm_; }
  const std::vector<std::string>& fields() const { return fields_; }
  // libsvm: how many indices each field has.
  int64_t IndicesOf(int field) const { return indices_per_field_[field]; }

  Entry Find(int64_t index, std::string_view index_text) const {
    if (!ranges_.empty()) {
      auto it = std::upper_bound(ranges_.begin(), ranges_.end(), index,
                                 [](int64_t i, const FieldRange& r) { return i < r.first; });
      if (it == ranges_.begin() || index > std::prev(it)->last) return {};
      return {std::prev(it)->field, index_text};
    }
    int32_t entry = -1;
    if (!by_index_.empty()) {
      if (index < static_cast<int64_t>(by_index_.size())) entry = by_index_[index];
    } else if (auto it = sparse_by_index_.find(index); it != sparse_by_index_.end()) {
      entry = it->second;
    }
    if (entry < 0) return {};
    return {entry_field_[entry], entry_name_[entry]};
  }

  // "prepare.feature_index 'featindex.txt'" or "prepare.field_ranges", for messages.
  const std::string& origin() const { return origin_; }

 private:
  struct FieldRange {
    int64_t first, last;
    int field;
  };

  Status SetRanges(std::vector<SparseOptions::Range> ranges) {
    origin_ = "prepare.field_ranges";
    std::sort(ranges.begin(), ranges.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t r = 0; r < ranges.size(); ++r) {
      const SparseOptions::Range& range = ranges[r];
      const std::string where = "prepare.field_ranges." + range.field + ": [" + std::to_string(range.first) + ", " +
                                std::to_string(range.last) + "]";
      if (range.first < 0 || range.last < range.first) {
        return InvalidArgument(where + " is not a range of indices; give [first, last] with 0 <= first <= last");
      }
      if (r > 0 && range.first <= ranges[r - 1].last) {
        return InvalidArgument(where + " overlaps '" + ranges[r - 1].field + "' [" +
                               std::to_string(ranges[r - 1].first) + ", " + std::to_string(ranges[r - 1].last) +
                               "]; each index belongs to one field: make the ranges disjoint");
      }
      ranges_.push_back({range.first, range.last, static_cast<int>(fields_.size())});
      fields_.push_back(range.field);
      indices_per_field_.push_back(range.last - range.first + 1);
    }
    if (ranges_.empty()) return InvalidArgument("prepare.field_ranges is empty; give each field its [first, last]");
    return Status::Ok();
  }

  // Lines "field:value<TAB>index" (make-ipinyou-data's featindex.txt) or "index<TAB>field:value",
  // the layout taken from the first line; a feature without ':' (its "truncate") is a field of its own.
  Status LoadIndexFile(const std::string& path) {
    origin_ = "prepare.feature_index '" + path + "'";
    ASSIGN_OR_RETURN(LineReader reader, LineReader::Open(path, "prepare.feature_index"));
    std::unordered_map<std::string, int> field_ids;
    std::unordered_map<int64_t, int64_t> line_of_index;
    std::vector<std::pair<int64_t, int32_t>> entries;  // index, entry
    int64_t max_index = 0;
    int layout = 0;  // 1: feature first, 2: index first
    std::string line;
    while (true) {
      ASSIGN_OR_RETURN(const bool more, reader.Next(line));
      if (!more) break;
      if (IsBlank(line)) continue;
      std::string_view feature, index_text;
      int64_t index = 0;
      if (layout == 0) layout = DetectLayout(line);
      if (layout == 0 || !SplitEntry(line, layout, feature, index_text)) {
        return DataError(reader.Where() + "'" + line +
                         "' is not 'field:value<TAB>index' nor 'index<TAB>field:value' (the layout of the file's "
                         "first line)");
      }
      if (!ParseIndex(index_text, index)) {
        return DataError(reader.Where() + "'" + std::string(index_text) +
                         "' is not a feature index (a whole number >= 0)");
      }
      const size_t colon = feature.find(':');
      const std::string field(colon == std::string_view::npos ? feature : feature.substr(0, colon));
      if (field.empty())
        return DataError(reader.Where() + "'" + std::string(feature) + "' has no field name before ':'");
      auto [seen, first_time] = line_of_index.try_emplace(index, reader.line_number());
      if (!first_time) {
        return DataError(reader.Where() + "index " + std::to_string(index) + " is given a second time (first on line " +
                         std::to_string(seen->second) + "); each index names one feature");
      }
      auto [id, new_field] = field_ids.try_emplace(field, static_cast<int>(fields_.size()));
      if (new_field) {
        fields_.push_back(field);
        indices_per_field_.push_back(0);
      }
      ++indices_per_field_[id->second];
      entries.emplace_back(index, static_cast<int32_t>(entry_field_.size()));
      entry_field_.push_back(id->second);
      entry_name_.emplace_back(colon == std::string_view::npos ? feature : feature.substr(colon + 1));
      max_index = std::max(max_index, index);
    }
    if (entries.empty()) return DataError("prepare.feature_index '" + path + "' has no entries");
    // A table by index when the indices are dense enough (they usually count from 0), else a hash map.
    if (max_index < 4 * static_cast<int64_t>(entries.size()) + 1024) {
      by_index_.assign(static_cast<size_t>(max_index) + 1, -1);
      for (const auto& [index, entry] : entries) by_index_[index] = entry;
    } else {
      for (const auto& [index, entry] : entries) sparse_by_index_.emplace(index, entry);
    }
    return Status::Ok();
  }

  // Where the index is in a line of the file: last (1) or first (2); 0: neither.
  static int DetectLayout(std::string_view line) {
    std::string_view feature, index;
    int64_t value = 0;
    if (SplitEntry(line, 1, feature, index) && ParseIndex(index, value)) return 1;
    if (SplitEntry(line, 2, feature, index) && ParseIndex(index, value)) return 2;
    return 0;
  }

  // Splits at the tab (or, in a line without one, the space) before the index (layout 1) or after it (2).
  static bool SplitEntry(std::string_view line, int layout, std::string_view& feature, std::string_view& index) {
    const char separator = line.find('\t') != std::string_view::npos ? '\t' : ' ';
    line = Trim(line);
    const size_t at = layout == 1 ? line.rfind(separator) : line.find(separator);
    if (at == std::string_view::npos) return false;
    feature = Trim(layout == 1 ? line.substr(0, at) : line.substr(at + 1));
    index = Trim(layout == 1 ? line.substr(at + 1) : line.substr(0, at));
    return !feature.empty();
  }

  bool libffm_ = false;
  std::string origin_;
  std::vector<std::string> fields_;
  std::vector<int64_t> indices_per_field_;
  std::vector<FieldRange> ranges_;
  std::vector<int32_t> by_index_;
  std::unordered_map<int64_t, int32_t> sparse_by_index_;
  std::vector<int> entry_field_;
  std::vector<std::string> entry_name_;
};

// One feature of a line.
struct Feature {
  int field = -1;
  int64_t index = 0;
  std::string_view name;        // the value's name (FeatureMap::Entry)
  std::string_view value_text;  // as written
  double value = 0;
  std::string_view token;
};

// Splits lines into their leading values and features, each feature placed in its field.
class LineParser {
 public:
  LineParser(const FeatureMap& map, std::vector<std::string> leading, bool name_new_fields)
      : map_(map), leading_(std::move(leading)), name_new_fields_(name_new_fields) {}

  // Fills `leading` and `features`; an error says which token is wrong and why. A '#' token
  // starts a comment (SVMlight's). libffm with name_new_fields: any field number is taken.
  Status Parse(std::string_view line, std::vector<std::string_view>& leading, std::vector<Feature>& features) const {
    leading.clear();
    features.clear();
    size_t pos = 0;
    while (true) {
      const size_t begin = line.find_first_not_of(" \t", pos);
      if (begin == std::string_view::npos || line[begin] == '#') break;
      pos = std::min(line.find_first_of(" \t", begin), line.size());
      const std::string_view token = line.substr(begin, pos - begin);
      if (leading.size() < leading_.size()) {
        if (token.find(':') != std::string_view::npos) return MissingLeading(leading.size(), token);
        leading.push_back(token);
        continue;
      }
      Feature feature;
      RETURN_IF_ERROR(ParseFeature(token, feature));
      features.push_back(feature);
    }
    if (leading.size() < leading_.size()) return MissingLeading(leading.size(), {});
    return Status::Ok();
  }

 private:
  Status ParseFeature(std::string_view token, Feature& feature) const {
    feature.token = token;
    const size_t colon = token.find(':'), last_colon = token.rfind(':');
    const bool libffm = map_.libffm();
    if (colon == std::string_view::npos || (libffm && colon == last_colon) || (!libffm && colon != last_colon)) {
      return DataError(Quoted(token) + "not " + (libffm ? "field:index:value" : "index:value") + "; a line is '" +
                       Join(leading_) + (libffm ? " field:index:value ...'" : " index:value ...'") +
                       " (plain values after the label, such as iPinYou's winning price: name them all in "
                       "prepare.leading_columns)");
    }
    const std::string_view index_text =
        libffm ? token.substr(colon + 1, last_colon - colon - 1) : token.substr(0, colon);
    if (!ParseIndex(index_text, feature.index)) {
      return DataError(Quoted(token) + "'" + std::string(index_text) +
                       "' is not a feature index (a whole number >= 0)");
    }
    feature.value_text = token.substr(last_colon + 1);
    if (!ParseValue(feature.value_text, feature.value)) {
      return DataError(Quoted(token) + "'" + std::string(feature.value_text) + "' is not a finite number");
    }
    if (libffm) return PlaceLibffm(token.substr(0, colon), index_text, feature);
    const FeatureMap::Entry entry = map_.Find(feature.index, index_text);
    if (entry.field < 0) {
      return DataError(Quoted(token) + "index " + std::to_string(feature.index) + " is in no field of " +
                       map_.origin() + "; add it there (or skip such lines with prepare.bad_rows: skip)");
    }
    feature.field = entry.field;
    feature.name = entry.name;
    return Status::Ok();
  }

  Status PlaceLibffm(std::string_view field_text, std::string_view index_text, Feature& feature) const {
    int64_t field = 0;
    if (!ParseIndex(field_text, field) || field > kMaxFieldNumber) {
      return DataError(Quoted(feature.token) + "'" + std::string(field_text) + "' is not a field number (0 to " +
                       std::to_string(kMaxFieldNumber) + ")");
    }
    if (!name_new_fields_ && field >= static_cast<int64_t>(map_.fields().size())) {
      return DataError(Quoted(feature.token) + "field " + std::to_string(field) +
                       " has no name: prepare.columns names fields 0 to " +
                       std::to_string(static_cast<int64_t>(map_.fields().size()) - 1) +
                       "; name every field (or leave prepare.columns out for f0, f1, ...)");
    }
    feature.field = static_cast<int>(field);
    feature.name = index_text;
    return Status::Ok();
  }

  Status MissingLeading(size_t found, std::string_view token) const {
    const std::string expected = "a line starts with " + std::to_string(leading_.size()) + " plain value" +
                                 (leading_.size() == 1 ? "" : "s") + " (" + Join(leading_) +
                                 ", prepare.leading_columns)";
    if (token.empty()) return DataError(expected + ", this one has " + std::to_string(found));
    return DataError("token '" + std::string(token) + "' stands where '" + leading_[found] + "' belongs; " + expected);
  }

  static std::string Join(const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& name : names) out += (out.empty() ? "" : " ") + name;
    return out;
  }

  const FeatureMap& map_;
  std::vector<std::string> leading_;
  bool name_new_fields_;
};

enum class Role { kCarried, kDense, kCategorical, kBag };

class SparseSource : public RowSource {
 public:
  static StatusOr<std::unique_ptr<RowSource>> Open(const SourceOptions& options) {
    ASSIGN_OR_RETURN(FeatureMap map, FeatureMap::Create(options));
    ASSIGN_OR_RETURN(LineReader reader, LineReader::Open(options.path, "prepare.source"));
    auto source = std::unique_ptr<SparseSource>(new SparseSource(std::move(map), std::move(reader), options));
    RETURN_IF_ERROR(source->SetRoles(options.sparse));
    return std::unique_ptr<RowSource>(std::move(source));
  }

  const std::vector<std::string>& columns() const override { return columns_; }
  const std::string& file() const override { return reader_.path(); }
  int64_t bytes_read() const override { return reader_.bytes_read(); }
  int64_t total_bytes() const override { return reader_.file_bytes(); }
  Status Rewind() override { return reader_.Rewind(); }

  StatusOr<bool> Next(RawRow& row) override {
    do {
      ASSIGN_OR_RETURN(const bool more, reader_.Next(line_));
      if (!more) return false;
    } while (IsBlank(line_) || Trim(line_)[0] == '#');
    row.line = reader_.line_number();
    row.fields.resize(columns_.size());
    Status status = parser_.Parse(line_, leading_, features_);
    if (status.ok()) status = Assemble(row);
    if (!status.ok()) return DataError(reader_.Where() + status.message() + reader_.CutHint());
    return true;
  }

 private:
  SparseSource(FeatureMap map, LineReader reader, const SourceOptions& options)
      : map_(std::move(map)),
        reader_(std::move(reader)),
        parser_(map_, options.sparse.leading_columns, /*name_new_fields=*/false) {}

  Status SetRoles(const SparseOptions& sparse) {
    const std::vector<std::string>& leading = sparse.leading_columns;
    columns_ = leading;
    for (const std::string& field : map_.fields()) {
      if (std::find(leading.begin(), leading.end(), field) != leading.end()) {
        return InvalidArgument("field '" + field + "' of " + FieldsOrigin() +
                               " has the name of a leading column (prepare.leading_columns); rename one");
      }
      columns_.push_back(field);
    }
    auto label = std::find(leading.begin(), leading.end(), sparse.binary_label);
    binary_label_ = sparse.binary_label.empty() || label == leading.end() ? -1 : label - leading.begin();
    const size_t num_fields = map_.fields().size();
    roles_.assign(num_fields, Role::kCarried);
    separators_.assign(num_fields, "|");
    text_.resize(num_fields);
    first_token_.resize(num_fields);
    dense_index_.assign(num_fields, {-1, 0});
    for (size_t f = 0; f < num_fields; ++f) {
      const std::string& name = map_.fields()[f];
      auto has = [&](const std::vector<std::string>& list) {
        return std::find(list.begin(), list.end(), name) != list.end();
      };
      if (has(sparse.dense)) {
        roles_[f] = Role::kDense;
        const int64_t indices = map_.libffm() ? 1 : map_.IndicesOf(static_cast<int>(f));
        if (indices != 1) {
          return InvalidArgument("data.dense: field '" + name + "' has " + std::to_string(indices) + " indices in " +
                                 map_.origin() +
                                 "; a dense field reads the value of its one index: split it into one field per "
                                 "index, or read it as categorical");
        }
      } else if (has(sparse.categorical)) {
        roles_[f] = Role::kCategorical;
      } else if (has(sparse.multi_valued)) {
        roles_[f] = Role::kBag;
        if (auto it = sparse.separators.find(name); it != sparse.separators.end()) separators_[f] = it->second;
      }
    }
    return Status::Ok();
  }

  std::string FieldsOrigin() const { return map_.libffm() ? "prepare.columns" : map_.origin(); }

  // The row's columns from the parsed line: the leading values, then each field's text by its role.
  Status Assemble(RawRow& row) {
    for (size_t c = 0; c < leading_.size(); ++c) row.fields[c] = leading_[c];
    if (binary_label_ >= 0) {
      double label = 0;
      if (ParseValue(leading_[binary_label_], label) && label == -1) row.fields[binary_label_] = "0";
    }
    for (std::string& text : text_) text.clear();
    std::fill(first_token_.begin(), first_token_.end(), std::string_view());
    for (const Feature& feature : features_) RETURN_IF_ERROR(Place(feature));
    const size_t first_field = leading_.size();
    for (size_t f = 0; f < text_.size(); ++f) row.fields[first_field + f] = text_[f];
    return Status::Ok();
  }

  Status Place(const Feature& feature) {
    const int f = feature.field;
    std::string& text = text_[f];
    const Role role = roles_[f];
    if (role == Role::kCarried) {  // only compared, for duplicates
      text.append(text.empty() ? "" : " ").append(feature.token);
      return Status::Ok();
    }
    const std::string& name = map_.fields()[f];
    if (role != Role::kDense && feature.value == 0) return Status::Ok();  // libsvm's 0 is an absent feature
    if (role != Role::kDense && feature.value != 1) {
      return DataError(Quoted(feature.token) + "field '" + name + "' is " +
                       (role == Role::kBag ? "multi-valued" : "categorical") +
                       ": its features must have value 1 (or 0: absent); to read the value, list the field in "
                       "data.dense (a dense field has one index)");
    }
    if (!first_token_[f].empty() && role != Role::kBag) {
      return DataError(Quoted(feature.token) + "field '" + name + "' has another feature on this line ('" +
                       std::string(first_token_[f]) + "'); " +
                       (role == Role::kDense ? "a dense field has one value a row"
                                             : "a categorical field has one a row: list it in data.multi_valued"));
    }
    if (first_token_[f].empty()) first_token_[f] = feature.token;
    if (role == Role::kDense) return PlaceDense(feature);
    if (role == Role::kCategorical) {
      text.assign(feature.name);
      return Status::Ok();
    }
    if (feature.name.find(separators_[f]) != std::string_view::npos) {
      return DataError(Quoted(feature.token) + "the value '" + std::string(feature.name) + "' of multi-valued field '" +
                       name + "' holds its separator '" + separators_[f] + "'; set prepare.separators." + name +
                       " to text its values lack");
    }
    text.append(text.empty() ? "" : separators_[f]).append(feature.name);
    return Status::Ok();
  }

  // libffm names no index per field: a dense one must keep to the index it is first seen with.
  Status PlaceDense(const Feature& feature) {
    auto& [index, line] = dense_index_[feature.field];
    if (index < 0) {
      index = feature.index;
      line = reader_.line_number();
    } else if (index != feature.index) {
      return DataError(Quoted(feature.token) + "field '" + map_.fields()[feature.field] + "' is dense, and has index " +
                       std::to_string(index) + " on line " + std::to_string(line) +
                       "; a dense field reads one index's value: read it as categorical instead (leave it out "
                       "of data.dense)");
    }
    text_[feature.field].assign(feature.value_text);
    return Status::Ok();
  }

  FeatureMap map_;
  LineReader reader_;
  LineParser parser_;
  std::vector<std::string> columns_;
  std::vector<Role> roles_;
  std::vector<std::string> separators_;
  int64_t binary_label_ = -1;  // leading column
  std::string line_;
  std::vector<std::string_view> leading_;
  std::vector<Feature> features_;
  std::vector<std::string> text_;                         // per field
  std::vector<std::string_view> first_token_;             // per field, on this line
  std::vector<std::pair<int64_t, int64_t>> dense_index_;  // per field: its index and where first seen
};

// Per field, what the survey saw.
struct FieldUse {
  bool present = false;      // a feature with a value other than 0
  bool several = false;      // more than one on a line
  bool other_value = false;  // a value other than 0 and 1
  int64_t index = -1;        // the first index seen
  bool one_index = true;
};

}  // namespace

StatusOr<std::unique_ptr<RowSource>> OpenSparseSource(const SourceOptions& options) {
  if (options.format != "libffm" || !options.columns.empty()) return SparseSource::Open(options);
  ASSIGN_OR_RETURN(const SparseSurvey survey, SurveySparseFiles(options, {options.path}, /*skip_bad_lines=*/true));
  SourceOptions named = options;
  named.columns = survey.fields;
  return SparseSource::Open(named);
}

StatusOr<SparseSurvey> SurveySparseFiles(const SourceOptions& options, const std::vector<std::string>& paths,
                                         bool skip_bad_lines) {
  ASSIGN_OR_RETURN(const FeatureMap map, FeatureMap::Create(options));
  const bool name_fields = map.libffm() && options.columns.empty();
  const LineParser parser(map, options.sparse.leading_columns, name_fields);
  std::vector<FieldUse> uses(map.fields().size());
  std::vector<int> on_line(uses.size());
  SparseSurvey survey;
  std::string line;
  std::vector<std::string_view> leading;
  std::vector<Feature> features;
  for (const std::string& path : paths) {
    ASSIGN_OR_RETURN(LineReader reader, LineReader::Open(path, "prepare.source"));
    while (true) {
      ASSIGN_OR_RETURN(const bool more, reader.Next(line));
      if (!more) break;
      if (IsBlank(line) || Trim(line)[0] == '#') continue;
      ++survey.lines;
      if (Status status = parser.Parse(line, leading, features); !status.ok()) {
        if (skip_bad_lines) continue;
        return DataError(reader.Where() + status.message() + reader.CutHint());
      }
      for (const Feature& feature : features) {
        if (feature.field >= static_cast<int>(uses.size())) {
          uses.resize(feature.field + 1);
          on_line.resize(feature.field + 1);
        }
        if (feature.value == 0) continue;
        FieldUse& use = uses[feature.field];
        use.present = true;
        use.other_value |= feature.value != 1;
        if (use.index < 0) use.index = feature.index;
        use.one_index &= use.index == feature.index;
        use.several |= ++on_line[feature.field] > 1;
      }
      for (const Feature& feature : features) on_line[feature.field] = 0;
    }
  }
  survey.fields = map.fields();
  for (size_t f = survey.fields.size(); f < uses.size(); ++f) survey.fields.push_back("f" + std::to_string(f));
  survey.roles.label = options.sparse.leading_columns.front();
  for (size_t f = 0; f < uses.size(); ++f) {
    const FieldUse& use = uses[f];
    const std::string& name = survey.fields[f];
    const bool one_index = map.libffm() ? use.one_index : map.IndicesOf(static_cast<int>(f)) == 1;
    if (!use.present) {
      survey.absent.push_back(name);
    } else if (use.other_value) {
      (one_index && !use.several ? survey.roles.dense : survey.unreadable).push_back(name);
    } else {
      (use.several ? survey.roles.multi_valued : survey.roles.categorical).push_back(name);
    }
  }
  return survey;
}

}  // namespace ectrain::prep
