// The training loop on one local rank: it learns, it is deterministic, and it leaves its outputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "ckpt/checkpoint.h"
#include "comm/local_communicator.h"
#include "data/training_files.h"
#include "eval/evaluator.h"
#include "model/ctr_model.h"
#include "test_data.h"
#include "train/signals.h"
#include "train/trainer.h"

namespace ectrain::train {
namespace {

struct RunOutput {
  StatusOr<TrainResult> result = Internal("not run");
  std::vector<float> params;
  int64_t steps_per_epoch = 0;
};

RunOutput Train(const RunConfig& config, ResumeMode mode = ResumeMode::kAuto) {
  comm::LocalCommunicator comm;
  auto feed = DataFeed::Open(config.data, 1, 0, config.train.global_batch_size, config.train.seed);
  EXPECT_TRUE(feed.ok()) << feed.status().message();
  const auto& schema = feed->schema();
  model::CtrModel model(config.model, {static_cast<int>(schema.dense.size()), schema.categorical, schema.vocab_sizes});
  Trainer trainer(config, comm, model, *feed);
  RunOutput run;
  run.steps_per_epoch = feed->steps_per_epoch();
  run.result = trainer.Run(std::chrono::steady_clock::now(), mode);
  run.params.assign(trainer.params().data(), trainer.params().data() + trainer.params().size());
  return run;
}

TEST(TrainLocal, LearnsTheSyntheticSignal) {
  RunConfig config = ectrain::testing::SyntheticRunConfig(ectrain::testing::TempDir("learns"), 2000);
  config.train.epochs = 8;
  RunOutput run = Train(config);
  ASSERT_TRUE(run.result.ok()) << run.result.status().message();
  ASSERT_TRUE(run.result->test_metrics);
  EXPECT_GT(run.result->test_metrics->Get("auc"), 0.75);
  EXPECT_LT(run.result->final_train_loss, 0.6);
  EXPECT_EQ(run.result->steps, 8 * run.steps_per_epoch);
}

TEST(TrainLocal, SameSeedSameParametersBitwise) {
  std::string dir = ectrain::testing::TempDir("determinism");
  RunConfig config = ectrain::testing::SyntheticRunConfig(dir);
  RunOutput a = Train(config);
  config.train.output_dir = dir + "/again";
  RunOutput b = Train(config);
  ASSERT_TRUE(a.result.ok() && b.result.ok());
  ASSERT_EQ(a.params.size(), b.params.size());
  EXPECT_EQ(0, std::memcmp(a.params.data(), b.params.data(), a.params.size() * sizeof(float)));
  config.train.seed = 43;
  config.train.output_dir = dir + "/other_seed";
  RunOutput c = Train(config);
  EXPECT_NE(0, std::memcmp(a.params.data(), c.params.data(), a.params.size() * sizeof(float)));
}

TEST(TrainLocal, InMemoryDataTrainsBitwiseAsStreamingAndReportsItsSize) {
  std::string dir = ectrain::testing::TempDir("in_memory");
  RunConfig config = ectrain::testing::SyntheticRunConfig(dir);
  config.train.epochs = 3;
  RunOutput streaming = Train(config);
  config.data.in_memory = true;
  config.train.output_dir = dir + "/in_memory";
  RunOutput in_memory = Train(config);
  ASSERT_TRUE(streaming.result.ok() && in_memory.result.ok()) << in_memory.result.status().message();
  ASSERT_EQ(streaming.params.size(), in_memory.params.size());
  EXPECT_EQ(0, std::memcmp(streaming.params.data(), in_memory.params.data(), streaming.params.size() * sizeof(float)));
  EXPECT_EQ(streaming.result->data_in_memory_bytes, 0);
  // 5 columns and the label, 4 bytes each, for every training row.
  auto feed = DataFeed::Open(config.data, 1, 0, config.train.global_batch_size, config.train.seed);
  ASSERT_TRUE(feed.ok());
  const int64_t rows = feed->num_rows();
  EXPECT_EQ(in_memory.result->data_in_memory_bytes, rows * 6 * 4);
  EXPECT_LT(in_memory.result->reader_bound_bytes, streaming.result->reader_bound_bytes);
}

TEST(TrainLocal, InMemoryDataThatDoesNotFitIsRefusedNamingTheKey) {
  EXPECT_TRUE(data::CheckFitsInMemory(100'000'000, 1, 200'000'000).ok());
  EXPECT_TRUE(data::CheckFitsInMemory(100'000'000, 2, 200'000'000).ok());
  EXPECT_TRUE(data::CheckFitsInMemory(100'000'000, 1, -1).ok());  // unknown: no check
  const Status refused = data::CheckFitsInMemory(300'000'000, 1, 200'000'000);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.message(),
            "data.in_memory: every rank would hold the whole training set decoded, 300.0 MB, but this machine has "
            "200.0 MB available; set data.in_memory: false to stream it from the files (or run fewer ranks per "
            "machine)");
  // Each rank on the machine holds a copy.
  EXPECT_EQ(data::CheckFitsInMemory(100'000'000, 3, 200'000'000).message(),
            "data.in_memory: every rank would hold the whole training set decoded, 100.0 MB (300.0 MB for the 3 "
            "ranks on this machine), but this machine has 200.0 MB available; set data.in_memory: false to stream it "
            "from the files (or run fewer ranks per machine)");
}

TEST(TrainLocal, WritesConfigMetricsAndALoadableCheckpoint) {
  std::string dir = ectrain::testing::TempDir("outputs");
  RunConfig config = ectrain::testing::SyntheticRunConfig(dir);
  config.checkpoint.every_steps = 10;
  config.checkpoint.keep_last = 2;
  RunOutput run = Train(config);
  ASSERT_TRUE(run.result.ok()) << run.result.status().message();
  EXPECT_TRUE(std::filesystem::exists(config.train.output_dir + "/config.yaml"));
  std::ifstream metrics(config.train.output_dir + "/metrics.jsonl");
  std::string line, last;
  int lines = 0;
  while (std::getline(metrics, line)) {
    last = line;
    ++lines;
  }
  EXPECT_GE(lines, 3);
  EXPECT_NE(last.find("\"event\":\"done\""), std::string::npos) << last;
  for (const char* key : {"forward_backward_seconds", "sync_exposed_seconds", "sync_row_sparse_seconds",
                          "agreement_seconds", "optimizer_seconds", "data_wait_seconds"}) {
    EXPECT_NE(last.find(std::string("\"") + key + "\":"), std::string::npos) << key << " missing from " << last;
  }

  auto path = ckpt::ResolveCheckpointPath(config.checkpoint_dir());
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(*path, run.result->checkpoint_path);
  model::CtrModel model(config.model, {3, {"user", "color"}, {21, 6}});
  ParamArena params(model.layout());
  ASSERT_TRUE(ckpt::LoadCheckpoint(*path, model.layout(), params, nullptr).ok());
  EXPECT_EQ(0, std::memcmp(params.data(), run.params.data(), run.params.size() * sizeof(float)));
  int checkpoints = 0;
  for (const auto& e : std::filesystem::directory_iterator(config.checkpoint_dir())) {
    checkpoints += e.path().extension() == ".h5";
  }
  EXPECT_EQ(checkpoints, 2);
}

// Shards of one data set come from one `prepare` run: a file whose stored schema differs (here:
// other vocabularies) is refused, naming it; files from the same run are one data set.
TEST(TrainLocal, ShardsWithDifferentStoredSchemasAreRefused) {
  const std::string a = ectrain::testing::TempDir("schema_a"), b = ectrain::testing::TempDir("schema_b");
  ectrain::testing::PrepareSynthetic(a, 200, 3, 20);
  ectrain::testing::PrepareSynthetic(b, 200, 4, 30);
  const std::string shards = a + "/shards";
  std::filesystem::create_directories(shards);
  std::filesystem::copy_file(a + "/train.h5", shards + "/part-0.h5");
  std::filesystem::copy_file(a + "/train.h5", shards + "/part-1.h5");
  RunConfig config = ectrain::testing::SyntheticConfig(a);
  config.data.train = shards;
  auto same = DataFeed::Open(config.data, 1, 0, 32, 1);
  ASSERT_TRUE(same.ok()) << same.status().message();
  std::filesystem::copy_file(b + "/train.h5", shards + "/part-2.h5");
  auto mismatch = DataFeed::Open(config.data, 1, 0, 32, 1);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.status().message().find("file '" + shards + "/part-2.h5' stores a different feature schema"),
            std::string::npos)
      << mismatch.status().message();
}

