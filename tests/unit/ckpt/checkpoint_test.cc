// Checkpoint round trips, atomic replacement and refusal of damaged or foreign checkpoints.
#include "ckpt/checkpoint.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/rng.h"
#include "model/ctr_model.h"
#include "test_data.h"

namespace ectrain::ckpt {
namespace {
namespace fs = std::filesystem;

struct Trained {
  model::CtrModel model{model::ModelOptions{"mlp", 4, {8}}, model::FeatureShape{2, {"k"}, {5}}};
  ParamArena params{model.layout()};
  ParamArena grads{model.layout()};
  std::unique_ptr<optim::Optimizer> adam = optim::Optimizer::Create(optim::OptimOptions{}, model.layout());

  Trained() {
    model.Initialize(params, 1);
    Rng rng(2);
    for (const auto& spec : model.layout().specs()) {
      for (int64_t i = 0; i < spec.size(); ++i) grads.data()[spec.offset + i] = static_cast<float>(rng.Normal());
    }
    adam->Step(params, grads);
    adam->Step(params, grads);
  }
  CheckpointInfo Info(int64_t step) const {
    CheckpointInfo info;
    info.binary_version = "test";
    info.config_yaml = "train:\n  epochs: 1\n";
    info.schema_json = std::make_shared<const std::string>("{}");
    info.layout = model.layout().Describe();
    info.step = step;
    info.epoch = 1;
    info.optimizer = "adam";
    return info;
  }
};

bool SameBytes(const ParamArena& a, const ParamArena& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(Checkpoint, RoundTripRestoresParametersAndOptimizerState) {
  std::string dir = testing::TempDir("ckpt_roundtrip");
  Trained t;
  CheckpointDir checkpoints(dir, 2);
  auto path = checkpoints.Save(t.Info(2), t.model.layout(), StateOf(t.params, *t.adam), false);
  ASSERT_TRUE(path.ok()) << path.status().message();

  auto info = ReadCheckpointInfo(*path);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->step, 2);
  EXPECT_EQ(info->optimizer, "adam");
  EXPECT_EQ(info->config_yaml, "train:\n  epochs: 1\n");

  ParamArena params(t.model.layout());
  auto adam = optim::Optimizer::Create(optim::OptimOptions{}, t.model.layout());
  ASSERT_TRUE(LoadCheckpoint(*path, t.model.layout(), params, adam.get()).ok());
  EXPECT_TRUE(SameBytes(params, t.params));
  EXPECT_TRUE(SameBytes(*adam->state()[0].second, *t.adam->state()[0].second));
  EXPECT_TRUE(SameBytes(*adam->state()[1].second, *t.adam->state()[1].second));
  EXPECT_EQ(adam->step_count(), 2);
}

// A snapshot keeps the values of the moment it was submitted, whatever training does next; the
// in-place write (the last checkpoint of a run) writes the live state itself, without a copy.
TEST(Checkpoint, BackgroundWriterSnapshotsOrWritesInPlace) {
  std::string dir = testing::TempDir("ckpt_async");
  Trained t;
  AsyncCheckpointWriter writer(dir, 3, t.model.layout());
  ParamArena submitted(t.model.layout());
  std::memcpy(submitted.data(), t.params.data(), t.params.size() * sizeof(float));
  ASSERT_TRUE(writer.Submit(t.Info(5), t.params, *t.adam, false).ok());
  t.params.data()[0] += 1.0f;  // training goes on while the file is written
  ASSERT_TRUE(writer.Wait().ok());
  ParamArena read(t.model.layout());
  auto adam = optim::Optimizer::Create(optim::OptimOptions{}, t.model.layout());
  ASSERT_TRUE(LoadCheckpoint(writer.last_path(), t.model.layout(), read, adam.get()).ok());
  EXPECT_TRUE(SameBytes(read, submitted)) << "the snapshot, not the later values";

  ASSERT_TRUE(writer.Submit(t.Info(6), t.params, *t.adam, false, AsyncCheckpointWriter::Mode::kInPlace).ok());
  ASSERT_TRUE(writer.Wait().ok());
  ASSERT_TRUE(LoadCheckpoint(writer.last_path(), t.model.layout(), read, adam.get()).ok());
  EXPECT_EQ(fs::path(writer.last_path()).filename(), "ckpt-000000006.h5");
  EXPECT_TRUE(SameBytes(read, t.params));
  EXPECT_TRUE(SameBytes(*adam->state()[1].second, *t.adam->state()[1].second));
}

TEST(Checkpoint, LatestPointsToTheNewestAndOldOnesArePruned) {
  std::string dir = testing::TempDir("ckpt_latest");
  Trained t;
  CheckpointDir checkpoints(dir, 2);
  for (int64_t step : {10, 20, 30}) ASSERT_TRUE(checkpoints.Save(t.Info(step), t.model.layout(), StateOf(t.params, *t.adam), false).ok());
  auto resolved = ResolveCheckpointPath(dir);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(fs::path(*resolved).filename(), "ckpt-000000030.h5");
  EXPECT_FALSE(fs::exists(fs::path(dir) / "ckpt-000000010.h5"));
  EXPECT_TRUE(fs::exists(fs::path(dir) / "ckpt-000000020.h5"));
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << "left behind: " << entry.path();
  }
}

TEST(Checkpoint, AnotherModelIsRefusedNamingTheDifference) {
  std::string dir = testing::TempDir("ckpt_other");
  Trained t;
  auto path = CheckpointDir(dir, 1).Save(t.Info(1), t.model.layout(), StateOf(t.params, *t.adam), false);
  ASSERT_TRUE(path.ok());
  model::CtrModel other(model::ModelOptions{"mlp", 4, {16}}, model::FeatureShape{2, {"k"}, {5}});
  ParamArena params(other.layout());
  Status s = LoadCheckpoint(*path, other.layout(), params, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("is of another model"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("dense_0/weight:6x16"), std::string::npos) << s.message();

  auto sgd = optim::Optimizer::Create(optim::OptimOptions{"sgd"}, t.model.layout());
  ParamArena same(t.model.layout());
  s = LoadCheckpoint(*path, t.model.layout(), same, sgd.get());
  EXPECT_NE(s.message().find("optimizer 'adam'"), std::string::npos) << s.message();
}

TEST(Checkpoint, TruncatedOrGarbageFilesGiveClearErrors) {
  std::string dir = testing::TempDir("ckpt_bad");
  Trained t;
  auto path = CheckpointDir(dir, 1).Save(t.Info(1), t.model.layout(), StateOf(t.params, *t.adam), false);
  ASSERT_TRUE(path.ok());
  const std::string truncated = dir + "/truncated.h5";
  fs::copy_file(*path, truncated);
  fs::resize_file(truncated, fs::file_size(truncated) / 2);
  ParamArena params(t.model.layout());
  Status s = LoadCheckpoint(truncated, t.model.layout(), params, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(truncated), std::string::npos) << s.message();

  const std::string garbage = dir + "/garbage.h5";
  std::ofstream(garbage) << "not hdf5 at all";
  s = LoadCheckpoint(garbage, t.model.layout(), params, nullptr);
  EXPECT_NE(s.message().find("not a readable HDF5 file"), std::string::npos) << s.message();

  s = LoadCheckpoint(dir + "/missing.h5", t.model.layout(), params, nullptr);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  auto none = ResolveCheckpointPath(testing::TempDir("ckpt_empty"));
  EXPECT_FALSE(none.ok());
}

}  // namespace
}  // namespace ectrain::ckpt
