#include "train/trainer.h"

#include <malloc.h>
#include <sys/resource.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <sstream>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "core/denormals.h"
#include "core/log.h"
#include "core/version.h"
#include "data/encoding.h"
#include "train/evaluator.h"
#include "train/signals.h"

namespace ectrain::train {
namespace {
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double SecondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string FormatSeconds(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f s", seconds);
  return buf;
}

nlohmann::json MetricsJson(const Metrics& m) {
  nlohmann::json out = {{"count", m.count}};
  for (const auto& [name, value] : m.values) out[name] = value;
  if (m.num_classes > 0) out["confusion"] = m.confusion;
  return out;
}

// NaN (no value yet) is beaten by anything.
bool Improves(const std::string& metric, double value, double best) {
  if (std::isnan(value)) return false;
  if (std::isnan(best)) return true;
  return HigherIsBetter(metric) ? value > best : value < best;
}

std::string UtcStamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%d-%H%M%S", &tm);
  return buf;
}
// The run's last step: all epochs, or train.max_steps when that comes first.
int64_t TotalSteps(const TrainOptions& train, int64_t steps_per_epoch) {
  const int64_t all = train.epochs * steps_per_epoch;
  return train.max_steps > 0 ? std::min(all, train.max_steps) : all;
}

}  // namespace

