// DataFeed: the training loop's view of its rank's data. Each epoch it reads, with point
// selections, exactly the rows that data/sharding.h assigns this rank, in the order they are
// consumed; Batch(step) is then a zero-copy view of that step's slice.
// Also resolves the FeatureSchema (columns + vocabulary sizes) the model is built from.
// One per rank; not thread-safe.
#pragma once

#include <cstdint>

#include "core/batch.h"
#include "data/column_file.h"
#include "data/options.h"
#include "data/schema.h"

namespace ectrain::train {

// The schema of `file` for the columns named in `options`: vocabulary sizes and preprocessing
// from the schema `ectrain prepare` stored, else from data.vocab_sizes. Checks that every column
// exists. Errors name the file and the column, and say which key to set.
StatusOr<data::FeatureSchema> ResolveSchema(const data::DataOptions& options, const data::ColumnFile& file);

class DataFeed {
 public:
  static StatusOr<DataFeed> Open(const data::DataOptions& options, int world_size, int rank,
                                 int64_t global_batch_size, uint64_t seed);

  const data::FeatureSchema& schema() const { return schema_; }
  const data::ColumnFile& file() const { return file_; }
  int64_t num_rows() const { return num_rows_; }
  int64_t steps_per_epoch() const;
  // Rows in global batch `step`, summed over all ranks (the divisor of the mean loss).
  int64_t GlobalRowsInStep(int64_t step) const;

  // Reads this rank's rows for `epoch`. Must precede Batch() for that epoch.
  Status LoadEpoch(int64_t epoch);
  // This rank's rows of global batch `step` of the loaded epoch (possibly zero rows).
  BatchView Batch(int64_t step) const;

 private:
  DataFeed(data::ColumnFile file, data::FeatureSchema schema, int64_t num_rows)
      : file_(std::move(file)), schema_(std::move(schema)), num_rows_(num_rows) {}

  data::ColumnFile file_;
  data::FeatureSchema schema_;
  int64_t num_rows_;
  int world_size_ = 1;
  int rank_ = 0;
  int64_t global_batch_size_ = 1;
  uint64_t seed_ = 0;
  data::Table epoch_rows_;
  std::vector<int64_t> step_offsets_;  // where each step's slice starts in epoch_rows_
};

// A BatchView of rows [begin, end) of a table.
BatchView ViewRows(const data::Table& table, int64_t begin, int64_t end);

}  // namespace ectrain::train
