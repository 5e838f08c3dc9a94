// Trainer: the one training loop, the same for every backend and world size. Per step: this
// rank's slice of the global batch -> forward/backward (gradients of the global mean loss) ->
// one all-reduce (sum) of the gradient arena -> one small all-reduce of loss and a non-finite
// flag (a collective decision) -> the same optimizer step on every rank.
// Rank 0's duties (evaluation, checkpoints, config and metrics files, progress) are decided
// once, in `chief_`; their outcome is agreed collectively so no rank is left waiting.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "ckpt/checkpoint.h"
#include "comm/communicator.h"
#include "config/run_config.h"
#include "model/ctr_model.h"
#include "optim/optimizer.h"
#include "train/data_feed.h"
#include "train/metrics.h"
#include "train/progress.h"

namespace ectrain::train {

struct TrainResult {
  int64_t steps = 0;
  int64_t epochs = 0;
  double train_seconds = 0.0;      // the step loop alone, without evaluation and checkpoints
  double samples_per_second = 0.0; // global rows / train_seconds
  double seconds_to_first_step = 0.0;  // from process launch to the end of the first step
  double final_train_loss = 0.0;   // mean over the last epoch
  std::optional<BinaryMetrics> test_metrics;  // rank 0 only
  std::string checkpoint_path;                // rank 0 only
};

class Trainer {
 public:
  Trainer(const RunConfig& config, comm::Communicator& comm, model::CtrModel& model, DataFeed& feed);

  // Collective: all ranks. Rank 0 loads the test data (data.test) and writes the outputs;
  // parameters are initialized on rank 0 and broadcast; then the loop runs.
  StatusOr<TrainResult> Run(std::chrono::steady_clock::time_point launch_time);

  const ParamArena& params() const { return params_; }

 private:
  Status PrepareOutputs();  // rank 0: output folder, config.yaml, metrics log, test table
  // On the last evaluation also writes <output_dir>/test_predictions.csv (one probability per test row).
  Status Evaluate(int64_t epoch, int64_t step, double train_loss, bool last, TrainResult& result);
  Status SaveCheckpoint(int64_t epoch, int64_t step, TrainResult& result);
  // Collective: fails on every rank when `local` failed on any rank.
  Status AgreeOk(const Status& local, const std::string& what);

  const RunConfig& config_;
  comm::Communicator& comm_;
  model::CtrModel& model_;
  DataFeed& feed_;
  data::Table test_;  // rank 0 only
  const bool chief_;
  ParamArena params_;
  ParamArena grads_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  ckpt::CheckpointDir checkpoints_;
  MetricsLog metrics_log_;
};

}  // namespace ectrain::train
