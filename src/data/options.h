// Settings of the data module, filled and validated by config/; plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ectrain::data {

struct DataOptions {
  // Columnar HDF5 training data: one file, a directory (its *.h5 files, by name) or a glob
  // ("shards/part-*.h5"); the files in name order form one data set.
  std::string train;
  std::string test;   // HDF5 file, columnar; evaluated by rank 0
  std::string label;
  std::vector<std::string> dense;
  std::vector<std::string> categorical;
  // Multi-valued categorical columns (CSR groups: NAME/values, NAME/offsets); one pooled embedding each.
  std::vector<std::string> multi_valued;
  // For files not written by `ectrain prepare`: ids of column c lie in [0, vocab_sizes[c]).
  std::map<std::string, int64_t> vocab_sizes;
  // Streaming reader (data/sharding.h): rows per block (a block never crosses a file), blocks per
  // shuffle window (>= the number of ranks), and the batches each rank prepares ahead.
  int64_t block_rows = 4096;
  int64_t shuffle_window_blocks = 64;
  int64_t prefetch_batches = 4;
  // Decode the whole training set once at start and hold it in memory on every rank (data that
  // fits): training then reads no files. See data/stream_reader.h.
  bool in_memory = false;
  // Ranks on this machine, each holding a copy when in_memory: set from the communicator by the
  // program (not a key), so that the memory check counts them all.
  int ranks_on_host = 1;
  // What the label column must hold, decided by the model's loss (config/ derives it; not a key):
  // "binary" (values in [0, 1]), "regression" (finite numbers) or "class" (ids 0..num_classes-1).
  std::string label_type = "binary";
  int64_t num_classes = 0;
};

// `ectrain prepare`: where the raw CSV is and how to split it.
struct PrepareOptions {
  std::string source;  // the input file (MovieLens: the ml-100k folder)
  std::string test_source;  // optional: the test rows, already split off (e.g. MovieLens u1.test)
  std::string format = "csv";  // csv, criteo, movielens, taobao
  std::string delimiter;       // one character or "tab"; empty: the format's (csv: ",")
  std::string header = "auto";  // auto (the format's), true, false
  std::vector<std::string> columns;  // names when there is no header
  std::string encoding = "utf-8";    // or latin-1
  double test_fraction = 0.2;
  int64_t seed = 1;
  bool drop_duplicates = true;
  std::string bad_rows = "fail";  // or skip
  std::string split = "random";   // or time, or last_per_user (each user's latest positive row is test)
  std::string user_column;         // split: last_per_user; negatives
  int64_t negatives_per_positive = 0;     // sampled negatives per positive training row
  std::vector<std::string> item_columns;  // the item column first, then the item's other columns
  std::string time_column;
  // The label (data.label): binary, regression or class; a binary label by rule.
  std::string label_type = "binary";
  std::vector<std::string> positive_values;
  std::optional<double> label_threshold;
  // Multi-valued columns (data.multi_valued): a separator each ("|" by default), or tokenized text.
  std::map<std::string, std::string> separators;
  std::vector<std::string> text;
  // Vocabularies (min_count) or hashing (buckets > 0), by default and per column.
  int64_t min_count = 1;
  std::map<std::string, int64_t> min_count_by_column;
  int64_t hash_buckets = 0;
  std::map<std::string, int64_t> hash_buckets_by_column;
  // Dense columns: fill (mean, median or a number), scaling (standard, minmax, none), log, indicators.
  std::string fill = "mean";
  std::map<std::string, std::string> fill_by_column;
  std::string scale = "standard";
  std::map<std::string, std::string> scale_by_column;
  std::vector<std::string> log;
  std::vector<std::string> missing_indicator;
};

}  // namespace ectrain::data
