// RankDuties: what one rank alone does for a training run, chosen once per rank by MakeRankDuties:
// rank 0 gets the Chief (below), every other rank this base class, whose duties are no-ops. So the
// training loop calls the same methods on every rank and never asks which rank it is.
// The Chief owns the run folder (its lock, config.yaml, metrics.jsonl, test_predictions.csv),
// finds and loads the checkpoint to resume, reads and evaluates the test rows, decides which
// checkpoint is best and when to stop early, writes checkpoints in the background and reports the
// run. Collectives stay with the Trainer: what the Chief decides, the Trainer shares.
// One per rank; used from the training loop's thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "ckpt/checkpoint.h"
#include "comm/communicator.h"
#include "config/run_config.h"
#include "model/model.h"
#include "optim/optimizer.h"
#include "train/data_feed.h"
#include "train/run_plan.h"
#include "train/run_report.h"

namespace ectrain::train {

// What to do with a checkpoint already in checkpoint.dir: continue from it when there is one
// (kAuto), insist on one (kRequired), or move the folder aside and start over (kFresh).
enum class ResumeMode { kAuto, kRequired, kFresh };

// After an evaluation, with checkpoint.keep_best: whether this is the best state so far and
// whether early stopping ends the run now.
struct BestDecision {
  bool is_best = false;
  bool stop_early = false;
  int64_t evals_since_best = 0;
  double best_metric = 0;
  bool reduce_rate = false;  // optimizer.schedule: plateau: the metric has met a plateau
};

// What metrics.jsonl's `step` line holds: the steps since the previous one, summarised.
struct StepsLine {
  int64_t epoch = 0;  // 0-based
  int64_t step = 0;
  double loss = 0;  // the mean training loss over those steps' rows
  double learning_rate = 0;
  double samples_per_second = 0;  // over those steps
  double data_wait_seconds = 0;   // time those steps waited for data (rank 0)
};

class RankDuties {
 public:
  virtual ~RankDuties() = default;
  // Locks the run folder (and checkpoint.dir) against a second job; --fresh moves the old
  // checkpoints aside. Writes nothing else.
  virtual Status ClaimRunFolder(ResumeMode mode) { return Status::Ok(); }
  // Initialises `params` from train.seed, then loads the newest checkpoint of checkpoint.dir that
  // reads back whole and suits this run into `params`, `optimizer` and `cursor`; false when there
  // is none. (Rank 0's state is then shared with every rank.)
  virtual StatusOr<bool> InitializeOrResume(ResumeMode mode, ParamArena& params, optim::Optimizer& optimizer,
                                            TrainingCursor& cursor) {
    return false;
  }
  // Once every resume check has passed: config.yaml, metrics.jsonl and the test rows.
  virtual Status OpenOutputs() { return Status::Ok(); }
  virtual void Info(const std::string& line) {}
  virtual void Warn(const std::string& line) {}
  // Evaluates `params` on the validation rows (data.validation) and, where there are none, on the
  // test rows. The test rows otherwise only at the end (`last`): on `params` without keep_best,
  // else in EvaluateBest. The test evaluation of the run also writes test_predictions.csv.
  virtual Status Evaluate(const ParamArena& params, int64_t epoch, int64_t step, double train_loss, bool last,
                          TrainResult& result) {
    return Status::Ok();
  }
  // With checkpoint.keep_best (and after early stopping), the best checkpoint is what the run
  // delivers: evaluated last, on the validation and test rows; `params` where none was kept.
  virtual Status EvaluateBest(const ParamArena& params, int64_t epoch, int64_t step, TrainResult& result) {
    return Status::Ok();
  }
  virtual BestDecision DecideBest(const TrainingCursor& cursor, const TrainResult& result, bool last_epoch) {
    return {};
  }
  // Hands a checkpoint of the state after `cursor` to the background writer; `last`: training
  // stops after it and waits, so it is written from the live state without a copy.
  virtual Status SaveCheckpoint(const TrainingCursor& cursor, const ParamArena& params, optim::Optimizer& optimizer,
                                bool is_best, bool last) {
    return Status::Ok();
  }
  virtual bool CheckpointDue() { return false; }  // checkpoint.every_minutes has passed
  virtual Status CheckpointFailure() { return Status::Ok(); }
  virtual Status WaitForCheckpoints() { return Status::Ok(); }
  virtual void LogEpoch(int64_t epoch, int64_t step, double train_loss, double samples_per_second,
                        double data_wait_seconds) {}
  // Every train.log_every_steps: metrics.jsonl's `step` line (for curves).
  virtual void LogSteps(const StepsLine& line) {}
  // The end of the run: fills in the checkpoint written and rank 0's checkpoint figures, logs the
  // memory and step-loop lines and appends metrics.jsonl's `done` line.
  virtual void ReportDone(TrainResult& result) {}
  virtual std::string resumed_path() const { return ""; }
  virtual int64_t test_rows() const { return 0; }
  // Whether this rank reports (the live progress line, the log lines of rank 0).
  virtual bool reports() const { return false; }
};

// Rank 0's Chief, or the no-op duties of the other ranks.
std::unique_ptr<RankDuties> MakeRankDuties(const comm::Communicator& comm, const RunConfig& config, model::Model& model,
                                           const DataFeed& feed, const RunPlan& plan);

}  // namespace ectrain::train
