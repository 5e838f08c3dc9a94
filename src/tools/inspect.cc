#include "tools/inspect.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "data/column_file.h"
#include "data/hdf5_util.h"

namespace ectrain::tools {
namespace {

namespace fs = std::filesystem;

constexpr char kProvenanceDataset[] = "/ectrain/provenance";
constexpr char kMetadataGroup[] = "ectrain";

// HyperLogLog with 2^14 one-byte registers: distinct ids in 16 KiB, about 0.8% standard error.
class DistinctCounter {
 public:
  void Add(int64_t value) {
    uint64_t h = static_cast<uint64_t>(value) + 0x9e3779b97f4a7c15ULL;  // SplitMix64 finaliser
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    h ^= h >> 31;
    const size_t index = h >> (64 - kBits);
    const uint64_t rest = (h << kBits) | (uint64_t{1} << (kBits - 1));
    const auto rank = static_cast<uint8_t>(std::countl_zero(rest) + 1);
    registers_[index] = std::max(registers_[index], rank);
  }
  int64_t Estimate() const {
    constexpr double m = kRegisters;
    double sum = 0;
    int zeros = 0;
    for (uint8_t r : registers_) {
      sum += std::ldexp(1.0, -r);
      zeros += r == 0;
    }
    double estimate = 0.7213 / (1.0 + 1.079 / m) * m * m / sum;
    if (estimate <= 2.5 * m && zeros > 0) estimate = m * std::log(m / zeros);  // linear counting
    return static_cast<int64_t>(std::llround(estimate));
  }

 private:
  static constexpr int kBits = 14;
  static constexpr int kRegisters = 1 << kBits;
  std::array<uint8_t, kRegisters> registers_{};
};

// Streaming moments (Chan's parallel merge of Welford's), min/max and special values.
struct Moments {
  int64_t count = 0;
  double mean = 0, m2 = 0;
  double min = 0, max = 0;
  int64_t missing = 0, infinite = 0;

