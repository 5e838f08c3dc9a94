#include "data/column_file.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <utility>

#include "data/hdf5_util.h"

namespace ectrain::data {
namespace {

struct Column {
  std::string name;
  H5Handle dataset;
  int64_t length = 0;
};

// Root-level 1-D datasets, in name order (HDF5's name index is sorted).
std::vector<std::string> RootColumns(hid_t file) {
  std::vector<std::string> names;
  H5G_info_t info;
  if (H5Gget_info(file, &info) < 0) return names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t size =
        H5Lget_name_by_idx(file, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (size <= 0) continue;
    std::string name(static_cast<size_t>(size) + 1, '\0');
    H5Lget_name_by_idx(file, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(),
                       H5P_DEFAULT);
    name.resize(static_cast<size_t>(size));
    H5Handle object(H5Oopen(file, name.c_str(), H5P_DEFAULT));
    if (!object.valid() || H5Iget_type(object.get()) != H5I_DATASET) continue;
    H5Handle space(H5Dget_space(object.get()));
    if (H5Sget_simple_extent_ndims(space.get()) == 1) names.push_back(std::move(name));
  }
  return names;
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "(none)" : out;
}

std::string Show(double value) {
  if (std::isnan(value)) return "NaN";
  std::ostringstream out;
  out << value;
  return out.str();
}

// Opens the named columns and checks they are 1-D, numeric and of one length.
StatusOr<std::vector<Column>> OpenColumns(hid_t file, const std::string& path,
                                          const std::vector<std::string>& names) {
  std::vector<Column> columns;
  for (const std::string& name : names) {
    const bool is_link = !name.empty() && name.find('/') == std::string::npos &&
                         H5Lexists(file, name.c_str(), H5P_DEFAULT) > 0;
    H5Handle dataset(is_link ? H5Oopen(file, name.c_str(), H5P_DEFAULT) : -1);
    if (!dataset.valid() || H5Iget_type(dataset.get()) != H5I_DATASET) {
      return NotFound("data file '" + path + "' has no column '" + name +
                      "'; columns are: " + Join(RootColumns(file)));
    }
    H5Handle space(H5Dget_space(dataset.get()));
    hsize_t length = 0;
    if (H5Sget_simple_extent_ndims(space.get()) != 1) {
      return DataError("data file '" + path + "': column '" + name +
                       "' is not a 1-D dataset; store one feature per 1-D dataset");
    }
    H5Sget_simple_extent_dims(space.get(), &length, nullptr);
    H5Handle type(H5Dget_type(dataset.get()));
    const H5T_class_t type_class = H5Tget_class(type.get());
    if (type_class != H5T_INTEGER && type_class != H5T_FLOAT) {
      return DataError("data file '" + path + "': column '" + name +
                       "' is not numeric; store integers or floats (encode text with `ectrain "
                       "prepare`)");
    }
    if (!columns.empty() && static_cast<int64_t>(length) != columns[0].length) {
      return DataError("data file '" + path + "': column '" + name + "' has " +
                       std::to_string(length) + " rows but column '" + columns[0].name + "' has " +
                       std::to_string(columns[0].length) +
                       "; all columns must have the same length");
    }
    columns.push_back({name, std::move(dataset), static_cast<int64_t>(length)});
  }
  return columns;
}

// Reads `column` at `rows` (sorted, unique) as doubles, which hold every int32 id and float
// exactly and let us see NaN or fractional ids before converting.
Status ReadRows(const Column& column, const std::string& path, const std::vector<hsize_t>& rows,
                std::vector<double>& values) {
  values.resize(rows.size());
  if (rows.empty()) return Status::Ok();
  H5Handle file_space(H5Dget_space(column.dataset.get()));
  const hsize_t first = rows.front();
  const hsize_t span = rows.back() - first + 1;
  // A point list costs far more per row than a contiguous read, so when the rows cover much of
  // their span (a rank's share of an epoch, or the whole file) read the span and pick.
  const bool read_span = rows.size() * 4 >= span;
  const hsize_t count = read_span ? span : rows.size();
  std::vector<double> span_values(read_span ? span : 0);
  const herr_t selected =
      read_span
          ? H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &first, nullptr, &count, nullptr)
          : H5Sselect_elements(file_space.get(), H5S_SELECT_SET, count, rows.data());
  H5Handle memory_space(H5Screate_simple(1, &count, nullptr));
  if (selected < 0 ||
      H5Dread(column.dataset.get(), H5T_NATIVE_DOUBLE, memory_space.get(), file_space.get(),
              H5P_DEFAULT, read_span ? span_values.data() : values.data()) < 0) {
    return DataError("data file '" + path + "': could not read column '" + column.name +
                     "'; the file may be corrupt, re-create it");
  }
  if (read_span) {
    for (size_t j = 0; j < rows.size(); ++j) values[j] = span_values[rows[j] - first];
  }
  return Status::Ok();
}

enum class ColumnKind { kDense, kCategorical, kLabel };

// Errors name the file row, so a user can look at it with h5dump or h5py.
Status CheckValues(ColumnKind kind, int64_t vocab_size, const std::vector<double>& values,
                   const std::vector<hsize_t>& rows, const std::string& where) {
  for (size_t j = 0; j < values.size(); ++j) {
    const double v = values[j];
    std::string problem;
    switch (kind) {
      case ColumnKind::kDense:
        if (!std::isfinite(static_cast<float>(v))) {
          problem = "value is " + Show(v) +
                    "; dense values must be finite float32 (`ectrain prepare` fills missing ones)";
        }
        break;
      case ColumnKind::kCategorical:
        if (!(v >= 0 && v < static_cast<double>(vocab_size)) || v != std::floor(v)) {
          problem = "id " + Show(v) + " out of range [0, " + std::to_string(vocab_size) +
                    ") (vocab size); ids must be integers below the schema's vocab size";
        }
        break;
      case ColumnKind::kLabel:
        if (!(v >= 0 && v <= 1)) {
          problem = "label is " + Show(v) + "; labels must be finite values in [0, 1]";
        }
        break;
    }
    if (!problem.empty()) {
      return DataError(where + " row " + std::to_string(rows[j]) + ": " + problem);
    }
  }
  return Status::Ok();
}

std::vector<std::string> SchemaColumns(const FeatureSchema& schema, bool with_labels) {
  std::vector<std::string> names = schema.dense;
  names.insert(names.end(), schema.categorical.begin(), schema.categorical.end());
  if (with_labels) names.push_back(schema.label);
  return names;
}

}  // namespace

