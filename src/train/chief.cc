#include "train/chief.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "config/config.h"
#include "core/format.h"
#include "core/log.h"
#include "core/version.h"
#include "data/label_prior.h"
#include "eval/evaluator.h"
#include "eval/recommend.h"
#include "train/progress.h"
#include "train/run_lock.h"
#include "train/tensorboard_writer.h"

namespace ectrain::train {
namespace {
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

// Wall-clock time as Unix seconds (metrics.jsonl's "time").
double UnixSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double SecondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// NaN (no value yet) is beaten by anything.
bool Improves(const std::string& metric, double value, double best) {
  if (std::isnan(value)) return false;
  if (std::isnan(best)) return true;
  return eval::HigherIsBetter(metric) ? value > best : value < best;
}

std::string UtcStamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%d-%H%M%S", &tm);
  return buf;
}

// Whether `inner` lies inside `outer` (both may not exist yet).
bool Inside(const std::string& inner, const std::string& outer) {
  std::error_code ec;
  const auto relative = fs::relative(fs::weakly_canonical(inner, ec), fs::weakly_canonical(outer, ec), ec);
  return !ec && !relative.empty() && *relative.begin() != "..";
}

class Chief final : public RankDuties {
 public:
  Chief(int world_size, const RunConfig& config, model::Model& model, const DataFeed& feed, const RunPlan& plan)
      : world_size_(world_size),
        config_(config),
        model_(model),
        feed_(feed),
        plan_(plan),
        writer_(config.checkpoint_dir(), config.checkpoint.keep_last, model.layout()) {}

  Status ClaimRunFolder(ResumeMode mode) override;
  StatusOr<bool> InitializeOrResume(ResumeMode mode, ParamArena& params, optim::Optimizer& optimizer,
                                    TrainingCursor& cursor) override;
  Status OpenOutputs() override;
  void Info(const std::string& line) override { LOG_INFO << line; }
  void Warn(const std::string& line) override { LOG_WARNING << line; }
  Status Evaluate(const ParamArena& params, int64_t epoch, int64_t step, double train_loss, bool last,
                  TrainResult& result) override;
  Status EvaluateBest(const ParamArena& params, int64_t epoch, int64_t step, TrainResult& result) override;
  BestDecision DecideBest(const TrainingCursor& cursor, const TrainResult& result, bool last_epoch) override;
  Status SaveCheckpoint(const TrainingCursor& cursor, const ParamArena& params, optim::Optimizer& optimizer,
                        bool is_best, bool last) override;
  bool CheckpointDue() override {
    return config_.checkpoint.every_minutes > 0 &&
           SecondsSince(last_checkpoint_) >= 60.0 * config_.checkpoint.every_minutes;
  }
  Status CheckpointFailure() override { return writer_.Failure(); }
  Status WaitForCheckpoints() override { return writer_.Wait(); }
  void LogSteps(const StepsLine& line) override {
    Record(nlohmann::json{{"event", "step"},
                          {"time", UnixSeconds()},
                          {"epoch", line.epoch + 1},
                          {"step", line.step},
                          {"train_loss", line.loss},
                          {"learning_rate", line.learning_rate},
                          {"samples_per_second", line.samples_per_second},
                          {"data_wait_seconds", line.data_wait_seconds}});
  }
  void LogEpoch(int64_t epoch, int64_t step, double train_loss, double samples_per_second,
                double data_wait_seconds) override {
    Record(nlohmann::json{{"event", "epoch"},
                          {"time", UnixSeconds()},
                          {"epoch", epoch + 1},
                          {"step", step},
                          {"train_loss", train_loss},
                          {"samples_per_second", samples_per_second},
                          {"data_wait_seconds", data_wait_seconds}});
  }
  void ReportDone(TrainResult& result) override;
  std::string resumed_path() const override { return resumed_path_; }
  int64_t test_rows() const override { return test_.num_rows; }
  bool reports() const override { return true; }

 private:
  Status CheckResumable(const ckpt::CheckpointInfo& info, const std::string& path) const;
  // A line of metrics.jsonl, and its values in the TensorBoard events (train.tensorboard).
  void Record(const nlohmann::json& line) {
    metrics_log_.Append(line.dump());
    tensorboard_.WriteMetricsLine(line);
  }
  // `params`' metrics on `table` (`what`: "test" or "validation"), and its predictions when asked.
  StatusOr<eval::Metrics> Score(const ParamArena& params, const data::Table& table, const std::string& what,
                                int64_t step, bool write_predictions);
  Status CheckKeepBest(const eval::Metrics& m) const;
  // eval.metrics for this run's evaluation rows; for a ranking, the catalogue of the training rows.
  Status ChooseMetrics();
  bool has_validation() const { return !config_.data.validation.empty(); }

