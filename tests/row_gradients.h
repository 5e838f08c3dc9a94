// Reading a backward pass's gradients back, whether they went to the gradient arena or, for
// row-sparse tables, to a RowSelection's compact rows.
#pragma once

#include "core/param_arena.h"
#include "core/row_selection.h"

namespace ectrain::testing {

// Element j of tensor `spec`'s gradient: in `grads`, or for a row-sparse table in `touched` (zero
// for a row the batch did not look up).
inline float GradientAt(const ParamArena& grads, const RowSelection& touched, const ParamLayout& layout, int spec,
                        int64_t j) {
  const ParamSpec& s = layout.spec(spec);
  if (spec >= touched.num_specs() || !touched.sparse(spec)) return grads.data()[s.offset + j];
  const int32_t slot = *touched.slot_address(spec, j / s.cols);
  return slot < 0 ? 0.0f : touched.gradients(spec)[slot * s.cols + j % s.cols];
}

}  // namespace ectrain::testing
