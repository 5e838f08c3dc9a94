// Settings of the ckpt module, filled and validated by config/; plain values.
#pragma once

#include <cstdint>
#include <string>

namespace ectrain::ckpt {

struct CheckpointOptions {
  std::string dir;           // empty: <train.output_dir>/checkpoints
  int64_t every_steps = 0;   // 0: only at the end of training (and on a stop signal)
  double every_minutes = 0;  // 0: off; else also checkpoint when this much time has passed
  int64_t keep_last = 3;     // newest checkpoints kept, plus the best one
  std::string keep_best;     // "" or a test metric (auc, log_loss, rmse, ...): also keep the best checkpoint by it
};

}  // namespace ectrain::ckpt