// The feed keeps the columns only; the vocabularies (tens of MB with real data) live on in the
// schema's JSON, made once, which every checkpoint carries for `predict`.
TEST(TrainLocal, CheckpointsCarryTheVocabulariesTheFeedDoesNotKeep) {
  std::string dir = ectrain::testing::TempDir("vocabularies");
  RunConfig config = ectrain::testing::SyntheticRunConfig(dir);
  config.checkpoint.every_steps = 10;
  {
    auto feed = DataFeed::Open(config.data, 1, 0, config.train.global_batch_size, config.train.seed);
    ASSERT_TRUE(feed.ok()) << feed.status().message();
    EXPECT_TRUE(feed->schema().vocabularies.empty());
    EXPECT_TRUE(feed->schema().dense_stats.empty());
    EXPECT_EQ(feed->schema().vocab_sizes, (std::vector<int64_t>{21, 6}));
    ASSERT_NE(feed->schema_json(), nullptr);
    StatusOr<data::FeatureSchema> whole = data::FeatureSchema::FromJson(*feed->schema_json(), "feed");
    ASSERT_TRUE(whole.ok()) << whole.status().message();
    ASSERT_EQ(whole->vocabularies.size(), 2u);
    EXPECT_EQ(whole->vocabularies[1].size(), 5u);
    EXPECT_EQ(whole->dense_stats.size(), 3u);
  }
  RunOutput run = Train(config);
  ASSERT_TRUE(run.result.ok()) << run.result.status().message();
  for (const auto& entry : std::filesystem::directory_iterator(config.checkpoint_dir())) {
    if (entry.path().extension() != ".h5") continue;
    StatusOr<ckpt::CheckpointInfo> info = ckpt::ReadCheckpointInfo(entry.path().string());
    ASSERT_TRUE(info.ok()) << info.status().message();
    StatusOr<data::FeatureSchema> schema = data::FeatureSchema::FromJson(*info->schema_json, entry.path().string());
    ASSERT_TRUE(schema.ok()) << schema.status().message();
    ASSERT_EQ(schema->vocabularies.size(), 2u) << entry.path();
    EXPECT_NE(std::find(schema->vocabularies[1].begin(), schema->vocabularies[1].end(), "blue"),
              schema->vocabularies[1].end());
  }
}

