// `ectrain prepare`: raw rows (a CSV/TSV, or Criteo, MovieLens 100K, Taobao; see importers.h)
// -> train and test HDF5 files in the columnar layout, in bounded memory, in two streaming passes:
//   pass 1: each row checked (bad_rows: fail or skip), exact duplicates dropped (a set of 64-bit
//           row fingerprints), the split decided per row, and the training split's statistics
//           gathered: fill values, scaling, vocabulary counts, label classes;
//   pass 2: each kept row encoded with those statistics (RowEncoder, as predict encodes) and
//           appended to the train or test ColumnWriter (chunked, compressed).
// A time split reads the time column once more first, to find the threshold. The FeatureSchema
// with every statistic and vocabulary is stored in both files. Single-threaded.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/options.h"
#include "data/schema.h"
#include "prep/options.h"

namespace ectrain::prep {

struct PrepareReport {
  int64_t rows_read = 0;  // rows in the input, bad ones included
  int64_t bad_rows_skipped = 0;
  std::vector<std::string> bad_row_examples;  // the first few errors, when skipped
  int64_t duplicates_dropped = 0;
  int64_t negatives_sampled = 0;  // rows added by negatives_per_positive
  int64_t train_rows = 0;
  int64_t validation_rows = 0;
  int64_t test_rows = 0;
  int64_t test_duplicates_kept = 0;                 // rows of a given test_source that repeat a row before them
  double train_positive_rate = 0.0;                 // mean training label (binary: the positive rate)
  std::optional<double> time_threshold;             // split: time; train <= threshold < test
  std::optional<double> validation_time_threshold;  // split: time with validation; train <= it < validation
  int64_t bytes_read = 0;                           // size of the main input file
  double seconds = 0.0;
  data::FeatureSchema schema;  // as stored in both files
};

// Memory: the fingerprint set (about 16 bytes per distinct row when drop_duplicates), one bit
// per row, the vocabulary counts of the training split (one entry per distinct value of each
// vocabulary column: hash high-cardinality columns), a median sample (at most 2^20 values per
// median-filled column) and one chunk per output column. Writes each output through a
// temporary name and renames both only when both are complete, so a failure leaves no half file.
// Reads prepare.source (and prepare.test_source) and writes data.train and data.test (and
// data.validation with prepare.validation_fraction), with the
// column roles data.label, data.dense, data.categorical and data.multi_valued (none named: the
// format's defaults); columns not named are ignored. Errors in the settings are InvalidArgument
// and name the key.
StatusOr<PrepareReport> PrepareDataSet(const PrepareOptions& prepare, const data::DataOptions& data,
                                       bool show_progress = false);

}  // namespace ectrain::prep
