// The learning rate at each step: a pure function of the options, the step and the run's length,
// so every rank (and a resumed run) computes the same value with no communication.
#pragma once

#include <cstdint>

#include "optim/options.h"

namespace ectrain::optim {

struct RunShape {
  int64_t total_steps = 0;        // the run's last step (cosine decays to it); 0: unknown
  int64_t global_batch_size = 0;  // for scale_with_batch
};

// Learning rate for step `step` (1-based: the step about to be taken):
//   base = learning_rate * (scale_with_batch > 0 ? global_batch_size / scale_with_batch : 1)
//   warm-up (step <= warmup_steps): base * step / warmup_steps
//   then constant: base; step: base * decay_factor^floor((step - warmup) / decay_every_steps);
//   cosine: min + (base - min) * (1 + cos(pi * progress)) / 2, progress from 0 after warm-up to 1 at total_steps;
//   plateau: max(min, base * decay_factor^reductions), `reductions` being the plateaus the run has met so far
//   (the one input that is not a function of the step: the training loop counts them, checkpoints keep them).
double LearningRateAt(const OptimOptions& options, const RunShape& shape, int64_t step, int64_t reductions = 0);

}  // namespace ectrain::optim