TEST(TrainLocal, NanLabelInTheDataStopsWithTheRowNamed) {
  std::string dir = ectrain::testing::TempDir("nan_label");
  RunConfig config = ectrain::testing::SyntheticRunConfig(dir);
  config.data.label = "x3";  // a dense column: values outside [0, 1] are not labels
  comm::LocalCommunicator comm;
  auto feed = DataFeed::Open(config.data, 1, 0, 32, 1);
  ASSERT_TRUE(feed.ok());
  StatusOr<BatchView> batch = feed->Batch(0, 0);
  ASSERT_FALSE(batch.ok());
  EXPECT_NE(batch.status().message().find("column 'x3' row"), std::string::npos) << batch.status().message();
}

// data.train as a directory or a glob: the files, by name, form one data set (an empty one is
// fine); files that disagree on their columns are refused naming both and the difference.
TEST(TrainLocal, TrainsOnShardsGivenAsADirectoryOrAGlob) {
  const std::string dir = ectrain::testing::TempDir("shards");
  std::filesystem::create_directories(dir + "/shards");
  auto columns = [](int first, int rows) {
    std::vector<double> x, user, clicked;
    for (int i = first; i < first + rows; ++i) {
      x.push_back((i % 7) / 7.0);
      user.push_back(i % 5);
      clicked.push_back(i % 3 == 0);
    }
    return std::vector<std::pair<std::string, std::vector<double>>>{
        {"x1", x}, {"x2", x}, {"x3", x}, {"user", user}, {"color", user}, {"clicked", clicked}};
  };
  ectrain::testing::WriteColumns(dir + "/shards/part-0.h5", columns(0, 70));
  ectrain::testing::WriteColumns(dir + "/shards/part-1.h5", columns(70, 0));
  ectrain::testing::WriteColumns(dir + "/shards/part-2.h5", columns(70, 45));
  ectrain::testing::WriteColumns(dir + "/test.h5", columns(0, 20));
  RunConfig config = ectrain::testing::SyntheticConfig(dir);
  config.data.vocab_sizes = {{"user", 5}, {"color", 5}};
  config.data.block_rows = 16;
  for (const std::string& train : {dir + "/shards", dir + "/shards/part-*.h5"}) {
    config.data.train = train;
    auto feed = DataFeed::Open(config.data, 1, 0, 32, 1);
    ASSERT_TRUE(feed.ok()) << feed.status().message();
    EXPECT_EQ(feed->num_rows(), 115) << train;
    EXPECT_EQ(feed->files(), (std::vector<std::string>{dir + "/shards/part-0.h5", dir + "/shards/part-1.h5",
                                                       dir + "/shards/part-2.h5"}));
  }
  config.train.output_dir = dir + "/run";
  RunOutput run = Train(config);
  ASSERT_TRUE(run.result.ok()) << run.result.status().message();
  EXPECT_EQ(run.result->steps, 2 * 4);

  config.data.train = dir + "/shards/nothing-*.h5";
  auto none = DataFeed::Open(config.data, 1, 0, 32, 1);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("data.train: no files match '" + config.data.train + "'"), std::string::npos);

  auto other = columns(0, 10);
  other[0].first = "x9";
  ectrain::testing::WriteColumns(dir + "/shards/part-3.h5", other);
  config.data.train = dir + "/shards";
  auto mismatch = DataFeed::Open(config.data, 1, 0, 32, 1);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.status().message().find("file '" + dir + "/shards/part-3.h5' does not have the columns of '" +
                                             dir + "/shards/part-0.h5' (missing: x1; extra: x9)"),
            std::string::npos)
      << mismatch.status().message();
}

