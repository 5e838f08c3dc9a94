// Compute efficiency of the dense layers: the FLOP/s the training step's dense kernels achieve at a
// batch, as a share of this machine's single-precision matrix-multiply peak, measured here on one
// core the same way (Eigen, the build's flags): the best of large square products.
//
//   build/bench/compute_efficiency [--batch 4096] [--layers 51,64,32,1] [--reps 30] [--rounds 5]
//
// A dense layer in x out at batch B costs 2*B*in*out FLOPs forward and 4*B*in*out backward (the
// weight gradient and, except for the first layer when it has no embeddings below it, the input
// gradient). The step's dense kernels run exactly as the model calls them (DenseForward, ReLU,
// DenseBackward), on one thread. Prints a markdown table; medians over rounds.
#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "core/rng.h"
#include "kernels/cpu_kernels.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

std::vector<float> Random(size_t n, uint64_t seed) {
  ectrain::Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(rng.Uniform(-1, 1));
  return v;
}

// GFLOP/s of C = A * B for n x n single-precision matrices: the best of `reps` products.
double GemmGflops(int n, int reps) {
  Eigen::MatrixXf a = Eigen::MatrixXf::Random(n, n), b = Eigen::MatrixXf::Random(n, n), c(n, n);
  c.noalias() = a * b;  // warm-up
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto start = Clock::now();
    c.noalias() = a * b;
    best = std::min(best, Seconds(start));
  }
  if (c(0, 0) == 12345.0f) std::puts("");  // keep the product
  return 2.0 * n * n * n / best / 1e9;
}

// GFLOP/s of the dense part of one training step at `batch`: forward, ReLU, backward of every layer.
double DenseStepGflops(const std::vector<int64_t>& widths, int64_t batch, int reps, double* step_ms) {
  const size_t layers = widths.size() - 1;
  std::vector<std::vector<float>> w(layers), b(layers), dw(layers), db(layers), act(layers + 1), grad(layers + 1);
  double flops = 0;
  for (size_t i = 0; i < layers; ++i) {
    w[i] = Random(static_cast<size_t>(widths[i] * widths[i + 1]), 11 + i);
    b[i] = Random(static_cast<size_t>(widths[i + 1]), 21 + i);
    dw[i].assign(w[i].size(), 0);
    db[i].assign(b[i].size(), 0);
    flops += 6.0 * static_cast<double>(batch * widths[i] * widths[i + 1]);  // 2 forward + 4 backward
  }
  for (size_t i = 0; i <= layers; ++i) {
    act[i] = Random(static_cast<size_t>(batch * widths[i]), 31 + i);
    grad[i].assign(act[i].size(), 0);
  }
  auto step = [&] {
    for (size_t i = 0; i < layers; ++i) {
      ectrain::kernels::DenseForward(act[i].data(), w[i].data(), b[i].data(), batch, widths[i], widths[i + 1],
                                     act[i + 1].data());
      if (i + 1 < layers) ectrain::kernels::ReluForward(act[i + 1].data(), batch * widths[i + 1]);
    }
    for (size_t i = layers; i-- > 0;) {
      if (i + 1 < layers) ectrain::kernels::ReluBackward(act[i + 1].data(), grad[i + 1].data(), batch * widths[i + 1]);
      // The input gradient of the first layer feeds the embeddings below it: computed too.
      ectrain::kernels::DenseBackward(act[i].data(), w[i].data(), grad[i + 1].data(), batch, widths[i], widths[i + 1],
                                      dw[i].data(), db[i].data(), grad[i].data());
    }
  };
  step();  // warm-up
  const auto start = Clock::now();
  for (int r = 0; r < reps; ++r) step();
  const double seconds = Seconds(start) / reps;
  *step_ms = seconds * 1e3;
  return flops / seconds / 1e9;
}

std::vector<int64_t> ParseList(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoll(item));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t batch = 4096;
  int reps = 30, rounds = 5;
  // The seed's model: 3 categorical fields x 16-d embeddings + 3 dense = 51 inputs -> 64 -> 32 -> 1;
  // and a larger MLP where the GEMMs are big enough to approach the peak.
  std::vector<std::vector<int64_t>> models = {{51, 64, 32, 1}, {512, 512, 256, 1}};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--batch") {
      batch = std::stoll(next());
    } else if (arg == "--layers") {
      models = {ParseList(next())};
    } else if (arg == "--reps") {
      reps = std::stoi(next());
    } else if (arg == "--rounds") {
      rounds = std::stoi(next());
    } else {
      std::fprintf(stderr, "usage: compute_efficiency [--batch N] [--layers a,b,c,...] [--reps N] [--rounds N]\n");
      return 2;
    }
  }
  std::vector<double> peaks;
  std::vector<std::vector<double>> gflops(models.size()), ms(models.size());
  for (int round = 0; round < rounds; ++round) {  // interleaved, so drifting load hits all alike
    peaks.push_back(std::max(GemmGflops(1024, 5), GemmGflops(2048, 3)));
    for (size_t m = 0; m < models.size(); ++m) {
      double step_ms = 0;
      gflops[m].push_back(DenseStepGflops(models[m], batch, reps, &step_ms));
      ms[m].push_back(step_ms);
    }
  }
  const double peak = Median(peaks);
  std::printf(
      "single-precision GEMM peak (1 thread, best of 1024^3 and 2048^3 products): %.1f GFLOP/s (median of %d)\n\n",
      peak, rounds);
  std::printf("| dense layers | batch | dense step ms | GFLOP/s | share of peak |\n| --- | --- | --- | --- | --- |\n");
  for (size_t m = 0; m < models.size(); ++m) {
    std::string shape;
    for (size_t i = 0; i < models[m].size(); ++i) shape += (i ? " -> " : "") + std::to_string(models[m][i]);
    const double g = Median(gflops[m]);
    std::printf("| %s | %lld | %.2f | %.1f | %.0f%% |\n", shape.c_str(), static_cast<long long>(batch), Median(ms[m]),
                g, 100.0 * g / peak);
  }
  return 0;
}