  void AddChunk(const double* values, size_t n) {
    int64_t c = 0;
    double sum = 0, lo = 0, hi = 0;
    for (size_t i = 0; i < n; ++i) {
      const double v = values[i];
      if (std::isnan(v)) {
        ++missing;
        continue;
      }
      if (std::isinf(v)) {
        ++infinite;
        continue;
      }
      if (c == 0) lo = hi = v;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      sum += v;
      ++c;
    }
    if (c == 0) return;
    const double chunk_mean = sum / c;
    double chunk_m2 = 0;
    for (size_t i = 0; i < n; ++i) {
      if (std::isfinite(values[i])) chunk_m2 += (values[i] - chunk_mean) * (values[i] - chunk_mean);
    }
    if (count == 0) {
      min = lo;
      max = hi;
    } else {
      min = std::min(min, lo);
      max = std::max(max, hi);
    }
    const double total = static_cast<double>(count + c);
    const double delta = chunk_mean - mean;
    m2 += chunk_m2 + delta * delta * static_cast<double>(count) * c / total;
    mean += delta * c / total;
    count += c;
  }
};

// A column's statistics over every file.
struct ColumnStats {
  ColumnSummary summary;
  Moments moments;
  DistinctCounter distinct;
  int64_t files = 0;
  int64_t row_values = 0;  // CSR: sum of values per row, for the mean
};

std::string TypeName(hid_t type) {
  const size_t size = H5Tget_size(type);
  switch (H5Tget_class(type)) {
    case H5T_FLOAT:
      return "float" + std::to_string(size * 8);
    case H5T_INTEGER:
      return std::string(H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(size * 8);
    case H5T_STRING:
      return "string";
    case H5T_COMPOUND:
      return "compound";
    case H5T_ENUM:
      return "enum";
    default:
      return "other";
  }
}

std::string StorageOf(hid_t dataset) {
  data::H5Handle create(H5Dget_create_plist(dataset));
  if (!create.valid()) return "?";
  const H5D_layout_t layout = H5Pget_layout(create.get());
  if (layout == H5D_CONTIGUOUS) return "contiguous";
  if (layout == H5D_COMPACT) return "compact";
  if (layout != H5D_CHUNKED) return "other";
  hsize_t chunk = 0;
  H5Pget_chunk(create.get(), 1, &chunk);
  std::string text = "chunked " + std::to_string(chunk);
  const int filters = H5Pget_nfilters(create.get());
  for (int f = 0; f < filters; ++f) {
    unsigned flags = 0;
    size_t num_values = 4;
    unsigned values[4] = {0, 0, 0, 0};
    char name[64] = {0};
    const H5Z_filter_t id = H5Pget_filter2(create.get(), static_cast<unsigned>(f), &flags, &num_values, values,
                                           sizeof(name), name, nullptr);
    if (id == H5Z_FILTER_DEFLATE) {
      text += ", deflate " + std::to_string(num_values > 0 ? values[0] : 0);
    } else if (id == H5Z_FILTER_SHUFFLE) {
      text += ", shuffle";
    } else {
      text += std::string(", ") + (name[0] ? name : ("filter " + std::to_string(id)).c_str());
    }
  }
  return text;
}

bool IsIntegerType(hid_t dataset) {
  data::H5Handle type(H5Dget_type(dataset));
  return H5Tget_class(type.get()) == H5T_INTEGER;
}

int64_t Length(hid_t dataset) {
  data::H5Handle space(H5Dget_space(dataset));
  hsize_t length = 0;
  if (H5Sget_simple_extent_ndims(space.get()) != 1) return -1;
  H5Sget_simple_extent_dims(space.get(), &length, nullptr);
  return static_cast<int64_t>(length);
}

// Reads rows [first, first + count) of a 1-D dataset converted to `memory_type`.
Status ReadSlice(hid_t dataset, hid_t memory_type, int64_t first, int64_t count, void* out, const std::string& where) {
  data::H5Handle file_space(H5Dget_space(dataset));
  const hsize_t start = static_cast<hsize_t>(first), n = static_cast<hsize_t>(count);
  data::H5Handle memory_space(H5Screate_simple(1, &n, nullptr));
  if (H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &start, nullptr, &n, nullptr) < 0 ||
      H5Dread(dataset, memory_type, memory_space.get(), file_space.get(), H5P_DEFAULT, out) < 0) {
    return DataError(where + ": rows " + std::to_string(first) + ".." + std::to_string(first + count - 1) +
                     " could not be read; the file is truncated or corrupt, re-create it");
  }
  return Status::Ok();
}

// One file's objects at the root: 1-D numeric datasets (columns), CSR groups, and the rest.
struct FileLayout {
  std::vector<std::string> scalars;
  std::vector<std::string> groups;
  std::vector<std::string> others;  // "name: what it is"
};

FileLayout ReadLayout(hid_t file) {
  FileLayout layout;
  for (const std::string& name : data::RootLinkNames(file)) {
    data::H5Handle object(H5Oopen(file, name.c_str(), H5P_DEFAULT));
    if (!object.valid()) {
      layout.others.push_back(name + ": could not be opened");
      continue;
    }
    if (H5Iget_type(object.get()) == H5I_GROUP) {
      if (name == kMetadataGroup) continue;
      const bool csr = data::LinkExists(object.get(), "values") && data::LinkExists(object.get(), "offsets");
      if (csr) {
        layout.groups.push_back(name);
      } else {
        layout.others.push_back(name + "/: a group without values and offsets (not a multi-valued column)");
      }
      continue;
    }
    if (H5Iget_type(object.get()) != H5I_DATASET) continue;
    data::H5Handle type(H5Dget_type(object.get()));
    data::H5Handle space(H5Dget_space(object.get()));
    const int dims = H5Sget_simple_extent_ndims(space.get());
    const H5T_class_t type_class = H5Tget_class(type.get());
    if (dims == 1 && (type_class == H5T_INTEGER || type_class == H5T_FLOAT)) {
      layout.scalars.push_back(name);
    } else {
      std::vector<hsize_t> shape(std::max(dims, 0));
      if (dims > 0) H5Sget_simple_extent_dims(space.get(), shape.data(), nullptr);
      std::string text = name + ": " + TypeName(type.get()) + " (";
      for (size_t d = 0; d < shape.size(); ++d) text += (d ? ", " : "") + std::to_string(shape[d]);
      text += dims == 0 ? "scalar)" : ")";
      layout.others.push_back(text + "; not a column (columns are 1-D numeric datasets)");
    }
  }
  return layout;
}

class Inspector {
 public:
  Inspector(const InspectOptions& options) : options_(options) {}

