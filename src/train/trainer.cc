#include "train/trainer.h"

#include <malloc.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <span>
#include <vector>

#include "core/denormals.h"
#include "core/format.h"
#include "core/log.h"
#include "train/consistency.h"
#include "train/signals.h"

namespace ectrain::train {
namespace {

// The steps since metrics.jsonl's last `step` line: their loss, rows, time and data wait.
class StepsWindow {
 public:
  explicit StepsWindow(double wait_seconds) : wait_start_(wait_seconds) {}
  void Add(double loss_sum, int64_t rows) {
    loss_sum_ += loss_sum;
    rows_ += rows;
  }
  StepsLine Take(int64_t epoch, int64_t step, double learning_rate, double wait_seconds) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const StepsLine line{epoch,
                         step,
                         loss_sum_ / static_cast<double>(std::max<int64_t>(rows_, 1)),
                         learning_rate,
                         static_cast<double>(rows_) / std::max(seconds, 1e-9),
                         wait_seconds - wait_start_};
    *this = StepsWindow(wait_seconds);
    return line;
  }

 private:
  double loss_sum_ = 0;
  int64_t rows_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  double wait_start_ = 0;
};

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Adds the time since the last lap to a phase's total.
class PhaseClock {
 public:
  void Lap(double& total) {
    const auto now = std::chrono::steady_clock::now();
    total += std::chrono::duration<double>(now - start_).count();
    start_ = now;
  }
  void Restart() { start_ = std::chrono::steady_clock::now(); }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace

Trainer::Trainer(const RunConfig& config, comm::Communicator& comm, model::Model& model, DataFeed& feed)
    : config_(config),
      comm_(comm),
      model_(model),
      feed_(feed),
      plan_(RunPlan::Of(config.train, feed.steps_per_epoch())),
      params_(model.layout(), model.kernels().allocator()),
      grads_(model.layout(), model.kernels().allocator()),
      optimizer_(optim::Optimizer::Create(config.optimizer, model.layout(),
                                          {plan_.total_steps, config.train.global_batch_size}, model.kernels())),
      grad_sync_(comm, model.layout(), config.train.global_batch_size, config.comm.sparse_embeddings,
                 static_cast<int64_t>(config.comm.bucket_mb * 1024 * 1024), model.kernels().allocator()),
      watchdog_(comm, config.comm.timeout_seconds),
      duties_(MakeRankDuties(comm, config, model, feed, plan_)) {}

StatusOr<TrainResult> Trainer::Run(Clock::time_point launch_time, ResumeMode mode) {
  FlushDenormalsToZero();  // also when a test or an in-process rank thread runs the trainer
  InstallStopSignalHandlers();
  RETURN_IF_ERROR(CheckRanksAgree(comm_, config_, feed_, model_));
  // After the check: ranks configured differently would otherwise meet in different collectives.
  // A model on a device keeps its parameters there, a copy per rank.
  if (config_.comm.host_shared_model && params_.on_host() && shared_model_ == nullptr) ShareModelOnHost();
  TrainingCursor cursor;
  RETURN_IF_ERROR(Start(mode, cursor));
  TrainResult result;
  if (cursor.step > 0) result.resumed_from_step = cursor.step;
  const int64_t patience = config_.eval.early_stopping_patience;
  if (cursor.step >= plan_.total_steps || (patience > 0 && cursor.evals_since_best >= patience)) {
    return AlreadyComplete(cursor, result);
  }

  ProgressReporter progress(duties_->reports(), config_.train.progress, plan_.total_steps,
                            config_.train.log_every_steps);
  last_saved_step_ = cursor.step;
  // Start-up parsed the data's schema (tens of MB with real vocabularies), read the test rows and
  // perhaps a checkpoint; glibc keeps the heap they freed unless asked to give it back.
  malloc_trim(0);
  // The reader starts at the cursor's position and reads no further than the last step.
  feed_.Seek(plan_.EpochOf(cursor.step), plan_.StepInEpoch(cursor.step), plan_.total_steps);
  const double run_wait_start = feed_.wait_seconds();
  StepsWindow steps_window(run_wait_start);
  for (int64_t epoch = plan_.EpochOf(cursor.step); epoch < plan_.num_epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    const double epoch_wait_start = feed_.wait_seconds();
    for (int64_t s = plan_.StepInEpoch(cursor.step); s < plan_.steps_per_epoch && cursor.step < plan_.total_steps;
         ++s) {
      const int64_t global_rows = feed_.GlobalRowsInStep(s);
      ASSIGN_OR_RETURN(const StepAgreement agreed, Step(epoch, s, cursor, result));
      if (result.seconds_to_first_step == 0.0) {
        result.seconds_to_first_step = SecondsSince(launch_time);
        LOG_INFO << "first step done " << FormatSeconds(result.seconds_to_first_step) << " after launch";
      }
      progress.Update(
          epoch, plan_.num_epochs, cursor.step, agreed.loss / static_cast<double>(global_rows),
          static_cast<double>(global_rows_done_) / std::max(result.train_seconds + SecondsSince(epoch_start), 1e-9));
      steps_window.Add(agreed.loss, global_rows);
      if (cursor.step % config_.train.log_every_steps == 0) {
        duties_->LogSteps(
            steps_window.Take(epoch, cursor.step, optimizer_->last_learning_rate(), feed_.wait_seconds()));
      }
      const int64_t verify = config_.train.verify_every_steps;
      if (verify > 0 && cursor.step % verify == 0) {
        RETURN_IF_ERROR(VerifyParametersIdentical(comm_, watchdog_, model_.layout(), params_, cursor.step));
      }
      RETURN_IF_ERROR(CheckpointOrStop(agreed, cursor, progress));
    }
    result.epochs = epoch + 1;
    CountRowsOfEpoch(epoch);
    const double epoch_seconds = SecondsSince(epoch_start);
    result.train_seconds += epoch_seconds;
    progress.Finish();
    ASSIGN_OR_RETURN(const bool stop_early,
                     EndEpoch(epoch, epoch_seconds, feed_.wait_seconds() - epoch_wait_start, cursor, result));
    if (stop_early) break;
  }
  result.data_wait_seconds = feed_.wait_seconds() - run_wait_start;
  RETURN_IF_ERROR(Finish(cursor, result));
  return result;
}

Status Trainer::Start(ResumeMode mode, TrainingCursor& cursor) {
  RETURN_IF_ERROR(AgreeOk(duties_->ClaimRunFolder(mode), "claiming the run folder"));
  StatusOr<bool> resumed = duties_->InitializeOrResume(mode, params_, *optimizer_, cursor);
  RETURN_IF_ERROR(AgreeOk(resumed.status(), "loading the checkpoint to resume"));
  // Only now, with every resume check passed, is anything written to the run folder.
  RETURN_IF_ERROR(AgreeOk(duties_->OpenOutputs(), "preparing the outputs and test data"));
  ShareState(cursor);  // every rank continues from rank 0's state
  duties_->Info(
      "ranks " + std::to_string(comm_.size()) + " (" + comm_.name() + (shared_model_ ? ", one shared model" : "") +
      ")  training rows " + std::to_string(feed_.num_rows()) + "  test rows " + std::to_string(duties_->test_rows()) +
      "  global batch " + std::to_string(config_.train.global_batch_size) + "  steps/epoch " +
      std::to_string(plan_.steps_per_epoch) + "  parameters " + std::to_string(model_.layout().num_parameters()) +
      "  row-sparse embedding tables " + std::to_string(grad_sync_.num_row_sparse_tables()));
  return Status::Ok();
}

StatusOr<TrainResult> Trainer::AlreadyComplete(const TrainingCursor& cursor, TrainResult result) {
  result.already_complete = true;
  result.steps = cursor.step;
  result.epochs = plan_.num_epochs;
  LOG_INFO << "training is already complete at step " << cursor.step << " of " << plan_.total_steps
           << "; to train longer raise train.epochs (or train.max_steps), to start over use --fresh";
  const int64_t patience = config_.eval.early_stopping_patience;
  const bool stopped_early = patience > 0 && cursor.evals_since_best >= patience;
  result.checkpoint_path = duties_->resumed_path();
  const int64_t last_epoch = plan_.num_epochs - 1;
  RETURN_IF_ERROR(AgreeOk(
      stopped_early || !config_.checkpoint.keep_best.empty()
          ? duties_->EvaluateBest(params_, last_epoch, cursor.step, result)
          : duties_->Evaluate(params_, last_epoch, cursor.step, std::numeric_limits<double>::quiet_NaN(), true, result),
      "evaluation"));
  return result;
}

StatusOr<StepAgreement> Trainer::Step(int64_t epoch, int64_t step_in_epoch, TrainingCursor& cursor,
                                      TrainResult& result) {
  const int64_t global_rows = feed_.GlobalRowsInStep(step_in_epoch);
  // A rank whose data cannot be read computes nothing this step; the agreement stops all ranks.
  StatusOr<BatchView> next = feed_.Batch(epoch, step_in_epoch);
  const BatchView batch = next.ok() ? *next : BatchView{};
  rows_this_epoch_ += batch.num_rows;
  PhaseClock clock;
  const double local_loss = ForwardBackward(batch, global_rows, cursor.step);
  clock.Lap(result.forward_backward_seconds);
  {
    InCollective waiting(watchdog_, "the gradient sync", cursor.step, grad_sync_.dense_equivalent_bytes());
    grad_sync_.Synchronize(grads_);
  }
  clock.Restart();  // Synchronize times itself
  result.sync_bytes_last_step = grad_sync_.bytes_last_step();
  const bool finite = std::isfinite(local_loss);
  if (!finite) {
    LOG_WARNING << "non-finite loss in epoch " << epoch + 1 << ", step " << cursor.step + 1 << " (" << batch.num_rows
                << " rows of this rank)";
  }
  // A checkpoint write that failed in the background stops the job now, not at the next one.
  const Status checkpoint_failure = duties_->CheckpointFailure();
  StepAgreement agreed{finite ? local_loss : 0.0, finite ? 0 : 1,           next.ok() ? 0 : 1,
                       StopSignalReceived() != 0, duties_->CheckpointDue(), !checkpoint_failure.ok()};
  {
    InCollective waiting(watchdog_, "the step agreement all-reduce", cursor.step, StepAgreement::kBytes);
    agreed.Agree(comm_);
  }
  clock.Lap(result.agreement_seconds);
  RETURN_IF_ERROR(Failure(agreed, next.status(), checkpoint_failure, epoch, cursor.step));
  const bool skip = agreed.non_finite_ranks > 0;  // train.on_nan: skip (Failure stopped otherwise)
  if (skip) {
    ++result.skipped_steps;
    duties_->Warn("skipped step " + std::to_string(cursor.step + 1) + ": non-finite loss on " +
                  std::to_string(agreed.non_finite_ranks) + " rank(s) (train.on_nan: skip)");
    agreed.loss = 0;
  } else {
    optimizer_->Step(params_, grads_, &grad_sync_.selection());
  }
  grad_sync_.ZeroGradients(grads_);
  // Collective: with one shared copy, every rank's part of the step is in place before any rank
  // reads the parameters again.
  if (shared_model_ != nullptr) {
    InCollective waiting(watchdog_, "the barrier after the shared model's update", cursor.step, 0);
    comm_.Barrier();
  }
  clock.Lap(result.optimizer_seconds);
  ++cursor.step;
  global_rows_done_ += global_rows;
  cursor.epoch_loss_sum += agreed.loss;
  cursor.epoch_rows += skip ? 0 : global_rows;
  return agreed;
}

double Trainer::ForwardBackward(const BatchView& batch, int64_t global_rows, int64_t step) {
  // Each rank adds its rows' share of the global mean loss, in accumulation_steps micro-batches;
  // the sync sums the shares over ranks.
  const int64_t micro_batches = config_.train.accumulation_steps;
  double loss = 0;
  grad_sync_.BeginStep(grads_);
  model_.SetTrainingStep(static_cast<uint64_t>(config_.train.seed), step);  // dropout masks follow the step
  for (int64_t k = 0; k < micro_batches; ++k) {
    const BatchView micro =
        SliceRows(batch, batch.num_rows * k / micro_batches, batch.num_rows * (k + 1) / micro_batches);
    // Buckets may start only once the last micro-batch has made the gradients final.
    loss += model_.ForwardBackward(micro, params_, grads_, 1.0f / static_cast<float>(global_rows),
                                   &grad_sync_.selection(), k + 1 == micro_batches ? &grad_sync_ : nullptr);
  }
  return loss;
}

Status Trainer::Failure(const StepAgreement& agreed, const Status& read, const Status& checkpoint, int64_t epoch,
                        int64_t step) const {
  if (agreed.read_failed_ranks > 0) {
    return read.ok() ? FailedElsewhere("reading the training data failed on another rank; see that rank's message")
                     : read;
  }
  if (agreed.checkpoint_failed) {
    return checkpoint.ok() ? FailedElsewhere("writing a checkpoint failed on rank 0; see its message") : checkpoint;
  }
  if (agreed.non_finite_ranks > 0 && config_.train.on_nan != "skip") {
    return Internal("training stopped: the loss became non-finite at epoch " + std::to_string(epoch + 1) + ", step " +
                    std::to_string(step + 1) + " on " + std::to_string(agreed.non_finite_ranks) +
                    " rank(s) (see the warnings above); lower optimizer.learning_rate, check the data, or set "
                    "train.on_nan: skip");
  }
  return Status::Ok();
}

Status Trainer::CheckpointOrStop(const StepAgreement& agreed, const TrainingCursor& cursor,
                                 ProgressReporter& progress) {
  if (cursor.step >= plan_.total_steps) return Status::Ok();  // Finish writes the last one
  const int64_t every = config_.checkpoint.every_steps;
  if (agreed.stop || agreed.checkpoint_due || (every > 0 && cursor.step % every == 0)) {
    RETURN_IF_ERROR(AgreeOk(duties_->SaveCheckpoint(cursor, params_, *optimizer_, false, /*last=*/agreed.stop),
                            "writing a checkpoint"));
    last_saved_step_ = cursor.step;
  }
  if (!agreed.stop) return Status::Ok();
  progress.Finish();
  RETURN_IF_ERROR(AgreeOk(duties_->WaitForCheckpoints(), "writing the checkpoint before stopping"));
  const int signal_number = StopSignalReceived();
  return Interrupted(std::string("stopped by ") +
                     (signal_number ? SignalName(signal_number) : "a signal received by another rank") + " at step " +
                     std::to_string(cursor.step) + " after writing a checkpoint in " + config_.checkpoint_dir() +
                     "; run the same command again to resume");
}

StatusOr<bool> Trainer::EndEpoch(int64_t epoch, double epoch_seconds, double epoch_wait, TrainingCursor& cursor,
                                 TrainResult& result) {
  char wait_share[16];
  // Fixed width: the line's length (and so its allocations) must not depend on timing.
  std::snprintf(wait_share, sizeof(wait_share), "%5.1f%%", 100.0 * epoch_wait / std::max(epoch_seconds, 1e-9));
  LOG_INFO << "epoch " << epoch + 1 << ": waited for data " << FormatSeconds(epoch_wait) << " (" << wait_share
           << " of the step time)";
  const double mean_loss = cursor.epoch_loss_sum / static_cast<double>(std::max<int64_t>(cursor.epoch_rows, 1));
  cursor.epoch_loss_sum = 0;
  cursor.epoch_rows = 0;
  result.final_train_loss = mean_loss;
  duties_->LogEpoch(epoch, cursor.step, mean_loss,
                    static_cast<double>(global_rows_done_) / std::max(result.train_seconds, 1e-9), epoch_wait);
  const bool last_epoch = epoch + 1 == plan_.num_epochs;
  const int64_t every = config_.eval.every_epochs;
  if (!last_epoch && (every <= 0 || (epoch + 1) % every != 0)) return false;
  RETURN_IF_ERROR(AgreeOk(duties_->Evaluate(params_, epoch, cursor.step, mean_loss, last_epoch, result), "evaluation"));
  // Rank 0 decides whether this is the best state so far and whether to stop early; all ranks learn both.
  const BestDecision decision = duties_->DecideBest(cursor, result, last_epoch);
  std::array<int64_t, 4> decided{decision.is_best, decision.stop_early, decision.evals_since_best,
                                 decision.reduce_rate};
  comm_.Broadcast(std::span<int64_t>(decided), 0);  // Collective
  cursor.evals_since_best = decided[2];
  cursor.rate_reductions += decided[3];
  optimizer_->set_rate_reductions(cursor.rate_reductions);
  cursor.best_metric = decision.best_metric;  // rank 0's is the one checkpoints keep
  if (decided[0] != 0) {
    RETURN_IF_ERROR(
        AgreeOk(duties_->SaveCheckpoint(cursor, params_, *optimizer_, true, false), "writing the best checkpoint"));
    last_saved_step_ = cursor.step;
  }
  result.stopped_early = decided[1] != 0;
  return result.stopped_early;
}

Status Trainer::Finish(const TrainingCursor& cursor, TrainResult& result) {
  if (last_saved_step_ != cursor.step) {
    RETURN_IF_ERROR(AgreeOk(duties_->SaveCheckpoint(cursor, params_, *optimizer_, false, /*last=*/true),
                            "writing the final checkpoint"));
  }
  RETURN_IF_ERROR(AgreeOk(duties_->WaitForCheckpoints(), "writing the final checkpoint"));
  // keep_best (and early stopping) keeps the best checkpoint: that is the model the run delivers,
  // so it is the one evaluated last, on the test rows too, with the test predictions.
  if (result.stopped_early || !config_.checkpoint.keep_best.empty()) {
    RETURN_IF_ERROR(AgreeOk(duties_->EvaluateBest(params_, result.epochs - 1, cursor.step, result),
                            "evaluating the best checkpoint"));
  }
  result.steps = cursor.step;
  result.samples_per_second = static_cast<double>(global_rows_done_) / std::max(result.train_seconds, 1e-9);
  result.sync_exposed_seconds = grad_sync_.exposed_seconds();
  result.sync_row_sparse_seconds = grad_sync_.row_sparse_seconds();
  int64_t state_floats = params_.size();
  for (const auto& [name, arena] : optimizer_->state()) state_floats += arena->size();
  result.state_bytes = state_floats * static_cast<int64_t>(sizeof(float)) + grad_sync_.gradient_bytes();
  result.state_shared_on_host = shared_model_ != nullptr;
  result.workspace_bytes = model_.workspace_bytes();
  result.reader_bound_bytes = feed_.buffer_bytes();
  result.data_in_memory_bytes = feed_.memory_bytes();
  result.peak_rss_bytes = PeakRssBytes();
  result.rows_per_rank = rows_read_per_rank_;
  duties_->ReportDone(result);
  return Status::Ok();
}

Status Trainer::AgreeOk(const Status& local, const std::string& what) {
  InCollective waiting(watchdog_, "the agreement on " + what, -1, 8);
  return comm::AgreeOk(comm_, local, what);
}

void Trainer::ShareState(TrainingCursor& cursor) {
  // Collective: all ranks, same order. Shared parameters and state are rank 0's already.
  if (shared_model_ == nullptr) {
    BroadcastArena(params_);
    for (auto& [name, arena] : optimizer_->state()) BroadcastArena(*arena);
  }
  std::vector<int64_t> counts{cursor.step, cursor.epoch_rows, optimizer_->step_count(), cursor.evals_since_best,
                              cursor.rate_reductions};
  comm_.Broadcast(std::span<int64_t>(counts), 0);
  std::vector<double> sums{cursor.epoch_loss_sum, cursor.best_metric};
  comm_.Broadcast(std::span<double>(sums), 0);
  cursor.step = counts[0];
  cursor.epoch_rows = counts[1];
  optimizer_->set_step_count(counts[2]);
  cursor.evals_since_best = counts[3];
  cursor.rate_reductions = counts[4];
  optimizer_->set_rate_reductions(cursor.rate_reductions);
  cursor.epoch_loss_sum = sums[0];
  cursor.best_metric = sums[1];
}

void Trainer::BroadcastArena(ParamArena& arena) {
  if (arena.on_host()) {
    comm_.Broadcast(arena.span(), 0);  // Collective
    return;
  }
  std::vector<float> host(static_cast<size_t>(arena.size()));
  arena.CopyToHost(host.data());
  comm_.Broadcast(std::span<float>(host), 0);  // Collective
  arena.CopyFromHost(host.data());
}

void Trainer::ShareModelOnHost() {
  auto state = optimizer_->state();
  // Each arena a page multiple and a cache line past the one before: a row at the same offset in
  // each (the lazy update reads and writes all of them) then falls on different cache sets.
  const auto arena_floats = static_cast<size_t>((params_.size() + 1023) / 1024 * 1024 + 16);
  std::string why_not;
  comm::HostMemory* host = comm_.host_memory();
  shared_model_ = host != nullptr ? host->MapShared((1 + state.size()) * arena_floats * sizeof(float), &why_not)
                                  : nullptr;  // Collective
  if (shared_model_ == nullptr) {
    if (!why_not.empty()) {
      duties_->Warn("each rank keeps its own copy of the parameters and optimizer state: " + why_not +
                    " (give it more room, e.g. docker run --shm-size, or set comm.host_shared_model: false)");
    }
    return;
  }
  auto* base = static_cast<float*>(shared_model_->data());
  params_.UseStorage(base);
  for (size_t i = 0; i < state.size(); ++i) state[i].second->UseStorage(base + (i + 1) * arena_floats);
  // Each rank updates its slice of the whole tensors and the embedding rows it owns; all ranks
  // still add up every gradient in the same order, so the model is the one each rank's own copy
  // would hold.
  optimizer_->ShareUpdates(comm_.rank(), comm_.size(), [this](double mine) {
    std::array<double, 1> sum{mine};
    comm_.AllReduce(std::span<double>(sum));  // Collective
    return sum[0];
  });
  grad_sync_.KeepOwnedRows(comm_.rank(), comm_.size());
}

void Trainer::CountRowsOfEpoch(int64_t epoch) {
  const int64_t mine = rows_this_epoch_;
  rows_this_epoch_ = 0;
  std::vector<int64_t> all(static_cast<size_t>(comm_.size()));
  {
    InCollective waiting(watchdog_, "the epoch's row count all-gather", -1, 8 * comm_.size());
    comm_.AllGather(std::span<const int64_t>(&mine, 1), all);  // Collective
  }
  rows_read_per_rank_.resize(all.size(), 0);
  for (size_t r = 0; r < all.size(); ++r) rows_read_per_rank_[r] += all[r];
  if (warned_empty_ranks_) return;
  std::string empty;
  for (int r = 0; r < comm_.size(); ++r) {
    if (all[static_cast<size_t>(r)] == 0) empty += (empty.empty() ? "" : ", ") + std::to_string(r);
  }
  if (empty.empty()) return;
  warned_empty_ranks_ = true;
  duties_->Warn("rank(s) " + empty + " of " + std::to_string(comm_.size()) + " received no training rows in epoch " +
                std::to_string(epoch + 1) + ": the data has too few blocks of data.block_rows (" +
                std::to_string(config_.data.block_rows) + ") rows for " + std::to_string(comm_.size()) +
                " ranks, so those ranks only wait; lower data.block_rows (to at most the rows / ranks) or run "
                "fewer ranks");
}

}  // namespace ectrain::train
