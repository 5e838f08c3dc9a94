// ColumnWriter: streams rows into a new columnar HDF5 file in bounded memory, as `prepare` and
// `generate` need for inputs far larger than memory. Scalar columns are 1-D datasets at the root;
// a multi-valued column NAME is a group with `values` (ids) and `offsets` (rows + 1, from 0),
// the layout ColumnFile reads. Datasets are chunked (chunk_rows) and compressed (shuffle +
// deflate), so a reader decompresses only the chunks it needs and h5py reads them as they are.
// Writes go to PATH.tmp, which Commit() renames to PATH: a failure never leaves a half file under
// the final name. Memory: at most one chunk of rows buffered per column. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/schema.h"

namespace ectrain::data {

enum class ColumnType { kFloat32, kInt32, kInt64 };

struct ColumnSpec {
  std::string name;
  ColumnType type = ColumnType::kFloat32;
  bool multi_valued = false;  // CSR; values are int32 ids (type is ignored)
};

class ColumnWriter {
 public:
  // Matches data.block_rows, the unit a training rank reads: a chunk is decompressed once per read.
  static constexpr int64_t kDefaultChunkRows = 4096;

  static StatusOr<ColumnWriter> Create(const std::string& path, std::vector<ColumnSpec> columns,
                                       int64_t chunk_rows = kDefaultChunkRows, int deflate_level = 1);
  ColumnWriter(ColumnWriter&&) noexcept;
  ColumnWriter& operator=(ColumnWriter&&) noexcept;
  ~ColumnWriter();  // without Commit(): closes and removes PATH.tmp

  const std::string& path() const;
  // Index of the column named `name` in the specs given to Create, or -1.
  int ColumnIndex(const std::string& name) const;

  // Appends rows to scalar column `column` (its index in the specs). Values are converted to the
  // column's type (int columns take values that are exact integers).
  Status Append(int column, std::span<const float> values);
  Status Append(int column, std::span<const int32_t> values);
  Status Append(int column, std::span<const int64_t> values);
  // Appends one row to multi-valued column `column`: its ids (possibly none).
  Status AppendBagRow(int column, std::span<const int32_t> ids);

  // Rows appended to `column` so far.
  int64_t rows(int column) const;

  // Stores `schema` (FeatureSchema::ToJson()) at kSchemaDataset.
  Status WriteSchema(const FeatureSchema& schema);
  // Stores a UTF-8 string dataset at `dataset_path` (e.g. "/ectrain/provenance"); groups made as needed.
  Status WriteText(const std::string& dataset_path, const std::string& text);

  // Flushes, checks every column has the same number of rows (an error names the columns that
  // differ), closes, and renames PATH.tmp to PATH. The writer is unusable afterwards.
  Status Commit();

 private:
  struct Impl;
  explicit ColumnWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ectrain::data
