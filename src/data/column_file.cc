#include "data/column_file.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <utility>

#include "core/log.h"
#include "data/hdf5_util.h"

namespace ectrain::data {
namespace {

// The caller holds Hdf5Mutex() in every function of this namespace that calls HDF5.

bool IsBagGroup(hid_t file, const std::string& name) {
  H5Handle object(H5Oopen(file, name.c_str(), H5P_DEFAULT));
  if (!object.valid() || H5Iget_type(object.get()) != H5I_GROUP) return false;
  return H5Lexists(object.get(), "values", H5P_DEFAULT) > 0 && H5Lexists(object.get(), "offsets", H5P_DEFAULT) > 0;
}

// Root-level 1-D datasets and multi-valued groups, in name order (HDF5's name index is sorted).
std::vector<std::string> RootColumns(hid_t file) {
  std::vector<std::string> names;
  for (const std::string& name : RootLinkNames(file)) {
    H5Handle object(H5Oopen(file, name.c_str(), H5P_DEFAULT));
    if (!object.valid()) continue;
    if (H5Iget_type(object.get()) == H5I_DATASET) {
      H5Handle space(H5Dget_space(object.get()));
      if (H5Sget_simple_extent_ndims(space.get()) == 1) names.push_back(name);
    } else if (IsBagGroup(file, name)) {
      names.push_back(name);
    }
  }
  return names;
}

std::string Show(double value) {
  if (std::isnan(value)) return "NaN";
  std::ostringstream out;
  out << value;
  return out.str();
}

enum class ColumnKind { kDense, kCategorical, kLabel, kBag };

// How a dataset's values reach memory: straight into the destination type, or through a
// double (which holds every int32 id and float exactly and shows NaN or fractional ids).
enum class MemoryType { kFloat, kInt32, kDouble };

struct Dataset {
  H5Handle handle;
  int64_t length = 0;
  MemoryType memory = MemoryType::kDouble;
  bool is_integer = false;
};

// Opens the 1-D numeric dataset at `path` (a column, or a multi-valued group's member).
StatusOr<Dataset> OpenDataset(hid_t file, const std::string& file_path, const std::string& column,
                              const std::string& path, ColumnKind kind) {
  Dataset d;
  d.handle = H5Handle(H5Dopen2(file, path.c_str(), H5P_DEFAULT));  // no chunk cache: see ColumnFile::Open
  if (!d.handle.valid()) {
    return DataError("data file '" + file_path + "': column '" + column + "' has no readable dataset '" + path +
                     "'; the file may be corrupt, re-create it");
  }
  RETURN_IF_ERROR(CheckFiltersAvailable(d.handle.get(), file_path, column));
  H5Handle space(H5Dget_space(d.handle.get()));
  if (H5Sget_simple_extent_ndims(space.get()) != 1) {
    return DataError("data file '" + file_path + "': column '" + column + "'" +
                     (path == column ? "" : " ('" + path + "')") +
                     " is not a 1-D dataset; store one feature per 1-D dataset");
  }
  hsize_t length = 0;
  H5Sget_simple_extent_dims(space.get(), &length, nullptr);
  d.length = static_cast<int64_t>(length);
  H5Handle type(H5Dget_type(d.handle.get()));
  const H5T_class_t type_class = H5Tget_class(type.get());
  if (type_class != H5T_INTEGER && type_class != H5T_FLOAT) {
    return DataError("data file '" + file_path + "': column '" + column + "'" +
                     (path == column ? "" : " ('" + path + "')") +
                     " is not numeric; store integers or floats (encode text with `ectrain prepare`)");
  }
  d.is_integer = type_class == H5T_INTEGER;
  const size_t bytes = H5Tget_size(type.get());
  const bool is_signed = d.is_integer && H5Tget_sign(type.get()) == H5T_SGN_2;
  switch (kind) {
    case ColumnKind::kDense:
    case ColumnKind::kLabel:
      d.memory = type_class == H5T_FLOAT && bytes <= 4 ? MemoryType::kFloat : MemoryType::kDouble;
      break;
    case ColumnKind::kCategorical:
    case ColumnKind::kBag:
      d.memory = d.is_integer && (bytes < 4 || (bytes == 4 && is_signed)) ? MemoryType::kInt32 : MemoryType::kDouble;
      break;
  }
  return d;
}

struct Column {
  std::string name;
  ColumnKind kind = ColumnKind::kDense;
  int64_t vocab_size = 0;  // categorical and multi-valued
  int64_t length = 0;      // rows
  Dataset data;            // the column, or a multi-valued column's `values`
  Dataset offsets;         // multi-valued only
};

// Opens the named columns and checks they are 1-D, numeric and of one length.
StatusOr<std::vector<Column>> OpenColumns(hid_t file, const std::string& path, const std::vector<std::string>& names,
                                          const std::vector<ColumnKind>& kinds) {
  std::vector<Column> columns;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    const bool is_link =
        !name.empty() && name.find('/') == std::string::npos && H5Lexists(file, name.c_str(), H5P_DEFAULT) > 0;
    H5Handle object(is_link ? H5Oopen(file, name.c_str(), H5P_DEFAULT) : -1);
    const H5I_type_t type = object.valid() ? H5Iget_type(object.get()) : H5I_BADID;
    const bool is_bag = type == H5I_GROUP && IsBagGroup(file, name);
    if (type != H5I_DATASET && !is_bag) {
      return NotFound("data file '" + path + "' has no column '" + name +
                      "'; columns are: " + JoinColumnNames(RootColumns(file)));
    }
    Column column;
    column.name = name;
    column.kind = kinds[i];
    if (is_bag != (kinds[i] == ColumnKind::kBag)) {
      return DataError("data file '" + path + "': column '" + name + "' is " +
                       (is_bag ? "multi-valued (a group with values and offsets); list it in data.multi_valued"
                               : "a plain dataset; a multi-valued column is a group with datasets `values` and "
                                 "`offsets`, list plain columns in data.dense or data.categorical"));
    }
    if (is_bag) {
      ASSIGN_OR_RETURN(column.data, OpenDataset(file, path, name, name + "/values", ColumnKind::kBag));
      ASSIGN_OR_RETURN(column.offsets, OpenDataset(file, path, name, name + "/offsets", ColumnKind::kBag));
      if (!column.data.is_integer || !column.offsets.is_integer || column.offsets.length == 0) {
        return DataError("data file '" + path + "': multi-valued column '" + name +
                         "' needs integer `values` and integer `offsets` with rows + 1 entries");
      }
      column.length = column.offsets.length - 1;
    } else {
      ASSIGN_OR_RETURN(column.data, OpenDataset(file, path, name, name, kinds[i]));
      column.length = column.data.length;
    }
    if (!columns.empty() && column.length != columns[0].length) {
      return DataError("data file '" + path + "': column '" + name + "' has " + std::to_string(column.length) +
                       " rows but column '" + columns[0].name + "' has " + std::to_string(columns[0].length) +
                       "; all columns must have the same length (the file may have been cut short; re-create it)");
    }
    columns.push_back(std::move(column));
  }
  return columns;
}

// Reads elements [begin, begin + count) of a dataset into `out` (memory type `type`).
Status ReadRange(const Dataset& d, hid_t memory_type, int64_t begin, int64_t count, void* out, const std::string& path,
                 const std::string& column) {
  if (count == 0) return Status::Ok();
  std::lock_guard<std::mutex> lock(Hdf5Mutex());
  QuietHdf5Errors();  // on each thread that reads: the caller reports the failure as a Status
  H5Handle file_space(H5Dget_space(d.handle.get()));
  const hsize_t start = static_cast<hsize_t>(begin), n = static_cast<hsize_t>(count);
  H5Handle memory_space(H5Screate_simple(1, &n, nullptr));
  if (H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &start, nullptr, &n, nullptr) < 0 ||
      H5Dread(d.handle.get(), memory_type, memory_space.get(), file_space.get(), H5P_DEFAULT, out) < 0) {
    return DataError("data file '" + path + "': could not read column '" + column + "' (rows " + std::to_string(begin) +
                     " to " + std::to_string(begin + count - 1) + "); the file is truncated or corrupt, re-create it");
  }
  return Status::Ok();
}