Trainer::Trainer(const RunConfig& config, comm::Communicator& comm, model::Model& model, DataFeed& feed)
    : config_(config),
      comm_(comm),
      model_(model),
      feed_(feed),
      chief_(comm.rank() == 0),
      params_(model.layout()),
      grads_(model.layout()),
      optimizer_(optim::Optimizer::Create(
          config.optimizer, model.layout(),
          {TotalSteps(config.train, feed.steps_per_epoch()), config.train.global_batch_size})),
      grad_sync_(comm, model.layout(), config.train.global_batch_size, config.comm.sparse_embeddings,
                 static_cast<int64_t>(config.comm.bucket_mb * 1024 * 1024)),
      watchdog_(comm, config.comm.timeout_seconds) {
  if (chief_) {
    writer_ = std::make_unique<ckpt::AsyncCheckpointWriter>(config.checkpoint_dir(), config.checkpoint.keep_last,
                                                            model.layout());
  }
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
    if (chief_ && !why_not.empty()) {
      LOG_WARNING << "each rank keeps its own copy of the parameters and optimizer state: " << why_not
                  << " (give it more room, e.g. docker run --shm-size, or set comm.host_shared_model: false)";
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

Status Trainer::AgreeOk(const Status& local, const std::string& what) {
  InCollective waiting(watchdog_, "the agreement on " + what, -1, 8);
  return comm::AgreeOk(comm_, local, what);
}

Status Trainer::CheckRanksAgree() {
  // What must be the same everywhere, as rank 0 sees it; each rank compares its own view.
  const std::vector<std::pair<std::string, std::string>> mine = {
      {"binary version", ECTRAIN_VERSION},
      {"training data (" + config_.data.train + ")",
       std::to_string(feed_.num_rows()) + " rows, schema " + std::to_string(data::StableHash(*feed_.schema_json()))},
      {"parameter count", std::to_string(model_.layout().num_parameters())},
      {"configuration", config::ToYaml(config_)}};
  Status local;
  for (const auto& [what, value] : mine) {
    std::string rank0 = value;
    comm_.Broadcast(rank0, 0);  // Collective
    if (!local.ok() || rank0 == value) continue;
    std::string detail;
    if (what == "configuration") {  // name the first differing line of the resolved YAML
      std::istringstream a(value), b(rank0);
      for (std::string la, lb; std::getline(a, la) && std::getline(b, lb);) {
        if (la != lb) {
          detail = ": here '" + la + "', on rank 0 '" + lb + "'";
          break;
        }
      }
    } else {
      detail = ": here " + value + ", on rank 0 " + rank0;
    }
    local = InvalidArgument("rank " + std::to_string(comm_.rank()) + " differs from rank 0 in its " + what + detail +
                            "; every rank must run the same ectrain, config and data");
  }
  return comm::AgreeOk(comm_, local, "the start-up check that all ranks agree");
}

Status Trainer::VerifyParametersIdentical(int64_t step) {
  const auto& specs = model_.layout().specs();
  std::vector<int64_t> mine(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    const std::string_view bytes(reinterpret_cast<const char*>(params_.data() + specs[i].offset),
                                 static_cast<size_t>(specs[i].size()) * sizeof(float));
    mine[i] = static_cast<int64_t>(data::StableHash(bytes));
  }
  std::vector<int64_t> all(specs.size() * comm_.size());
  {
    InCollective waiting(watchdog_, "the parameter checksum all-gather", step, all.size() * 8);
    comm_.AllGather(mine, all);
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    for (int r = 1; r < comm_.size(); ++r) {
      if (all[r * specs.size() + i] != all[i]) {
        return Internal("parameters differ between ranks at step " + std::to_string(step) + ": '" + specs[i].name +
                        "' on rank " + std::to_string(r) + " differs from rank 0 (train.verify_every_steps)");
      }
    }
  }
  return Status::Ok();
}

Status Trainer::ClaimRunFolder(ResumeMode mode) {
  if (!chief_) return Status::Ok();
  const std::string& dir = config_.train.output_dir;
  const std::string checkpoints = config_.checkpoint_dir();
  ASSIGN_OR_RETURN(output_lock_, RunFolderLock::Acquire(dir, "train.output_dir"));
  std::error_code ec;
  // A checkpoint folder outside the run folder is locked too: two runs must not share it.
  const auto inside = [&] {
    const auto relative = fs::relative(fs::weakly_canonical(checkpoints, ec), fs::weakly_canonical(dir, ec), ec);
    return !ec && !relative.empty() && *relative.begin() != "..";
  };
  const bool separate = !inside();
  if (mode == ResumeMode::kFresh && fs::exists(checkpoints, ec)) {
    // Nothing already written is lost: the old checkpoints move aside.
    const std::string aside = checkpoints + ".replaced-" + UtcStamp();
    if (separate) {
      ASSIGN_OR_RETURN(checkpoint_lock_, RunFolderLock::Acquire(checkpoints, "checkpoint.dir"));
    }
    fs::rename(checkpoints, aside, ec);
    if (ec) return Internal("--fresh: cannot move " + checkpoints + " aside: " + ec.message());
    LOG_INFO << "--fresh: moved the earlier checkpoints to " << aside;
  }
  if (separate) {
    ASSIGN_OR_RETURN(checkpoint_lock_, RunFolderLock::Acquire(checkpoints, "checkpoint.dir"));
  }
  return Status::Ok();
}

Status Trainer::PrepareOutputs() {
  if (!chief_) return Status::Ok();
  const std::string& dir = config_.train.output_dir;
  const std::string config_path = dir + "/config.yaml";
  {
    std::ofstream config_file(config_path, std::ios::trunc);
    config_file << config::ToYaml(config_);
    if (!config_file.flush()) {
      return Internal("cannot write " + config_path + ": " + std::strerror(errno) + "; check the folder and free space");
    }
  }
  metrics_log_ = MetricsLog(dir + "/metrics.jsonl");
  if (!metrics_log_.enabled()) {
    return Internal("cannot write " + dir + "/metrics.jsonl: " + std::strerror(errno) +
                    "; check the path and permissions of train.output_dir");
  }
  metrics_log_.Append(nlohmann::json{{"event", "start"}, {"world_size", comm_.size()}, {"ectrain_version", ECTRAIN_VERSION}}
                          .dump());
  LOG_INFO << "resolved configuration (saved as " << config_path << "):\n" << config::ToYaml(config_);
  ASSIGN_OR_RETURN(data::ColumnFile test_file, data::ColumnFile::Open(config_.data.test));
  ASSIGN_OR_RETURN(test_, test_file.ReadAll(feed_.schema(), /*with_labels=*/true));
  if (test_.num_rows == 0) return DataError("test data " + config_.data.test + " has no rows");
  return Status::Ok();
}

Status Trainer::CheckResumable(const ckpt::CheckpointInfo& info, const std::string& path) const {
  ASSIGN_OR_RETURN(RunConfig stored, config::ParseConfig(info.config_yaml, {}, path + " (stored config)"));
  auto refuse = [&](const std::string& key, const std::string& now, const std::string& then) {
    return InvalidArgument("cannot resume from " + path + ": " + key + " is " + now + " in this run but " + then +
                           " in the checkpoint, and the data position depends on it; set it back, or start over "
                           "with --fresh (the old checkpoints are kept aside)");
  };
  if (stored.train.global_batch_size != config_.train.global_batch_size) {
    return refuse("train.global_batch_size", std::to_string(config_.train.global_batch_size),
                  std::to_string(stored.train.global_batch_size));
  }
  if (stored.train.seed != config_.train.seed) {
    return refuse("train.seed", std::to_string(config_.train.seed), std::to_string(stored.train.seed));
  }
  if (info.train_rows != feed_.num_rows()) {
    return refuse("the number of training rows (data.train)", std::to_string(feed_.num_rows()),
                  std::to_string(info.train_rows));
  }
  if (stored.data.block_rows != config_.data.block_rows) {
    return refuse("data.block_rows", std::to_string(config_.data.block_rows), std::to_string(stored.data.block_rows));
  }
  if (stored.data.shuffle_window_blocks != config_.data.shuffle_window_blocks) {
    return refuse("data.shuffle_window_blocks", std::to_string(config_.data.shuffle_window_blocks),
                  std::to_string(stored.data.shuffle_window_blocks));
  }
  if (stored.data.dense != config_.data.dense || stored.data.label != config_.data.label) {
    return InvalidArgument("cannot resume from " + path +
                           ": data.dense or data.label differ from the checkpoint's; use its columns, or --fresh");
  }
  return Status::Ok();
}

StatusOr<bool> Trainer::LoadResumeState(ResumeMode mode, Cursor& cursor) {
  if (!chief_ || mode == ResumeMode::kFresh) return false;
  const std::string dir = config_.checkpoint_dir();
  ckpt::CheckpointInfo info;
  StatusOr<ckpt::ChosenCheckpoint> chosen = ckpt::LoadNewestVerified(dir, [&](const std::string& path) {
    ASSIGN_OR_RETURN(info, ckpt::ReadCheckpointInfo(path));
    RETURN_IF_ERROR(CheckResumable(info, path));
    return ckpt::LoadCheckpoint(path, model_.layout(), params_, optimizer_.get());
  });
  if (!chosen.ok() && chosen.status().code() == StatusCode::kNotFound) {
    if (mode == ResumeMode::kRequired) {
      return InvalidArgument("--resume: no checkpoint to resume in " + dir +
                             " (checkpoint.dir); run without --resume to start afresh");
    }
    return false;
  }
  if (!chosen.ok()) return chosen.status();
  for (const std::string& note : chosen->notes) LOG_WARNING << note;
  resumed_path_ = chosen->path;
  cursor.step = info.step;
  cursor.epoch_loss_sum = info.epoch_loss_sum;
  cursor.epoch_rows = info.epoch_rows;
  cursor.best_metric = info.best_metric;
  cursor.evals_since_best = info.evals_since_best;
  LOG_INFO << "resuming from " << chosen->path << ": step " << info.step << " (epoch " << info.epoch + 1
           << ", step " << info.step_in_epoch << " within it), written by " << info.world_size << " rank(s); now "
           << comm_.size() << " rank(s)";
  return true;
}

void Trainer::ShareState(Cursor& cursor) {
  // Collective: all ranks, same order. Shared parameters and state are rank 0's already.
  if (shared_model_ == nullptr) {
    comm_.Broadcast(params_.span(), 0);
    for (auto& [name, arena] : optimizer_->state()) comm_.Broadcast(arena->span(), 0);
  }
  std::vector<int64_t> counts{cursor.step, cursor.epoch_rows, optimizer_->step_count(), cursor.evals_since_best};
  comm_.Broadcast(std::span<int64_t>(counts), 0);
  std::vector<double> sums{cursor.epoch_loss_sum, cursor.best_metric};
  comm_.Broadcast(std::span<double>(sums), 0);
  cursor.step = counts[0];
  cursor.epoch_rows = counts[1];
  optimizer_->set_step_count(counts[2]);
  cursor.evals_since_best = counts[3];
  cursor.epoch_loss_sum = sums[0];
  cursor.best_metric = sums[1];
}

Status Trainer::Evaluate(const ParamArena& params, int64_t epoch, int64_t step, double train_loss, bool last,
                         TrainResult& result) {
  if (!chief_) return Status::Ok();
  auto start = Clock::now();
  StatusOr<std::vector<float>> outputs = ScoreTable(model_, params, test_, config_.eval.batch_size);
  if (!outputs.ok()) return Status(outputs.status().code(), "evaluation at step " + std::to_string(step) + ": " +
                                                              outputs.status().message());
  Metrics m = MetricsOf(model_, *outputs, test_.labels);
  if (last) {
    RETURN_IF_ERROR(WritePredictions(model_, *outputs, feed_.schema().label_classes,
                                     config_.train.output_dir + "/test_predictions.csv"));
  }
  const std::string& keep_best = config_.checkpoint.keep_best;
  if (!keep_best.empty() && !m.Has(keep_best)) {
    std::string reported;
    for (const auto& [name, value] : m.values) reported += (reported.empty() ? "" : ", ") + name;
    return InvalidArgument("checkpoint.keep_best: this model's evaluation does not report '" + keep_best +
                           "'; choose one of: " + reported);
  }
  result.test_metrics = m;
  nlohmann::json line;
  if (result.best_step >= 0) {  // EvaluateBest: the kept checkpoint, not the step's parameters
    LOG_INFO << "best checkpoint (step " << result.best_step << ")  test: " << FormatMetrics(m) << "  ["
             << FormatSeconds(SecondsSince(start)) << "]";
    line = {{"event", "best"}, {"step", result.best_step}};
  } else {
    LOG_INFO << "epoch " << epoch + 1 << "/" << config_.train.epochs << "  step " << step << "  train_loss "
             << train_loss << "  test: " << FormatMetrics(m) << "  [" << FormatSeconds(SecondsSince(start)) << "]";
    line = {{"event", "eval"}, {"epoch", epoch + 1}, {"step", step}, {"train_loss", train_loss}};
  }
  line["test"] = MetricsJson(m);
  metrics_log_.Append(line.dump());
  return Status::Ok();
}

Status Trainer::EvaluateBest(int64_t epoch, int64_t step, TrainResult& result) {
  if (!chief_) return Status::Ok();
  RETURN_IF_ERROR(writer_->Wait());
  ASSIGN_OR_RETURN(std::string best, ckpt::ResolveCheckpointPath(config_.checkpoint_dir() + "/best"));
  ParamArena best_params(model_.layout());
  RETURN_IF_ERROR(ckpt::LoadCheckpoint(best, model_.layout(), best_params, nullptr));
  ASSIGN_OR_RETURN(const ckpt::CheckpointInfo info, ckpt::ReadCheckpointInfo(best));
  LOG_INFO << "early stopping kept " << best << " (step " << info.step << ", " << config_.checkpoint.keep_best << " "
           << info.best_metric << "): evaluating it";
  result.checkpoint_path = best;
  result.best_step = info.step;
  return Evaluate(best_params, epoch, step, 0.0, /*last=*/true, result);
}

void Trainer::WarnIfRanksGotNoRows(int64_t epoch, int64_t rows_this_epoch) {
  if (warned_empty_ranks_) return;
  std::vector<int64_t> mine{rows_this_epoch}, all(static_cast<size_t>(comm_.size()));
  {
    InCollective waiting(watchdog_, "the epoch's row count all-gather", -1, 8 * comm_.size());
    comm_.AllGather(mine, all);  // Collective
  }
  std::string empty;
  for (int r = 0; r < comm_.size(); ++r) {
    if (all[static_cast<size_t>(r)] == 0) empty += (empty.empty() ? "" : ", ") + std::to_string(r);
  }
  if (empty.empty()) return;
  warned_empty_ranks_ = true;
  if (chief_) {
    LOG_WARNING << "rank(s) " << empty << " of " << comm_.size() << " received no training rows in epoch "
                << epoch + 1 << ": the data has too few blocks of data.block_rows (" << config_.data.block_rows
                << ") rows for " << comm_.size() << " ranks, so those ranks only wait; lower data.block_rows (to "
                << "at most the rows / ranks) or run fewer ranks";
  }
}

Status Trainer::SaveCheckpoint(const Cursor& cursor, bool is_best, bool last) {
  if (!chief_) return Status::Ok();
  const int64_t steps_per_epoch = feed_.steps_per_epoch();
  ckpt::CheckpointInfo info;
  info.binary_version = ECTRAIN_VERSION;
  info.config_yaml = config::ToYaml(config_);
  info.schema_json = feed_.schema_json();
  info.layout = model_.layout().Describe();
  info.optimizer = optimizer_->type();
  info.step = cursor.step;
  info.epoch = cursor.step / steps_per_epoch;
  info.step_in_epoch = cursor.step % steps_per_epoch;
  info.global_batch_size = config_.train.global_batch_size;
  info.train_rows = feed_.num_rows();
  info.world_size = comm_.size();
  info.epoch_loss_sum = info.step_in_epoch == 0 ? 0.0 : cursor.epoch_loss_sum;
  info.epoch_rows = info.step_in_epoch == 0 ? 0 : cursor.epoch_rows;
  info.best_metric = cursor.best_metric;
  info.evals_since_best = cursor.evals_since_best;
  return writer_->Submit(info, params_, *optimizer_, is_best,
                         last ? ckpt::AsyncCheckpointWriter::Mode::kInPlace : ckpt::AsyncCheckpointWriter::Mode::kSnapshot);
}

StatusOr<TrainResult> Trainer::Run(Clock::time_point launch_time, ResumeMode mode) {
  FlushDenormalsToZero();  // also when a test or an in-process rank thread runs the trainer
  const auto& train = config_.train;
  const int64_t steps_per_epoch = feed_.steps_per_epoch();
  const int64_t total_steps = TotalSteps(train, steps_per_epoch);
  const int64_t num_epochs = (total_steps + steps_per_epoch - 1) / steps_per_epoch;
  InstallStopSignalHandlers();

  RETURN_IF_ERROR(CheckRanksAgree());
  // After the check: ranks configured differently would otherwise meet in different collectives.
  if (config_.comm.host_shared_model && shared_model_ == nullptr) ShareModelOnHost();
  RETURN_IF_ERROR(AgreeOk(ClaimRunFolder(mode), "claiming the run folder"));
  Cursor cursor;
  if (chief_) model_.Initialize(params_, static_cast<uint64_t>(train.seed));
  StatusOr<bool> resumed = LoadResumeState(mode, cursor);
  RETURN_IF_ERROR(AgreeOk(resumed.status(), "loading the checkpoint to resume"));
  // Only now, with every resume check passed, is anything written to the run folder.
  RETURN_IF_ERROR(AgreeOk(PrepareOutputs(), "preparing the outputs and test data"));
  ShareState(cursor);  // every rank continues from rank 0's state

  TrainResult result;
  if (chief_) {
    LOG_INFO << "ranks " << comm_.size() << " (" << comm_.name() << (shared_model_ ? ", one shared model" : "")
             << ")  training rows " << feed_.num_rows()
             << "  test rows " << test_.num_rows << "  global batch " << train.global_batch_size
             << "  steps/epoch " << steps_per_epoch << "  parameters " << model_.layout().num_parameters()
             << "  row-sparse embedding tables " << grad_sync_.num_row_sparse_tables();
  }
  if (cursor.step > 0) result.resumed_from_step = cursor.step;
  const int64_t patience = config_.eval.early_stopping_patience;
  if (cursor.step >= total_steps || (patience > 0 && cursor.evals_since_best >= patience)) {
    result.already_complete = true;
    result.steps = cursor.step;
    result.epochs = num_epochs;
    LOG_INFO << "training is already complete at step " << cursor.step << " of " << total_steps
             << "; to train longer raise train.epochs (or train.max_steps), to start over use --fresh";
    const bool stopped_early = patience > 0 && cursor.evals_since_best >= patience;
    result.checkpoint_path = resumed_path_;
    RETURN_IF_ERROR(AgreeOk(stopped_early ? EvaluateBest(num_epochs - 1, cursor.step, result)
                                          : Evaluate(params_, num_epochs - 1, cursor.step, 0.0, true, result),
                            "evaluation"));
    return result;
  }

  ProgressReporter progress(chief_, total_steps, train.log_every_steps);
  const std::string& keep_best = config_.checkpoint.keep_best;
  double train_seconds = 0.0;
  int64_t global_rows_done = 0;
  int64_t last_saved_step = cursor.step;
  auto last_checkpoint_time = Clock::now();
  // Start-up parsed the data's schema (tens of MB with real vocabularies), read the test rows and
  // perhaps a checkpoint; glibc keeps the heap they freed unless asked to give it back.
  malloc_trim(0);
  // The reader starts at the cursor's position and reads no further than the last step.
  feed_.Seek(cursor.step / steps_per_epoch, cursor.step % steps_per_epoch, total_steps);
  const double run_wait_start = feed_.wait_seconds();
  int64_t epochs_run = cursor.step / steps_per_epoch;
  for (int64_t epoch = cursor.step / steps_per_epoch; epoch < num_epochs; ++epoch) {
    auto epoch_start = Clock::now();
    const double epoch_wait_start = feed_.wait_seconds();
    int64_t rows_this_epoch = 0;  // this rank's
    for (int64_t s = cursor.step % steps_per_epoch; s < steps_per_epoch && cursor.step < total_steps; ++s) {
      const int64_t global_rows = feed_.GlobalRowsInStep(s);
      // A rank whose data cannot be read computes nothing this step; the agreement below stops all ranks.
      StatusOr<BatchView> next = feed_.Batch(epoch, s);
      const BatchView batch = next.ok() ? *next : BatchView{};
      rows_this_epoch += batch.num_rows;
      auto phase_start = Clock::now();
      const auto end_phase = [&phase_start](double& total) {  // adds the time since the last phase ended
        const auto now = Clock::now();
        total += std::chrono::duration<double>(now - phase_start).count();
        phase_start = now;
      };
      // Each rank adds its rows' share of the global mean loss, in accumulation_steps micro-batches;
      // the sync sums the shares over ranks.
      const int64_t micro_batches = train.accumulation_steps;
      double local_loss = 0;
      grad_sync_.BeginStep(grads_);
      model_.SetTrainingStep(static_cast<uint64_t>(train.seed), cursor.step);  // dropout masks follow the step
      for (int64_t k = 0; k < micro_batches; ++k) {
        const BatchView micro = SliceRows(batch, batch.num_rows * k / micro_batches,
                                          batch.num_rows * (k + 1) / micro_batches);
        // Buckets may start only once the last micro-batch has made the gradients final.
        local_loss += model_.ForwardBackward(micro, params_, grads_, 1.0f / static_cast<float>(global_rows),
                                             &grad_sync_.selection(), k + 1 == micro_batches ? &grad_sync_ : nullptr);
      }
      end_phase(result.forward_backward_seconds);
      {
        InCollective waiting(watchdog_, "the gradient sync", cursor.step, grad_sync_.dense_equivalent_bytes());
        grad_sync_.Synchronize(grads_);
      }
      phase_start = Clock::now();  // Synchronize times itself
      result.sync_bytes_last_step = grad_sync_.bytes_last_step();
      const bool finite = std::isfinite(local_loss);
      if (!finite) {
        LOG_WARNING << "non-finite loss in epoch " << epoch + 1 << ", step " << cursor.step + 1 << " ("
                    << batch.num_rows << " rows of this rank)";
      }
      const bool minutes_due = chief_ && config_.checkpoint.every_minutes > 0 &&
                               SecondsSince(last_checkpoint_time) >= 60.0 * config_.checkpoint.every_minutes;
      // A checkpoint write that failed in the background stops the job now, not at the next one.
      const Status checkpoint_failure = chief_ ? writer_->Failure() : Status::Ok();
      // The collective decisions of this step, agreed in one small all-reduce.
      std::array<double, 6> agreed{finite ? local_loss : 0.0,      finite ? 0.0 : 1.0,
                                   StopSignalReceived() ? 1.0 : 0.0, minutes_due ? 1.0 : 0.0,
                                   next.ok() ? 0.0 : 1.0,          checkpoint_failure.ok() ? 0.0 : 1.0};
      {
        InCollective waiting(watchdog_, "the step agreement all-reduce", cursor.step, 48);
        comm_.AllReduce(std::span<double>(agreed));
      }
      end_phase(result.agreement_seconds);
      if (agreed[4] > 0) {
        return next.ok() ? FailedElsewhere("reading the training data failed on another rank; see that rank's message")
                         : next.status();
      }
      if (agreed[5] > 0) {
        return chief_ ? checkpoint_failure
                      : Internal("writing a checkpoint failed on rank 0; see its message");
      }
      const bool skip = agreed[1] > 0 && train.on_nan == "skip";
      if (agreed[1] > 0 && !skip) {
        return Internal("training stopped: the loss became non-finite at epoch " + std::to_string(epoch + 1) +
                        ", step " + std::to_string(cursor.step + 1) + " on " + std::to_string(int64_t(agreed[1])) +
                        " rank(s) (see the warnings above); lower optimizer.learning_rate, check the data, or "
                        "set train.on_nan: skip");
      }
      if (skip) {
        ++result.skipped_steps;
        if (chief_) {
          LOG_WARNING << "skipped step " << cursor.step + 1 << ": non-finite loss on " << int64_t(agreed[1])
                      << " rank(s) (train.on_nan: skip)";
        }
        agreed[0] = 0;
      } else {
        optimizer_->Step(params_, grads_, &grad_sync_.selection());
      }
      grad_sync_.ZeroGradients(grads_);
      // Collective: with one shared copy, every rank's part of the step is in place before any
      // rank reads the parameters again.
      if (shared_model_ != nullptr) {
        InCollective waiting(watchdog_, "the barrier after the shared model's update", cursor.step, 0);
        comm_.Barrier();
      }
      end_phase(result.optimizer_seconds);
      ++cursor.step;
      global_rows_done += global_rows;
      cursor.epoch_loss_sum += agreed[0];
      cursor.epoch_rows += skip ? 0 : global_rows;
      if (result.seconds_to_first_step == 0.0) {
        result.seconds_to_first_step = SecondsSince(launch_time);
        LOG_INFO << "first step done " << FormatSeconds(result.seconds_to_first_step) << " after launch";
      }
      progress.Update(epoch, num_epochs, cursor.step, agreed[0] / static_cast<double>(global_rows),
                      static_cast<double>(global_rows_done) / std::max(train_seconds + SecondsSince(epoch_start), 1e-9));
      if (train.verify_every_steps > 0 && cursor.step % train.verify_every_steps == 0) {
        RETURN_IF_ERROR(VerifyParametersIdentical(cursor.step));
      }
      const bool stop = agreed[2] > 0;
      const bool every_steps_due = config_.checkpoint.every_steps > 0 && cursor.step % config_.checkpoint.every_steps == 0;
      if ((stop || every_steps_due || agreed[3] > 0) && cursor.step < total_steps) {
        RETURN_IF_ERROR(AgreeOk(SaveCheckpoint(cursor, false, /*last=*/stop), "writing a checkpoint"));
        last_saved_step = cursor.step;
        last_checkpoint_time = Clock::now();
      }
      if (stop && cursor.step < total_steps) {
        progress.Finish();
        RETURN_IF_ERROR(AgreeOk(chief_ ? writer_->Wait() : Status::Ok(), "writing the checkpoint before stopping"));
        const int signal_number = StopSignalReceived();
        return Interrupted(std::string("stopped by ") +
                           (signal_number ? SignalName(signal_number) : "a signal received by another rank") +
                           " at step " + std::to_string(cursor.step) + " after writing a checkpoint in " +
                           config_.checkpoint_dir() + "; run the same command again to resume");
      }
    }
    epochs_run = epoch + 1;
    WarnIfRanksGotNoRows(epoch, rows_this_epoch);
    const double epoch_seconds = SecondsSince(epoch_start);
    const double epoch_wait = feed_.wait_seconds() - epoch_wait_start;
    train_seconds += epoch_seconds;
    progress.Finish();
    char wait_share[16];
    // Fixed width: the line's length (and so its allocations) must not depend on timing.
    std::snprintf(wait_share, sizeof(wait_share), "%5.1f%%", 100.0 * epoch_wait / std::max(epoch_seconds, 1e-9));
    LOG_INFO << "epoch " << epoch + 1 << ": waited for data " << FormatSeconds(epoch_wait) << " (" << wait_share
             << " of the step time)";
    const double mean_loss = cursor.epoch_loss_sum / static_cast<double>(std::max<int64_t>(cursor.epoch_rows, 1));
    cursor.epoch_loss_sum = 0;
    cursor.epoch_rows = 0;
    result.final_train_loss = mean_loss;
    if (chief_) {
      nlohmann::json line = {{"event", "epoch"}, {"epoch", epoch + 1}, {"step", cursor.step}, {"train_loss", mean_loss},
                             {"samples_per_second", global_rows_done / std::max(train_seconds, 1e-9)},
                             {"data_wait_seconds", epoch_wait}};
      metrics_log_.Append(line.dump());
    }
    const bool last_epoch = epoch + 1 == num_epochs;
    const int64_t every = config_.eval.every_epochs;
    if (last_epoch || (every > 0 && (epoch + 1) % every == 0)) {
      RETURN_IF_ERROR(AgreeOk(Evaluate(params_, epoch, cursor.step, mean_loss, last_epoch, result), "evaluation"));
      // Rank 0 decides whether this is the best checkpoint so far and whether to stop early;
      // all ranks learn both.
      std::vector<int64_t> decided{0, 0, cursor.evals_since_best};  // is best, stop early, evals since best
      if (chief_ && !keep_best.empty()) {
        const double value = result.test_metrics->Get(keep_best);
        if (Improves(keep_best, value, cursor.best_metric)) {
          cursor.best_metric = value;
          decided[0] = 1;
          decided[2] = 0;
        } else {
          ++decided[2];
        }
        decided[1] = patience > 0 && decided[2] >= patience && !last_epoch;
      }
      comm_.Broadcast(std::span<int64_t>(decided), 0);
      cursor.evals_since_best = decided[2];
      if (decided[0] != 0) {
        RETURN_IF_ERROR(AgreeOk(SaveCheckpoint(cursor, true), "writing the best checkpoint"));
        last_saved_step = cursor.step;
      }
      if (decided[1] != 0) {
        if (chief_) {
          LOG_INFO << "early stopping: test " << keep_best << " has not improved for " << decided[2]
                   << " evaluation(s) (eval.early_stopping_patience); the best checkpoint has " << keep_best << " "
                   << cursor.best_metric;
        }
        result.stopped_early = true;
        break;
      }
    }
  }
  if (last_saved_step != cursor.step) {
    RETURN_IF_ERROR(AgreeOk(SaveCheckpoint(cursor, false, /*last=*/true), "writing the final checkpoint"));
  }
  RETURN_IF_ERROR(AgreeOk(chief_ ? writer_->Wait() : Status::Ok(), "writing the final checkpoint"));
  // Early stopping keeps the best checkpoint: that is the model the run delivers, so it is the one
  // evaluated last, with the test predictions.
  if (result.stopped_early) {
    RETURN_IF_ERROR(AgreeOk(EvaluateBest(epochs_run - 1, cursor.step, result), "evaluating the best checkpoint"));
  }

  result.steps = cursor.step;
  result.epochs = epochs_run;
  result.train_seconds = train_seconds;
  result.samples_per_second = static_cast<double>(global_rows_done) / std::max(train_seconds, 1e-9);
  result.sync_exposed_seconds = grad_sync_.exposed_seconds();
  result.sync_row_sparse_seconds = grad_sync_.row_sparse_seconds();
  result.data_wait_seconds = feed_.wait_seconds() - run_wait_start;
  result.state_bytes = params_.size();
  for (const auto& [name, arena] : optimizer_->state()) result.state_bytes += arena->size();
  result.state_bytes = result.state_bytes * static_cast<int64_t>(sizeof(float)) + grad_sync_.gradient_bytes();
  result.workspace_bytes = model_.workspace_bytes();
  result.reader_bound_bytes = feed_.buffer_bytes();
  result.data_in_memory_bytes = feed_.memory_bytes();
  result.snapshot_bytes = chief_ ? writer_->snapshot_bytes() : 0;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  result.peak_rss_bytes = static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux: kilobytes
  if (chief_) {
    const auto mb = [](int64_t bytes) { return static_cast<double>(bytes) / 1e6; };
    char in_memory[64] = "";
    if (result.data_in_memory_bytes > 0) {
      std::snprintf(in_memory, sizeof(in_memory), ", training data in memory %.1f MB", mb(result.data_in_memory_bytes));
    }
    char memory[360];
    std::snprintf(memory, sizeof(memory),
                  "memory: peak %.1f MB resident; parameters, gradients and optimizer state %.1f MB%s, model workspace "
                  "%.1f MB, reader buffers <= %.1f MB%s, checkpoint snapshot %.1f MB",
                  mb(result.peak_rss_bytes), mb(result.state_bytes),
                  shared_model_ ? " (parameters and optimizer state one copy for the host's ranks)" : "",
                  mb(result.workspace_bytes), mb(result.reader_bound_bytes), in_memory, mb(result.snapshot_bytes));
    LOG_INFO << memory;
    const auto share = [&result](double seconds) {
      char text[16];
      std::snprintf(text, sizeof(text), "%.0f%%", 100.0 * seconds / std::max(result.train_seconds, 1e-9));
      return std::string(text);
    };
    const double other = result.train_seconds - result.data_wait_seconds - result.forward_backward_seconds -
                         result.sync_exposed_seconds - result.agreement_seconds - result.optimizer_seconds;
    LOG_INFO << "step loop " << FormatSeconds(result.train_seconds) << " on rank 0: forward+backward "
             << share(result.forward_backward_seconds) << ", gradient sync " << share(result.sync_exposed_seconds)
             << " (row-sparse tables " << share(result.sync_row_sparse_seconds) << "), step agreement "
             << share(result.agreement_seconds) << ", optimizer " << share(result.optimizer_seconds)
             << ", waiting for data " << share(result.data_wait_seconds) << ", other " << share(other);
    if (!result.stopped_early) result.checkpoint_path = writer_->last_path();
    result.checkpoint_stall_seconds = writer_->stalled_seconds();
    nlohmann::json line = {{"event", "done"},
                           {"steps", cursor.step},
                           {"epochs", epochs_run},
                           {"train_seconds", train_seconds},
                           {"samples_per_second", result.samples_per_second},
                           {"seconds_to_first_step", result.seconds_to_first_step},
                           {"checkpoint_stall_seconds", result.checkpoint_stall_seconds},
                           {"skipped_steps", result.skipped_steps},
                           {"stopped_early", result.stopped_early},
                           {"sync_bytes_per_step", result.sync_bytes_last_step},
                           {"sync_exposed_seconds", result.sync_exposed_seconds},
                           {"sync_row_sparse_seconds", result.sync_row_sparse_seconds},
                           {"forward_backward_seconds", result.forward_backward_seconds},
                           {"agreement_seconds", result.agreement_seconds},
                           {"optimizer_seconds", result.optimizer_seconds},
                           {"data_wait_seconds", result.data_wait_seconds},
                           {"peak_rss_mb", result.peak_rss_bytes / 1e6},
                           {"state_mb", result.state_bytes / 1e6},
                           {"workspace_mb", result.workspace_bytes / 1e6},
                           {"reader_bound_mb", result.reader_bound_bytes / 1e6},
                           {"data_in_memory_mb", result.data_in_memory_bytes / 1e6},
                           {"checkpoint_snapshot_mb", result.snapshot_bytes / 1e6},
                           {"checkpoint", result.checkpoint_path}};
    if (result.resumed_from_step >= 0) line["resumed_from_step"] = result.resumed_from_step;
    if (result.best_step >= 0) line["best_step"] = result.best_step;
    if (result.test_metrics) line["test"] = MetricsJson(*result.test_metrics);
    metrics_log_.Append(line.dump());
  }
  return result;
}

}  // namespace ectrain::train
