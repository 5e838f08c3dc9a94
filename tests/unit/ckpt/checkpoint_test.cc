// Checkpoint round trips, atomic replacement and refusal of damaged or foreign checkpoints.
#include "ckpt/checkpoint.h"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "core/rng.h"
#include "data/hdf5_util.h"
#include "model/ctr_model.h"
#include "test_data.h"

namespace ectrain::ckpt {
namespace {
namespace fs = std::filesystem;

// As ectrain's main does, before any HDF5 call: the full-disk test leaves a file HDF5 cannot close.
const bool kNoHdf5ExitCleanup = (data::SkipHdf5ExitCleanup(), true);

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
  CheckpointInfo written = t.Info(2);
  written.rate_reductions = 3;
  auto path = checkpoints.Save(written, t.model.layout(), StateOf(t.params, *t.adam), false);
  ASSERT_TRUE(path.ok()) << path.status().message();

  auto info = ReadCheckpointInfo(*path);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->step, 2);
  EXPECT_EQ(info->format_version, kFormatVersion);
  EXPECT_EQ(info->rate_reductions, 3);
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
  for (int64_t step : {10, 20, 30})
    ASSERT_TRUE(checkpoints.Save(t.Info(step), t.model.layout(), StateOf(t.params, *t.adam), false).ok());
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

// Overwrites float dataset `name` of an existing file (as h5py would), leaving its checksum.
void Overwrite(const std::string& path, const std::string& name, const std::vector<float>& values) {
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  hid_t set = H5Dopen2(file, name.c_str(), H5P_DEFAULT);
  ASSERT_GE(set, 0) << name;
  EXPECT_GE(H5Dwrite(set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
  H5Dclose(set);
  H5Fclose(file);
}

void OverwriteStepAttribute(const std::string& path, int64_t step) {
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t attr = H5Aopen(file, "step", H5P_DEFAULT);
  EXPECT_GE(H5Awrite(attr, H5T_NATIVE_INT64, &step), 0);
  H5Aclose(attr);
  H5Fclose(file);
}

// Each tensor carries a checksum; a value changed after writing (finite garbage) is refused with
// the tensor named, as is a changed attribute.
TEST(CheckpointIntegrity, ChangedTensorsOrAttributesAreRefused) {
  std::string dir = testing::TempDir("ckpt_crc");
  Trained t;
  auto path = CheckpointDir(dir, 3).Save(t.Info(4), t.model.layout(), StateOf(t.params, *t.adam), false);
  ASSERT_TRUE(path.ok()) << path.status().message();
  const ParamSpec& weight = t.model.layout().specs()[1];
  std::vector<float> garbage(static_cast<size_t>(weight.size()), 4099.0f);
  Overwrite(*path, "params/" + weight.name, garbage);
  ParamArena params(t.model.layout());
  Status s = LoadCheckpoint(*path, t.model.layout(), params, nullptr);
  ASSERT_EQ(s.code(), StatusCode::kDataError) << s.message();
  EXPECT_NE(s.message().find("tensor params/" + weight.name + " does not match its checksum"), std::string::npos)
      << s.message();

  auto second = CheckpointDir(dir, 3).Save(t.Info(8), t.model.layout(), StateOf(t.params, *t.adam), false);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(ReadCheckpointInfo(*second).ok());
  OverwriteStepAttribute(*second, 80);
  StatusOr<CheckpointInfo> info = ReadCheckpointInfo(*second);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), StatusCode::kDataError);
  EXPECT_NE(info.status().message().find("do not match their checksum"), std::string::npos) << info.status().message();
}

// A run that diverged wrote NaN with a valid checksum: loading refuses it, naming the tensor and
// where in it.
TEST(CheckpointIntegrity, NonFiniteParametersAreRefusedNamingTheTensor) {
  std::string dir = testing::TempDir("ckpt_nan");
  Trained t;
  const ParamSpec& bias = t.model.layout().specs().back();
  t.params.data()[bias.offset] = std::numeric_limits<float>::quiet_NaN();
  auto path = CheckpointDir(dir, 1).Save(t.Info(3), t.model.layout(), StateOf(t.params, *t.adam), false);
  ASSERT_TRUE(path.ok());
  ParamArena params(t.model.layout());
  Status s = LoadCheckpoint(*path, t.model.layout(), params, nullptr);
  ASSERT_EQ(s.code(), StatusCode::kDataError);
  EXPECT_NE(s.message().find("tensor params/" + bias.name + " holds nan at row 0, column 0"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("diverged"), std::string::npos) << s.message();
}

// `latest` is a hint: a folder means its newest checkpoint that reads back whole, and the notes
// say why `latest` was not followed and which checkpoints were passed over.
TEST(CheckpointChoice, TheNewestVerifiedCheckpointWhateverLatestSays) {
  std::string dir = testing::TempDir("ckpt_choice");
  Trained t;
  CheckpointDir checkpoints(dir, 5);
  for (int64_t step : {10, 20, 30}) {
    ASSERT_TRUE(checkpoints.Save(t.Info(step), t.model.layout(), StateOf(t.params, *t.adam), false).ok());
  }
  ParamArena params(t.model.layout());
  const CheckpointLoader load = [&](const std::string& path) {
    return LoadCheckpoint(path, t.model.layout(), params, nullptr);
  };
  const auto choose = [&]() { return LoadNewestVerified(dir, load); };
  const auto notes = [](const ChosenCheckpoint& c) {
    std::string all;
    for (const auto& n : c.notes) all += n + "\n";
    return all;
  };
  StatusOr<ChosenCheckpoint> chosen = choose();
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(fs::path(chosen->path).filename(), "ckpt-000000030.h5");
  EXPECT_TRUE(chosen->notes.empty());

  fs::remove(fs::path(dir) / "latest");
  chosen = choose();
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(fs::path(chosen->path).filename(), "ckpt-000000030.h5");
  EXPECT_NE(notes(*chosen).find("there is no 'latest' pointer"), std::string::npos) << notes(*chosen);

  std::ofstream(fs::path(dir) / "latest") << "\x01\x02garbled";
  chosen = choose();
  ASSERT_TRUE(chosen.ok());
  EXPECT_NE(notes(*chosen).find("latest is garbled"), std::string::npos) << notes(*chosen);

  std::ofstream(fs::path(dir) / "latest") << "ckpt-000000099.h5\n";
  chosen = choose();
  ASSERT_TRUE(chosen.ok());
  EXPECT_NE(notes(*chosen).find("names ckpt-000000099.h5, which does not exist"), std::string::npos) << notes(*chosen);

  // The newest is damaged: the one before it is taken, and the damage is named.
  fs::resize_file(fs::path(dir) / "ckpt-000000030.h5", fs::file_size(fs::path(dir) / "ckpt-000000030.h5") / 2);
  chosen = choose();
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(fs::path(chosen->path).filename(), "ckpt-000000020.h5");
  EXPECT_NE(notes(*chosen).find("passed over " + dir + "/ckpt-000000030.h5"), std::string::npos) << notes(*chosen);

  // A pointer file is followed as it is; a file is itself.
  std::ofstream(fs::path(dir) / "best") << "ckpt-000000010.h5\n";
  chosen = LoadNewestVerified(dir + "/best", load);
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(fs::path(chosen->path).filename(), "ckpt-000000010.h5");

  // Nothing that reads back: an error listing each, never a silent fresh start.
  for (const char* name : {"ckpt-000000010.h5", "ckpt-000000020.h5"}) std::ofstream(fs::path(dir) / name) << "x";
  chosen = choose();
  ASSERT_FALSE(chosen.ok());
  EXPECT_EQ(chosen.status().code(), StatusCode::kDataError);
  EXPECT_NE(chosen.status().message().find("no checkpoint in " + dir + " reads back whole"), std::string::npos);
  EXPECT_NE(chosen.status().message().find("ckpt-000000010.h5"), std::string::npos);
  EXPECT_EQ(LoadNewestVerified(testing::TempDir("ckpt_none"), load).status().code(), StatusCode::kNotFound);
}

// Pruning removes only checkpoints older than the one just written: a newer one (a run that
// started over behind it) stays.
TEST(CheckpointChoice, PruningNeverRemovesANewerCheckpoint) {
  std::string dir = testing::TempDir("ckpt_prune_newer");
  Trained t;
  CheckpointDir checkpoints(dir, 1);
  ASSERT_TRUE(checkpoints.Save(t.Info(500), t.model.layout(), StateOf(t.params, *t.adam), false).ok());
  for (int64_t step : {10, 20}) {
    ASSERT_TRUE(checkpoints.Save(t.Info(step), t.model.layout(), StateOf(t.params, *t.adam), false).ok());
  }
  EXPECT_TRUE(fs::exists(fs::path(dir) / "ckpt-000000500.h5"));
  EXPECT_TRUE(fs::exists(fs::path(dir) / "ckpt-000000020.h5"));
  EXPECT_FALSE(fs::exists(fs::path(dir) / "ckpt-000000010.h5"));
}

// A write that fails (here: a folder that cannot be written) names the file, what was being
// written and the operating system's reason, and leaves no temporary file.
TEST(CheckpointIo, AFailedWriteNamesTheFileAndTheReason) {
  std::string dir = testing::TempDir("ckpt_readonly");
  Trained t;
  const std::string path = dir + "/no/such/folder/ckpt.h5";
  Status s = WriteCheckpoint(path, t.Info(1), t.model.layout(), StateOf(t.params, *t.adam));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cannot write checkpoint " + path + " (creating the file): No such file or directory"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(s.message().find("HDF5-DIAG"), std::string::npos);
}

// A disk that fills up: the write names the file and "No space left on device" at once, the
// temporary file is removed and the previous checkpoint stays. Needs a small tmpfs (root).
TEST(CheckpointIo, AFullDiskIsNamedAndLeavesThePreviousCheckpoint) {
  const std::string dir = testing::TempDir("ckpt_full");
  if (std::system(("mount -t tmpfs -o size=160k tmpfs " + dir + " 2>/dev/null").c_str()) != 0) {
    GTEST_SKIP() << "SKIPPED: CheckpointIo.AFullDiskIsNamedAndLeavesThePreviousCheckpoint: needs to mount a tmpfs "
                    "(run as root)";
  }
  struct Unmount {
    std::string dir;
    ~Unmount() { (void)!std::system(("umount " + dir).c_str()); }
  } unmount{dir};
  // 16k parameters with Adam: about 200 kB a checkpoint, more than the disk holds.
  model::CtrModel big(model::ModelOptions{"mlp", 16, {}}, model::FeatureShape{0, {"k"}, {1000}});
  ParamArena params(big.layout());
  big.Initialize(params, 1);
  auto adam = optim::Optimizer::Create(optim::OptimOptions{}, big.layout());
  Trained t;
  CheckpointInfo info = t.Info(7);
  info.layout = big.layout().Describe();

  // Straight to HDF5: the failure comes from the file driver, with the system's reason.
  Status s = WriteCheckpoint(dir + "/direct.h5", info, big.layout(), StateOf(params, *adam));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cannot write checkpoint " + dir + "/direct.h5 ("), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("No space left on device"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("the previous checkpoint is intact"), std::string::npos) << s.message();
  fs::remove(dir + "/direct.h5");

  // Through the folder: a small checkpoint fits, the big one is refused before writing.
  CheckpointDir checkpoints(dir, 3);
  ASSERT_TRUE(checkpoints.Save(t.Info(5), t.model.layout(), StateOf(t.params, *t.adam), false).ok());
  StatusOr<std::string> saved = checkpoints.Save(info, big.layout(), StateOf(params, *adam), false);
  ASSERT_FALSE(saved.ok());
  EXPECT_NE(saved.status().message().find("No space left on device (it needs about"), std::string::npos)
      << saved.status().message();
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << "left behind: " << entry.path();
  }
  auto latest = ResolveCheckpointPath(dir);
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(fs::path(*latest).filename(), "ckpt-000000005.h5");
  ParamArena read(t.model.layout());
  EXPECT_TRUE(LoadCheckpoint(*latest, t.model.layout(), read, nullptr).ok());
}

}  // namespace
}  // namespace ectrain::ckpt
