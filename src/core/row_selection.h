// RowSelection: which rows of each tensor a training step touches, by ParamSpec index.
// A tensor with no entry (or kAll) is touched everywhere. Embedding tables updated row-sparsely
// list their rows: the model records the ids it looked up, gradient sync turns them into the
// union over all ranks, and the optimizer updates only those rows.
// A row is listed once, in the order it was first touched: a mark per table row keeps repeats out,
// so a step never sorts (sorting the ids was 6% of the seed model's step at batch 256;
// bench/RESULTS.md, profile).
// The order is a function of the batch (and, after sync, of the ranks' batches in rank order), so
// it is the same on every rank; each row's update is independent of the others', so the order
// does not change any value.
// Value type; reused step after step so that its vectors keep their capacity.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "core/param_arena.h"

namespace ectrain {

class RowSelection {
 public:
  // One slot per tensor of a layout with `num_specs` tensors; every tensor starts as "all rows".
  void Reset(int num_specs) {
    marks_.assign(static_cast<size_t>(num_specs), {});
    rows_.assign(static_cast<size_t>(num_specs), {});
  }
  // From now on tensor `spec`, of `num_rows` rows, is updated row-sparsely.
  void SetSparse(int spec, int64_t num_rows) { marks_[spec].assign(static_cast<size_t>(num_rows), 0); }
  bool sparse(int spec) const { return !marks_[spec].empty(); }
  // Records that row `id` (0 <= id < num_rows, checked when the data was read) was touched;
  // true if it was not listed yet.
  bool Add(int spec, int64_t id) {
    uint8_t& mark = marks_[spec][static_cast<size_t>(id)];
    if (mark != 0) return false;
    mark = 1;
    rows_[spec].push_back(id);
    return true;
  }
  // Where row `id`'s mark lives, to fetch it ahead of Add.
  const uint8_t* mark_address(int spec, int64_t id) const { return marks_[spec].data() + id; }
  // The distinct rows of a sparse tensor, in the order they were first added.
  const std::vector<int64_t>& rows(int spec) const { return rows_[spec]; }
  int num_specs() const { return static_cast<int>(marks_.size()); }
  // Forgets the rows of one tensor or of all; costs the rows listed, not the table.
  void ClearRows(int spec) {
    for (int64_t id : rows_[spec]) marks_[spec][static_cast<size_t>(id)] = 0;
    rows_[spec].clear();
  }
  void ClearRows() {
    for (int spec = 0; spec < num_specs(); ++spec) ClearRows(spec);
  }

 private:
  std::vector<std::vector<uint8_t>> marks_;  // per tensor: empty (updated whole) or one byte per row
  std::vector<std::vector<int64_t>> rows_;
};

// Told by a model's backward pass when a tensor's gradient is final, so that gradient sync can
// start on it while backward goes on with the layers below.
class GradientReadyListener {
 public:
  virtual ~GradientReadyListener() = default;
  virtual void OnGradientReady(int spec) = 0;
};

// The arena ranges {offset, count} that hold every tensor updated whole (not row-sparse),
// adjacent tensors merged into one range (with the alignment padding between them).
inline std::vector<std::pair<int64_t, int64_t>> DenseRanges(const ParamLayout& layout, const RowSelection& selection) {
  std::vector<std::pair<int64_t, int64_t>> ranges;
  const auto& specs = layout.specs();
  for (size_t i = 0; i < specs.size(); ++i) {
    if (selection.num_specs() > 0 && selection.sparse(static_cast<int>(i))) continue;
    const int64_t begin = specs[i].offset;
    const int64_t end = i + 1 < specs.size() ? specs[i + 1].offset : layout.total_size();
    if (!ranges.empty() && ranges.back().first + ranges.back().second == begin) {
      ranges.back().second += end - begin;
    } else {
      ranges.emplace_back(begin, end - begin);
    }
  }
  return ranges;
}

}  // namespace ectrain
