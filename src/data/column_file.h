// Columnar HDF5 input: one 1-D dataset per column, of any integer or float type (HDF5 converts),
// as an h5py user writes them; a multi-valued column NAME is a group with 1-D datasets `values`
// (integer ids) and `offsets` (integers, rows + 1 of them, from 0: row r's ids are
// values[offsets[r], offsets[r + 1])). Opened read-only. Reads are contiguous row ranges
// (hyperslabs), validated as they are read. Not thread-safe: one ColumnFile per thread; every
// HDF5 call holds data::Hdf5Mutex(), so ColumnFiles on different threads may be used at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/batch.h"
#include "core/status.h"
#include "data/schema.h"

namespace ectrain::data {

// Multi-valued columns of a table: CSR storage plus the BagColumnView array a BatchView points
// at. Copying re-points the views at the copy's own storage.
class BagColumns {
 public:
  BagColumns() = default;
  BagColumns(const BagColumns& other) : offsets_(other.offsets_), values_(other.values_) { Link(); }
  BagColumns& operator=(const BagColumns& other);
  BagColumns(BagColumns&&) noexcept = default;  // vectors keep their buffers: views stay valid
  BagColumns& operator=(BagColumns&&) noexcept = default;

  void Resize(int num_bags);
  int size() const { return static_cast<int>(offsets_.size()); }
  std::vector<int64_t>& offsets(int bag) { return offsets_[bag]; }  // (rows + 1), [0] == 0
  std::vector<int32_t>& values(int bag) { return values_[bag]; }
  const std::vector<int64_t>& offsets(int bag) const { return offsets_[bag]; }
  const std::vector<int32_t>& values(int bag) const { return values_[bag]; }
  // Call after filling (the vectors may have moved).
  void Link();
  const BagColumnView* views() const { return views_.empty() ? nullptr : views_.data(); }

 private:
  std::vector<std::vector<int64_t>> offsets_;
  std::vector<std::vector<int32_t>> values_;
  std::vector<BagColumnView> views_;
};

// Rows read into memory, in file order. Row-major.
struct Table {
  int64_t num_rows = 0;
  int num_dense = 0;
  int num_categorical = 0;
  std::vector<float> dense;          // (num_rows, num_dense)
  std::vector<int32_t> categorical;  // (num_rows, num_categorical)
  std::vector<float> labels;         // (num_rows); empty when read without labels
  BagColumns bags;                   // one per schema.multi_valued column, over all num_rows
};

// A BatchView of rows [begin, end) of a table (its multi-valued columns included).
BatchView ViewRows(const Table& table, int64_t begin, int64_t end);

// Where ColumnFile::ReadRows puts rows [begin, end): one pointer per column, caller-owned with
// room for end - begin values; value i of a column goes to pointer[i * stride].
struct RowsOut {
  std::span<float* const> dense;
  int64_t dense_stride = 1;
  std::span<int32_t* const> categorical;
  int64_t categorical_stride = 1;
  float* labels = nullptr;  // unused when bound without labels
  // Per multi-valued column: ids are appended to *bag_values[b]; bag_offsets[b][i] is the size
  // of *bag_values[b] before row i's ids, for i in [0, rows] (so rows + 1 entries).
  std::span<int64_t* const> bag_offsets;
  std::span<std::vector<int32_t>* const> bag_values;
};

// Scratch space for conversions; grows to the largest read and then stays.
struct ReadScratch {
  std::vector<double> f64;
  std::vector<float> f32;
  std::vector<int32_t> i32;
  std::vector<int64_t> i64;
  void Reserve(int64_t rows);
};

class ColumnFile {
 public:
  static StatusOr<ColumnFile> Open(const std::string& path);
  ColumnFile(ColumnFile&&) noexcept;
  ColumnFile& operator=(ColumnFile&&) noexcept;
  ~ColumnFile();

  const std::string& path() const { return path_; }
  // Names of the columns at the root, sorted: 1-D datasets, and groups holding 1-D datasets
  // `values` and `offsets` (multi-valued columns).
  std::vector<std::string> ColumnNames() const;
  // The schema `ectrain prepare` stored, if any.
  StatusOr<std::optional<FeatureSchema>> StoredSchema() const;
  // Its JSON text as stored (to compare files without parsing), or nullopt.
  StatusOr<std::optional<std::string>> StoredSchemaText() const;
  // The marks `prepare` stores at kSampledDataset (1: a sampled negative row); empty when absent.
  StatusOr<std::vector<int32_t>> SampledMarks() const;

  // Every value of 1-D dataset `name` as text, in row order: integers in decimal, floats as the
  // shortest text that reads back to the stored value, strings as stored. For passing a row key
  // through (predict's --id-column). Errors name the file and column and list the columns there are.
  StatusOr<std::vector<std::string>> ReadAsText(const std::string& name) const;

  // Checks that every named column exists, is numeric (a multi-valued one: integer values and
  // offsets), and that all have the same number of rows; returns it. Errors name the file and
  // column and list the columns there are.
  StatusOr<int64_t> CheckColumns(const std::vector<std::string>& names) const;

  // Opens the schema's columns for ReadRows (checked as CheckColumns does); returns the rows.
  StatusOr<int64_t> Bind(const FeatureSchema& schema, bool with_labels);
  // The largest chunk, in rows, of the bound datasets (0 when all are contiguous): a reader
  // whose ranges are smaller decompresses each chunk more than once.
  int64_t BoundChunkRows() const;
  // Ids stored in each bound multi-valued column, in schema order.
  std::vector<int64_t> BoundBagValueCounts() const;

  // Reads rows [begin, end) of the bound columns. Validates as it reads: labels finite and in
  // [0, 1], dense values finite, ids in [0, vocab size), offsets non-decreasing. Errors name the
  // file, column and row (and, for ids, the vocab size and the key that sets it); a read that
  // HDF5 refuses (a truncated file, a corrupt chunk) names the file and column.
  Status ReadRows(int64_t begin, int64_t end, const RowsOut& out, ReadScratch& scratch) const;

  // All rows of the schema's columns, in file order.
  StatusOr<Table> ReadAll(const FeatureSchema& schema, bool with_labels);

 private:
  struct Bound;
  ColumnFile();
  std::string path_;
  int64_t file_id_ = -1;  // hid_t; kept as int64_t so this header needs no hdf5.h
  std::unique_ptr<Bound> bound_;
};

// The schema stored as `text` in kSchemaDataset of data file `path`; an error names both.
StatusOr<FeatureSchema> ParseStoredSchema(const std::string& text, const std::string& path);

// The schema's column names: dense, categorical, then the label (when asked), then multi-valued.
std::vector<std::string> SchemaColumns(const FeatureSchema& schema, bool with_labels);

// Column names for messages: "a, b, c", or "(none)".
std::string JoinColumnNames(const std::vector<std::string>& names);

}  // namespace ectrain::data