// A bad value deep in the training data (the test data is fine) stops the run at the step that
// needs it, with the file, column and row.
TEST(TrainLocal, ABadTrainingValueStopsTheRunNamingFileColumnAndRow) {
  const std::string dir = ectrain::testing::TempDir("bad_train_value");
  std::vector<double> x, user, clicked;
  for (int i = 0; i < 300; ++i) {
    x.push_back((i % 7) / 7.0);
    user.push_back(i % 5);
    clicked.push_back(i == 250 ? std::nan("") : i % 3 == 0);
  }
  ectrain::testing::WriteColumns(
      dir + "/train.h5", {{"x1", x}, {"x2", x}, {"x3", x}, {"user", user}, {"color", user}, {"clicked", clicked}});
  ectrain::testing::WriteColumns(dir + "/test.h5", {{"x1", {0.1, 0.2}},
                                                    {"x2", {0.1, 0.2}},
                                                    {"x3", {0.1, 0.2}},
                                                    {"user", {1, 2}},
                                                    {"color", {1, 2}},
                                                    {"clicked", {0, 1}}});
  RunConfig config = ectrain::testing::SyntheticConfig(dir);
  config.data.vocab_sizes = {{"user", 5}, {"color", 5}};
  config.data.block_rows = 16;
  config.data.shuffle_window_blocks = 2;  // row 250's window comes after others
  RunOutput run = Train(config);
  ASSERT_FALSE(run.result.ok());
  EXPECT_EQ(run.result.status().code(), StatusCode::kDataError);
  EXPECT_EQ(run.result.status().message(),
            dir + "/train.h5: column 'clicked' row 250: label is NaN; labels must be finite values in [0, 1]");
}