  const int world_size_;
  const RunConfig& config_;
  model::Model& model_;
  const DataFeed& feed_;
  const RunPlan plan_;
  ckpt::AsyncCheckpointWriter writer_;
  RunFolderLock output_lock_, checkpoint_lock_;
  MetricsLog metrics_log_;
  TensorBoardWriter tensorboard_;  // disabled without train.tensorboard
  data::Table test_;
  data::Table validation_;                          // data.validation's rows, or none
  std::optional<eval::RankingEvaluation> ranking_;  // evaluations are rankings
  std::set<std::string> baseline_logged_;           // the sets whose most-popular figures were logged
  std::string resumed_path_;
  int64_t resumed_step_ = 0;  // the checkpoint's step; 0 on a fresh run
  Clock::time_point last_checkpoint_ = Clock::now();
};

Status Chief::ClaimRunFolder(ResumeMode mode) {
  const std::string& dir = config_.train.output_dir;
  const std::string checkpoints = config_.checkpoint_dir();
  ASSIGN_OR_RETURN(output_lock_, RunFolderLock::Acquire(dir, "train.output_dir"));
  // A checkpoint folder outside the run folder is locked too: two runs must not share it.
  const bool separate = !Inside(checkpoints, dir);
  std::error_code ec;
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

Status Chief::CheckResumable(const ckpt::CheckpointInfo& info, const std::string& path) const {
  ASSIGN_OR_RETURN(RunConfig stored,
                   config::ParseConfig(info.config_yaml, {}, path + " (stored config)", config::ConfigOrigin::kStored));
  auto refuse = [&](const std::string& key, const std::string& now, const std::string& then) {
    return InvalidArgument("cannot resume from " + path + ": " + key + " is " + now + " in this run but " + then +
                           " in the checkpoint, and the data position depends on it; set it back, or start over "
                           "with --fresh (the old checkpoints are kept aside)");
  };
  const auto& train = config_.train;
  if (stored.train.global_batch_size != train.global_batch_size) {
    return refuse("train.global_batch_size", std::to_string(train.global_batch_size),
                  std::to_string(stored.train.global_batch_size));
  }
  if (stored.train.seed != train.seed) {
    return refuse("train.seed", std::to_string(train.seed), std::to_string(stored.train.seed));
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

StatusOr<bool> Chief::InitializeOrResume(ResumeMode mode, ParamArena& params, optim::Optimizer& optimizer,
                                         TrainingCursor& cursor) {
  model_.Initialize(params, static_cast<uint64_t>(config_.train.seed));
  if (config_.model.initial_bias == "prior") {
    // From the first rows of the training files: enough for a base rate, and quick on any data.
    constexpr int64_t kPriorRows = int64_t{1} << 22;
    ASSIGN_OR_RETURN(const std::vector<double> prior, data::LabelPrior(feed_.files(), feed_.schema(), kPriorRows));
    model_.InitializeOutputBias(params, prior);
  }
  if (mode == ResumeMode::kFresh) return false;
  const std::string dir = config_.checkpoint_dir();
  ckpt::CheckpointInfo info;
  StatusOr<ckpt::ChosenCheckpoint> chosen = ckpt::LoadNewestVerified(dir, [&](const std::string& path) {
    ASSIGN_OR_RETURN(info, ckpt::ReadCheckpointInfo(path));
    RETURN_IF_ERROR(CheckResumable(info, path));
    return ckpt::LoadCheckpoint(path, model_.layout(), params, &optimizer);
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
  resumed_step_ = info.step;
  cursor = {info.step,        info.epoch_loss_sum,   info.epoch_rows,
            info.best_metric, info.evals_since_best, info.rate_reductions};
  LOG_INFO << "resuming from " << chosen->path << ": step " << info.step << " (epoch " << info.epoch + 1 << ", step "
           << info.step_in_epoch << " within it), written by " << info.world_size << " rank(s); now " << world_size_
           << " rank(s)";
  return true;
}

Status Chief::OpenOutputs() {
  const std::string& dir = config_.train.output_dir;
  const std::string config_path = dir + "/config.yaml";
  {
    std::ofstream config_file(config_path, std::ios::trunc);
    config_file << config::ToYaml(config_);
    if (!config_file.flush()) {
      return Internal("cannot write " + config_path + ": " + std::strerror(errno) +
                      "; check the folder and free space");
    }
  }
  metrics_log_ = MetricsLog(dir + "/metrics.jsonl");
  if (!metrics_log_.enabled()) {
    return Internal("cannot write " + dir + "/metrics.jsonl: " + std::strerror(errno) +
                    "; check the path and permissions of train.output_dir");
  }
  if (config_.train.tensorboard) {
    ASSIGN_OR_RETURN(tensorboard_, TensorBoardWriter::Open(dir + "/tensorboard", resumed_step_));
    tensorboard_.WriteText("config", resumed_step_, config::ToYaml(config_));
    LOG_INFO << "TensorBoard events in " << tensorboard_.path() << " (tensorboard --logdir " << dir << ")";
  }
  metrics_log_.Append(
      nlohmann::json{{"event", "start"}, {"world_size", world_size_}, {"ectrain_version", ECTRAIN_VERSION}}.dump());
  // The whole configuration (a hundred lines) only with --verbose: the file has it.
  LOG_INFO << "resolved configuration saved as " << config_path << " (ectrain --verbose train prints it here)";
  LOG_DEBUG << "resolved configuration:\n" << config::ToYaml(config_);
  ASSIGN_OR_RETURN(data::ColumnFile test_file, data::ColumnFile::Open(config_.data.test));
  ASSIGN_OR_RETURN(test_, test_file.ReadAll(feed_.schema(), /*with_labels=*/true));
  if (test_.num_rows == 0) return DataError("test data " + config_.data.test + " has no rows");
  if (has_validation()) {
    ASSIGN_OR_RETURN(data::ColumnFile validation_file, data::ColumnFile::Open(config_.data.validation));
    ASSIGN_OR_RETURN(validation_, validation_file.ReadAll(feed_.schema(), /*with_labels=*/true));
    if (validation_.num_rows == 0) return DataError("validation data " + config_.data.validation + " has no rows");
  }
  RETURN_IF_ERROR(ChooseMetrics());
  last_checkpoint_ = Clock::now();  // checkpoint.every_minutes counts from here
  return Status::Ok();
}

Status Chief::ChooseMetrics() {
  const data::DataOptions& d = config_.data;
  std::vector<const data::Table*> sets = {&test_};
  if (has_validation()) sets.push_back(&validation_);
  ASSIGN_OR_RETURN(
      const eval::MetricsChoice choice,
      eval::ChooseMetrics(config_.eval.metrics, !d.user_column.empty() && !d.item_column.empty(), model_.task(), sets));
  if (choice.per_row_undefined) {
    LOG_WARNING << "every evaluated row is a positive, so auc and the other per-row metrics say little ("
                << choice.reason << "); name data.user_column and data.item_column to evaluate as a ranking";
  }
  const std::string& keep_best = config_.checkpoint.keep_best;
  if (!keep_best.empty() && eval::IsRankingMetric(keep_best) != choice.ranking) {
    const std::string k = std::to_string(config_.eval.ranking_k);
    return InvalidArgument("checkpoint.keep_best: '" + keep_best + "' is " +
                           (choice.ranking ? "a per-row metric" : "a ranking metric") + ", but this run evaluates " +
                           (choice.ranking ? "as a ranking" : "per row") + " (" + choice.reason + "); choose " +
                           (choice.ranking ? "hr@" + k + ", ndcg@" + k + " or recall@" + k
                                           : std::string("a metric of the model's task (auc, log_loss, rmse, ...)")) +
                           ", or set eval.metrics");
  }
  if (!choice.ranking) return Status::Ok();
  LOG_INFO << "evaluations rank items (" << choice.reason << "): hr@K, ndcg@K, recall@K at K " << config_.eval.ranking_k
           << " over every item of " << d.train << " but those each user has there";
  ASSIGN_OR_RETURN(ranking_,
                   eval::RankingEvaluation::Create(d.train, feed_.schema(), *feed_.schema_json(), d.user_column,
                                                   d.item_column, static_cast<int>(config_.eval.ranking_k)));
  return Status::Ok();
}

StatusOr<eval::Metrics> Chief::Score(const ParamArena& params, const data::Table& table, const std::string& what,
                                     int64_t step, bool write_predictions) {
  const auto failed = [&](const Status& s) {
    return Status(s.code(), "evaluation (" + what + ") at step " + std::to_string(step) + ": " + s.message());
  };
  StatusOr<std::vector<float>> outputs = std::vector<float>{};
  if (!ranking_ || write_predictions) {
    outputs = eval::ScoreTable(model_, params, table, config_.eval.batch_size);
    if (!outputs.ok()) return failed(outputs.status());
  }
  if (write_predictions) {
    RETURN_IF_ERROR(eval::WritePredictions(model_, *outputs, feed_.schema().label_classes,
                                           config_.train.output_dir + "/test_predictions.csv"));
  }
  if (!ranking_) return eval::MetricsOf(model_, *outputs, table.labels);
  StatusOr<eval::RankingReport> report = ranking_->Evaluate(model_, params, table, config_.eval.batch_size);
  if (!report.ok()) return failed(report.status());
  if (baseline_logged_.insert(what).second) {
    LOG_INFO << what << " ranking: " << report->users << " users, " << ranking_->catalog().num_items()
             << " items; the most-popular baseline has " << eval::FormatMetrics(report->popular);
  }
  return report->model;
}

Status Chief::CheckKeepBest(const eval::Metrics& m) const {
  const std::string& keep_best = config_.checkpoint.keep_best;
  if (keep_best.empty() || m.Has(keep_best)) return Status::Ok();
  std::string reported;
  for (const auto& [name, value] : m.values) reported += (reported.empty() ? "" : ", ") + name;
  return InvalidArgument("checkpoint.keep_best: this model's evaluation does not report '" + keep_best +
                         "'; choose one of: " + reported);
}

Status Chief::Evaluate(const ParamArena& params, int64_t epoch, int64_t step, double train_loss, bool last,
                       TrainResult& result) {
  const auto start = Clock::now();
  const bool best = result.best_step >= 0;  // EvaluateBest: the kept checkpoint, not the step's parameters
  nlohmann::json line = best ? nlohmann::json{{"event", "best"}, {"step", result.best_step}}
                             : nlohmann::json{{"event", "eval"}, {"epoch", epoch + 1}, {"step", step}};
  // An evaluation with no training before it (a run already complete) has no training loss.
  if (!best && std::isfinite(train_loss)) line["train_loss"] = train_loss;
  std::string shown;
  if (has_validation()) {
    ASSIGN_OR_RETURN(const eval::Metrics m, Score(params, validation_, "validation", step, false));
    RETURN_IF_ERROR(CheckKeepBest(m));
    result.validation_metrics = m;
    line["validation"] = MetricsJson(m);
    shown += "  validation: " + eval::FormatMetrics(m);
  }
  // With a validation set nothing is chosen on the test rows: they are scored once, at the end.
  const bool test = !has_validation() || best || (last && config_.checkpoint.keep_best.empty());
  if (test) {
    ASSIGN_OR_RETURN(const eval::Metrics m, Score(params, test_, "test", step, last));
    if (!has_validation()) RETURN_IF_ERROR(CheckKeepBest(m));
    result.test_metrics = m;
    line["test"] = MetricsJson(m);
    shown += "  test: " + eval::FormatMetrics(m);
  }
  if (best) {
    LOG_INFO << "best checkpoint (step " << result.best_step << ")" << shown << "  ["
             << FormatSeconds(SecondsSince(start)) << "]";
  } else {
    std::ostringstream trained;
    if (std::isfinite(train_loss)) trained << "  train_loss " << train_loss;
    LOG_INFO << "epoch " << epoch + 1 << "/" << config_.train.epochs << "  step " << step << trained.str() << shown
             << "  [" << FormatSeconds(SecondsSince(start)) << "]";
  }
  line["time"] = UnixSeconds();
  Record(line);
  return Status::Ok();
}

Status Chief::EvaluateBest(const ParamArena& params, int64_t epoch, int64_t step, TrainResult& result) {
  RETURN_IF_ERROR(writer_.Wait());
  StatusOr<std::string> best = ckpt::ResolveCheckpointPath(config_.checkpoint_dir() + "/best");
  if (!best.ok()) {  // no evaluation improved on the first: the run's own parameters are its result
    LOG_INFO << "no best checkpoint was kept (" << best.status().message() << "): evaluating the final parameters";
    return Evaluate(params, epoch, step, 0.0, /*last=*/true, result);
  }
  ParamArena best_params(model_.layout(), model_.kernels().allocator());
  RETURN_IF_ERROR(ckpt::LoadCheckpoint(*best, model_.layout(), best_params, nullptr));
  ASSIGN_OR_RETURN(const ckpt::CheckpointInfo info, ckpt::ReadCheckpointInfo(*best));
  LOG_INFO << "kept " << *best << " (step " << info.step << ", " << config_.checkpoint.keep_best << " "
           << info.best_metric << (has_validation() ? " on the validation rows" : "") << "): evaluating it";
  result.checkpoint_path = *best;
  result.best_step = info.step;
  return Evaluate(best_params, epoch, step, 0.0, /*last=*/true, result);
}

BestDecision Chief::DecideBest(const TrainingCursor& cursor, const TrainResult& result, bool last_epoch) {
  BestDecision decision{false, false, cursor.evals_since_best, cursor.best_metric};
  const std::string& keep_best = config_.checkpoint.keep_best;
  if (keep_best.empty()) return decision;
  // On the validation rows where there are some (the config check asks for them with keep_best).
  const std::optional<eval::Metrics>& chosen = has_validation() ? result.validation_metrics : result.test_metrics;
  const double value = chosen->Get(keep_best);
  if (Improves(keep_best, value, cursor.best_metric)) {
    decision = {true, false, 0, value};
  } else {
    ++decision.evals_since_best;
  }
  const int64_t patience = config_.eval.early_stopping_patience;
  decision.stop_early = patience > 0 && decision.evals_since_best >= patience && !last_epoch;
  const optim::OptimOptions& o = config_.optimizer;
  decision.reduce_rate = o.schedule == "plateau" && !decision.stop_early && !last_epoch &&
                         decision.evals_since_best > 0 && decision.evals_since_best % o.plateau_patience == 0;
  if (decision.reduce_rate) {
    LOG_INFO << "learning rate reduced: " << (has_validation() ? "validation " : "test ") << keep_best
             << " has not improved for " << decision.evals_since_best
             << " evaluation(s); the rate is multiplied by optimizer.decay_factor " << o.decay_factor << " (reduction "
             << cursor.rate_reductions + 1 << ")";
  }
  if (decision.stop_early) {
    LOG_INFO << "early stopping: " << (has_validation() ? "validation " : "test ") << keep_best
             << " has not improved for " << decision.evals_since_best
             << " evaluation(s) (eval.early_stopping_patience); the best checkpoint has " << keep_best << " "
             << decision.best_metric;
  }
  return decision;
}

Status Chief::SaveCheckpoint(const TrainingCursor& cursor, const ParamArena& params, optim::Optimizer& optimizer,
                             bool is_best, bool last) {
  ckpt::CheckpointInfo info;
  info.binary_version = ECTRAIN_VERSION;
  info.config_yaml = config::ToYaml(config_);
  info.schema_json = feed_.schema_json();
  info.layout = model_.layout().Describe();
  info.optimizer = optimizer.type();
  info.step = cursor.step;
  info.epoch = plan_.EpochOf(cursor.step);
  info.step_in_epoch = plan_.StepInEpoch(cursor.step);
  info.global_batch_size = config_.train.global_batch_size;
  info.train_rows = feed_.num_rows();
  info.world_size = world_size_;
  info.epoch_loss_sum = info.step_in_epoch == 0 ? 0.0 : cursor.epoch_loss_sum;
  info.epoch_rows = info.step_in_epoch == 0 ? 0 : cursor.epoch_rows;
  info.best_metric = cursor.best_metric;
  info.evals_since_best = cursor.evals_since_best;
  info.rate_reductions = cursor.rate_reductions;
  last_checkpoint_ = Clock::now();
  return writer_.Submit(
      info, params, optimizer, is_best,
      last ? ckpt::AsyncCheckpointWriter::Mode::kInPlace : ckpt::AsyncCheckpointWriter::Mode::kSnapshot);
}

void Chief::ReportDone(TrainResult& result) {
  if (result.best_step < 0) result.checkpoint_path = writer_.last_path();
  result.checkpoint_stall_seconds = writer_.stalled_seconds();
  result.snapshot_bytes = writer_.snapshot_bytes();
  LOG_INFO << MemoryLine(result);
  LOG_INFO << StepLoopLine(result);
  metrics_log_.Append(DoneJson(result).dump());
}

}  // namespace

std::unique_ptr<RankDuties> MakeRankDuties(const comm::Communicator& comm, const RunConfig& config, model::Model& model,
                                           const DataFeed& feed, const RunPlan& plan) {
  if (comm.rank() != 0) return std::make_unique<RankDuties>();
  return std::make_unique<Chief>(comm.size(), config, model, feed, plan);
}

}  // namespace ectrain::train
