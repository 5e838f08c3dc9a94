#include "model/workspace.h"

#include <algorithm>

#include "core/log.h"

namespace ectrain::model {

int Workspace::Add(int64_t floats_per_row) {
  CHECK(block_.data() == nullptr) << "workspace buffers are added before the first Reserve";
  per_row_.push_back(floats_per_row);
  offsets_.push_back(0);
  return static_cast<int>(per_row_.size()) - 1;
}

void Workspace::Reserve(int64_t rows) {
  if (rows <= rows_ && block_.data() != nullptr) return;
  constexpr int64_t kAlignFloats = 16;  // 64 bytes
  int64_t total = 0;
  for (size_t i = 0; i < per_row_.size(); ++i) {
    offsets_[i] = total;
    total += (per_row_[i] * rows + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
  }
  block_.Reserve(static_cast<size_t>(std::max(total, kAlignFloats)));
  rows_ = rows;
}

}  // namespace ectrain::model