bool SameParams(const RunOutput& a, const RunOutput& b) {
  return a.params.size() == b.params.size() &&
         std::memcmp(a.params.data(), b.params.data(), a.params.size() * sizeof(float)) == 0;
}

// k steps + checkpoint + resume + the rest == the whole run, bitwise, at any stopping point.
TEST(Resume, StoppingAnywhereAndResumingIsBitwiseExact) {
  std::string dir = ectrain::testing::TempDir("resume_exact");
  RunConfig config = ectrain::testing::SyntheticRunConfig(dir);
  config.train.epochs = 3;  // 15 steps per epoch
  RunOutput whole = Train(config);
  ASSERT_TRUE(whole.result.ok()) << whole.result.status().message();
  for (int64_t k : {1, 15, 22}) {
    RunConfig split = config;
    split.train.output_dir = dir + "/split_" + std::to_string(k);
    split.train.max_steps = k;
    RunOutput first = Train(split);
    ASSERT_TRUE(first.result.ok()) << first.result.status().message();
    EXPECT_EQ(first.result->steps, k);
    split.train.max_steps = 0;
    RunOutput rest = Train(split, ResumeMode::kRequired);
    ASSERT_TRUE(rest.result.ok()) << rest.result.status().message();
    EXPECT_EQ(rest.result->resumed_from_step, k);
    EXPECT_EQ(rest.result->steps, whole.result->steps);
    EXPECT_TRUE(SameParams(whole, rest)) << "resumed after " << k << " steps";
    EXPECT_DOUBLE_EQ(rest.result->final_train_loss, whole.result->final_train_loss) << k;
    EXPECT_DOUBLE_EQ(rest.result->test_metrics->Get("auc"), whole.result->test_metrics->Get("auc")) << k;
  }
}

TEST(Resume, StopSignalWritesACheckpointThenTheRunContinuesExactly) {
  std::string dir = ectrain::testing::TempDir("resume_signal");
  RunConfig config = ectrain::testing::SyntheticRunConfig(dir);
  RunOutput whole = Train(config);
  ASSERT_TRUE(whole.result.ok());

  config.train.output_dir = dir + "/signalled";
  InstallStopSignalHandlers();
  std::raise(SIGUSR1);  // arrives before the first step: the job stops after it
  RunOutput stopped = Train(config);
  ClearStopSignal();
  ASSERT_FALSE(stopped.result.ok());
  EXPECT_EQ(stopped.result.status().code(), StatusCode::kInterrupted);
  EXPECT_EQ(stopped.result.status().ExitCode(), 3);
  EXPECT_NE(stopped.result.status().message().find("stopped by SIGUSR1 at step 1"), std::string::npos)
      << stopped.result.status().message();

  RunOutput resumed = Train(config);
  ASSERT_TRUE(resumed.result.ok()) << resumed.result.status().message();
  EXPECT_EQ(resumed.result->resumed_from_step, 1);
  EXPECT_TRUE(SameParams(whole, resumed));
}

TEST(Resume, AFinishedRunIsNotTrainedAgain) {
  RunConfig config = ectrain::testing::SyntheticRunConfig(ectrain::testing::TempDir("resume_done"));
  RunOutput first = Train(config);
  RunOutput again = Train(config);
  ASSERT_TRUE(again.result.ok()) << again.result.status().message();
  EXPECT_TRUE(again.result->already_complete);
  EXPECT_TRUE(SameParams(first, again));
  EXPECT_DOUBLE_EQ(again.result->test_metrics->Get("auc"), first.result->test_metrics->Get("auc"));
}

