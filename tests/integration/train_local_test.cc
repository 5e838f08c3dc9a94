// The training loop on one local rank: it learns, it is deterministic, and it leaves its outputs.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "ckpt/checkpoint.h"
#include "comm/local_communicator.h"
#include "model/ctr_model.h"
#include "test_data.h"
#include "train/evaluator.h"
#include "train/trainer.h"

namespace ectrain::train {
namespace {

struct RunOutput {
  StatusOr<TrainResult> result = Internal("not run");
  std::vector<float> params;
};

RunOutput Train(const RunConfig& config) {
  comm::LocalCommunicator comm;
  auto feed = DataFeed::Open(config.data, 1, 0, config.train.global_batch_size, config.train.seed);
  EXPECT_TRUE(feed.ok()) << feed.status().message();
  const auto& schema = feed->schema();
  model::CtrModel model(config.model, {static_cast<int>(schema.dense.size()), schema.categorical, schema.vocab_sizes});
  Trainer trainer(config, comm, model, *feed);
  RunOutput run;
  run.result = trainer.Run(std::chrono::steady_clock::now());
  run.params.assign(trainer.params().data(), trainer.params().data() + trainer.params().size());
  return run;
}

TEST(TrainLocal, LearnsTheSyntheticSignal) {
  RunConfig config = ectrain::testing::SyntheticRunConfig(ectrain::testing::TempDir("learns"), 2000);
  config.train.epochs = 8;
  RunOutput run = Train(config);
  ASSERT_TRUE(run.result.ok()) << run.result.status().message();
  ASSERT_TRUE(run.result->test_metrics);
  EXPECT_GT(run.result->test_metrics->auc, 0.75);
  EXPECT_LT(run.result->final_train_loss, 0.6);
  EXPECT_EQ(run.result->steps, 8 * ((1500 + 31) / 32));
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

TEST(TrainLocal, NanLabelInTheDataStopsWithTheRowNamed) {
  std::string dir = ectrain::testing::TempDir("nan_label");
  RunConfig config = ectrain::testing::SyntheticRunConfig(dir);
  config.data.label = "x3";  // a dense column: values outside [0, 1] are not labels
  comm::LocalCommunicator comm;
  auto feed = DataFeed::Open(config.data, 1, 0, 32, 1);
  ASSERT_TRUE(feed.ok());
  Status s = feed->LoadEpoch(0);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("x3"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("row"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace ectrain::train