// Checks one value; returns the problem, or an empty string.
template <typename T>
std::string Problem(ColumnKind kind, const std::string& column, int64_t vocab_size, T v) {
  switch (kind) {
    case ColumnKind::kDense:
      if (!std::isfinite(static_cast<float>(v))) {
        return "value is " + Show(static_cast<double>(v)) +
               "; dense values must be finite float32 (`ectrain prepare` fills missing ones)";
      }
      return {};
    case ColumnKind::kCategorical:
    case ColumnKind::kBag: {
      const double d = static_cast<double>(v);
      if (!(d >= 0 && d < static_cast<double>(vocab_size)) || d != std::floor(d)) {
        return "id " + Show(d) + " out of range [0, " + std::to_string(vocab_size) +
               ") (vocab size); ids must be integers below the vocab size: raise data.vocab_sizes." + column +
               " (or re-run `ectrain prepare`) if the data is right";
      }
      return {};
    }
    case ColumnKind::kLabel: {  // vocab_size: -1 binary, 0 regression, K classes (LabelLimit)
      const double d = static_cast<double>(v);
      if (vocab_size < 0 && !(d >= 0 && d <= 1)) {
        return "label is " + Show(d) + "; labels must be finite values in [0, 1]";
      }
      if (vocab_size == 0 && !std::isfinite(d)) return "label is " + Show(d) + "; labels must be finite numbers";
      if (vocab_size > 0 && (!(d >= 0 && d < static_cast<double>(vocab_size)) || d != std::floor(d))) {
        return "label is " + Show(d) + "; class labels must be ids in [0, " + std::to_string(vocab_size) +
               ") (model.num_classes)";
      }
      return {};
    }
  }
  return {};
}

