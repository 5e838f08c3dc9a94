// RowSelection: which rows of each tensor a training step touches, by ParamSpec index.
// A tensor with no entry (or kAll) is touched everywhere. Embedding tables updated row-sparsely
// list their rows: the model records the ids it looked up, gradient sync turns them into the
// sorted union over all ranks, and the optimizer updates only those rows.
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
    sparse_.assign(static_cast<size_t>(num_specs), false);
    rows_.assign(static_cast<size_t>(num_specs), {});
  }
  void SetSparse(int spec, bool sparse) { sparse_[spec] = sparse; }
  bool sparse(int spec) const { return sparse_[spec]; }
  // The rows of a sparse tensor (any order and repeats while recording; sorted and unique after sync).
  std::vector<int64_t>& rows(int spec) { return rows_[spec]; }
  const std::vector<int64_t>& rows(int spec) const { return rows_[spec]; }
  int num_specs() const { return static_cast<int>(sparse_.size()); }
  void ClearRows() {
    for (auto& r : rows_) r.clear();
  }

 private:
  std::vector<bool> sparse_;
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
