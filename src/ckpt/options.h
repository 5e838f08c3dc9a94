// Settings of the ckpt module, filled and validated by config/; plain values.
#pragma once

#include <cstdint>
#include <string>

namespace ectrain::ckpt {

struct CheckpointOptions {
  std::string dir;            // empty: <train.output_dir>/checkpoints
  int64_t every_steps = 0;    // 0: only at the end of training
  int64_t keep_last = 3;
};

}  // namespace ectrain::ckpt
