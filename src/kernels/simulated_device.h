// A simulated device: the CPU's kernels (so results are bitwise the CPU's) on memory that host code
// may not touch. Its allocator maps every block PROT_NONE and opens all of them only while a
// kernel or a copy runs: host code that reads or writes device memory directly, where it should
// have copied, faults at once. So the training loop's device path (staging batches, copies for
// checkpoints and evaluation, the row-sparse bookkeeping) is checked on a machine without a GPU:
// `train.device: simulated`. Slow (mprotect per block around every call): for tests and debugging.
#pragma once

#include "kernels/kernels.h"

namespace ectrain::kernels {

// One for the process. Thread-safe.
const Kernels& Simulated();

}  // namespace ectrain::kernels
