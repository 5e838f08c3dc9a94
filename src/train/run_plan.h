// Where a run stands and where it ends: the plain values the training loop, rank 0's duties and
// checkpoints share. Value types.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

#include "train/options.h"

namespace ectrain::train {

// The run's length in steps: all epochs, or train.max_steps when that comes first.
struct RunPlan {
  int64_t steps_per_epoch = 1;
  int64_t total_steps = 0;
  int64_t num_epochs = 0;

  static RunPlan Of(const TrainOptions& train, int64_t steps_per_epoch) {
    RunPlan plan;
    plan.steps_per_epoch = steps_per_epoch;
    const int64_t all = train.epochs * steps_per_epoch;
    plan.total_steps = train.max_steps > 0 ? std::min(all, train.max_steps) : all;
    plan.num_epochs = (plan.total_steps + steps_per_epoch - 1) / steps_per_epoch;
    return plan;
  }
  int64_t EpochOf(int64_t step) const { return step / steps_per_epoch; }
  int64_t StepInEpoch(int64_t step) const { return step % steps_per_epoch; }
};

// Where the data stands: everything besides the tensors that a resumed run needs, and what a
// checkpoint stores of it.
struct TrainingCursor {
  int64_t step = 0;                                               // optimizer steps taken (skipped ones included)
  double epoch_loss_sum = 0;                                      // the current epoch's summed loss so far
  int64_t epoch_rows = 0;                                         // and the rows it covers
  double best_metric = std::numeric_limits<double>::quiet_NaN();  // checkpoint.keep_best's best so far
  int64_t evals_since_best = 0;                                   // evaluations without improvement (early stopping)
  int64_t rate_reductions = 0;                                    // optimizer.schedule: plateau's, so far
};

}  // namespace ectrain::train
