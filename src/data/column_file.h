// Columnar HDF5 input: one 1-D dataset per column, of any integer or float type (HDF5 converts),
// as an h5py user writes them. Opened read-only; each rank reads only the rows it needs
// (point selections). Not thread-safe: one ColumnFile per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/schema.h"

namespace ectrain::data {

// Rows read into memory, in the order they were asked for. Row-major.
struct Table {
  int64_t num_rows = 0;
  int num_dense = 0;
  int num_categorical = 0;
  std::vector<float> dense;          // (num_rows, num_dense)
  std::vector<int32_t> categorical;  // (num_rows, num_categorical)
  std::vector<float> labels;         // (num_rows); empty when read without labels
};

class ColumnFile {
 public:
  static StatusOr<ColumnFile> Open(const std::string& path);
  ColumnFile(ColumnFile&&) noexcept;
  ColumnFile& operator=(ColumnFile&&) noexcept;
  ~ColumnFile();

  const std::string& path() const { return path_; }
  // Names of the 1-D datasets at the root, sorted.
  std::vector<std::string> ColumnNames() const;
  // The schema `ectrain prepare` stored, if any.
  StatusOr<std::optional<FeatureSchema>> StoredSchema() const;

  // Checks that every named column exists, is 1-D and numeric, and that all have the same
  // length; returns that length. Errors name the file and column and list the columns there are.
  StatusOr<int64_t> CheckColumns(const std::vector<std::string>& names) const;

  // Reads the schema's columns at `rows` (any order, repeats allowed) into a Table in that order.
  // Validates as it reads: labels finite and in [0, 1], dense values finite, categorical ids in
  // [0, vocab_size). Errors name the file, column and row.
  StatusOr<Table> Read(const FeatureSchema& schema, std::span<const int64_t> rows,
                       bool with_labels) const;
  // All rows, in file order.
  StatusOr<Table> ReadAll(const FeatureSchema& schema, bool with_labels) const;

 private:
  ColumnFile() = default;
  std::string path_;
  int64_t file_id_ = -1;  // hid_t; kept as int64_t so this header needs no hdf5.h
};

}  // namespace ectrain::data