// Validates `count` values of `in` and writes them to out[i * stride]. Returns the first bad index
// (and its problem) or -1.
template <typename In, typename Out>
int64_t CheckAndCopy(ColumnKind kind, const std::string& column, int64_t vocab_size, const In* in, int64_t count,
                     Out* out, int64_t stride, std::string& problem) {
  for (int64_t i = 0; i < count; ++i) {
    const In v = in[i];
    bool bad = false;
    if constexpr (std::is_same_v<In, int32_t>) {
      bad = kind == ColumnKind::kCategorical || kind == ColumnKind::kBag ? (v < 0 || v >= vocab_size) : false;
    } else if constexpr (std::is_same_v<In, float>) {
      bad = kind == ColumnKind::kLabel ? !Problem(kind, column, vocab_size, v).empty() : !std::isfinite(v);
    } else {
      bad = !Problem(kind, column, vocab_size, v).empty();
    }
    if (bad) {
      problem = Problem(kind, column, vocab_size, v);
      return i;
    }
    if (out != nullptr && (!std::is_same_v<In, Out> || static_cast<const void*>(in) != static_cast<void*>(out))) {
      out[i * stride] = static_cast<Out>(v);
    }
  }
  return -1;
}

}  // namespace

std::string JoinColumnNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "(none)" : out;
}

std::vector<std::string> SchemaColumns(const FeatureSchema& schema, bool with_labels) {
  std::vector<std::string> names = schema.dense;
  names.insert(names.end(), schema.categorical.begin(), schema.categorical.end());
  if (with_labels) names.push_back(schema.label);
  names.insert(names.end(), schema.multi_valued.begin(), schema.multi_valued.end());
  return names;
}

namespace {
std::vector<ColumnKind> KindsOf(const std::vector<std::string>& names, const FeatureSchema* schema, bool with_labels) {
  std::vector<ColumnKind> kinds(names.size(), ColumnKind::kDense);
  if (schema == nullptr) return kinds;  // CheckColumns: the kind only matters for bags, found by layout
  size_t i = schema->dense.size();
  for (size_t c = 0; c < schema->categorical.size(); ++c) kinds[i++] = ColumnKind::kCategorical;
  if (with_labels) kinds[i++] = ColumnKind::kLabel;
  for (size_t b = 0; b < schema->multi_valued.size(); ++b) kinds[i++] = ColumnKind::kBag;
  return kinds;
}
}  // namespace

void BagColumns::Resize(int num_bags) {
  offsets_.resize(num_bags);
  values_.resize(num_bags);
  Link();
}

BagColumns& BagColumns::operator=(const BagColumns& other) {
  if (this != &other) {
    offsets_ = other.offsets_;
    values_ = other.values_;
    Link();
  }
  return *this;
}

void BagColumns::Link() {
  views_.resize(offsets_.size());
  for (size_t b = 0; b < offsets_.size(); ++b) views_[b] = {offsets_[b].data(), values_[b].data()};
}

void ReadScratch::Reserve(int64_t rows) {
  f64.reserve(rows + 1);
  f32.reserve(rows + 1);
  i32.reserve(rows + 1);
  i64.reserve(rows + 1);
}