TEST(Resume, IncompatibleChangesAreRefusedNamingTheKey) {
  std::string dir = ectrain::testing::TempDir("resume_refused");
  RunConfig config = ectrain::testing::SyntheticRunConfig(dir);
  config.train.max_steps = 5;
  ASSERT_TRUE(Train(config).result.ok());
  RunConfig other_batch = config;
  other_batch.train.global_batch_size = 64;
  RunOutput refused = Train(other_batch);
  ASSERT_FALSE(refused.result.ok());
  EXPECT_EQ(refused.result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.result.status().message().find("train.global_batch_size is 64 in this run but 32"),
            std::string::npos)
      << refused.result.status().message();
  // The data order depends on the block and window sizes too.
  RunConfig other_window = config;
  other_window.data.shuffle_window_blocks = 8;
  refused = Train(other_window);
  ASSERT_FALSE(refused.result.ok());
  EXPECT_NE(refused.result.status().message().find("data.shuffle_window_blocks is 8 in this run but 64"),
            std::string::npos)
      << refused.result.status().message();
  RunConfig other_model = config;
  other_model.model.hidden_units = {8};
  refused = Train(other_model);
  ASSERT_FALSE(refused.result.ok());
  EXPECT_NE(refused.result.status().message().find("is of another model"), std::string::npos);
}

TEST(Resume, RequiredWithoutACheckpointFailsAndFreshKeepsTheOldOnes) {
  std::string dir = ectrain::testing::TempDir("resume_modes");
  RunConfig config = ectrain::testing::SyntheticRunConfig(dir);
  RunOutput none = Train(config, ResumeMode::kRequired);
  ASSERT_FALSE(none.result.ok());
  EXPECT_NE(none.result.status().message().find("--resume: no checkpoint"), std::string::npos);
  ASSERT_TRUE(Train(config).result.ok());
  RunOutput fresh = Train(config, ResumeMode::kFresh);
  ASSERT_TRUE(fresh.result.ok());
  EXPECT_EQ(fresh.result->resumed_from_step, -1);
  int aside = 0;
  for (const auto& e : std::filesystem::directory_iterator(config.train.output_dir)) {
    aside += e.path().filename().string().rfind("checkpoints.replaced-", 0) == 0;
  }
  EXPECT_EQ(aside, 1);
}

TEST(SparseEmbeddings, LearnAndLeaveUnseenRowsUntouched) {
  std::string dir = ectrain::testing::TempDir("sparse");
  ectrain::testing::PrepareSynthetic(dir, 2000, 3, /*users=*/400);
  RunConfig config = ectrain::testing::SyntheticConfig(dir);
  config.train.epochs = 6;
  RunOutput run = Train(config);
  ASSERT_TRUE(run.result.ok()) << run.result.status().message();
  EXPECT_GT(run.result->test_metrics->Get("auc"), 0.75);
  // 32 rows * (4 * 4 + 8) bytes < 300 * 4 * 4: only the touched user rows travel.
  EXPECT_LT(run.result->sync_bytes_last_step, 300 * 4 * 4);

  // One step touches at most 32 user rows: every other row keeps its initial value.
  config.train.max_steps = 1;
  config.train.output_dir = dir + "/one_step";
  RunOutput one = Train(config);
  ASSERT_TRUE(one.result.ok());
  auto feed = DataFeed::Open(config.data, 1, 0, 32, 1);
  ASSERT_TRUE(feed.ok());
  model::CtrModel model(config.model, {3, {"user", "color"}, feed->schema().vocab_sizes});
  ASSERT_GT(feed->schema().vocab_sizes[0], 300);
  ParamArena initial(model.layout());
  model.Initialize(initial, static_cast<uint64_t>(config.train.seed));
  const ParamSpec& users = model.layout().spec(0);
  int moved = 0;
  for (int64_t row = 0; row < users.rows; ++row) {
    moved += std::memcmp(initial.data() + users.offset + row * users.cols,
                         one.params.data() + users.offset + row * users.cols, users.cols * sizeof(float)) != 0;
  }
  EXPECT_GT(moved, 0);
  EXPECT_LE(moved, 32);
}