StatusOr<ColumnFile> ColumnFile::Open(const std::string& path) {
  std::lock_guard<std::mutex> lock(Hdf5Mutex());
  QuietHdf5Errors();
  if (!std::filesystem::exists(path)) return NotFound("data file '" + path + "' not found");
  const std::string unreadable = "data file '" + path + "' is not a readable HDF5 file";
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    return DataError(unreadable + "; give an HDF5 file (`ectrain prepare` makes one from a CSV)");
  }
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) return DataError(unreadable + "; it may be truncated or corrupt, re-create it");
  ColumnFile file;
  file.path_ = path;
  file.file_id_ = id;
  return file;
}

ColumnFile::ColumnFile(ColumnFile&& o) noexcept
    : path_(std::move(o.path_)), file_id_(std::exchange(o.file_id_, -1)) {}

ColumnFile& ColumnFile::operator=(ColumnFile&& o) noexcept {
  if (this != &o) {
    std::lock_guard<std::mutex> lock(Hdf5Mutex());
    if (file_id_ >= 0) H5Fclose(file_id_);
    path_ = std::move(o.path_);
    file_id_ = std::exchange(o.file_id_, -1);
  }
  return *this;
}

ColumnFile::~ColumnFile() {
  if (file_id_ < 0) return;
  std::lock_guard<std::mutex> lock(Hdf5Mutex());
  if (file_id_ >= 0) H5Fclose(file_id_);
}

std::vector<std::string> ColumnFile::ColumnNames() const {
  std::lock_guard<std::mutex> lock(Hdf5Mutex());
  return RootColumns(file_id_);
}

StatusOr<std::optional<FeatureSchema>> ColumnFile::StoredSchema() const {
  std::lock_guard<std::mutex> lock(Hdf5Mutex());
  if (!LinkExists(file_id_, kSchemaDataset)) return std::optional<FeatureSchema>();
  ASSIGN_OR_RETURN(const std::string json, ReadStringDataset(file_id_, kSchemaDataset, path_));
  ASSIGN_OR_RETURN(FeatureSchema schema,
                   FeatureSchema::FromJson(json, "data file '" + path_ + "' " + kSchemaDataset));
  return std::optional<FeatureSchema>(std::move(schema));
}