struct ColumnFile::Bound {
  std::vector<Column> columns;
  int num_dense = 0;
  int num_categorical = 0;
  bool with_labels = false;
  int num_bags = 0;
  int64_t num_rows = 0;
  int64_t chunk_rows = 0;
};

ColumnFile::ColumnFile() = default;

StatusOr<ColumnFile> ColumnFile::Open(const std::string& path) {
  std::lock_guard<std::mutex> lock(Hdf5Mutex());
  QuietHdf5Errors();
  if (!std::filesystem::exists(path)) return NotFound("data file '" + path + "' not found");
  const std::string unreadable = "data file '" + path + "' is not a readable HDF5 file";
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    return DataError(unreadable + "; give an HDF5 file (`ectrain prepare` makes one from a CSV)");
  }
  // No chunk cache for the file's datasets (HDF5 keeps up to 1 MB per open dataset by default):
  // reads are whole row ranges, each chunk is wanted once, and the streaming reader's memory
  // bound must hold however many files and columns are open. Set for the file: HDF5 1.10 kept
  // its 1 MB default when the datasets were opened with a zero-byte cache of their own (11 MB
  // for the generated data's 10 columns, bench/RESULTS.md, peak memory).
  H5Handle access(H5Pcreate(H5P_FILE_ACCESS));
  size_t slots = 0, bytes = 0;
  double w0 = 0;
  H5Pget_cache(access.get(), nullptr, &slots, &bytes, &w0);
  H5Pset_cache(access.get(), 0, slots, 0, w0);
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, access.get());
  if (id < 0) return DataError(unreadable + "; it may be truncated or corrupt, re-create it");
  ColumnFile file;
  file.path_ = path;
  file.file_id_ = id;
  return file;
}

ColumnFile::ColumnFile(ColumnFile&& o) noexcept
    : path_(std::move(o.path_)), file_id_(std::exchange(o.file_id_, -1)), bound_(std::move(o.bound_)) {}

ColumnFile& ColumnFile::operator=(ColumnFile&& o) noexcept {
  if (this != &o) {
    std::lock_guard<std::mutex> lock(Hdf5Mutex());
    bound_.reset();
    if (file_id_ >= 0) H5Fclose(file_id_);
    path_ = std::move(o.path_);
    file_id_ = std::exchange(o.file_id_, -1);
    bound_ = std::move(o.bound_);
  }
  return *this;
}

ColumnFile::~ColumnFile() {
  if (file_id_ < 0 && bound_ == nullptr) return;
  std::lock_guard<std::mutex> lock(Hdf5Mutex());
  bound_.reset();  // closes the datasets before the file
  if (file_id_ >= 0) H5Fclose(file_id_);
}

std::vector<std::string> ColumnFile::ColumnNames() const {
  std::lock_guard<std::mutex> lock(Hdf5Mutex());
  return RootColumns(file_id_);
}

StatusOr<std::optional<std::string>> ColumnFile::StoredSchemaText() const {
  std::lock_guard<std::mutex> lock(Hdf5Mutex());
  if (!LinkExists(file_id_, kSchemaDataset)) return std::optional<std::string>();
  ASSIGN_OR_RETURN(std::string json, ReadStringDataset(file_id_, kSchemaDataset, path_));
  return std::optional<std::string>(std::move(json));
}

StatusOr<FeatureSchema> ParseStoredSchema(const std::string& text, const std::string& path) {
  return FeatureSchema::FromJson(text, "data file '" + path + "' " + kSchemaDataset);
}

StatusOr<std::optional<FeatureSchema>> ColumnFile::StoredSchema() const {
  ASSIGN_OR_RETURN(const std::optional<std::string> json, StoredSchemaText());
  if (!json) return std::optional<FeatureSchema>();
  ASSIGN_OR_RETURN(FeatureSchema schema, ParseStoredSchema(*json, path_));
  return std::optional<FeatureSchema>(std::move(schema));
}

