// The optimizer's row-sparse step (the lazy update of the embedding rows a step looked up), in
// nanoseconds per row, for every optimizer type. Tables shaped like bench/vs_pytorch.sh's model
// (users 60,000 x 16 and items 20,000 x 16, popular ids small: id = rows * u^2), the rows of one
// rank's batch of --batches rows and of the union of two ranks' batches (what each of 2 ranks
// updates), plus the model's dense layers (3,393 values). Only Optimizer::Step is timed; the rows
// and their gradients are listed before it, as gradient sync leaves them, after an untimed step
// over every row.
//
//   build/bench/sparse_optimizer [--batches 256,4096] [--steps 300] [--rounds 5]
//
// Each round runs every configuration in turn; the table shows medians over rounds.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "core/denormals.h"
#include "core/param_arena.h"
#include "core/rng.h"
#include "core/row_selection.h"
#include "optim/optimizer.h"

namespace {

using ectrain::ParamArena;
using ectrain::ParamKind;
using ectrain::ParamLayout;
using ectrain::RowSelection;

struct Config {
  std::string type;
  int64_t batch;
  int ranks;
};

struct Timing {
  double rows_per_step;
  double ns_per_row;
};

// One configuration: `steps` optimizer steps, each over the rows of `ranks` batches of `batch` ids.
Timing Run(const Config& config, int steps) {
  ParamLayout layout;
  const int users = layout.Add("users", 60000, 16, ParamKind::kEmbedding);
  const int items = layout.Add("items", 20000, 16, ParamKind::kEmbedding);
  layout.Add("dense", 1, 3393, ParamKind::kDenseWeight);
  ParamArena params(layout), grads(layout);
  for (int64_t i = 0; i < params.size(); ++i) params.data()[i] = 0.01f * static_cast<float>(i % 97) - 0.5f;
  ectrain::optim::OptimOptions options;
  options.type = config.type;
  options.momentum = config.type == "sgd" ? 0.9 : 0.0;
  auto optimizer = ectrain::optim::Optimizer::Create(options, layout);
  RowSelection rows;
  rows.Reset(static_cast<int>(layout.specs().size()));
  rows.SetSparse(users, 60000, 16);
  rows.SetSparse(items, 20000, 16);
  // One untimed step over every row first: the state arenas come zeroed from the kernel, and their
  // pages would otherwise be faulted in (and zeroed) inside the timed steps.
  for (const auto& [table, size] : {std::pair{users, 60000}, std::pair{items, 20000}}) {
    for (int64_t id = 0; id < size; ++id) rows.Slot(table, id);
  }
  optimizer->Step(params, grads, &rows);
  rows.ClearRows();
  ectrain::Rng rng(7);
  double seconds = 0;
  int64_t listed = 0;
  for (int step = 0; step < steps; ++step) {
    for (int64_t k = 0; k < config.batch * config.ranks; ++k) {
      for (const auto& [table, size] : {std::pair{users, 60000}, std::pair{items, 20000}}) {
        const double u = rng.Uniform();
        const int32_t slot = rows.Slot(table, static_cast<int64_t>(size * u * u));
        float* gradient = rows.gradients(table) + slot * 16;
        for (int c = 0; c < 16; ++c) gradient[c] += 1e-3f * static_cast<float>(c - 8);
      }
    }
    listed += static_cast<int64_t>(rows.rows(users).size() + rows.rows(items).size());
    const auto start = std::chrono::steady_clock::now();
    optimizer->Step(params, grads, &rows);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rows.ClearRows();
  }
  return {static_cast<double>(listed) / steps, seconds / static_cast<double>(listed) * 1e9};
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> batches{256, 4096};
  int steps = 300, rounds = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "usage: sparse_optimizer [--batches 256,4096] [--steps N] [--rounds N]\n");
      return 2;
    }
    const std::string value = argv[++i];
    if (arg == "--batches") {
      batches.clear();
      std::stringstream list(value);
      for (std::string item; std::getline(list, item, ',');) batches.push_back(std::atoll(item.c_str()));
    } else if (arg == "--steps") {
      steps = std::atoi(value.c_str());
    } else if (arg == "--rounds") {
      rounds = std::atoi(value.c_str());
    } else {
      std::fprintf(stderr, "usage: sparse_optimizer [--batches 256,4096] [--steps N] [--rounds N]\n");
      return 2;
    }
  }
  ectrain::FlushDenormalsToZero();  // as on training threads
  std::vector<Config> configs;
  for (const char* type : {"adam", "adagrad", "rmsprop", "sgd"}) {
    for (int64_t batch : batches) {
      for (int ranks : {1, 2}) configs.push_back({type, batch, ranks});
    }
  }
  std::vector<std::vector<double>> ns(configs.size());
  std::vector<double> rows_per_step(configs.size());
  for (int round = 0; round < rounds; ++round) {
    for (size_t i = 0; i < configs.size(); ++i) {
      const Timing t = Run(configs[i], steps);
      ns[i].push_back(t.ns_per_row);
      rows_per_step[i] = t.rows_per_step;
    }
  }
  std::printf("| optimizer | per-rank batch | rows of | rows a step | ns a row | us a step |\n");
  std::printf("| --- | --- | --- | --- | --- | --- |\n");
  for (size_t i = 0; i < configs.size(); ++i) {
    const double median = Median(ns[i]);
    std::printf("| %s%s | %lld | %s | %.0f | %.1f | %.1f |\n", configs[i].type.c_str(),
                configs[i].type == "sgd" ? " (momentum 0.9)" : "", static_cast<long long>(configs[i].batch),
                configs[i].ranks == 1 ? "1 rank" : "2 ranks' union", rows_per_step[i], median,
                median * rows_per_step[i] / 1e3);
  }
  return 0;
}