  Status AddFile(const std::string& path) {
    InspectedFile inspected{path, 0, 0};
    if (!fs::exists(path)) return NotFound("data file '" + path + "' not found");
    std::error_code error;
    inspected.bytes = static_cast<int64_t>(fs::file_size(path, error));
    if (error) return DataError("data file '" + path + "' could not be read: " + error.message());
    if (H5Fis_hdf5(path.c_str()) <= 0) {
      return DataError("data file '" + path +
                       "' is not an HDF5 file (or is damaged at its start); give an HDF5 "
                       "file, e.g. one written by `ectrain prepare` or `ectrain generate`");
    }
    data::H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    if (!file.valid()) {
      return DataError("data file '" + path +
                       "' could not be opened as HDF5; it is truncated or corrupt, "
                       "re-create it");
    }
    const bool first_file = report_.files.empty();
    if (data::LinkExists(file.get(), data::kSchemaDataset)) {
      StatusOr<std::string> text = data::ReadStringDataset(file.get(), data::kSchemaDataset, path);
      if (!text.ok()) return text.status();
      StatusOr<data::FeatureSchema> schema = data::ParseStoredSchema(*text, path);
      if (!schema.ok()) {
        report_.problems.push_back(schema.status().message());
      } else if (first_file) {
        report_.schema = *schema;
      } else if (!report_.schema || schema->ToJson() != report_.schema->ToJson()) {
        report_.problems.push_back("data file '" + path + "': its stored schema differs from that of '" +
                                   report_.files[0].path + "'");
      }
    } else if (!first_file && report_.schema) {
      report_.problems.push_back("data file '" + path + "' has no stored schema, unlike '" + report_.files[0].path +
                                 "'");
    }
    if (first_file && data::LinkExists(file.get(), kProvenanceDataset)) {
      ASSIGN_OR_RETURN(std::string text, data::ReadStringDataset(file.get(), kProvenanceDataset, path));
      report_.provenance = text;
    }
    if (first_file) {
      label_ = !options_.label.empty() ? options_.label : (report_.schema ? report_.schema->label : "");
    }

    const FileLayout layout = ReadLayout(file.get());
    for (const std::string& other : layout.others) report_.other_objects.push_back(path + ": " + other);
    if (first_file && !options_.label.empty() &&
        std::find(layout.scalars.begin(), layout.scalars.end(), options_.label) == layout.scalars.end()) {
      std::string names;
      for (const auto& n : layout.scalars) names += (names.empty() ? "" : ", ") + n;
      return InvalidArgument("--label " + options_.label + ": data file '" + path + "' has no column '" +
                             options_.label + "'; columns are: " + (names.empty() ? "(none)" : names));
    }

    int64_t rows = -1;
    std::string rows_from;
    auto check_rows = [&](const std::string& column, int64_t n) {
      if (rows < 0) {
        rows = n;
        rows_from = column;
      } else if (n != rows) {
        report_.problems.push_back("data file '" + path + "': column '" + column + "' has " + std::to_string(n) +
                                   " rows but '" + rows_from + "' has " + std::to_string(rows) +
                                   "; all columns must have the same length");
      }
    };
    for (const std::string& name : layout.scalars) {
      ASSIGN_OR_RETURN(int64_t n, ScanScalar(file.get(), path, name));
      check_rows(name, n);
    }
    for (const std::string& name : layout.groups) {
      ASSIGN_OR_RETURN(int64_t n, ScanGroup(file.get(), path, name));
      if (n >= 0) check_rows(name, n);
    }
    if (report_.schema) {
      auto expect = [&](const std::string& column, bool group) {
        const auto& names = group ? layout.groups : layout.scalars;
        if (!column.empty() && std::find(names.begin(), names.end(), column) == names.end()) {
          report_.problems.push_back("data file '" + path + "': the stored schema names " +
                                     (group ? "multi-valued column '" : "column '") + column +
                                     "', which the file lacks");
        }
      };
      expect(report_.schema->label, false);
      for (const auto& c : report_.schema->dense) expect(c, false);
      for (const auto& c : report_.schema->categorical) expect(c, false);
      for (const auto& c : report_.schema->multi_valued) expect(c, true);
    }
    inspected.rows = std::max<int64_t>(rows, 0);
    report_.rows += inspected.rows;
    report_.bytes += inspected.bytes;
    report_.files.push_back(inspected);
    return Status::Ok();
  }