TEST(Accumulation, MicroBatchesFollowTheSameTrajectory) {
  std::string dir = ectrain::testing::TempDir("accumulation");
  ectrain::testing::PrepareSynthetic(dir, 1000, 3, /*users=*/400);
  RunConfig config = ectrain::testing::SyntheticConfig(dir);
  RunOutput whole = Train(config);
  config.train.accumulation_steps = 4;
  config.train.output_dir = dir + "/accumulated";
  RunOutput accumulated = Train(config);
  ASSERT_TRUE(whole.result.ok() && accumulated.result.ok());
  double diff = 0, norm = 0;
  for (size_t i = 0; i < whole.params.size(); ++i) {
    diff += std::pow(double(whole.params[i]) - accumulated.params[i], 2);
    norm += std::pow(double(whole.params[i]), 2);
  }
  EXPECT_LT(std::sqrt(diff / norm), 1e-5);
}

// A row whose dense values are near the float maximum overflows the forward pass: the loss of
// the step that holds it is not finite.
RunConfig OverflowingConfig(const std::string& dir) {
  std::vector<double> x1, x2, x3, user, clicked;
  for (int i = 0; i < 200; ++i) {
    const double v = i == 57 ? 3.4e38 : (i % 7) / 7.0;
    x1.push_back(v);
    x2.push_back(v);
    x3.push_back(v);
    user.push_back(i % 5);
    clicked.push_back(i % 3 == 0);
  }
  ectrain::testing::WriteColumns(
      dir + "/train.h5", {{"x1", x1}, {"x2", x2}, {"x3", x3}, {"user", user}, {"color", user}, {"clicked", clicked}});
  ectrain::testing::WriteColumns(dir + "/test.h5", {{"x1", {0.1, 0.2}},
                                                    {"x2", {0.1, 0.2}},
                                                    {"x3", {0.1, 0.2}},
                                                    {"user", {1, 2}},
                                                    {"color", {1, 2}},
                                                    {"clicked", {0, 1}}});
  RunConfig config = ectrain::testing::SyntheticConfig(dir);
  config.data.vocab_sizes = {{"user", 5}, {"color", 5}};
  config.model.hidden_units = {16};
  config.train.epochs = 1;
  return config;
}

TEST(NonFiniteLoss, StopsByDefaultNamingTheStep) {
  std::string dir = ectrain::testing::TempDir("nan_stop");
  RunOutput run = Train(OverflowingConfig(dir));
  ASSERT_FALSE(run.result.ok());
  EXPECT_NE(run.result.status().message().find("the loss became non-finite at epoch 1, step"), std::string::npos)
      << run.result.status().message();
}

TEST(NonFiniteLoss, SkipDropsThatStepAndTrainingGoesOn) {
  std::string dir = ectrain::testing::TempDir("nan_skip");
  RunConfig config = OverflowingConfig(dir);
  config.train.on_nan = "skip";
  RunOutput run = Train(config);
  ASSERT_TRUE(run.result.ok()) << run.result.status().message();
  EXPECT_EQ(run.result->skipped_steps, 1);
  EXPECT_EQ(run.result->steps, (200 + 31) / 32);
  for (float p : run.params) ASSERT_TRUE(std::isfinite(p));
}

TEST(Retention, EveryMinutesCheckpointsWhenTheTimeHasPassed) {
  RunConfig config = ectrain::testing::SyntheticRunConfig(ectrain::testing::TempDir("every_minutes"));
  config.train.epochs = 1;                 // 15 steps
  config.checkpoint.every_minutes = 1e-9;  // due after every step
  config.checkpoint.keep_last = 100;
  ASSERT_TRUE(Train(config).result.ok());
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(config.checkpoint_dir())) {
    files += e.path().extension() == ".h5";
  }
  EXPECT_EQ(files, 15);
}