StatusOr<std::vector<int32_t>> ColumnFile::SampledMarks() const {
  std::lock_guard<std::mutex> lock(Hdf5Mutex());
  std::vector<int32_t> marks;
  if (!LinkExists(file_id_, kSampledDataset)) return marks;
  H5Handle dataset(H5Dopen2(file_id_, kSampledDataset, H5P_DEFAULT));
  H5Handle space(dataset.valid() ? H5Dget_space(dataset.get()) : -1);
  const hssize_t n = space.valid() ? H5Sget_simple_extent_npoints(space.get()) : -1;
  if (n < 0)
    return DataError("data file '" + path_ + "': " + kSampledDataset + " is unreadable; re-run `ectrain prepare`");
  marks.resize(static_cast<size_t>(n));
  if (n > 0 && H5Dread(dataset.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, marks.data()) < 0) {
    return DataError("data file '" + path_ + "': " + kSampledDataset + " is unreadable; re-run `ectrain prepare`");
  }
  return marks;
}

namespace {
// The values of a 1-D string dataset (fixed- or variable-length), padding dropped.
StatusOr<std::vector<std::string>> ReadStrings(hid_t dataset, hid_t file_type, size_t n, const std::string& where) {
  std::vector<std::string> out(n);
  if (H5Tis_variable_str(file_type) > 0) {
    H5Handle memory_type(H5Tcopy(H5T_C_S1));
    H5Tset_size(memory_type.get(), H5T_VARIABLE);
    H5Tset_cset(memory_type.get(), H5Tget_cset(file_type));
    std::vector<char*> data(n, nullptr);
    if (n > 0 && H5Dread(dataset, memory_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) < 0) {
      return DataError(where + " could not be read; the file may be corrupt");
    }
    for (size_t i = 0; i < n; ++i) {
      out[i] = data[i] != nullptr ? data[i] : "";
      H5free_memory(data[i]);
    }
    return out;
  }
  const size_t width = H5Tget_size(file_type);
  std::string block(n * width, '\0');
  if (n > 0 && H5Dread(dataset, file_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, block.data()) < 0) {
    return DataError(where + " could not be read; the file may be corrupt");
  }
  for (size_t i = 0; i < n; ++i) {
    const std::string_view value(block.data() + i * width, width);
    out[i] = std::string(value.substr(0, std::min(value.find('\0'), value.size())));
  }
  return out;
}
}  // namespace

