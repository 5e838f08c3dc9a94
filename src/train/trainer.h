// Trainer: the one training loop, the same for every backend and world size. Per step: this
// rank's slice of the global batch -> forward/backward (gradients of the global mean loss) ->
// one all-reduce (sum) of the gradient arena -> one small all-reduce that carries the loss and
// the collective decisions (a non-finite loss, a stop signal, a timed checkpoint) -> the same
// optimizer step on every rank.
// Rank 0's duties (outputs, evaluation, checkpoints, finding the checkpoint to resume) are decided
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
#include "train/grad_sync.h"
#include "train/metrics.h"
#include "train/progress.h"
#include "train/run_lock.h"
#include "train/watchdog.h"

namespace ectrain::train {

// What to do with a checkpoint already in checkpoint.dir: continue from it when there is one
// (kAuto), insist on one (kRequired), or move the folder aside and start over (kFresh).
enum class ResumeMode { kAuto, kRequired, kFresh };

struct TrainResult {
  int64_t steps = 0;
  int64_t epochs = 0;
  int64_t resumed_from_step = -1;      // -1: a fresh start
  bool stopped_early = false;          // eval.early_stopping_patience ended the run
  bool already_complete = false;       // resumed a run that had finished: nothing trained
  int64_t best_step = -1;              // early stopping: the step of the best checkpoint, evaluated last
  double train_seconds = 0.0;          // this run's step loop, without evaluation
  double samples_per_second = 0.0;     // global rows trained by this run / train_seconds
  double seconds_to_first_step = 0.0;  // from process launch to the end of the first step
  double final_train_loss = 0.0;       // mean over the last epoch
  double checkpoint_stall_seconds = 0.0;       // rank 0's training time spent handing checkpoints over
  int64_t skipped_steps = 0;                   // steps skipped for a non-finite loss (train.on_nan: skip)
  int64_t sync_bytes_last_step = 0;            // gradient bytes this rank handed to the communicator
  double sync_exposed_seconds = 0.0;           // time in gradient sync not hidden behind backward
  double data_wait_seconds = 0.0;              // this rank's training time spent waiting for its data reader
  // The rest of this rank's step loop by phase (seconds); collectives include waiting for the
  // slowest rank, so on N ranks they also show imbalance. Whatever is left of train_seconds is
  // progress, checkpoint hand-over and the reader's bookkeeping.
  double forward_backward_seconds = 0.0;
  double sync_row_sparse_seconds = 0.0;  // the part of sync_exposed_seconds spent on row-sparse tables
  double agreement_seconds = 0.0;        // the step's agreement all-reduce (loss, stop, errors)
  double optimizer_seconds = 0.0;        // the optimizer step and zeroing the gradients
  // Memory: the process's peak resident set, and what training must hold: parameters, gradients
  // and optimizer state, the model's workspace (activations and their gradients), the reader's
  // buffers (their bound), the training set when data.in_memory, rank 0's checkpoint snapshot.
  int64_t peak_rss_bytes = 0;
  int64_t state_bytes = 0;
  int64_t workspace_bytes = 0;
  int64_t reader_bound_bytes = 0;
  int64_t data_in_memory_bytes = 0;
  int64_t snapshot_bytes = 0;
  std::optional<Metrics> test_metrics;  // rank 0 only
  std::string checkpoint_path;                // rank 0 only
};

class Trainer {
 public:
  Trainer(const RunConfig& config, comm::Communicator& comm, model::Model& model, DataFeed& feed);

  // Collective: all ranks. Rank 0 prepares the outputs and test data and finds the checkpoint to
  // resume; parameters (fresh from the seed, or resumed) are broadcast from rank 0, or written once
  // where the ranks of a host share them; then the loop runs. A stop signal ends it with an
  // Interrupted status after a checkpoint.
  StatusOr<TrainResult> Run(std::chrono::steady_clock::time_point launch_time, ResumeMode mode = ResumeMode::kAuto);

  const ParamArena& params() const { return params_; }
  // Whether the ranks hold one copy of the parameters and optimizer state (comm.host_shared_model
  // where the host had room), known once Run has begun.
  bool shares_model_on_host() const { return shared_model_ != nullptr; }

 private:
  // Where the data stands: everything besides the tensors that a resumed run needs.
  struct Cursor {
    int64_t step = 0;
    double epoch_loss_sum = 0;
    int64_t epoch_rows = 0;
    double best_metric = std::numeric_limits<double>::quiet_NaN();
    int64_t evals_since_best = 0;
  };

  // Rank 0: locks the run folder (and checkpoint.dir) against a second job; --fresh moves the old
  // checkpoints aside. Writes nothing else.
  Status ClaimRunFolder(ResumeMode mode);
  // Rank 0, once every resume check has passed: config.yaml, metrics.jsonl and the test rows.
  Status PrepareOutputs();
  // Rank 0: loads the newest checkpoint of checkpoint.dir that reads back whole and verified (and
  // suits this run) into params_/optimizer_/cursor; false if there is none.
  StatusOr<bool> LoadResumeState(ResumeMode mode, Cursor& cursor);
  Status CheckResumable(const ckpt::CheckpointInfo& info, const std::string& path) const;
  // Collective: rank 0's parameters, optimizer state and cursor to every rank.
  void ShareState(Cursor& cursor);
  // Rank 0: evaluates `params` on the test rows; the final evaluation also writes
  // <output_dir>/test_predictions.csv.
  Status Evaluate(const ParamArena& params, int64_t epoch, int64_t step, double train_loss, bool last,
                  TrainResult& result);
  // Rank 0, when early stopping ended the run: the best checkpoint's parameters evaluated as the
  // final evaluation (metrics and test_predictions.csv).
  Status EvaluateBest(int64_t epoch, int64_t step, TrainResult& result);
  // Collective: warns (rank 0, once per run) when a rank received no rows in an epoch.
  void WarnIfRanksGotNoRows(int64_t epoch, int64_t rows_this_epoch);
  // Rank 0: hands a checkpoint of the state after `cursor` to the background writer.
  // last: training stops after this checkpoint and waits for it, so it is written from the live
  // state without a copy.
  Status SaveCheckpoint(const Cursor& cursor, bool is_best, bool last = false);
  Status AgreeOk(const Status& local, const std::string& what);
  // Collective: moves the parameters and optimizer state into memory the ranks of the host share,
  // where they can (comm.host_shared_model).
  void ShareModelOnHost();
  // Collective: every rank runs the same binary version, configuration, data and model as rank 0.
  Status CheckRanksAgree();
  // Collective: every rank holds bitwise the same parameters; else names the first that differs.
  Status VerifyParametersIdentical(int64_t step);

  const RunConfig& config_;
  comm::Communicator& comm_;
  model::Model& model_;
  DataFeed& feed_;
  const bool chief_;
  // Where the ranks share a host: the one copy of the parameters and optimizer state they all
  // update, each its own part (ShareModelOnHost); null where each rank keeps its own. Declared
  // before the arenas that point into it, so it is released after them.
  std::unique_ptr<comm::SharedMemory> shared_model_;
  ParamArena params_;
  ParamArena grads_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  GradSync grad_sync_;
  StallWatchdog watchdog_;
  std::unique_ptr<ckpt::AsyncCheckpointWriter> writer_;  // rank 0 only
  RunFolderLock output_lock_, checkpoint_lock_;          // rank 0 only
  std::string resumed_path_;                             // rank 0: the checkpoint the run resumed from
  bool warned_empty_ranks_ = false;
  MetricsLog metrics_log_;
  data::Table test_;  // rank 0 only
};

}  // namespace ectrain::train
