// RowSelection: which rows of each tensor a training step touches, by ParamSpec index, and the
// gradient of those rows for tensors updated row-sparsely.
// A tensor with no entry (or kAll) is touched everywhere and keeps its gradient in the gradient
// arena. Embedding tables updated row-sparsely list their rows: the model's backward pass adds
// each looked-up row's gradient here, in a compact row of its own (its slot), not in the arena;
// gradient sync sums the ranks' rows into the union; the optimizer updates only those rows.
// Compact rows are what make sync and optimizer cheap: packing is one copy, sums and updates read
// them in order, clearing them costs the rows listed, and a large table's gradient never takes
// memory in the arena (bench/RESULTS.md, weak scaling).
// A row is listed once, in the order it was first touched: a slot per table row keeps repeats
// out, so a step never sorts (sorting the ids was 6% of the seed model's step at batch 256).
// The order is a function of the batch (and, after sync, of the ranks' batches in rank order), so
// it is the same on every rank; each row's update is independent of the others', so the order
// does not change any value.
// On a device (KeepGradientsOn), kernels add into a copy of the compact rows in the device's
// memory (gradients()); the host's (host_gradients()) meet it at the row exchange: CopyGradientsToHost
// before, CopyGradientsToDevice after.
// Reused step after step so that its buffers keep their capacity. Move-only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/allocator.h"
#include "core/param_arena.h"

namespace ectrain {

class RowSelection {
 public:
  RowSelection() = default;
  RowSelection(RowSelection&&) = default;
  RowSelection& operator=(RowSelection&&) = default;
  ~RowSelection() { ReleaseDeviceRows(); }

  // From now on gradients() are in `allocator`'s memory (nothing changes for the host's).
  void KeepGradientsOn(Allocator& allocator) {
    ReleaseDeviceRows();
    device_ = allocator.kind() == DeviceKind::kCpu ? nullptr : &allocator;
    device_rows_.assign(gradients_.size(), {});
  }
  // One entry per tensor of a layout with `num_specs` tensors; every tensor starts as "all rows".
  void Reset(int num_specs) {
    slots_.assign(static_cast<size_t>(num_specs), {});
    rows_.assign(static_cast<size_t>(num_specs), {});
    gradients_.assign(static_cast<size_t>(num_specs), {});
    cols_.assign(static_cast<size_t>(num_specs), 0);
    ReleaseDeviceRows();
    device_rows_.assign(static_cast<size_t>(num_specs), {});
  }
  // From now on tensor `spec`, of `num_rows` rows of `cols` values, is updated row-sparsely.
  void SetSparse(int spec, int64_t num_rows, int64_t cols) {
    slots_[spec].assign(static_cast<size_t>(num_rows), -1);
    cols_[spec] = cols;
  }
  bool sparse(int spec) const { return !slots_[spec].empty(); }
  int64_t cols(int spec) const { return cols_[spec]; }
  // The slot of row `id` (0 <= id < num_rows, checked when the data was read): its index in
  // rows(spec) and its gradient row in gradients(spec). A row not listed yet is listed, with a
  // zero gradient. May move gradients(spec).
  int32_t Slot(int spec, int64_t id) {
    int32_t& slot = slots_[spec][static_cast<size_t>(id)];
    if (slot < 0) {
      slot = static_cast<int32_t>(rows_[spec].size());
      rows_[spec].push_back(id);
      gradients_[spec].resize(gradients_[spec].size() + static_cast<size_t>(cols_[spec]), 0.0f);
    }
    return slot;
  }
  // Where row `id`'s slot lives, to fetch it ahead of Slot.
  const int32_t* slot_address(int spec, int64_t id) const { return slots_[spec].data() + id; }
  // The distinct rows of a sparse tensor, in the order they were first added (slot order).
  const std::vector<int64_t>& rows(int spec) const { return rows_[spec]; }
  // Their gradients: rows(spec).size() rows of cols(spec) values, in slot order, where kernels
  // read and write them (the device's memory after KeepGradientsOn; room for every listed row).
  float* gradients(int spec) { return device_ != nullptr ? DeviceRows(spec) : gradients_[spec].data(); }
  const float* gradients(int spec) const {
    return device_ != nullptr ? const_cast<RowSelection*>(this)->DeviceRows(spec) : gradients_[spec].data();
  }
  // The same rows in host memory (the same memory without a device).
  float* host_gradients(int spec) { return gradients_[spec].data(); }
  const float* host_gradients(int spec) const { return gradients_[spec].data(); }
  // On a device: the row-sparse tensors' gradients to the host, or back (no-ops without one).
  void CopyGradientsToHost() {
    if (device_ == nullptr) return;
    for (int spec = 0; spec < num_specs(); ++spec) {
      if (!sparse(spec) || rows_[spec].empty()) continue;
      device_->CopyToHost(gradients_[spec].data(), DeviceRows(spec), gradients_[spec].size() * sizeof(float));
    }
  }
  void CopyGradientsToDevice() {
    if (device_ == nullptr) return;
    for (int spec = 0; spec < num_specs(); ++spec) {
      if (!sparse(spec) || rows_[spec].empty()) continue;
      device_->CopyFromHost(DeviceRows(spec), gradients_[spec].data(), gradients_[spec].size() * sizeof(float));
    }
  }
  // Bytes the compact gradient rows may hold without growing (host and device).
  int64_t gradient_capacity_bytes() const {
    int64_t bytes = 0;
    for (const auto& g : gradients_) bytes += static_cast<int64_t>(g.capacity() * sizeof(float));
    for (const auto& d : device_rows_) bytes += static_cast<int64_t>(d.capacity * sizeof(float));
    return bytes;
  }
  int num_specs() const { return static_cast<int>(slots_.size()); }
  // Forgets the rows (and gradients) of one tensor or of all; costs the rows listed, not the table.
  void ClearRows(int spec) {
    for (int64_t id : rows_[spec]) slots_[spec][static_cast<size_t>(id)] = -1;
    rows_[spec].clear();
    gradients_[spec].clear();
    if (device_ != nullptr && device_rows_[spec].used > 0) {
      device_->Zero(device_rows_[spec].data, device_rows_[spec].used * sizeof(float));
      device_rows_[spec].used = 0;
    }
  }
  void ClearRows() {
    for (int spec = 0; spec < num_specs(); ++spec) ClearRows(spec);
  }