  InspectReport Finish() {
    const int64_t num_files = static_cast<int64_t>(report_.files.size());
    for (auto* group : {&scalars_, &groups_}) {
      for (auto& [name, stats] : *group) {
        ColumnSummary& s = stats.summary;
        const Moments& m = stats.moments;
        s.min = m.min;
        s.max = m.max;
        s.mean = m.mean;
        s.stddev = m.count > 1 ? std::sqrt(m.m2 / static_cast<double>(m.count)) : 0.0;
        s.missing = m.missing;
        s.infinite = m.infinite;
        if (s.is_id && m.count > 0) {
          // The estimate can overshoot by its error; it never exceeds the values or the id range.
          const double range = m.max - m.min + 1;
          s.distinct_estimate = std::min(stats.distinct.Estimate(), m.count);
          if (range < 9e18) s.distinct_estimate = std::min(s.distinct_estimate, static_cast<int64_t>(range));
        }
        if (s.multi_valued && s.rows > 0) {
          s.values_per_row_mean = static_cast<double>(stats.row_values) / static_cast<double>(s.rows);
        }
        if (stats.files < num_files) {
          report_.problems.push_back("column '" + name + "' is in " + std::to_string(stats.files) + " of " +
                                     std::to_string(num_files) + " files");
        }
        if (s.is_id && s.outside_vocab > 0) {
          report_.problems.push_back("column '" + name + "': " + std::to_string(s.outside_vocab) + " ids outside [0, " +
                                     (s.vocab_size ? std::to_string(*s.vocab_size) : std::string("...")) +
                                     "); `ectrain train` refuses them: re-encode the ids or raise the vocabulary size");
        }
        const bool model_input =
            report_.schema && (name == report_.schema->label ||
                               std::count(report_.schema->dense.begin(), report_.schema->dense.end(), name) > 0);
        if ((s.missing > 0 || s.infinite > 0) && (model_input || name == label_)) {
          report_.problems.push_back("column '" + name + "': " + std::to_string(s.missing) + " NaN and " +
                                     std::to_string(s.infinite) +
                                     " infinite values; `ectrain train` needs finite dense values and labels");
        }
        report_.columns.push_back(s);
      }
    }
    if (!label_.empty() && scalars_.count(label_)) {
      label_balance_.column = label_;
      report_.label = label_balance_;
      if (label_invalid_ > 0) {
        report_.problems.push_back("label '" + label_ + "': " + std::to_string(label_invalid_) +
                                   " values are NaN or outside [0, 1]; `ectrain train` refuses them");
      }
    }
    return std::move(report_);
  }

 private:
  ColumnStats& StatsFor(std::map<std::string, ColumnStats>& map, const std::string& name, const std::string& path,
                        const std::string& type, const std::string& storage) {
    auto [it, inserted] = map.try_emplace(name);
    ColumnStats& stats = it->second;
    if (inserted) {
      stats.summary.name = name;
      stats.summary.type = type;
      stats.summary.storage = storage;
    } else if (stats.summary.type != type) {
      report_.problems.push_back("data file '" + path + "': column '" + name + "' is " + type + " here but " +
                                 stats.summary.type + " in '" + report_.files[0].path + "'");
    }
    ++stats.files;
    return stats;
  }

