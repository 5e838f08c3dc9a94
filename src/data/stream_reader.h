// StreamReader: one rank's training batches, read from the data set's files by a background
// thread in the order data/sharding.h defines, so that memory does not grow with the data set.
// The thread reads this rank's blocks of the current and the next shuffle window (each block
// with contiguous hyperslab reads, validated as read) and assembles each step's rows into a ring
// of preallocated batch buffers (prefetch_batches, or more when those would hold under 512 rows),
// refilling it whenever half of it is free; Batch() waits only when the next batch is not
// ready yet, and counts the time it waited.
// Memory: two windows of this rank's blocks (ceil(window_blocks / world_size) blocks each) plus
// the ring plus O(number of blocks) of metadata; buffer_bytes() gives the bound. With in_memory,
// also the whole data set, decoded (memory_bytes()). Every buffer is allocated at Open, so moving
// through the data allocates nothing (multi-valued columns' id buffers grow, rarely, when a block
// or batch holds more ids than any before).
// Thread-safety: Seek() and Batch() from one thread (the training loop); the reader thread is
// internal. A view from Batch() is valid until the next Batch() or Seek() call.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/batch.h"
#include "core/status.h"
#include "data/column_file.h"
#include "data/schema.h"
#include "data/sharding.h"

namespace ectrain::data {

struct StreamOptions {
  int64_t global_batch_size = 1;
  int world_size = 1;
  int rank = 0;
  uint64_t seed = 0;
  int64_t block_rows = 4096;
  int64_t window_blocks = 64;  // must be >= world_size
  int64_t prefetch_batches = 4;
  int max_open_files = 256;  // beyond it, the least recently read file is closed and reopened when needed
  // Decode every block once, at Open, and keep the whole data set in memory (every rank holds all
  // of it: which blocks a rank reads changes each epoch); blocks then come from memory, not the files.
  bool in_memory = false;
};

// One file of the data set, as checked at start.
struct StreamFile {
  std::string path;
  int64_t rows = 0;
  std::vector<int64_t> bag_values;  // ids stored per multi-valued column (for sizing buffers)
  // Bound to the schema with labels, or empty: the reader opens it when it first needs it.
  std::optional<ColumnFile> file;
};

// Batches in the reader's ring: prefetch_batches, or more when those would hold under 512 rows.
int64_t RingBatches(const StreamOptions& options);
// The bound StreamReader::buffer_bytes() gives for these options (its world size), the data set's
// blocks, its column counts and the ids stored per multi-valued column over all files: the same
// figure without opening a reader (`ectrain plan`).
int64_t ReaderBufferBytes(const StreamOptions& options, const BlockTable& table, int num_dense, int num_categorical,
                          const std::vector<int64_t>& bag_values_total, int num_files);

class StreamReader {
 public:
  // files: the data set's files, in order. The reader takes the open ones over for its thread.
  static StatusOr<std::unique_ptr<StreamReader>> Open(std::vector<StreamFile> files, const FeatureSchema& schema,
                                                      const StreamOptions& options);
  ~StreamReader();  // stops and joins the thread
  StreamReader(const StreamReader&) = delete;
  StreamReader& operator=(const StreamReader&) = delete;

  const BlockTable& blocks() const;
  int64_t num_rows() const;
  int64_t steps_per_epoch() const;
  // Upper bound of the bytes this reader holds in buffers (windows + ring + scratch + metadata),
  // with multi-valued columns counted at their mean ids per row.
  int64_t buffer_bytes() const;
  // Bytes of the decoded data set held in memory (in_memory; else 0), and the seconds reading it took.
  int64_t memory_bytes() const;
  double memory_load_seconds() const;

  // The next Batch() is global step `step` of `epoch`; global steps from stop_step on
  // (epoch * steps_per_epoch + step) are never read (0: no limit).
  void Seek(int64_t epoch, int64_t step, int64_t stop_step);
  // This rank's rows of global batch `step` of `epoch` (possibly none). Seeks first unless it is
  // the batch after the previous one. Errors (a bad value, an unreadable chunk) name the file,
  // column and row.
  StatusOr<BatchView> Batch(int64_t epoch, int64_t step);
  // Seconds Batch() has waited for the reader thread, in total.
  double wait_seconds() const;

 private:
  struct Impl;
  explicit StreamReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ectrain::data
