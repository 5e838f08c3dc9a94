// Settings of the data module, filled and validated by config/; plain values.
#pragma once

#include <cstdint>
#include <map>
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
};

// `ectrain prepare`: where the raw CSV is and how to split it.
struct PrepareOptions {
  std::string source;  // CSV with a header row
  std::string delimiter = ",";
  double test_fraction = 0.2;
  int64_t seed = 1;
  bool drop_duplicates = true;
};

}  // namespace ectrain::data
