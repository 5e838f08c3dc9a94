// Settings of the data module, filled and validated by config/; plain values.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace ectrain::data {

struct DataOptions {
  // Columnar HDF5 training data: one file, a directory (its *.h5 files, by name) or a glob
  // ("shards/part-*.h5"); the files in name order form one data set.
  std::string train;
  std::string test;  // HDF5 file, columnar; evaluated by rank 0
  // HDF5 file, columnar; rank 0 evaluates it during training, and every choice made during
  // training (keep_best, early stopping) is made on it. Empty: none.
  std::string validation;
  std::string label;
  std::vector<std::string> dense;
  std::vector<std::string> categorical;
  // Multi-valued categorical columns (CSR groups: NAME/values, NAME/offsets); one pooled embedding each.
  std::vector<std::string> multi_valued;
  // For files not written by `ectrain prepare`: ids of column c lie in [0, vocab_sizes[c]).
  std::map<std::string, int64_t> vocab_sizes;
  // The roles named once: which categorical columns hold the user and the item of a row. mf,
  // two_tower, prepare's last_per_user split and sampled negatives, recommend and the ranking
  // evaluation take them from here. Empty: not named.
  std::string user_column;
  std::string item_column;
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
  // "binary" (values in [0, 1]), "regression" (finite numbers) or "class" (ids 0..num_classes-1);
  // or, for model.loss auto, "auto": what the data holds (ResolveSchema: the type `ectrain prepare`
  // stored for the label column; else binary when the first rows' labels are all 0 or 1; else
  // label_type_otherwise, the model type's default).
  std::string label_type = "binary";
  std::string label_type_otherwise = "binary";
  int64_t num_classes = 0;
};

// data.user_column and data.item_column: two different columns of data.categorical (an id per
// row). Errors name the key and the column.
inline Status CheckDataRoles(const DataOptions& o) {
  for (const auto& [key, column] :
       {std::pair{"data.user_column", &o.user_column}, {"data.item_column", &o.item_column}}) {
    if (column->empty()) continue;
    if (std::find(o.categorical.begin(), o.categorical.end(), *column) == o.categorical.end()) {
      return InvalidArgument(std::string(key) + ": column '" + *column +
                             "' is not among data.categorical; the user and the item are categorical id columns");
    }
  }
  if (!o.user_column.empty() && o.user_column == o.item_column) {
    return InvalidArgument("data.item_column: '" + o.item_column + "' is also data.user_column; name two columns");
  }
  return Status::Ok();
}

}  // namespace ectrain::data