  std::optional<int64_t> VocabSize(const std::string& name, bool multi_valued) const {
    if (!report_.schema) return std::nullopt;
    const auto& names = multi_valued ? report_.schema->multi_valued : report_.schema->categorical;
    const auto& sizes = multi_valued ? report_.schema->multi_vocab_sizes : report_.schema->vocab_sizes;
    for (size_t i = 0; i < names.size() && i < sizes.size(); ++i) {
      if (names[i] == name) return sizes[i];
    }
    return std::nullopt;
  }

  // Id statistics of a chunk: distinct ids, and ids outside [0, vocab) (or non-integral).
  static void CountIds(ColumnStats& stats, const double* values, size_t n) {
    const std::optional<int64_t> vocab = stats.summary.vocab_size;
    for (size_t i = 0; i < n; ++i) {
      const double v = values[i];
      if (!std::isfinite(v) || v != std::floor(v)) {
        ++stats.summary.outside_vocab;
        continue;
      }
      stats.distinct.Add(static_cast<int64_t>(v));
      if (v < 0 || (vocab && v >= static_cast<double>(*vocab))) ++stats.summary.outside_vocab;
    }
  }

  // Streams one scalar column; returns its length.
  StatusOr<int64_t> ScanScalar(hid_t file, const std::string& path, const std::string& name) {
    data::H5Handle dataset(H5Dopen2(file, name.c_str(), H5P_DEFAULT));
    const std::string where = "data file '" + path + "' column '" + name + "'";
    if (!dataset.valid()) return DataError(where + " could not be opened; the file is corrupt, re-create it");
    data::H5Handle type(H5Dget_type(dataset.get()));
    ColumnStats& stats = StatsFor(scalars_, name, path, TypeName(type.get()), StorageOf(dataset.get()));
    ColumnSummary& s = stats.summary;
    s.integer = IsIntegerType(dataset.get());
    s.vocab_size = VocabSize(name, false);
    const bool schema_categorical =
        report_.schema && std::count(report_.schema->categorical.begin(), report_.schema->categorical.end(), name);
    s.is_id = name != label_ && (s.integer || schema_categorical);
    const int64_t length = Length(dataset.get());
    const bool is_label = name == label_;
    // Doubles hold every int32 id and float exactly; int64 ids beyond 2^53 only lose distinctness.
    std::vector<double> buffer(static_cast<size_t>(std::min<int64_t>(length, options_.chunk_rows)));
    for (int64_t first = 0; first < length; first += options_.chunk_rows) {
      const int64_t count = std::min(options_.chunk_rows, length - first);
      RETURN_IF_ERROR(ReadSlice(dataset.get(), H5T_NATIVE_DOUBLE, first, count, buffer.data(), where));
      stats.moments.AddChunk(buffer.data(), static_cast<size_t>(count));
      if (s.is_id) CountIds(stats, buffer.data(), static_cast<size_t>(count));
      if (is_label) {
        for (int64_t i = 0; i < count; ++i) {
          const double v = buffer[i];
          if (v == 1.0) {
            ++label_balance_.positives;
          } else if (v == 0.0) {
            ++label_balance_.negatives;
          } else {
            ++label_balance_.other;
            if (!(v >= 0.0 && v <= 1.0)) ++label_invalid_;
          }
        }
      }
    }
    s.rows += length;
    s.values += length;
    return length;
  }

