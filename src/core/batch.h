// BatchView: a non-owning view of rows ready for a model (features already encoded).
// Rows are row-major: dense is (num_rows, num_dense), categorical is (num_rows, num_categorical).
// Multi-valued categorical fields ("bags": genres, title tokens) are CSR columns over the whole
// table the view points into, so slicing rows never copies. Valid as long as that table.
#pragma once

#include <cstdint>
#include <span>

namespace ectrain {

// One multi-valued field over a whole table: row r's ids are values[offsets[r], offsets[r + 1]).
struct BagColumnView {
  const int64_t* offsets = nullptr;  // (table rows + 1), offsets[0] == 0
  const int32_t* values = nullptr;   // ids in [0, vocab_size)
};

struct BatchView {
  int64_t num_rows = 0;
  const float* dense = nullptr;  // (num_rows, num_dense)
  int num_dense = 0;
  const int32_t* categorical = nullptr;  // (num_rows, num_categorical), ids in [0, vocab_size)
  int num_categorical = 0;
  const float* labels = nullptr;        // (num_rows); null when unlabelled
  const BagColumnView* bags = nullptr;  // num_bags fields, each over the whole table
  int num_bags = 0;
  int64_t bag_row_begin = 0;  // this view's first row in the bag columns' numbering
  // Where this view's pointers are in a device's memory: the same rows on the host (the row-sparse
  // bookkeeping reads ids there). Null for a view of host memory.
  const BatchView* host = nullptr;

  // The ids of multi-valued field `bag` in row `row` of this view.
  std::span<const int32_t> BagIds(int bag, int64_t row) const {
    const BagColumnView& b = bags[bag];
    const int64_t r = bag_row_begin + row;
    return {b.values + b.offsets[r], static_cast<size_t>(b.offsets[r + 1] - b.offsets[r])};
  }
};

// Rows [begin, end) of a host `view`, zero-copy.
inline BatchView SliceRows(const BatchView& view, int64_t begin, int64_t end) {
  BatchView slice = view;
  slice.num_rows = end - begin;
  slice.dense += begin * view.num_dense;
  slice.categorical += begin * view.num_categorical;
  if (slice.labels != nullptr) slice.labels += begin;
  slice.bag_row_begin += begin;
  slice.host = nullptr;
  return slice;
}

}  // namespace ectrain