StatusOr<int64_t> ColumnFile::CheckColumns(const std::vector<std::string>& names) const {
  std::lock_guard<std::mutex> lock(Hdf5Mutex());
  ASSIGN_OR_RETURN(const std::vector<Column> columns, OpenColumns(file_id_, path_, names));
  return columns.empty() ? int64_t{0} : columns[0].length;
}

StatusOr<Table> ColumnFile::Read(const FeatureSchema& schema, std::span<const int64_t> rows,
                                 bool with_labels) const {
  std::lock_guard<std::mutex> lock(Hdf5Mutex());
  if (schema.vocab_sizes.size() != schema.categorical.size()) {
    return InvalidArgument("feature schema has " + std::to_string(schema.vocab_sizes.size()) +
                           " vocab sizes for " + std::to_string(schema.categorical.size()) +
                           " categorical columns");
  }
  ASSIGN_OR_RETURN(const std::vector<Column> columns,
                   OpenColumns(file_id_, path_, SchemaColumns(schema, with_labels)));
  const int64_t num_file_rows = columns.empty() ? 0 : columns[0].length;
  for (const int64_t row : rows) {
    if (row < 0 || row >= num_file_rows) {
      return Internal("data file '" + path_ + "': asked for row " + std::to_string(row) +
                      ", outside [0, " + std::to_string(num_file_rows) + ")");
    }
  }
  std::vector<hsize_t> unique_rows(rows.begin(), rows.end());
  std::sort(unique_rows.begin(), unique_rows.end());
  unique_rows.erase(std::unique(unique_rows.begin(), unique_rows.end()), unique_rows.end());
  std::vector<size_t> slot(rows.size());  // where each requested row sits in unique_rows
  for (size_t i = 0; i < rows.size(); ++i) {
    slot[i] =
        std::lower_bound(unique_rows.begin(), unique_rows.end(), static_cast<hsize_t>(rows[i])) -
        unique_rows.begin();
  }

  Table table;
  table.num_rows = static_cast<int64_t>(rows.size());
  table.num_dense = static_cast<int>(schema.dense.size());
  table.num_categorical = static_cast<int>(schema.categorical.size());
  table.dense.resize(rows.size() * table.num_dense);
  table.categorical.resize(rows.size() * table.num_categorical);
  if (with_labels) table.labels.resize(rows.size());

  const size_t num_dense = schema.dense.size();
  std::vector<double> values;
  for (size_t c = 0; c < columns.size(); ++c) {
    ColumnKind kind = ColumnKind::kLabel;
    if (c < num_dense) kind = ColumnKind::kDense;
    if (c >= num_dense && c < num_dense + schema.categorical.size())
      kind = ColumnKind::kCategorical;
    const size_t category = c - num_dense;  // meaningful for categorical columns only
    RETURN_IF_ERROR(ReadRows(columns[c], path_, unique_rows, values));
    RETURN_IF_ERROR(CheckValues(kind,
                                kind == ColumnKind::kCategorical ? schema.vocab_sizes[category] : 0,
                                values, unique_rows, path_ + ": column '" + columns[c].name + "'"));
    for (size_t i = 0; i < rows.size(); ++i) {
      const double v = values[slot[i]];
      switch (kind) {
        case ColumnKind::kDense:
          table.dense[i * num_dense + c] = static_cast<float>(v);
          break;
        case ColumnKind::kCategorical:
          table.categorical[i * table.num_categorical + category] = static_cast<int32_t>(v);
          break;
        case ColumnKind::kLabel:
          table.labels[i] = static_cast<float>(v);
          break;
      }
    }
  }
  return table;
}

StatusOr<Table> ColumnFile::ReadAll(const FeatureSchema& schema, bool with_labels) const {
  ASSIGN_OR_RETURN(const int64_t num_rows, CheckColumns(SchemaColumns(schema, with_labels)));
  std::vector<int64_t> rows(num_rows);
  for (int64_t i = 0; i < num_rows; ++i) rows[i] = i;
  return Read(schema, rows, with_labels);
}

}  // namespace ectrain::data
