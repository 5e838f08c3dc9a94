// Settings of `ectrain prepare` (the prepare: section), filled and validated by config/ and taken
// as they are by the pipeline (prep/prepare.h); plain values. The column roles and the output
// files are not here: they are the data: section's keys (data.label, data.dense, data.categorical,
// data.multi_valued; data.train, data.test), the same that training reads.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace ectrain::prep {

struct PrepareOptions {
  // Input.
  std::string source;                // the input file (MovieLens: the ml-100k or ml-1m folder, or its ratings file)
  std::string test_source;           // if set: the test rows come from this file (same format), all of
                                     // source is training data (`split` and `test_fraction` unused)
  std::string format = "csv";        // csv, criteo, movielens, taobao, libsvm, libffm
  std::string delimiter;             // one character or "tab"; empty: the format's (csv ',')
  std::string header = "auto";       // auto (the format's), true, false (name the columns)
  std::vector<std::string> columns;  // names when there is no header; libffm: field names by number
  std::string encoding = "utf-8";    // or latin-1

  // libsvm and libffm: the plain values that start each line (empty: [label]); libsvm's fields,
  // by an index file ("field:value<TAB>index" lines) or by index ranges {field: [first, last]}.
  std::vector<std::string> leading_columns;
  std::string feature_index;
  std::map<std::string, std::pair<int64_t, int64_t>> field_ranges;

  // Multi-valued columns (data.multi_valued): a separator each ("|" by default), or tokenized
  // text (titles; each listed in data.multi_valued too).
  std::map<std::string, std::string> separators;
  std::vector<std::string> text;

  // The label (data.label): binary (0/1, true/false, yes/no, a probability; or by a rule:
  // positive_values, label_threshold), regression (any finite number) or class (names -> ids
  // 0..K-1, sorted).
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
  // which must be listed in data.dense).
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
  // A validation split (data.validation) of this fraction of all rows, taken from the rows that
  // are not test rows: at random (split random, or test_source given), or by time (split time: the
  // validation_fraction of rows just before the test period). 0: none.
  double validation_fraction = 0.0;
  int64_t seed = 1;
};

// The user and item columns named once (data.user_column, data.item_column; empty: not named)
// stand in for prepare.user_column and the item column (prepare.item_columns[0]) where those are
// not given; a prepare key naming another column is an error naming both keys.
inline Status TakeDataRoles(PrepareOptions& p, const std::string& user_column, const std::string& item_column) {
  if (!user_column.empty()) {
    if (p.user_column.empty()) {
      p.user_column = user_column;
    } else if (p.user_column != user_column) {
      return InvalidArgument("prepare.user_column is '" + p.user_column + "' but data.user_column is '" + user_column +
                             "'; name the user column once, in data.user_column, and leave prepare.user_column out");
    }
  }
  if (!item_column.empty()) {
    if (p.item_columns.empty()) {
      p.item_columns = {item_column};
    } else if (p.item_columns[0] != item_column) {
      return InvalidArgument("prepare.item_columns[0] is '" + p.item_columns[0] + "' but data.item_column is '" +
                             item_column +
                             "'; the item column comes first in prepare.item_columns (the columns that describe "
                             "the item follow it)");
    }
  }
  return Status::Ok();
}

}  // namespace ectrain::prep
