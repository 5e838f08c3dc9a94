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
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/schema.h"

namespace ectrain::prep {

struct PrepareRequest {
  // Input.
  std::string csv_path;         // the input file (MovieLens: the ml-100k folder, or its u.data)
  std::string test_source;      // if set: the test rows come from this file (same format), all of
                                // csv_path is training data (`split` and `test_fraction` unused)
  std::string format = "csv";   // csv, criteo, movielens, taobao
  char delimiter = 0;           // 0: the format's (csv ',')
  int header = -1;              // -1: the format's; 0: no header row (name columns); 1: a header row
  std::vector<std::string> columns;  // names when there is no header
  bool latin1 = false;               // the CSV is Latin-1

  // Column roles; columns not named are ignored. With no roles at all, a format's defaults.
  std::string label;
  std::vector<std::string> dense;
  std::vector<std::string> categorical;
  std::vector<std::string> multi_valued;          // one bag of ids per row
  std::map<std::string, std::string> separators;  // multi-valued column -> separator ("|" default)
  std::vector<std::string> text;                  // multi-valued columns tokenized as titles

  // The label: binary (0/1, true/false, yes/no, a probability; or by a rule: positive_values,
  // label_threshold), regression (any finite number) or class (names -> ids 0..K-1, sorted).
  std::string label_type = "binary";
  std::vector<std::string> positive_values;
  std::optional<double> label_threshold;

  // Categorical and multi-valued columns: a vocabulary of the training values seen at least
  // min_count times (others -> id 0), or hashing into N ids (N >= 2; 0: vocabulary).
  int64_t min_count = 1;
  std::map<std::string, int64_t> min_count_by_column;
  int64_t hash_buckets = 0;
  std::map<std::string, int64_t> hash_buckets_by_column;

  // Dense columns: fill (mean, median, or a number), optional log (SignedLog1p), scaling
  // (standard, minmax, none), and "was missing" indicators (a 0/1 dense column NAME_missing,
  // which must be listed in `dense`).
  std::string fill = "mean";
  std::map<std::string, std::string> fill_by_column;
  std::string scale = "standard";
  std::map<std::string, std::string> scale_by_column;
  std::vector<std::string> log;
  std::vector<std::string> missing_indicator;

  // Rows.
  bool drop_duplicates = true;
  std::string bad_rows = "fail";  // fail, or skip (counted, the first few reported)
  std::string split = "random";   // random (per row, from a hash of (seed, row)), time, or last_per_user
  std::string time_column;        // split: time; test = times after the (1 - test_fraction) quantile
  std::string user_column;        // split: last_per_user; test = each user's latest positive row
  // Sampled negatives for recommendation: after each positive training row, this many rows of
  // the same user with an item drawn uniformly from the items the user never interacted with
  // (label 0). The item's raw columns (item_columns, the item column first) come from its first row.
  int64_t negatives_per_positive = 0;
  std::vector<std::string> item_columns;
  double test_fraction = 0.2;
  uint64_t seed = 1;

  // Output.
  std::string train_path;
  std::string test_path;
  bool show_progress = false;  // a progress line on stderr (give true only when it is a terminal)
};

struct PrepareReport {
  int64_t rows_read = 0;  // rows in the input, bad ones included
  int64_t bad_rows_skipped = 0;
  std::vector<std::string> bad_row_examples;  // the first few errors, when skipped
  int64_t duplicates_dropped = 0;
  int64_t negatives_sampled = 0;  // rows added by negatives_per_positive
  int64_t train_rows = 0;
  int64_t test_rows = 0;
  double train_positive_rate = 0.0;  // mean training label (binary: the positive rate)
  std::optional<double> time_threshold;  // split: time; train <= threshold < test
  int64_t bytes_read = 0;                // size of the main input file
  double seconds = 0.0;
  data::FeatureSchema schema;  // as stored in both files
};

// Memory: the fingerprint set (about 16 bytes per distinct row when drop_duplicates), one bit
// per row, the vocabulary counts of the training split (one entry per distinct value of each
// vocabulary column: hash high-cardinality columns), a median sample (at most 2^20 values per
// median-filled column) and one chunk per output column. Writes each output through a
// temporary name and renames both only when both are complete, so a failure leaves no half file.
StatusOr<PrepareReport> PrepareCsv(const PrepareRequest& request);

}  // namespace ectrain::prep