  // Streams a CSR group (values, offsets); returns its rows, or -1 when its offsets are unusable.
  StatusOr<int64_t> ScanGroup(hid_t file, const std::string& path, const std::string& name) {
    const std::string where = "data file '" + path + "' multi-valued column '" + name + "'";
    data::H5Handle values(H5Dopen2(file, (name + "/values").c_str(), H5P_DEFAULT));
    data::H5Handle offsets(H5Dopen2(file, (name + "/offsets").c_str(), H5P_DEFAULT));
    if (!values.valid() || !offsets.valid()) {
      return DataError(where + ": values or offsets could not be opened; the file is corrupt, re-create it");
    }
    data::H5Handle values_type(H5Dget_type(values.get()));
    data::H5Handle offsets_type(H5Dget_type(offsets.get()));
    const std::string type = TypeName(values_type.get()) + " values, " + TypeName(offsets_type.get()) + " offsets";
    ColumnStats& stats = StatsFor(groups_, name, path, type, StorageOf(values.get()));
    ColumnSummary& s = stats.summary;
    s.multi_valued = true;
    s.is_id = true;
    s.integer = IsIntegerType(values.get());
    s.vocab_size = VocabSize(name, true);
    const int64_t num_values = Length(values.get());
    const int64_t num_offsets = Length(offsets.get());
    auto problem = [&](const std::string& what) {
      report_.problems.push_back(where + ": " + what + "; re-create the file");
      return int64_t{-1};
    };
    if (num_values < 0 || num_offsets < 1) return problem("values and offsets must be 1-D, offsets non-empty");
    if (H5Tget_class(offsets_type.get()) != H5T_INTEGER) return problem("offsets are not integers");

    // Offsets: from 0, non-decreasing, ending at the number of values.
    std::vector<int64_t> buffer(static_cast<size_t>(std::min<int64_t>(num_offsets, options_.chunk_rows)));
    int64_t previous = 0;
    bool ok = true;
    for (int64_t first = 0; first < num_offsets && ok; first += options_.chunk_rows) {
      const int64_t count = std::min(options_.chunk_rows, num_offsets - first);
      RETURN_IF_ERROR(ReadSlice(offsets.get(), H5T_NATIVE_INT64, first, count, buffer.data(), where + " offsets"));
      for (int64_t i = 0; i < count; ++i) {
        const int64_t offset = buffer[i];
        if (first + i == 0) {
          if (offset != 0) {
            ok = false;
            problem("offsets start at " + std::to_string(offset) + ", not 0");
          }
        } else {
          const int64_t length = offset - previous;
          if (length < 0) {
            ok = false;
            problem("offsets decrease at row " + std::to_string(first + i - 1));
            break;
          }
          stats.row_values += length;
          s.values_per_row_max = std::max(s.values_per_row_max, length);
          s.empty_rows += length == 0;
        }
        previous = offset;
      }
    }
    if (ok && previous != num_values) {
      ok = false;
      problem("the last offset is " + std::to_string(previous) + " but there are " + std::to_string(num_values) +
              " values");
    }
    std::vector<double> values_buffer(static_cast<size_t>(std::min<int64_t>(num_values, options_.chunk_rows)));
    for (int64_t first = 0; first < num_values; first += options_.chunk_rows) {
      const int64_t count = std::min(options_.chunk_rows, num_values - first);
      RETURN_IF_ERROR(
          ReadSlice(values.get(), H5T_NATIVE_DOUBLE, first, count, values_buffer.data(), where + " values"));
      stats.moments.AddChunk(values_buffer.data(), static_cast<size_t>(count));
      CountIds(stats, values_buffer.data(), static_cast<size_t>(count));
    }
    s.values += num_values;
    s.rows += num_offsets - 1;
    return ok ? num_offsets - 1 : -1;
  }

  const InspectOptions& options_;
  InspectReport report_;
  std::string label_;
  LabelBalance label_balance_;
  int64_t label_invalid_ = 0;
  std::map<std::string, ColumnStats> scalars_, groups_;
};

std::string Number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.6g", value);
  return text;
}

std::string Bytes(int64_t bytes) {
  char text[32];
  if (bytes >= 1'000'000) {
    std::snprintf(text, sizeof(text), "%.1f MB", static_cast<double>(bytes) / 1e6);
  } else {
    std::snprintf(text, sizeof(text), "%.1f kB", static_cast<double>(bytes) / 1e3);
  }
  return text;
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

StatusOr<std::vector<std::string>> ExpandDataPaths(const std::vector<std::string>& paths) {
  if (paths.empty()) return InvalidArgument("give at least one HDF5 file or directory");
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    std::error_code error;
    if (fs::is_directory(path, error)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::directory_iterator(path, error)) {
        const std::string ext = entry.path().extension().string();
        if (entry.is_regular_file() && (ext == ".h5" || ext == ".hdf5")) found.push_back(entry.path().string());
      }
      if (error) return DataError("directory '" + path + "' could not be listed: " + error.message());
      if (found.empty()) return NotFound("directory '" + path + "' holds no .h5 or .hdf5 files");
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::exists(path, error)) {
      files.push_back(path);
    } else {
      return NotFound("data file '" + path + "' not found");
    }
  }
  return files;
}

