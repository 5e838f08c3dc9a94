// DataFeed: the training loop's view of its rank's data. Opens the training files (data.train:
// a file, a directory or a glob; see data/training_files.h), which resolves the FeatureSchema the
// model is built from, then streams this rank's rows of each global batch through a
// data::StreamReader (background reading, shuffle windows, bounded memory; see
// data/sharding.h for the order and data/stream_reader.h for the memory bound).
// One per rank; Seek/Batch from the training loop's thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/batch.h"
#include "data/options.h"
#include "data/schema.h"
#include "data/stream_reader.h"

namespace ectrain::train {

class DataFeed {
 public:
  static StatusOr<DataFeed> Open(const data::DataOptions& options, int world_size, int rank, int64_t global_batch_size,
                                 uint64_t seed);

  // The columns, their id ranges and the label: what reading the data and building the model
  // need. The preprocessing (vocabularies, dense statistics, bag encodings) is in schema_json().
  const data::FeatureSchema& schema() const { return schema_; }
  // The whole resolved schema, preprocessing included, as FeatureSchema::ToJson(), made once at
  // Open: checkpoints carry it so that `predict` encodes raw rows as `prepare` did. Real
  // vocabularies make it tens of MB, so it is shared rather than copied, and the parsed
  // vocabularies are not kept.
  const std::shared_ptr<const std::string>& schema_json() const { return schema_json_; }
  const std::vector<std::string>& files() const { return files_; }
  int64_t num_rows() const { return reader_->num_rows(); }
  int64_t steps_per_epoch() const { return reader_->steps_per_epoch(); }
  // Rows in global batch `step`, summed over all ranks (the divisor of the mean loss).
  int64_t GlobalRowsInStep(int64_t step) const;
  // This rank's bound on the reader's buffers, in bytes (it does not grow with the data).
  int64_t buffer_bytes() const { return reader_->buffer_bytes(); }
  // data.in_memory: bytes of the training set this rank holds, decoded (else 0).
  int64_t memory_bytes() const { return reader_->memory_bytes(); }

  // Start reading at global batch `step` of `epoch` (a resumed run: its checkpoint's position);
  // global steps from stop_step on are never read (0: no limit).
  void Seek(int64_t epoch, int64_t step, int64_t stop_step) { reader_->Seek(epoch, step, stop_step); }
  // This rank's rows of global batch `step` of `epoch` (possibly none), valid until the next
  // call. Waits only when the reader is behind. Errors name the file, column and row.
  StatusOr<BatchView> Batch(int64_t epoch, int64_t step) { return reader_->Batch(epoch, step); }
  // Seconds Batch() has waited for data, in total.
  double wait_seconds() const { return reader_->wait_seconds(); }

 private:
  DataFeed() = default;
  data::FeatureSchema schema_;
  std::shared_ptr<const std::string> schema_json_;
  std::vector<std::string> files_;
  int64_t global_batch_size_ = 1;
  std::unique_ptr<data::StreamReader> reader_;
};

}  // namespace ectrain::train