 private:
  // A tensor's compact rows on the device: zero beyond `used` floats.
  struct DeviceRowsBuffer {
    float* data = nullptr;
    size_t capacity = 0;  // floats
    size_t used = 0;      // floats handed out since the last ClearRows
  };
  // Room on the device for every listed row of `spec`, the rows already there kept.
  float* DeviceRows(int spec) {
    DeviceRowsBuffer& d = device_rows_[spec];
    const size_t needed = gradients_[spec].size();
    if (needed > d.capacity) {
      const size_t capacity = std::max(needed, 2 * d.capacity);
      auto* grown = static_cast<float*>(device_->Allocate(capacity * sizeof(float)));
      if (d.used > 0) {  // rare: the rows so far, through the host
        std::vector<float> kept(d.used);
        device_->CopyToHost(kept.data(), d.data, d.used * sizeof(float));
        device_->CopyFromHost(grown, kept.data(), d.used * sizeof(float));
      }
      device_->Free(d.data, d.capacity * sizeof(float));
      d.data = grown;
      d.capacity = capacity;
    }
    d.used = std::max(d.used, needed);
    return d.data;
  }
  void ReleaseDeviceRows() {
    if (device_ == nullptr) return;
    for (DeviceRowsBuffer& d : device_rows_) device_->Free(d.data, d.capacity * sizeof(float));
    device_rows_.clear();
  }

  Allocator* device_ = nullptr;
  std::vector<DeviceRowsBuffer> device_rows_;
  std::vector<std::vector<int32_t>> slots_;  // per tensor: empty (updated whole) or per row its slot, -1 if none
  std::vector<std::vector<int64_t>> rows_;
  std::vector<std::vector<float>> gradients_;
  std::vector<int64_t> cols_;
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