StatusOr<std::vector<std::string>> ColumnFile::ReadAsText(const std::string& name) const {
  std::lock_guard<std::mutex> lock(Hdf5Mutex());
  QuietHdf5Errors();
  const std::string where = "data file '" + path_ + "' column '" + name + "'";
  const bool is_link = !name.empty() && name.find('/') == std::string::npos && LinkExists(file_id_, name);
  H5Handle dataset(is_link ? H5Dopen2(file_id_, name.c_str(), H5P_DEFAULT) : -1);
  if (!dataset.valid()) {
    return NotFound("data file '" + path_ + "' has no column '" + name +
                    "'; columns are: " + JoinColumnNames(RootColumns(file_id_)));
  }
  H5Handle space(H5Dget_space(dataset.get()));
  if (H5Sget_simple_extent_ndims(space.get()) != 1) return DataError(where + " is not a 1-D dataset");
  const auto n = static_cast<size_t>(H5Sget_simple_extent_npoints(space.get()));
  H5Handle type(H5Dget_type(dataset.get()));
  const H5T_class_t type_class = H5Tget_class(type.get());
  if (type_class == H5T_STRING) return ReadStrings(dataset.get(), type.get(), n, where);
  if (type_class != H5T_INTEGER && type_class != H5T_FLOAT) {
    return DataError(where + " holds neither numbers nor strings");
  }
  std::vector<std::string> out(n);
  char text[32];
  if (type_class == H5T_INTEGER) {
    std::vector<long long> values(n);
    if (n > 0 && H5Dread(dataset.get(), H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0) {
      return DataError(where + " could not be read; the file may be corrupt");
    }
    for (size_t i = 0; i < n; ++i) out[i] = std::to_string(values[i]);
    return out;
  }
  // Floats as stored: the shortest text that reads back to the same float32 or float64.
  const bool single = H5Tget_size(type.get()) <= 4;
  std::vector<double> values(n);
  if (n > 0 && H5Dread(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0) {
    return DataError(where + " could not be read; the file may be corrupt");
  }
  for (size_t i = 0; i < n; ++i) {
    for (int digits = 1; digits <= (single ? 9 : 17); ++digits) {
      std::snprintf(text, sizeof(text), "%.*g", digits, values[i]);
      const double back = std::strtod(text, nullptr);
      if (single ? static_cast<float>(back) == static_cast<float>(values[i]) : back == values[i]) break;
    }
    out[i] = text;
  }
  return out;
}

StatusOr<int64_t> ColumnFile::CheckColumns(const std::vector<std::string>& names) const {
  std::lock_guard<std::mutex> lock(Hdf5Mutex());
  std::vector<ColumnKind> kinds(names.size(), ColumnKind::kDense);
  for (size_t i = 0; i < names.size(); ++i) {
    if (H5Lexists(file_id_, names[i].c_str(), H5P_DEFAULT) > 0 && IsBagGroup(file_id_, names[i])) {
      kinds[i] = ColumnKind::kBag;
    }
  }
  ASSIGN_OR_RETURN(const std::vector<Column> columns, OpenColumns(file_id_, path_, names, kinds));
  return columns.empty() ? int64_t{0} : columns[0].length;
}

StatusOr<int64_t> ColumnFile::Bind(const FeatureSchema& schema, bool with_labels) {
  if (schema.vocab_sizes.size() != schema.categorical.size() ||
      schema.multi_vocab_sizes.size() != schema.multi_valued.size()) {
    return InvalidArgument("feature schema has " + std::to_string(schema.vocab_sizes.size()) + " vocab sizes for " +
                           std::to_string(schema.categorical.size()) + " categorical columns and " +
                           std::to_string(schema.multi_vocab_sizes.size()) + " for " +
                           std::to_string(schema.multi_valued.size()) + " multi-valued columns");
  }
  const std::vector<std::string> names = SchemaColumns(schema, with_labels);
  std::lock_guard<std::mutex> lock(Hdf5Mutex());
  bound_.reset();
  auto bound = std::make_unique<Bound>();
  ASSIGN_OR_RETURN(bound->columns, OpenColumns(file_id_, path_, names, KindsOf(names, &schema, with_labels)));
  bound->num_dense = static_cast<int>(schema.dense.size());
  bound->num_categorical = static_cast<int>(schema.categorical.size());
  bound->with_labels = with_labels;
  bound->num_bags = static_cast<int>(schema.multi_valued.size());
  bound->num_rows = bound->columns.empty() ? 0 : bound->columns[0].length;
  for (size_t c = 0; c < bound->columns.size(); ++c) {
    Column& column = bound->columns[c];
    if (column.kind == ColumnKind::kCategorical) column.vocab_size = schema.vocab_sizes[c - bound->num_dense];
    if (column.kind == ColumnKind::kLabel) {
      column.vocab_size = schema.label_type == "class"        ? static_cast<int64_t>(schema.label_classes.size())
                          : schema.label_type == "regression" ? 0
                                                              : -1;
    }
    if (column.kind == ColumnKind::kBag) {
      const size_t b = c - bound->num_dense - bound->num_categorical - (with_labels ? 1 : 0);
      column.vocab_size = schema.multi_vocab_sizes[b];
      // The offsets must start at 0 and end at the number of values.
      int64_t ends[2] = {0, 0};
      const hsize_t picks[2] = {0, static_cast<hsize_t>(column.offsets.length - 1)};
      H5Handle file_space(H5Dget_space(column.offsets.handle.get()));
      const hsize_t two = 2;
      H5Handle memory_space(H5Screate_simple(1, &two, nullptr));
      if (H5Sselect_elements(file_space.get(), H5S_SELECT_SET, 2, picks) < 0 ||
          H5Dread(column.offsets.handle.get(), H5T_NATIVE_INT64, memory_space.get(), file_space.get(), H5P_DEFAULT,
                  ends) < 0) {
        return DataError("data file '" + path_ + "': could not read column '" + column.name +
                         "' (its offsets); the file is truncated or corrupt, re-create it");
      }
      if (ends[0] != 0 || ends[1] != column.data.length) {
        return DataError("data file '" + path_ + "': multi-valued column '" + column.name + "' has offsets from " +
                         std::to_string(ends[0]) + " to " + std::to_string(ends[1]) + " but " +
                         std::to_string(column.data.length) +
                         " values; offsets must run from 0 to the number of values (re-create the file)");
      }
    }
    for (const Dataset* d : {&column.data, &column.offsets}) {
      if (!d->handle.valid()) continue;
      H5Handle plist(H5Dget_create_plist(d->handle.get()));
      hsize_t chunk = 0;
      if (H5Pget_layout(plist.get()) == H5D_CHUNKED && H5Pget_chunk(plist.get(), 1, &chunk) == 1 && d == &column.data &&
          column.kind != ColumnKind::kBag) {
        bound->chunk_rows = std::max(bound->chunk_rows, static_cast<int64_t>(chunk));
      }
    }
  }
  const int64_t rows = bound->num_rows;
  bound_ = std::move(bound);
  return rows;
}

int64_t ColumnFile::BoundChunkRows() const { return bound_ ? bound_->chunk_rows : 0; }

std::vector<int64_t> ColumnFile::BoundBagValueCounts() const {
  std::vector<int64_t> counts;
  if (bound_ == nullptr) return counts;
  for (const Column& column : bound_->columns) {
    if (column.kind == ColumnKind::kBag) counts.push_back(column.data.length);
  }
  return counts;
}

Status ColumnFile::ReadRows(int64_t begin, int64_t end, const RowsOut& out, ReadScratch& scratch) const {
  CHECK(bound_ != nullptr) << "ColumnFile::ReadRows before Bind on " << path_;
  const Bound& bound = *bound_;
  CHECK(begin >= 0 && begin <= end && end <= bound.num_rows)
      << path_ << ": rows [" << begin << ", " << end << ") of " << bound.num_rows;
  const int64_t count = end - begin;
  std::string problem;
  int bag = 0;
  for (size_t c = 0; c < bound.columns.size(); ++c) {
    const Column& column = bound.columns[c];
    int64_t bad = -1;      // index of the first bad value in this read
    int64_t bad_row = -1;  // its file row
    if (column.kind == ColumnKind::kBag) {
      // offsets[begin..end] locate the ids; stored rebased onto the output's values.
      std::vector<int64_t>& offsets = scratch.i64;
      offsets.resize(count + 1);
      RETURN_IF_ERROR(
          ReadRange(column.offsets, H5T_NATIVE_INT64, begin, count + 1, offsets.data(), path_, column.name));
      for (int64_t i = 0; i < count; ++i) {
        if (offsets[i + 1] < offsets[i] || offsets[i] < 0 || offsets[i + 1] > column.data.length) {
          return DataError(path_ + ": column '" + column.name + "' row " + std::to_string(begin + i) + ": offsets " +
                           std::to_string(offsets[i]) + " to " + std::to_string(offsets[i + 1]) +
                           " are not a range within its " + std::to_string(column.data.length) +
                           " values; the file is corrupt, re-create it");
        }
      }
      std::vector<int32_t>& values = *out.bag_values[bag];
      const int64_t first = offsets[0], num_ids = offsets[count] - offsets[0];
      const int64_t base = static_cast<int64_t>(values.size());
      values.resize(base + num_ids);
      int32_t* ids = values.data() + base;
      if (column.data.memory == MemoryType::kInt32) {
        RETURN_IF_ERROR(ReadRange(column.data, H5T_NATIVE_INT32, first, num_ids, ids, path_, column.name));
        bad = CheckAndCopy(column.kind, column.name, column.vocab_size, ids, num_ids, ids, 1, problem);
      } else {
        scratch.f64.resize(num_ids);
        RETURN_IF_ERROR(
            ReadRange(column.data, H5T_NATIVE_DOUBLE, first, num_ids, scratch.f64.data(), path_, column.name));
        bad = CheckAndCopy(column.kind, column.name, column.vocab_size, scratch.f64.data(), num_ids, ids, 1, problem);
      }
      if (bad >= 0) {
        bad_row = begin + (std::upper_bound(offsets.begin(), offsets.end(), first + bad) - offsets.begin()) - 1;
      }
      int64_t* out_offsets = out.bag_offsets[bag];
      for (int64_t i = 0; i <= count; ++i) out_offsets[i] = base + offsets[i] - first;
      ++bag;
    } else {
      // Destination and stride of this column.
      void* dst = nullptr;
      int64_t stride = 1;
      if (column.kind == ColumnKind::kDense) {
        dst = out.dense[c];
        stride = out.dense_stride;
      } else if (column.kind == ColumnKind::kCategorical) {
        dst = out.categorical[c - bound.num_dense];
        stride = out.categorical_stride;
      } else {
        dst = out.labels;
      }
      const bool to_float = column.kind != ColumnKind::kCategorical;
      switch (column.data.memory) {
        case MemoryType::kFloat: {
          float* in = stride == 1 ? static_cast<float*>(dst) : (scratch.f32.resize(count), scratch.f32.data());
          RETURN_IF_ERROR(ReadRange(column.data, H5T_NATIVE_FLOAT, begin, count, in, path_, column.name));
          bad = CheckAndCopy(column.kind, column.name, column.vocab_size, in, count, static_cast<float*>(dst), stride,
                             problem);
          break;
        }
        case MemoryType::kInt32: {
          int32_t* in = stride == 1 ? static_cast<int32_t*>(dst) : (scratch.i32.resize(count), scratch.i32.data());
          RETURN_IF_ERROR(ReadRange(column.data, H5T_NATIVE_INT32, begin, count, in, path_, column.name));
          bad = CheckAndCopy(column.kind, column.name, column.vocab_size, in, count, static_cast<int32_t*>(dst), stride,
                             problem);
          break;
        }
        case MemoryType::kDouble: {
          scratch.f64.resize(count);
          RETURN_IF_ERROR(
              ReadRange(column.data, H5T_NATIVE_DOUBLE, begin, count, scratch.f64.data(), path_, column.name));
          bad = to_float ? CheckAndCopy(column.kind, column.name, column.vocab_size, scratch.f64.data(), count,
                                        static_cast<float*>(dst), stride, problem)
                         : CheckAndCopy(column.kind, column.name, column.vocab_size, scratch.f64.data(), count,
                                        static_cast<int32_t*>(dst), stride, problem);
          break;
        }
      }
      if (bad >= 0) bad_row = begin + bad;
    }
    if (bad >= 0) {
      // Errors name the file row, so a user can look at it with h5dump or h5py.
      return DataError(path_ + ": column '" + column.name + "' row " + std::to_string(bad_row) + ": " + problem);
    }
  }
  return Status::Ok();
}

StatusOr<Table> ColumnFile::ReadAll(const FeatureSchema& schema, bool with_labels) {
  ASSIGN_OR_RETURN(const int64_t num_rows, Bind(schema, with_labels));
  Table table;
  table.num_rows = num_rows;
  table.num_dense = static_cast<int>(schema.dense.size());
  table.num_categorical = static_cast<int>(schema.categorical.size());
  table.dense.resize(num_rows * table.num_dense);
  table.categorical.resize(num_rows * table.num_categorical);
  if (with_labels) table.labels.resize(num_rows);
  const int num_bags = static_cast<int>(schema.multi_valued.size());
  table.bags.Resize(num_bags);
  for (int b = 0; b < num_bags; ++b) table.bags.offsets(b).assign(num_rows + 1, 0);

  constexpr int64_t kRowsPerRead = 1 << 16;
  ReadScratch scratch;
  std::vector<float*> dense(table.num_dense);
  std::vector<int32_t*> categorical(table.num_categorical);
  std::vector<int64_t*> bag_offsets(num_bags);
  std::vector<std::vector<int32_t>*> bag_values(num_bags);
  for (int b = 0; b < num_bags; ++b) bag_values[b] = &table.bags.values(b);
  for (int64_t begin = 0; begin < num_rows; begin += kRowsPerRead) {
    const int64_t end = std::min(num_rows, begin + kRowsPerRead);
    for (int c = 0; c < table.num_dense; ++c) dense[c] = table.dense.data() + begin * table.num_dense + c;
    for (int c = 0; c < table.num_categorical; ++c) {
      categorical[c] = table.categorical.data() + begin * table.num_categorical + c;
    }
    for (int b = 0; b < num_bags; ++b) bag_offsets[b] = table.bags.offsets(b).data() + begin;
    RowsOut out{dense,
                table.num_dense,
                categorical,
                table.num_categorical,
                with_labels ? table.labels.data() + begin : nullptr,
                bag_offsets,
                bag_values};
    RETURN_IF_ERROR(ReadRows(begin, end, out, scratch));
  }
  table.bags.Link();
  return table;
}

BatchView ViewRows(const Table& table, int64_t begin, int64_t end) {
  BatchView view;
  view.num_rows = end - begin;
  view.num_dense = table.num_dense;
  view.num_categorical = table.num_categorical;
  view.dense = table.dense.data() + begin * table.num_dense;
  view.categorical = table.categorical.data() + begin * table.num_categorical;
  view.labels = table.labels.empty() ? nullptr : table.labels.data() + begin;
  view.bags = table.bags.views();
  view.num_bags = table.bags.size();
  view.bag_row_begin = begin;
  return view;
}

}  // namespace ectrain::data
