#include "data/prepare.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "core/log.h"
#include "data/csv.h"
#include "data/hdf5_util.h"
#include "data/schema.h"
#include "data/sharding.h"

namespace ectrain::data {
namespace {

// The split is EpochPermutation's shuffle on a stream of its own ("split"), so it depends only
// on the seed and the number of distinct rows.
constexpr int64_t kSplitStream = 0x5e11;
constexpr hsize_t kChunkRows = 65536;
constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();

struct RowHash {
  size_t operator()(const std::vector<std::string>* row) const {
    size_t hash = 0;
    for (const std::string& field : *row) hash = hash * 1000003 ^ std::hash<std::string>{}(field);
    return hash;
  }
};
struct RowEqual {
  bool operator()(const std::vector<std::string>* a, const std::vector<std::string>* b) const {
    return *a == *b;
  }
};

// One output file's columns.
struct SplitColumns {
  std::vector<std::vector<float>> dense;
  std::vector<std::vector<int32_t>> categorical;
  std::vector<float> labels;
};

Status CheckRequest(const PrepareRequest& request) {
  if (!(request.test_fraction > 0 && request.test_fraction < 1)) {
    return InvalidArgument("test_fraction is " + std::to_string(request.test_fraction) +
                           "; it must lie strictly between 0 and 1");
  }
  if (request.train_path.empty() || request.test_path.empty() ||
      request.train_path == request.test_path) {
    return InvalidArgument("prepare needs two different output paths for train and test");
  }
  std::vector<std::string> names = {request.label};
  names.insert(names.end(), request.dense.begin(), request.dense.end());
  names.insert(names.end(), request.categorical.begin(), request.categorical.end());
  std::set<std::string> seen;
  for (const std::string& name : names) {
    // Each column becomes a root dataset, next to the "ectrain" group holding the schema.
    if (name.empty() || name == "." || name == "ectrain" || name.find('/') != std::string::npos) {
      return InvalidArgument("column name '" + name +
                             "' cannot name an HDF5 dataset (empty, '.', 'ectrain' or containing "
                             "'/'); rename the column in the CSV header");
    }
    if (!seen.insert(name).second) {
      return InvalidArgument("column '" + name +
                             "' is listed twice among the label, dense and categorical columns");
    }
  }
  return Status::Ok();
}

// Fill value, mean and stddev from the training values (kMissing where missing).
DenseColumnStats FitDense(const std::vector<double>& values, const std::string& column) {
  double sum = 0;
  int64_t present = 0;
  for (const double v : values) {
    if (!std::isnan(v)) {
      sum += v;
      ++present;
    }
  }
  if (present == 0) LOG_WARNING << "column '" << column << "' has no values in training; using 0";
  DenseColumnStats stats;
  stats.fill_value = present > 0 ? sum / present : 0.0;
  // Filling with the mean leaves the mean unchanged; the spread is over the filled values.
  stats.mean = stats.fill_value;
  double squares = 0;
  for (const double v : values) {
    const double d = (std::isnan(v) ? stats.fill_value : v) - stats.mean;
    squares += d * d;
  }
  const double stddev = std::sqrt(squares / static_cast<double>(values.size()));
  stats.stddev = stddev > 0 ? stddev : 1.0;  // a constant column stays 0, not NaN
  return stats;
}

std::vector<float> Standardize(const std::vector<double>& values, const DenseColumnStats& stats) {
  std::vector<float> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const double v = std::isnan(values[i]) ? stats.fill_value : values[i];
    out[i] = static_cast<float>((v - stats.mean) / stats.stddev);
  }
  return out;
}

Status WriteColumn(hid_t file, const std::string& path, const std::string& name, hid_t file_type,
                   hid_t memory_type, const void* data, hsize_t num_rows) {
  H5Handle space(H5Screate_simple(1, &num_rows, nullptr));
  H5Handle props(H5Pcreate(H5P_DATASET_CREATE));
  const hsize_t chunk_rows = std::min(num_rows, kChunkRows);
  H5Pset_chunk(props.get(), 1, &chunk_rows);
  H5Pset_shuffle(props.get());  // before deflate: byte-shuffled floats compress much better
  H5Pset_deflate(props.get(), 4);
  H5Handle dataset(H5Dcreate2(file, name.c_str(), file_type, space.get(), H5P_DEFAULT, props.get(),
                              H5P_DEFAULT));
  if (!dataset.valid() ||
      H5Dwrite(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    return Internal("could not write column '" + name + "' to '" + path +
                    "'; check free disk space");
  }
  return Status::Ok();
}

Status WriteSplitFile(const std::string& path, const FeatureSchema& schema,
                      const SplitColumns& split) {
  std::lock_guard<std::mutex> lock(Hdf5Mutex());
  H5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  if (!file.valid()) {
    return InvalidArgument("could not create '" + path + "'; check the directory is writable");
  }
  const hsize_t num_rows = split.labels.size();
  for (size_t i = 0; i < schema.dense.size(); ++i) {
    RETURN_IF_ERROR(WriteColumn(file.get(), path, schema.dense[i], H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                                split.dense[i].data(), num_rows));
  }
  for (size_t i = 0; i < schema.categorical.size(); ++i) {
    RETURN_IF_ERROR(WriteColumn(file.get(), path, schema.categorical[i], H5T_STD_I32LE,
                                H5T_NATIVE_INT32, split.categorical[i].data(), num_rows));
  }
  RETURN_IF_ERROR(WriteColumn(file.get(), path, schema.label, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                              split.labels.data(), num_rows));
  RETURN_IF_ERROR(WriteStringDataset(file.get(), kSchemaDataset, schema.ToJson()));
  if (H5Fflush(file.get(), H5F_SCOPE_LOCAL) < 0) {
    return Internal("could not flush '" + path + "'; check free disk space");
  }
  return Status::Ok();
}

// Both files go to temporary names first and are renamed only when both are complete, so a
// failure to write leaves neither a half file nor a new train file beside an old test file.
Status WriteOutputs(const PrepareRequest& request, const FeatureSchema& schema,
                    const SplitColumns& train, const SplitColumns& test) {
  namespace fs = std::filesystem;
  std::error_code error;
  for (const std::string& path : {request.train_path, request.test_path}) {
    const fs::path parent = fs::path(path).parent_path();
    if (!parent.empty()) fs::create_directories(parent, error);
    if (error) {
      return InvalidArgument("could not create directory '" + parent.string() + "' for '" + path +
                             "': " + error.message());
    }
  }
  const std::string train_temp = request.train_path + ".tmp";
  const std::string test_temp = request.test_path + ".tmp";
  Status status = WriteSplitFile(train_temp, schema, train);
  if (status.ok()) status = WriteSplitFile(test_temp, schema, test);
  for (const auto& [temp, path] :
       {std::pair{train_temp, request.train_path}, std::pair{test_temp, request.test_path}}) {
    if (status.ok()) {
      fs::rename(temp, path, error);
      if (error) {
        status = Internal("could not rename '" + temp + "' to '" + path + "': " + error.message());
      }
    }
    fs::remove(temp, error);  // nothing to remove after a rename
  }
  return status;
}

}  // namespace

StatusOr<PrepareReport> PrepareCsv(const PrepareRequest& request) {
  RETURN_IF_ERROR(CheckRequest(request));
  QuietHdf5Errors();
  ASSIGN_OR_RETURN(const CsvTable csv, ReadCsv(request.csv_path, request.delimiter));
  ASSIGN_OR_RETURN(const int label_index, csv.ColumnIndex(request.label));
  std::vector<int> dense_index, categorical_index;
  for (const std::string& name : request.dense) {
    ASSIGN_OR_RETURN(const int index, csv.ColumnIndex(name));
    dense_index.push_back(index);
  }
  for (const std::string& name : request.categorical) {
    ASSIGN_OR_RETURN(const int index, csv.ColumnIndex(name));
    categorical_index.push_back(index);
  }

  PrepareReport report;
  report.rows_read = static_cast<int64_t>(csv.rows.size());
  std::vector<int64_t> kept;  // CSV row indices, in file order
  std::unordered_set<const std::vector<std::string>*, RowHash, RowEqual> seen;
  for (int64_t r = 0; r < report.rows_read; ++r) {
    if (!request.drop_duplicates || seen.insert(&csv.rows[r]).second) kept.push_back(r);
  }
  report.duplicates_dropped = report.rows_read - static_cast<int64_t>(kept.size());

  const int64_t num_kept = static_cast<int64_t>(kept.size());
  const int64_t num_test = std::llround(request.test_fraction * static_cast<double>(num_kept));
  if (num_test == 0 || num_test == num_kept) {
    return InvalidArgument("test_fraction " + std::to_string(request.test_fraction) + " of " +
                           std::to_string(num_kept) + " rows in '" + csv.path + "' leaves the " +
                           (num_test == 0 ? "test" : "training") +
                           " split empty; change test_fraction or use more data");
  }
  const std::vector<int64_t> permutation = EpochPermutation(num_kept, request.seed, kSplitStream);
  std::vector<int64_t> test(permutation.begin(), permutation.begin() + num_test);
  std::vector<int64_t> train(permutation.begin() + num_test, permutation.end());
  // Keep file order inside each split: it is what a user sees when comparing with the CSV.
  for (std::vector<int64_t>* split : {&train, &test}) {
    std::sort(split->begin(), split->end());
    for (int64_t& row : *split) row = kept[row];
  }

  auto where = [&](int64_t row, int column) {
    return csv.path + ":" + std::to_string(csv.line_numbers[row]) + " column '" +
           csv.header[column] + "': ";
  };
  auto parse_dense = [&](const std::vector<int64_t>& split, int column,
                         std::vector<double>& values) -> Status {
    values.resize(split.size());
    for (size_t i = 0; i < split.size(); ++i) {
      StatusOr<std::optional<double>> value = ParseDenseValue(csv.rows[split[i]][column]);
      if (!value.ok()) return DataError(where(split[i], column) + value.status().message());
      values[i] = value->value_or(kMissing);
    }
    return Status::Ok();
  };
  auto parse_labels = [&](const std::vector<int64_t>& split, std::vector<float>& labels) -> Status {
    labels.resize(split.size());
    for (size_t i = 0; i < split.size(); ++i) {
      const std::string& text = csv.rows[split[i]][label_index];
      StatusOr<float> label = ParseLabel(text);
      if (!label.ok()) return DataError(where(split[i], label_index) + label.status().message());
      if (*label < 0 || *label > 1) {
        return DataError(where(split[i], label_index) + "label '" + text +
                         "' is outside [0, 1]; use 0/1 or a probability");
      }
      labels[i] = *label;
    }
    return Status::Ok();
  };

  FeatureSchema schema;
  schema.label = request.label;
  schema.dense = request.dense;
  schema.categorical = request.categorical;
  SplitColumns train_out, test_out;
  std::vector<double> train_values, test_values;
  for (size_t d = 0; d < dense_index.size(); ++d) {
    RETURN_IF_ERROR(parse_dense(train, dense_index[d], train_values));
    RETURN_IF_ERROR(parse_dense(test, dense_index[d], test_values));
    schema.dense_stats.push_back(FitDense(train_values, request.dense[d]));
    train_out.dense.push_back(Standardize(train_values, schema.dense_stats.back()));
    test_out.dense.push_back(Standardize(test_values, schema.dense_stats.back()));
  }
  for (const int column : categorical_index) {
    std::unordered_map<std::string, int32_t> ids;
    std::vector<std::string> vocabulary;
    std::vector<int32_t>& train_ids = train_out.categorical.emplace_back();
    for (const int64_t row : train) {
      const std::string value(TrimSpaces(csv.rows[row][column]));
      auto [it, inserted] = ids.try_emplace(value, static_cast<int32_t>(vocabulary.size()) + 1);
      if (inserted) vocabulary.push_back(value);
      train_ids.push_back(it->second);
    }
    std::vector<int32_t>& test_ids = test_out.categorical.emplace_back();
    for (const int64_t row : test) {
      auto it = ids.find(std::string(TrimSpaces(csv.rows[row][column])));
      test_ids.push_back(it == ids.end() ? 0 : it->second);  // 0: not seen in training
    }
    schema.vocab_sizes.push_back(static_cast<int64_t>(vocabulary.size()) + 1);
    schema.vocabularies.push_back(std::move(vocabulary));
  }
  RETURN_IF_ERROR(parse_labels(train, train_out.labels));
  RETURN_IF_ERROR(parse_labels(test, test_out.labels));

  RETURN_IF_ERROR(WriteOutputs(request, schema, train_out, test_out));
  report.train_rows = static_cast<int64_t>(train.size());
  report.test_rows = static_cast<int64_t>(test.size());
  double positives = 0;
  for (const float label : train_out.labels) positives += label;
  report.train_positive_rate = positives / static_cast<double>(train.size());
  return report;
}

}  // namespace ectrain::data