StatusOr<InspectReport> Inspect(const InspectOptions& options) {
  if (options.chunk_rows < 1) return InvalidArgument("inspect: chunk_rows must be at least 1");
  ASSIGN_OR_RETURN(const std::vector<std::string> files, ExpandDataPaths(options.paths));
  std::lock_guard<std::mutex> lock(data::Hdf5Mutex());
  data::QuietHdf5Errors();
  Inspector inspector(options);
  for (const std::string& file : files) RETURN_IF_ERROR(inspector.AddFile(file));
  return inspector.Finish();
}

std::string InspectReport::ToText() const {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof(line), "%zu file%s, %lld rows, %s\n", files.size(), files.size() == 1 ? "" : "s",
                static_cast<long long>(rows), Bytes(bytes).c_str());
  out += line;
  const size_t shown = files.size() <= 12 ? files.size() : 10;
  for (size_t i = 0; i < shown; ++i) {
    std::snprintf(line, sizeof(line), "  %s: %lld rows, %s\n", files[i].path.c_str(),
                  static_cast<long long>(files[i].rows), Bytes(files[i].bytes).c_str());
    out += line;
  }
  if (shown < files.size()) out += "  ... and " + std::to_string(files.size() - shown) + " more files\n";

  if (schema) {
    out += "schema (" + std::string(data::kSchemaDataset) + "): label '" + schema->label + "'";
    out += "; dense [" + Join(schema->dense) + "]";
    std::vector<std::string> categorical, multi;
    for (size_t i = 0; i < schema->categorical.size(); ++i) {
      categorical.push_back(schema->categorical[i] + " (" + std::to_string(schema->vocab_sizes[i]) + ")");
    }
    for (size_t i = 0; i < schema->multi_valued.size(); ++i) {
      multi.push_back(schema->multi_valued[i] + " (" + std::to_string(schema->multi_vocab_sizes[i]) + ")");
    }
    out += "; categorical (vocab size) [" + Join(categorical) + "]";
    if (!multi.empty()) out += "; multi-valued [" + Join(multi) + "]";
    out += "\n  preprocessing: ";
    if (schema->has_preprocessing()) {
      out += "dense standardized (";
      for (size_t i = 0; i < schema->dense_stats.size() && i < schema->dense.size(); ++i) {
        out += (i ? ", " : "") + schema->dense[i] + " mean " + Number(schema->dense_stats[i].mean) + " sd " +
               Number(schema->dense_stats[i].stddev);
        if (i == 3 && schema->dense.size() > 5) {
          out += ", ...";
          break;
        }
      }
      out += "); categorical vocabularies stored (";
      for (size_t i = 0; i < schema->vocabularies.size(); ++i) {
        out += (i ? ", " : "") + std::to_string(schema->vocabularies[i].size()) + " values";
      }
      out += "; id 0 = unseen)\n";
    } else {
      out += "none (values are used as stored)\n";
    }
  } else {
    out += "schema: none stored (a file from h5py or similar: give data.vocab_sizes for categorical columns)\n";
  }
  if (provenance) {
    out += "provenance:\n";
    size_t start = 0;
    while (start < provenance->size()) {
      size_t end = provenance->find('\n', start);
      if (end == std::string::npos) end = provenance->size();
      out += "  " + provenance->substr(start, end - start) + "\n";
      start = end + 1;
    }
  }
  if (label) {
    const int64_t total = label->positives + label->negatives + label->other;
    std::snprintf(line, sizeof(line), "label '%s': %lld positive, %lld negative, %lld other; positive rate %.4f\n",
                  label->column.c_str(), static_cast<long long>(label->positives),
                  static_cast<long long>(label->negatives), static_cast<long long>(label->other),
                  total > 0 ? static_cast<double>(label->positives) / static_cast<double>(total) : 0.0);
    out += line;
  }

  size_t width = 6;
  for (const ColumnSummary& c : columns) width = std::max(width, c.name.size());
  out += "columns:\n";
  for (const ColumnSummary& c : columns) {
    std::snprintf(line, sizeof(line), "  %-*s  %s  [%s]\n", static_cast<int>(width), c.name.c_str(), c.type.c_str(),
                  c.storage.c_str());
    out += line;
    std::string detail;
    if (c.multi_valued) {
      detail += "values/row mean " + Number(c.values_per_row_mean) + " max " + std::to_string(c.values_per_row_max) +
                ", empty rows " + std::to_string(c.empty_rows) + ", " + std::to_string(c.values) + " values; ";
    }
    if (c.is_id) {
      detail +=
          "ids " + Number(c.min) + ".." + Number(c.max) + ", ~" + std::to_string(c.distinct_estimate) + " distinct, ";
      if (c.vocab_size) {
        detail += "vocab " + std::to_string(*c.vocab_size) + ", " + std::to_string(c.outside_vocab) + " outside";
      } else {
        detail += "no stored vocab size (data.vocab_sizes." + c.name + " >= " + Number(c.max + 1) + ")";
        if (c.outside_vocab > 0) detail += ", " + std::to_string(c.outside_vocab) + " negative or non-integer";
      }
    } else {
      detail += "min " + Number(c.min) + " max " + Number(c.max) + " mean " + Number(c.mean) + " std " +
                Number(c.stddev) + ", missing (NaN) " + std::to_string(c.missing);
      if (c.infinite > 0) detail += ", infinite " + std::to_string(c.infinite);
    }
    out += std::string(width + 4, ' ') + detail + "\n";
  }
  for (const std::string& other : other_objects) out += "other: " + other + "\n";
  for (const std::string& problem : problems) out += "warning: " + problem + "\n";
  return out;
}

