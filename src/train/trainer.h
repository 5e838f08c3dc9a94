// Trainer: the one training loop, the same for every backend and world size. Per step: this
// rank's slice of the global batch -> forward/backward (gradients of the global mean loss) ->
// the gradient sync (buckets summed over ranks as backward makes them final) -> the step's
// agreement (StepAgreement: loss, non-finite loss, stop signal, timed checkpoint, errors) -> the
// same optimizer step on every rank.
// What only one rank does (the run folder, resuming, evaluation, checkpoints, reports) sits
// behind RankDuties, chosen once per rank (chief.h); the Trainer shares its decisions with every
// rank, so no rank is left waiting in a collective the others skipped.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "comm/communicator.h"
#include "config/run_config.h"
#include "model/model.h"
#include "optim/optimizer.h"
#include "train/chief.h"
#include "train/data_feed.h"
#include "train/grad_sync.h"
#include "train/progress.h"
#include "train/run_plan.h"
#include "train/run_report.h"
#include "train/step_agreement.h"
#include "train/watchdog.h"

namespace ectrain::train {

class Trainer {
 public:
  Trainer(const RunConfig& config, comm::Communicator& comm, model::Model& model, DataFeed& feed);

  // Collective: all ranks. Claims the run folder, starts from the seed or resumes (rank 0's state
  // shared with every rank), trains to the end of the plan or until early stopping, evaluates and
  // checkpoints. A stop signal ends it with an Interrupted status after a checkpoint.
  StatusOr<TrainResult> Run(std::chrono::steady_clock::time_point launch_time, ResumeMode mode = ResumeMode::kAuto);

  const ParamArena& params() const { return params_; }
  // Whether the ranks hold one copy of the parameters and optimizer state (comm.host_shared_model
  // where the host had room), known once Run has begun.
  bool shares_model_on_host() const { return shared_model_ != nullptr; }

 private:
  using Clock = std::chrono::steady_clock;
  // Collective: the run folder claimed, the state initialised or resumed on rank 0 and shared, the
  // outputs opened (only once every resume check has passed).
  Status Start(ResumeMode mode, TrainingCursor& cursor);
  // A resumed run that had finished: evaluates what it delivers and trains nothing.
  StatusOr<TrainResult> AlreadyComplete(const TrainingCursor& cursor, TrainResult result);
  // Collective: one optimizer step on this rank's slice of global batch `step_in_epoch`.
  StatusOr<StepAgreement> Step(int64_t epoch, int64_t step_in_epoch, TrainingCursor& cursor, TrainResult& result);
  // This rank's rows through the model, in train.accumulation_steps micro-batches; its loss share.
  double ForwardBackward(const BatchView& batch, int64_t global_rows, int64_t step);
  // The error that ends the run for what the step's agreement says, if any.
  Status Failure(const StepAgreement& agreed, const Status& read, const Status& checkpoint, int64_t epoch,
                 int64_t step) const;
  // Collective: checkpoints when due, and stops (Interrupted) after a stop signal's checkpoint.
  Status CheckpointOrStop(const StepAgreement& agreed, const TrainingCursor& cursor, ProgressReporter& progress);
  // Collective: the epoch's reports and evaluation; true when early stopping ends the run.
  StatusOr<bool> EndEpoch(int64_t epoch, double epoch_seconds, double epoch_wait, TrainingCursor& cursor,
                          TrainResult& result);
  // Collective: the last checkpoint, the best checkpoint's evaluation after early stopping, and the report.
  Status Finish(const TrainingCursor& cursor, TrainResult& result);
  Status AgreeOk(const Status& local, const std::string& what);
  // Collective: rank 0's parameters, optimizer state and cursor to every rank.
  void ShareState(TrainingCursor& cursor);
  // Collective: moves the parameters and optimizer state into memory the ranks of the host share,
  // where they can (comm.host_shared_model).
  // Collective: rank 0's values of `arena` on every rank (through the host for a device's arena).
  void BroadcastArena(ParamArena& arena);
  void ShareModelOnHost();
  // Collective: counts every rank's rows of the epoch (rows_read_per_rank_) and warns (once per run)
  // when a rank received none.
  void CountRowsOfEpoch(int64_t epoch);

  const RunConfig& config_;
  comm::Communicator& comm_;
  model::Model& model_;
  DataFeed& feed_;
  const RunPlan plan_;
  // Where the ranks share a host: the one copy of the parameters and optimizer state they all
  // update, each its own part (ShareModelOnHost); null where each rank keeps its own. Declared
  // before the arenas that point into it, so it is released after them.
  std::unique_ptr<comm::SharedMemory> shared_model_;
  ParamArena params_;
  ParamArena grads_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  GradSync grad_sync_;
  StallWatchdog watchdog_;
  std::unique_ptr<RankDuties> duties_;
  int64_t last_saved_step_ = 0;
  int64_t rows_this_epoch_ = 0;  // this rank's
  int64_t global_rows_done_ = 0;
  bool warned_empty_ranks_ = false;
  std::vector<int64_t> rows_read_per_rank_;  // by rank, this run's epochs so far
};

}  // namespace ectrain::train