// Large steps make the test log-loss rise after its best; with patience 2 the run stops two
// evaluations later, keeps the best checkpoint, and a second run of the same command trains nothing.
TEST(EarlyStopping, StopsAfterPatienceEvaluationsWithoutImprovement) {
  std::string dir = ectrain::testing::TempDir("early_stopping");
  RunConfig config = ectrain::testing::SyntheticRunConfig(dir);
  config.train.epochs = 40;
  config.optimizer.learning_rate = 0.3;
  config.checkpoint.keep_best = "log_loss";
  config.eval.early_stopping_patience = 2;
  RunOutput run = Train(config);
  ASSERT_TRUE(run.result.ok()) << run.result.status().message();
  EXPECT_TRUE(run.result->stopped_early);
  EXPECT_LT(run.result->steps, 40 * run.steps_per_epoch);
  // The last two evaluations are no better than the best one before them.
  std::ifstream metrics(config.train.output_dir + "/metrics.jsonl");
  std::vector<double> losses;
  for (std::string line; std::getline(metrics, line);) {
    auto at = line.find("\"log_loss\":");
    if (line.find("\"event\":\"eval\"") != std::string::npos) losses.push_back(std::stod(line.substr(at + 11)));
  }
  ASSERT_GE(losses.size(), 3u);
  const double best = *std::min_element(losses.begin(), losses.end() - 2);
  EXPECT_GE(losses[losses.size() - 1], best);
  EXPECT_GE(losses[losses.size() - 2], best);
  EXPECT_EQ(static_cast<int64_t>(losses.size()) * run.steps_per_epoch, run.result->steps);
  RunOutput again = Train(config);
  ASSERT_TRUE(again.result.ok()) << again.result.status().message();
  EXPECT_TRUE(again.result->already_complete) << "an early-stopped run is finished";
}

TEST(EarlyStopping, AMetricTheTaskDoesNotReportIsAnError) {
  RunConfig config = ectrain::testing::SyntheticRunConfig(ectrain::testing::TempDir("keep_best_rmse"));
  config.checkpoint.keep_best = "rmse";
  RunOutput run = Train(config);
  ASSERT_FALSE(run.result.ok());
  EXPECT_NE(run.result.status().message().find("checkpoint.keep_best"), std::string::npos)
      << run.result.status().message();
  EXPECT_NE(run.result.status().message().find("auc"), std::string::npos) << "lists what is reported";
}

TEST(Retention, TheBestCheckpointSurvivesPruning) {
  std::string dir = ectrain::testing::TempDir("keep_best");
  RunConfig config = ectrain::testing::SyntheticRunConfig(dir);
  config.train.epochs = 6;
  config.optimizer.learning_rate = 0.05;  // large steps: the test AUC rises, then wanders
  config.checkpoint.every_steps = 4;
  config.checkpoint.keep_last = 1;
  config.checkpoint.keep_best = "log_loss";
  RunOutput run = Train(config);
  ASSERT_TRUE(run.result.ok()) << run.result.status().message();
  std::ifstream best_pointer(config.checkpoint_dir() + "/best");
  std::string best;
  std::getline(best_pointer, best);
  ASSERT_FALSE(best.empty());
  EXPECT_TRUE(std::filesystem::exists(config.checkpoint_dir() + "/" + best));
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(config.checkpoint_dir())) {
    files += e.path().extension() == ".h5";
  }
  EXPECT_LE(files, 2);  // the newest, and the best when it is another
  // The best checkpoint holds the lowest test log-loss of all evaluations.
  std::ifstream metrics(config.train.output_dir + "/metrics.jsonl");
  double lowest = 1e9;
  for (std::string line; std::getline(metrics, line);) {
    auto at = line.find("\"log_loss\":");
    if (line.find("\"event\":\"eval\"") != std::string::npos && at != std::string::npos) {
      lowest = std::min(lowest, std::stod(line.substr(at + 11)));
    }
  }
  auto info = ckpt::ReadCheckpointInfo(config.checkpoint_dir() + "/" + best);
  ASSERT_TRUE(info.ok());
  EXPECT_DOUBLE_EQ(info->best_metric, lowest);
}

}  // namespace
}  // namespace ectrain::train