std::string InspectReport::ToJson() const {
  using nlohmann::json;
  json doc;
  doc["rows"] = rows;
  doc["bytes"] = bytes;
  doc["files"] = json::array();
  for (const InspectedFile& f : files) doc["files"].push_back({{"path", f.path}, {"rows", f.rows}, {"bytes", f.bytes}});
  doc["schema"] = schema ? json::parse(schema->ToJson()) : json(nullptr);
  doc["provenance"] = provenance ? json(*provenance) : json(nullptr);
  if (label) {
    const int64_t total = label->positives + label->negatives + label->other;
    doc["label"] = {{"column", label->column},
                    {"positives", label->positives},
                    {"negatives", label->negatives},
                    {"other", label->other},
                    {"positive_rate", total > 0 ? static_cast<double>(label->positives) / total : 0.0}};
  } else {
    doc["label"] = nullptr;
  }
  // JSON has no NaN: statistics of a column without finite values are null.
  auto finite = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
  doc["columns"] = json::array();
  for (const ColumnSummary& c : columns) {
    json column = {{"name", c.name},         {"kind", c.multi_valued ? "multi_valued" : "scalar"},
                   {"type", c.type},         {"storage", c.storage},
                   {"rows", c.rows},         {"values", c.values},
                   {"min", finite(c.min)},   {"max", finite(c.max)},
                   {"mean", finite(c.mean)}, {"std", finite(c.stddev)},
                   {"missing", c.missing},   {"infinite", c.infinite}};
    if (c.is_id) {
      column["distinct_estimate"] = c.distinct_estimate;
      column["vocab_size"] = c.vocab_size ? json(*c.vocab_size) : json(nullptr);
      column["outside_vocab"] = c.outside_vocab;
    }
    if (c.multi_valued) {
      column["values_per_row_mean"] = c.values_per_row_mean;
      column["values_per_row_max"] = c.values_per_row_max;
      column["empty_rows"] = c.empty_rows;
    }
    doc["columns"].push_back(column);
  }
  doc["other_objects"] = other_objects;
  doc["problems"] = problems;
  return doc.dump(2);
}

}  // namespace ectrain::tools
