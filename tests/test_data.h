// Generated, learnable CTR-like data for tests: a CSV written with a seed, turned into train/test
// HDF5 files by the product's own `prepare` path, and a RunConfig that trains on them.
#pragma once

#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "config/run_config.h"
#include "core/rng.h"
#include "prep/prepare.h"

namespace ectrain::testing {

// A fresh folder under the test temp dir, unique per process and name.
// The folders TempDir made, removed when the test process that made them ends (not a death test's
// child, which shares them); ECTRAIN_KEEP_TEST_DIRS=1 keeps them for a look after a failure.
class CreatedTempDirs {
 public:
  static CreatedTempDirs& Get() {
    static CreatedTempDirs dirs;
    return dirs;
  }
  void Add(const std::filesystem::path& dir) {
    const std::lock_guard<std::mutex> lock(mutex_);
    dirs_.push_back(dir);
  }
  ~CreatedTempDirs() {
    if (getpid() != owner_ || std::getenv("ECTRAIN_KEEP_TEST_DIRS") != nullptr) return;
    std::error_code ignored;
    for (const auto& dir : dirs_) std::filesystem::remove_all(dir, ignored);
  }

 private:
  const pid_t owner_ = getpid();
  std::mutex mutex_;
  std::vector<std::filesystem::path> dirs_;
};

inline std::string TempDir(const std::string& name) {
  auto dir = std::filesystem::path(::testing::TempDir()) / ("ectrain_" + name + "_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  CreatedTempDirs::Get().Add(dir);
  return dir.string();
}

// Columns x1, x2, x3 (dense), user (`users` values), color (5 values), clicked (label).
inline void WriteSyntheticCsv(const std::string& path, int rows, uint64_t seed, int users = 20) {
  std::ofstream out(path);
  out << "x1,x2,x3,user,color,clicked\n";
  Rng rng(seed);
  const char* colors[] = {"red", "green", "blue", "black", "white"};
  for (int r = 0; r < rows; ++r) {
    double x1 = rng.Normal(), x2 = rng.Normal(), x3 = rng.Normal();
    int user = static_cast<int>(rng.Below(static_cast<uint64_t>(users)));
    int color = static_cast<int>(rng.Below(5));
    double z = 1.5 * x1 - x2 + 0.1 * (user % 7 - 3) + (color == 2 ? 1.0 : -0.3);
    int label = rng.Uniform() < 1.0 / (1.0 + std::exp(-z)) ? 1 : 0;
    out << x1 << "," << x2 << "," << x3 << ",u" << user << "," << colors[color] << "," << label << "\n";
  }
}

// A config that trains on the synthetic data set prepared in `dir` (see PrepareSynthetic).
inline RunConfig SyntheticConfig(const std::string& dir) {
  RunConfig config;
  config.data.train = dir + "/train.h5";
  config.data.test = dir + "/test.h5";
  config.data.label = "clicked";
  config.data.dense = {"x1", "x2", "x3"};
  config.data.categorical = {"user", "color"};
  config.model.embedding_dim = 4;
  config.model.hidden_units = {16, 8};
  config.train.epochs = 2;
  config.train.global_batch_size = 32;
  config.train.output_dir = dir + "/run";
  config.train.log_every_steps = 1000;
  return config;
}

// Writes synthetic.csv in `dir` and prepares train.h5 / test.h5 (a quarter held out) from it.
// With many users (more than about 50 at batch 32), the user table is exchanged row-sparsely.
inline void PrepareSynthetic(const std::string& dir, int rows, uint64_t seed, int users = 20) {
  const std::string csv = dir + "/synthetic.csv";
  WriteSyntheticCsv(csv, rows, seed, users);
  RunConfig config = SyntheticConfig(dir);
  config.prepare.source = csv;
  config.prepare.test_fraction = 0.25;
  auto report = prep::PrepareDataSet(config.prepare, config.data);
  ASSERT_TRUE(report.ok()) << report.status().message();
}

// Both at once, for single-process tests.
inline RunConfig SyntheticRunConfig(const std::string& dir, int rows = 600, uint64_t seed = 3) {
  PrepareSynthetic(dir, rows, seed);
  return SyntheticConfig(dir);
}

// Writes a columnar HDF5 file as an h5py user would: one 1-D float64 dataset per column.
inline void WriteColumns(const std::string& path,
                         const std::vector<std::pair<std::string, std::vector<double>>>& columns) {
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(file, 0) << path;
  for (const auto& [name, values] : columns) {
    hsize_t n = values.size();
    hid_t space = H5Screate_simple(1, &n, nullptr);
    hid_t set = H5Dcreate2(file, name.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
    H5Dclose(set);
    H5Sclose(space);
  }
  H5Fclose(file);
}

}  // namespace ectrain::testing
