#include "train/trainer.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "core/log.h"
#include "core/version.h"
#include "train/evaluator.h"

namespace ectrain::train {
namespace {
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string FormatSeconds(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f s", seconds);
  return buf;
}

nlohmann::json MetricsJson(const BinaryMetrics& m) {
  return {{"auc", m.auc},           {"log_loss", m.log_loss},           {"accuracy", m.accuracy},
          {"positive_rate", m.positive_rate}, {"mean_prediction", m.mean_prediction}, {"count", m.count}};
}
}  // namespace

Trainer::Trainer(const RunConfig& config, comm::Communicator& comm, model::CtrModel& model, DataFeed& feed)
    : config_(config),
      comm_(comm),
      model_(model),
      feed_(feed),
      chief_(comm.rank() == 0),
      params_(model.layout()),
      grads_(model.layout()),
      optimizer_(optim::Optimizer::Create(config.optimizer, model.layout())),
      checkpoints_(config.checkpoint_dir(), config.checkpoint.keep_last) {}

Status Trainer::AgreeOk(const Status& local, const std::string& what) {
  return comm::AgreeOk(comm_, local, what);
}

Status Trainer::Evaluate(int64_t epoch, int64_t step, double train_loss, bool last, TrainResult& result) {
  if (!chief_) return Status::Ok();
  auto start = Clock::now();
  std::vector<float> logits = ScoreTable(model_, params_, test_, config_.eval.batch_size);
  BinaryMetrics m = ComputeBinaryMetrics(logits, test_.labels);
  if (last) RETURN_IF_ERROR(WriteProbabilities(logits, config_.train.output_dir + "/test_predictions.csv"));
  result.test_metrics = m;
  LOG_INFO << "epoch " << epoch + 1 << "/" << config_.train.epochs << "  step " << step << "  train_loss "
           << train_loss << "  test: " << FormatMetrics(m) << "  [" << FormatSeconds(SecondsSince(start)) << "]";
  nlohmann::json line = {{"event", "eval"}, {"epoch", epoch + 1}, {"step", step}, {"train_loss", train_loss}};
  line["test"] = MetricsJson(m);
  metrics_log_.Append(line.dump());
  return Status::Ok();
}

Status Trainer::SaveCheckpoint(int64_t epoch, int64_t step, TrainResult& result) {
  if (!chief_) return Status::Ok();
  auto start = Clock::now();
  ckpt::CheckpointInfo info;
  info.binary_version = ECTRAIN_VERSION;
  info.config_yaml = config::ToYaml(config_);
  info.schema_json = feed_.schema().ToJson();
  info.layout = model_.layout().Describe();
  info.step = step;
  info.epoch = epoch;
  info.optimizer = optimizer_->type();
  ASSIGN_OR_RETURN(result.checkpoint_path, checkpoints_.Save(info, model_.layout(), params_, *optimizer_));
  LOG_INFO << "checkpoint " << result.checkpoint_path << " written in " << FormatSeconds(SecondsSince(start));
  return Status::Ok();
}

Status Trainer::PrepareOutputs() {
  if (!chief_) return Status::Ok();
  const std::string& dir = config_.train.output_dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::ofstream(dir + "/config.yaml") << config::ToYaml(config_);
  metrics_log_ = MetricsLog(dir + "/metrics.jsonl");
  if (ec || !metrics_log_.enabled()) {
    return Internal("cannot write to train.output_dir '" + dir + "': check the path and permissions");
  }
  metrics_log_.Append(nlohmann::json{{"event", "start"}, {"world_size", comm_.size()}, {"ectrain_version", ECTRAIN_VERSION}}
                          .dump());
  LOG_INFO << "resolved configuration (saved as " << dir << "/config.yaml):\n" << config::ToYaml(config_);
  ASSIGN_OR_RETURN(data::ColumnFile test_file, data::ColumnFile::Open(config_.data.test));
  ASSIGN_OR_RETURN(test_, test_file.ReadAll(feed_.schema(), /*with_labels=*/true));
  if (test_.num_rows == 0) return DataError("test data " + config_.data.test + " has no rows");
  return Status::Ok();
}

StatusOr<TrainResult> Trainer::Run(Clock::time_point launch_time) {
  const auto& train = config_.train;
  const int64_t steps_per_epoch = feed_.steps_per_epoch();
  int64_t total_steps = train.epochs * steps_per_epoch;
  if (train.max_steps > 0) total_steps = std::min(total_steps, train.max_steps);
  const int64_t num_epochs = (total_steps + steps_per_epoch - 1) / steps_per_epoch;

  RETURN_IF_ERROR(AgreeOk(PrepareOutputs(), "preparing the outputs and test data"));
  if (chief_) {
    LOG_INFO << "ranks " << comm_.size() << " (" << comm_.name() << ")  training rows " << feed_.num_rows()
             << "  test rows " << test_.num_rows << "  global batch " << train.global_batch_size
             << "  steps/epoch " << steps_per_epoch << "  parameters " << model_.layout().num_parameters();
  }

  if (chief_) model_.Initialize(params_, static_cast<uint64_t>(train.seed));
  comm_.Broadcast(params_.span(), 0);  // Collective: every rank starts from rank 0's parameters.

  TrainResult result;
  ProgressReporter progress(chief_, total_steps, train.log_every_steps);
  int64_t step = 0;
  double train_seconds = 0.0;
  int64_t global_rows_done = 0;
  double epoch_loss_sum = 0.0;
  int64_t epoch_rows = 0;
  for (int64_t epoch = 0; epoch < num_epochs; ++epoch) {
    RETURN_IF_ERROR(AgreeOk(feed_.LoadEpoch(epoch), "reading the training data"));
    epoch_loss_sum = 0.0;
    epoch_rows = 0;
    auto epoch_start = Clock::now();
    for (int64_t s = 0; s < steps_per_epoch && step < total_steps; ++s) {
      const int64_t global_rows = feed_.GlobalRowsInStep(s);
      const BatchView batch = feed_.Batch(s);
      grads_.SetZero();
      // Each rank adds its rows' share of the global mean loss; the all-reduce sums the shares.
      double local_loss = model_.ForwardBackward(batch, params_, grads_, 1.0f / static_cast<float>(global_rows));
      comm_.AllReduce(grads_.span());  // Collective: all ranks, same order.
      const bool finite = std::isfinite(local_loss);
      if (!finite) {
        LOG_WARNING << "non-finite loss in epoch " << epoch + 1 << ", step " << step + 1 << " (" << batch.num_rows
                    << " rows of this rank)";
      }
      std::vector<double> agreed{finite ? local_loss : 0.0, finite ? 0.0 : 1.0};
      comm_.AllReduce(std::span<double>(agreed));  // Collective: loss and the non-finite vote.
      if (agreed[1] > 0) {
        return Internal("training stopped: the loss became non-finite at epoch " + std::to_string(epoch + 1) +
                        ", step " + std::to_string(step + 1) + " on " + std::to_string(int64_t(agreed[1])) +
                        " rank(s) (see the warnings above); lower optimizer.learning_rate or check the data");
      }
      optimizer_->Step(params_, grads_);
      ++step;
      global_rows_done += global_rows;
      epoch_loss_sum += agreed[0];
      epoch_rows += global_rows;
      if (step == 1) {
        result.seconds_to_first_step = SecondsSince(launch_time);
        LOG_INFO << "first step done " << FormatSeconds(result.seconds_to_first_step) << " after launch";
      }
      double elapsed = train_seconds + SecondsSince(epoch_start);
      progress.Update(epoch, num_epochs, step, agreed[0] / static_cast<double>(global_rows),
                      static_cast<double>(global_rows_done) / std::max(elapsed, 1e-9));
      if (config_.checkpoint.every_steps > 0 && step % config_.checkpoint.every_steps == 0 && step < total_steps) {
        train_seconds += SecondsSince(epoch_start);
        RETURN_IF_ERROR(AgreeOk(SaveCheckpoint(epoch, step, result), "writing a checkpoint"));
        epoch_start = Clock::now();
      }
    }
    train_seconds += SecondsSince(epoch_start);
    progress.Finish();
    const double mean_loss = epoch_loss_sum / static_cast<double>(std::max<int64_t>(epoch_rows, 1));
    const bool last_epoch = epoch + 1 == num_epochs;
    if (chief_) {
      nlohmann::json line = {{"event", "epoch"}, {"epoch", epoch + 1}, {"step", step}, {"train_loss", mean_loss},
                             {"samples_per_second", global_rows_done / std::max(train_seconds, 1e-9)}};
      metrics_log_.Append(line.dump());
    }
    const int64_t every = config_.eval.every_epochs;
    if (last_epoch || (every > 0 && (epoch + 1) % every == 0)) {
      RETURN_IF_ERROR(AgreeOk(Evaluate(epoch, step, mean_loss, last_epoch, result), "evaluation"));
    }
    result.final_train_loss = mean_loss;
  }
  RETURN_IF_ERROR(AgreeOk(SaveCheckpoint(num_epochs, step, result), "writing the final checkpoint"));

  result.steps = step;
  result.epochs = num_epochs;
  result.train_seconds = train_seconds;
  result.samples_per_second = static_cast<double>(global_rows_done) / std::max(train_seconds, 1e-9);
  if (chief_) {
    nlohmann::json line = {{"event", "done"}, {"steps", step}, {"epochs", num_epochs},
                           {"train_seconds", train_seconds}, {"samples_per_second", result.samples_per_second},
                           {"seconds_to_first_step", result.seconds_to_first_step},
                           {"checkpoint", result.checkpoint_path}};
    if (result.test_metrics) line["test"] = MetricsJson(*result.test_metrics);
    metrics_log_.Append(line.dump());
  }
  return result;
}

}  // namespace ectrain::train
