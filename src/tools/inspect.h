// `ectrain inspect`: what is in columnar HDF5 files (from h5py, `ectrain prepare` or `generate`):
// columns and their HDF5 types, rows, label balance, per-column statistics, the stored schema and
// provenance. Streams each column in chunks, so memory stays bounded whatever the file size.
// Several files (shards of one data set) are summarised together. Single-caller; takes the
// process's HDF5 lock while it reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/schema.h"

namespace ectrain::tools {

struct InspectOptions {
  std::vector<std::string> paths;  // files, or directories (their *.h5 / *.hdf5 files, sorted)
  std::string label;               // label column; default: the stored schema's label, if any
  int64_t chunk_rows = 1 << 20;    // rows per read
};

struct ColumnSummary {
  std::string name;
  bool multi_valued = false;
  std::string type;      // HDF5 type, e.g. "float32", "int64"; for a CSR group, the values' type
  std::string storage;   // "contiguous" or "chunked 65536, shuffle, deflate 1"
  int64_t rows = 0;      // over all files (for a CSR group: rows = offsets - 1)
  int64_t values = 0;    // number of numbers summarised (rows, or CSR values)
  bool integer = false;  // an integer type (ids)
  // Over finite values:
  double min = 0, max = 0, mean = 0, stddev = 0;
  int64_t missing = 0;  // NaN
  int64_t infinite = 0;
  // Ids (integer columns, and the schema's categorical/multi-valued columns):
  bool is_id = false;
  int64_t distinct_estimate = 0;      // HyperLogLog, about 1% error
  std::optional<int64_t> vocab_size;  // from the stored schema
  int64_t outside_vocab = 0;          // ids < 0 or >= vocab_size (or < 0 without a vocab size)
  // CSR groups:
  double values_per_row_mean = 0;
  int64_t values_per_row_max = 0;
  int64_t empty_rows = 0;
};

struct LabelBalance {
  std::string column;
  int64_t positives = 0, negatives = 0, other = 0;  // 1, 0, anything else (or NaN)
};

struct InspectedFile {
  std::string path;
  int64_t rows = 0;
  int64_t bytes = 0;
};

struct InspectReport {
  std::vector<InspectedFile> files;
  int64_t rows = 0;
  int64_t bytes = 0;
  std::vector<ColumnSummary> columns;         // scalar columns, then CSR groups; name order within each
  std::vector<std::string> other_objects;     // datasets that are not columns (2-D, strings), with a note
  std::optional<data::FeatureSchema> schema;  // of the first file
  std::optional<std::string> provenance;      // of the first file
  std::optional<LabelBalance> label;
  std::vector<std::string> problems;  // things `ectrain train` would refuse or that look wrong

  std::string ToText() const;
  std::string ToJson() const;
};

// Files named by `paths`: files as given, directories expanded to their HDF5 files. An error
// names a path that does not exist or a directory without HDF5 files.
StatusOr<std::vector<std::string>> ExpandDataPaths(const std::vector<std::string>& paths);

// Reads every file through. An error (exit 1) names a file that is missing, not HDF5, truncated
// or corrupt; findings about the content go into `problems`.
StatusOr<InspectReport> Inspect(const InspectOptions& options);

}  // namespace ectrain::tools
