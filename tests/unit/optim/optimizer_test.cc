// Optimizer steps against values computed by hand (see the comments for the arithmetic).
#include "optim/optimizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <barrier>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>

#include "core/denormals.h"

namespace ectrain::optim {
namespace {

// Lists row `id` of row-sparse tensor `spec` in `rows`, with gradient `values` (its compact row).
void AddRow(RowSelection& rows, int spec, int64_t id, const std::vector<float>& values) {
  const int32_t slot = rows.Slot(spec, id);
  std::copy(values.begin(), values.end(), rows.gradients(spec) + slot * rows.cols(spec));
}

ParamLayout OneParam() {
  ParamLayout layout;
  layout.Add("w", 1, 1, ParamKind::kDenseWeight);
  return layout;
}

TEST(Adam, TwoStepsMatchHandComputedValues) {
  ParamLayout layout = OneParam();
  ParamArena params(layout), grads(layout);
  OptimOptions options{"adam", 0.1, 0.9, 0.999, 1e-8};
  auto adam = Optimizer::Create(options, layout);
  params.data()[0] = 1.0f;
  // t=1, g=0.5: m=0.05, v=0.00025, m^=0.5, v^=0.25 -> p = 1 - 0.1*0.5/(0.5+1e-8) = 0.9
  grads.data()[0] = 0.5f;
  adam->Step(params, grads);
  EXPECT_NEAR(params.data()[0], 0.9, 1e-6);
  // t=2, g=-1: m=-0.055, v=0.00124975, m^=-0.2894737, v^=0.6251876 -> p = 0.9366104
  grads.data()[0] = -1.0f;
  adam->Step(params, grads);
  EXPECT_NEAR(params.data()[0], 0.9366103542, 1e-6);
  EXPECT_EQ(adam->step_count(), 2);
  ASSERT_EQ(adam->state().size(), 2u);
  EXPECT_NEAR(adam->state()[0].second->data()[0], -0.055, 1e-7);
  EXPECT_NEAR(adam->state()[1].second->data()[0], 0.00124975, 1e-7);  // float: 1 - 0.999 is inexact
}

TEST(Sgd, StepIsLearningRateTimesGradient) {
  ParamLayout layout;
  layout.Add("w", 2, 2, ParamKind::kDenseWeight);
  ParamArena params(layout), grads(layout);
  OptimOptions options;
  options.type = "sgd";
  options.learning_rate = 0.5;
  auto sgd = Optimizer::Create(options, layout);
  EXPECT_EQ(sgd->type(), "sgd");
  for (int i = 0; i < 4; ++i) {
    params.data()[i] = static_cast<float>(i);
    grads.data()[i] = 1.0f - static_cast<float>(i);
  }
  sgd->Step(params, grads);
  EXPECT_FLOAT_EQ(params.data()[0], 0 - 0.5f * 1);
  EXPECT_FLOAT_EQ(params.data()[1], 1 - 0.5f * 0);
  EXPECT_FLOAT_EQ(params.data()[3], 3 - 0.5f * -2);
  EXPECT_TRUE(sgd->state().empty());
}

TEST(Adam, RowSparseUpdatesTouchOnlyTheListedRows) {
  ParamLayout layout;
  layout.Add("table", 4, 2, ParamKind::kEmbedding);
  layout.Add("w", 1, 3, ParamKind::kDenseWeight);
  ParamArena lazy_params(layout), dense_params(layout), grads(layout);
  for (int64_t i = 0; i < lazy_params.size(); ++i) lazy_params.data()[i] = dense_params.data()[i] = 0.5f;
  const ParamSpec& table = layout.spec(0);
  grads.data()[table.offset + 1 * 2] = 0.3f;       // row 1
  grads.data()[table.offset + 3 * 2 + 1] = -0.2f;  // row 3
  for (int i = 0; i < 3; ++i) grads.data()[layout.spec(1).offset + i] = 0.1f * (i + 1);
  RowSelection rows;
  rows.Reset(2);
  rows.SetSparse(0, 4, 2);
  AddRow(rows, 0, 1, {0.3f, 0.0f});  // the table rows' gradients, as in `grads` for the dense step
  AddRow(rows, 0, 3, {0.0f, -0.2f});
  auto lazy = Optimizer::Create(OptimOptions{}, layout);
  auto dense = Optimizer::Create(OptimOptions{}, layout);
  lazy->Step(lazy_params, grads, &rows);
  dense->Step(dense_params, grads);
  // Listed rows and whole tensors match the dense update; unlisted rows did not move.
  for (int64_t row : {1, 3}) {
    for (int c = 0; c < 2; ++c) {
      EXPECT_EQ(lazy_params.data()[table.offset + row * 2 + c], dense_params.data()[table.offset + row * 2 + c]);
    }
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(lazy_params.data()[layout.spec(1).offset + i], dense_params.data()[layout.spec(1).offset + i]);
  }
  for (int64_t row : {0, 2}) {
    EXPECT_EQ(lazy_params.data()[table.offset + row * 2], 0.5f);
    EXPECT_EQ(lazy->state()[0].second->data()[table.offset + row * 2], 0.0f);
  }
  // A second lazy step on row 0 only: row 1 keeps its value (its momentum does not carry it on).
  const float row1 = lazy_params.data()[table.offset + 2];
  grads.SetZero();
  grads.data()[table.offset] = 1.0f;
  rows.ClearRows();
  AddRow(rows, 0, 0, {1.0f, 0.0f});
  lazy->Step(lazy_params, grads, &rows);
  EXPECT_EQ(lazy_params.data()[table.offset + 2], row1);
  EXPECT_NE(lazy_params.data()[table.offset], 0.5f);
}

// Every optimizer's row loop (its own, with the update inlined) against its whole-tensor update:
// many rows in a scattered order (more than the loop fetches ahead), rows whose width is not a
// multiple of the vector width, weight decay on the table, two steps.
TEST(EveryOptimizer, RowSparseStepsMatchTheWholeTensorStepOnTheListedRows) {
  ParamLayout layout;
  layout.Add("w", 3, 5, ParamKind::kDenseWeight);
  layout.Add("table", 40, 20, ParamKind::kEmbedding);  // at an offset: rows are found from it
  const ParamSpec& table = layout.spec(1);
  const ParamSpec& weights = layout.spec(0);
  const std::vector<int64_t> listed = {17, 3, 39, 0, 22, 8, 31, 12, 5, 27, 35, 1, 19};
  for (const char* type : {"sgd", "sgd_momentum", "sgd_nesterov", "rmsprop", "adagrad", "adam", "adamw"}) {
    SCOPED_TRACE(type);
    OptimOptions options;
    options.type = std::string(type).substr(0, 3) == "sgd" ? "sgd" : type;
    options.momentum = std::string(type) == "sgd" ? 0.0 : 0.9;
    options.nesterov = std::string(type) == "sgd_nesterov";
    options.learning_rate = 0.01;
    options.embedding_weight_decay = 0.05;
    options.weight_decay = 0.02;
    ParamArena lazy_params(layout), dense_params(layout), grads(layout);
    const auto initial = [](int64_t i) { return 0.01f * static_cast<float>(i % 23) - 0.1f; };
    for (int64_t i = 0; i < lazy_params.size(); ++i) lazy_params.data()[i] = dense_params.data()[i] = initial(i);
    auto lazy = Optimizer::Create(options, layout);
    auto dense = Optimizer::Create(options, layout);
    RowSelection rows;
    rows.Reset(2);
    rows.SetSparse(1, table.rows, table.cols);
    for (int step = 0; step < 2; ++step) {
      grads.SetZero();
      rows.ClearRows();
      for (size_t k = 0; k < listed.size(); ++k) {
        std::vector<float> gradient(table.cols);
        for (int64_t c = 0; c < table.cols; ++c) {
          gradient[c] = 0.001f * static_cast<float>((k * 7 + c * 3 + step) % 11) - 0.004f;
        }
        AddRow(rows, 1, listed[k], gradient);
        std::copy(gradient.begin(), gradient.end(), grads.data() + table.offset + listed[k] * table.cols);
      }
      for (int i = 0; i < 15; ++i) grads.data()[weights.offset + i] = 0.01f * (i - 7);
      lazy->Step(lazy_params, grads, &rows);
      // The whole-tensor step decays unlisted rows too: compare the listed ones.
      dense->Step(dense_params, grads);
    }
    for (int64_t row = 0; row < table.rows; ++row) {
      const bool is_listed = std::find(listed.begin(), listed.end(), row) != listed.end();
      for (int64_t c = 0; c < table.cols; ++c) {
        const int64_t at = table.offset + row * table.cols + c;
        if (is_listed) {
          ASSERT_EQ(lazy_params.data()[at], dense_params.data()[at]) << "row " << row << " col " << c;
          for (size_t s = 0; s < lazy->state().size(); ++s) {
            if (lazy->state()[s].first == "decay_clock") continue;  // only row-sparse updates keep it
            ASSERT_EQ(lazy->state()[s].second->data()[at], dense->state()[s].second->data()[at]) << "row " << row;
          }
        } else {
          ASSERT_EQ(lazy_params.data()[at], initial(at)) << "unlisted row " << row << " moved";
        }
      }
    }
    for (int i = 0; i < 15; ++i) {
      const int64_t at = weights.offset + i;
      EXPECT_EQ(lazy_params.data()[at], dense_params.data()[at]);
    }
  }
}

// FTRL-Proximal per coordinate, in double, from the paper's update.
struct FtrlReference {
  double alpha, beta, l1, l2;
  double z = 0, n = 0, w = 0;
  void Step(double g) {
    if (n == 0) z = -w * (beta / alpha + l2);  // the first update starts from the current value
    const double sigma = (std::sqrt(n + g * g) - std::sqrt(n)) / alpha;
    z += g - sigma * w;
    n += g * g;
    w = std::abs(z) <= l1 ? 0.0 : -(z - (z > 0 ? l1 : -l1)) / ((beta + std::sqrt(n)) / alpha + l2);
  }
};

TEST(Ftrl, MatchesThePapersUpdateAndL1GivesExactZeros) {
  ParamLayout layout;
  layout.Add("w", 1, 2, ParamKind::kDenseWeight);
  layout.Add("b", 1, 1, ParamKind::kBias);
  ParamArena params(layout), grads(layout);
  OptimOptions options;
  options.type = "ftrl";
  options.ftrl_alpha = 0.1;
  options.ftrl_beta = 1.0;
  options.ftrl_l1 = 0.05;
  options.ftrl_l2 = 0.5;
  auto ftrl = Optimizer::Create(options, layout);
  EXPECT_EQ(ftrl->type(), "ftrl");
  const int64_t b = layout.spec(1).offset;
  params.data()[b] = -2.9f;  // a prior bias: kept until the gradients move it
  FtrlReference w0{0.1, 1.0, 0.05, 0.5}, w1{0.1, 1.0, 0.05, 0.5}, bias{0.1, 1.0, 0.0, 0.0};
  bias.w = -2.9;
  const float g0[] = {0.5f, -0.3f, 0.8f, 0.1f}, g1[] = {0.01f, -0.02f, 0.01f, 0.0f}, gb[] = {0.0f, 0.2f, -0.1f, 0.3f};
  for (int t = 0; t < 4; ++t) {
    grads.data()[0] = g0[t];
    grads.data()[1] = g1[t];
    grads.data()[b] = gb[t];
    ftrl->Step(params, grads);
    w0.Step(g0[t]);
    w1.Step(g1[t]);
    bias.Step(gb[t]);
    EXPECT_NEAR(params.data()[0], w0.w, 1e-6) << "step " << t;
    EXPECT_NEAR(params.data()[b], bias.w, 1e-5) << "step " << t;
    if (t == 0) {
      EXPECT_NEAR(params.data()[b], -2.9, 1e-6) << "a zero gradient keeps the initial bias";
    }
  }
  EXPECT_NE(params.data()[0], 0.0f);
  EXPECT_EQ(params.data()[1], 0.0f) << "small gradients stay inside L1: an exact zero";
  EXPECT_EQ(w1.w, 0.0);
  ASSERT_EQ(ftrl->state().size(), 2u);
  EXPECT_EQ(ftrl->state()[0].first, "ftrl_z");
}

TEST(Ftrl, TheWidePartTakesFtrlAndTheRestTheMainRule) {
  ParamLayout layout;
  layout.Add("wide/embedding/item", 3, 1, ParamKind::kEmbedding);
  layout.Add("wide/bias", 1, 1, ParamKind::kBias);
  layout.Add("output/weight", 2, 2, ParamKind::kDenseWeight);
  ParamArena mixed_params(layout), adam_params(layout), ftrl_params(layout), grads(layout);
  for (int64_t i = 0; i < grads.size(); ++i) {
    grads.data()[i] = 0.1f * static_cast<float>(i + 1) - 0.3f;
    mixed_params.data()[i] = adam_params.data()[i] = ftrl_params.data()[i] = 0.01f * static_cast<float>(i);
  }
  OptimOptions options;
  options.wide = "ftrl";
  options.ftrl_l2 = 0.1;
  auto mixed = Optimizer::Create(options, layout);
  EXPECT_EQ(mixed->type(), "adam, wide: ftrl");
  options.wide = "same";
  auto adam = Optimizer::Create(options, layout);
  options.type = "ftrl";
  auto ftrl = Optimizer::Create(options, layout);
  for (int t = 0; t < 3; ++t) {
    mixed->Step(mixed_params, grads);
    adam->Step(adam_params, grads);
    ftrl->Step(ftrl_params, grads);
  }
  const int64_t wide_end = layout.spec(2).offset;
  for (int64_t i = 0; i < grads.size(); ++i) {
    EXPECT_EQ(mixed_params.data()[i], (i < wide_end ? ftrl_params : adam_params).data()[i]) << "element " << i;
  }
  const auto state = mixed->state();
  ASSERT_EQ(state.size(), 4u);
  EXPECT_EQ(state[2].first, "ftrl_z");
}

// Row-sparse SGD with decay: a row skipped for k steps first decays for them, by exp(-decay * the
// sum of their learning rates) (the continuous form of the whole-tensor update's (1 - lr decay) per step).
TEST(LazyDecay, ASkippedRowCatchesUpOnTheStepsItMissed) {
  ParamLayout layout;
  layout.Add("embedding/user", 3, 2, ParamKind::kEmbedding);
  layout.Add("embedding/item", 3, 2, ParamKind::kEmbedding);
  ParamArena lazy_params(layout), dense_params(layout), grads(layout);
  auto initial = [](int64_t i) { return 0.5f + 0.1f * static_cast<float>(i); };
  for (int64_t i = 0; i < grads.size(); ++i) lazy_params.data()[i] = dense_params.data()[i] = initial(i);
  OptimOptions options;
  options.type = "sgd";
  options.learning_rate = 0.1;
  options.embedding_weight_decay = 0.05;
  options.embedding_weight_decay_by_field = {{"item", 0.2}};
  auto lazy = Optimizer::Create(options, layout);
  auto dense = Optimizer::Create(options, layout);
  ASSERT_EQ(lazy->state().back().first, "decay_clock");
  RowSelection rows;
  rows.Reset(2);
  rows.SetSparse(0, 3, 2);
  rows.SetSparse(1, 3, 2);
  // Steps 1-6 look up row 0 of each table; step 7 rows 0 and 2. Row 1 is never looked up.
  const float g[] = {0.2f, -0.1f};
  for (int t = 1; t <= 7; ++t) {
    grads.SetZero();
    rows.ClearRows();
    for (int spec : {0, 1}) {
      for (int64_t row : (t < 7 ? std::vector<int64_t>{0} : std::vector<int64_t>{0, 2})) {
        AddRow(rows, spec, row, {g[0], g[1]});
        for (int c = 0; c < 2; ++c) grads.data()[layout.spec(spec).offset + row * 2 + c] = g[c];
      }
    }
    lazy->Step(lazy_params, grads, &rows);
    dense->Step(dense_params, grads);
  }
  for (int spec : {0, 1}) {
    const int64_t at = layout.spec(spec).offset;
    const double decay = spec == 0 ? 0.05 : 0.2, lr = 0.1;
    for (int c = 0; c < 2; ++c) {
      // Looked up every step: no catch-up, bit for bit the dense update.
      EXPECT_EQ(lazy_params.data()[at + c], dense_params.data()[at + c]);
      // Skipped six steps: their decay, then step 7's update with its own decay.
      const double caught_up = initial(at + 4 + c) * std::exp(-decay * 6 * lr);
      EXPECT_NEAR(lazy_params.data()[at + 4 + c], caught_up - lr * (g[c] + decay * caught_up), 1e-6);
      // ... which is the dense update's value up to the continuous form's second order.
      EXPECT_NEAR(lazy_params.data()[at + 4 + c], dense_params.data()[at + 4 + c],
                  6 * std::pow(decay * lr, 2) / 2 * initial(at + 4 + c) + 1e-6);
      // Never looked up: its decay is pending.
      EXPECT_EQ(lazy_params.data()[at + 2 + c], initial(at + 2 + c));
    }
  }
}

TEST(LazyDecay, AResumedOptimizerContinuesBitForBit) {
  ParamLayout layout;
  layout.Add("embedding/user", 4, 2, ParamKind::kEmbedding);
  ParamArena params(layout), resumed_params(layout), grads(layout);
  OptimOptions options;
  options.type = "adagrad";
  options.learning_rate = 0.1;
  options.schedule = "cosine";
  options.embedding_weight_decay = 0.01;
  const RunShape shape{100, 8};
  auto first = Optimizer::Create(options, layout, shape);
  RowSelection rows;
  rows.Reset(1);
  rows.SetSparse(0, 4, 2);
  auto step = [&](Optimizer& optimizer, ParamArena& p, int t) {
    rows.ClearRows();
    AddRow(rows, 0, t % 4, {0.3f, -0.2f});
    optimizer.Step(p, grads, &rows);
  };
  for (int64_t i = 0; i < params.size(); ++i) params.data()[i] = 0.1f * i;
  for (int t = 0; t < 5; ++t) step(*first, params, t);
  // A new optimizer given the state and step count, as a checkpoint restores them.
  auto resumed = Optimizer::Create(options, layout, shape);
  std::copy(params.data(), params.data() + params.size(), resumed_params.data());
  auto from = first->state(), to = resumed->state();
  ASSERT_EQ(from.size(), to.size());
  for (size_t i = 0; i < from.size(); ++i) {
    std::copy(from[i].second->data(), from[i].second->data() + from[i].second->size(), to[i].second->data());
  }
  resumed->set_step_count(first->step_count());
  for (int t = 5; t < 12; ++t) {
    step(*first, params, t);
    step(*resumed, resumed_params, t);
  }
  for (int64_t i = 0; i < params.size(); ++i) EXPECT_EQ(params.data()[i], resumed_params.data()[i]) << i;
}

TEST(ParamArena, LargeArenasOfOneLayoutStartAtDifferentPageOffsets) {
  // The parameters and the optimizer's moments share a layout: the same row in each must not fall
  // on the same cache sets (the lazy update touches all three).
  ParamLayout layout;
  layout.Add("table", 100000, 16, ParamKind::kEmbedding);  // 6.4 MB: on huge pages
  ParamArena params(layout);
  auto adam = Optimizer::Create(OptimOptions{}, layout);
  std::vector<uintptr_t> offsets{reinterpret_cast<uintptr_t>(params.data()) % 4096};
  for (auto& [name, arena] : adam->state()) offsets.push_back(reinterpret_cast<uintptr_t>(arena->data()) % 4096);
  ASSERT_EQ(offsets.size(), 3u);
  for (uintptr_t offset : offsets) EXPECT_EQ(offset % 64, 0u) << "arenas stay 64-byte aligned";
  std::sort(offsets.begin(), offsets.end());
  EXPECT_TRUE(std::adjacent_find(offsets.begin(), offsets.end()) == offsets.end())
      << offsets[0] << " " << offsets[1] << " " << offsets[2];
  params.data()[params.size() - 1] = 1.0f;  // the whole arena is writable
  EXPECT_EQ(params.data()[params.size() - 1], 1.0f);
}

// One parameter p with gradient g, and a second tensor of each kind, for the formulas below.
struct Scalar {
  ParamLayout layout;
  Scalar() { layout.Add("w", 1, 1, ParamKind::kDenseWeight); }
};

double StepOnce(OptimOptions options, double p0, double g, int steps = 1) {
  Scalar s;
  ParamArena params(s.layout), grads(s.layout);
  auto opt = Optimizer::Create(options, s.layout);
  params.data()[0] = static_cast<float>(p0);
  grads.data()[0] = static_cast<float>(g);
  for (int i = 0; i < steps; ++i) opt->Step(params, grads);
  return params.data()[0];
}

TEST(Sgd, MomentumAndNesterovMatchHandComputedValues) {
  OptimOptions o;
  o.type = "sgd";
  o.learning_rate = 0.1;
  o.momentum = 0.9;
  // buf1 = 1, p1 = 1 - 0.1 = 0.9; buf2 = 0.9 + 1 = 1.9, p2 = 0.9 - 0.19 = 0.71
  EXPECT_NEAR(StepOnce(o, 1.0, 1.0, 2), 0.71, 1e-6);
  o.nesterov = true;
  // buf1 = 1, p1 = 1 - 0.1 (1 + 0.9) = 0.81; buf2 = 1.9, p2 = 0.81 - 0.1 (1 + 1.71) = 0.539
  EXPECT_NEAR(StepOnce(o, 1.0, 1.0, 2), 0.539, 1e-6);
}

TEST(RmsPropAndAdagrad, MatchHandComputedValues) {
  OptimOptions o;
  o.type = "rmsprop";
  o.learning_rate = 0.01;
  o.rho = 0.99;
  o.epsilon = 0;
  // v = 0.01 * 4 = 0.04; p = 1 - 0.01 * 2 / 0.2 = 0.9
  EXPECT_NEAR(StepOnce(o, 1.0, 2.0), 0.9, 1e-6);
  o.type = "adagrad";
  o.learning_rate = 0.5;
  // s1 = 4, p1 = 1 - 0.5 * 2/2 = 0.5; s2 = 8, p2 = 0.5 - 0.5 * 2/sqrt(8) = 0.1464466
  EXPECT_NEAR(StepOnce(o, 1.0, 2.0, 2), 0.1464466094, 1e-6);
}

TEST(WeightDecay, IsL2ForAdamAndDecoupledForAdamW) {
  OptimOptions o;
  o.learning_rate = 0.1;
  o.weight_decay = 0.5;
  o.type = "adam";
  // g' = 0 + 0.5 * 2 = 1: Adam's first step moves by lr whatever the gradient's size: p = 1.9
  EXPECT_NEAR(StepOnce(o, 2.0, 0.0), 1.9, 1e-6);
  o.type = "adamw";
  // p = 2 (1 - 0.1 * 0.5) = 1.9, then g = 0 leaves it there (m = 0)
  EXPECT_NEAR(StepOnce(o, 2.0, 0.0), 1.9, 1e-6);
  // With g = 1: adamw 1.9 - 0.1 = 1.8; adam g' = 2, one step of lr: 1.9.
  EXPECT_NEAR(StepOnce(o, 2.0, 1.0), 1.8, 1e-6);
  o.type = "adam";
  EXPECT_NEAR(StepOnce(o, 2.0, 1.0), 1.9, 1e-6);
}

TEST(WeightDecay, FollowsTheParameterKind) {
  ParamLayout layout;
  layout.Add("table", 2, 1, ParamKind::kEmbedding);
  layout.Add("w", 1, 1, ParamKind::kDenseWeight);
  layout.Add("b", 1, 1, ParamKind::kBias);
  ParamArena params(layout), grads(layout);
  const int64_t table = layout.spec(0).offset, w = layout.spec(1).offset, b = layout.spec(2).offset;
  for (int64_t i : {table, table + 1, w, b}) params.data()[i] = 1.0f;
  OptimOptions o;
  o.type = "sgd";
  o.learning_rate = 0.1;
  o.weight_decay = 0.5;
  o.embedding_weight_decay = 0.2;
  auto sgd = Optimizer::Create(o, layout);
  RowSelection rows;
  rows.Reset(3);
  rows.SetSparse(0, 2, 1);
  AddRow(rows, 0, 1, {0.0f});
  sgd->Step(params, grads, &rows);
  EXPECT_FLOAT_EQ(params.data()[table], 1.0f) << "an untouched row of a row-sparse table does not decay";
  EXPECT_FLOAT_EQ(params.data()[table + 1], 1.0f - 0.1f * 0.2f);
  EXPECT_FLOAT_EQ(params.data()[w], 1.0f - 0.1f * 0.5f);
  EXPECT_FLOAT_EQ(params.data()[b], 1.0f) << "biases never decay";
}

TEST(ClipNorm, ScalesTheGlobalNormDownButNeverUp) {
  ParamLayout layout;
  layout.Add("table", 3, 1, ParamKind::kEmbedding);
  layout.Add("w", 1, 1, ParamKind::kDenseWeight);
  ParamArena params(layout), grads(layout);
  const int64_t table = layout.spec(0).offset, w = layout.spec(1).offset;
  grads.data()[table + 2] = 100.0f;  // ignored: a row-sparse table's gradient is in `rows`
  grads.data()[w] = 4.0f;
  OptimOptions o;
  o.type = "sgd";
  o.learning_rate = 1.0;
  o.clip_norm = 1.0;
  auto sgd = Optimizer::Create(o, layout);
  RowSelection rows;
  rows.Reset(2);
  rows.SetSparse(0, 3, 1);
  AddRow(rows, 0, 1, {3.0f});
  sgd->Step(params, grads, &rows);
  EXPECT_NEAR(sgd->last_gradient_norm(), 5.0, 1e-6);
  EXPECT_NEAR(params.data()[table + 1], -0.6, 1e-6);
  EXPECT_NEAR(params.data()[w], -0.8, 1e-6);
  o.clip_norm = 10.0;
  auto loose = Optimizer::Create(o, layout);
  params.SetZero();
  loose->Step(params, grads, &rows);
  EXPECT_NEAR(params.data()[w], -4.0, 1e-6) << "a norm under the limit is left alone";
}

TEST(Schedule, PlateauMultipliesByTheFactorPerReductionDownToTheFloor) {
  OptimOptions o;
  o.learning_rate = 1.0;
  o.warmup_steps = 4;
  o.schedule = "plateau";
  o.decay_factor = 0.5;
  o.min_learning_rate = 0.2;
  const RunShape shape{104, 256};
  EXPECT_DOUBLE_EQ(LearningRateAt(o, shape, 2, 3), 0.5);  // the warm-up first
  EXPECT_DOUBLE_EQ(LearningRateAt(o, shape, 50), 1.0);
  EXPECT_DOUBLE_EQ(LearningRateAt(o, shape, 50, 1), 0.5);
  EXPECT_DOUBLE_EQ(LearningRateAt(o, shape, 50, 2), 0.25);
  EXPECT_DOUBLE_EQ(LearningRateAt(o, shape, 50, 3), 0.2);
  // The optimizer steps with the reductions it is told.
  ParamLayout layout = OneParam();
  ParamArena params(layout), grads(layout);
  o.type = "sgd";
  o.warmup_steps = 0;
  auto sgd = Optimizer::Create(o, layout, shape);
  grads.data()[0] = 1.0f;
  sgd->Step(params, grads);
  EXPECT_FLOAT_EQ(params.data()[0], -1.0f);
  sgd->set_rate_reductions(1);
  sgd->Step(params, grads);
  EXPECT_FLOAT_EQ(params.data()[0], -1.5f);
  EXPECT_FLOAT_EQ(static_cast<float>(sgd->last_learning_rate()), 0.5f);
}

TEST(Schedule, WarmupStepAndCosine) {
  OptimOptions o;
  o.learning_rate = 1.0;
  o.warmup_steps = 4;
  const RunShape shape{104, 256};
  EXPECT_DOUBLE_EQ(LearningRateAt(o, shape, 1), 0.25);
  EXPECT_DOUBLE_EQ(LearningRateAt(o, shape, 4), 1.0);
  EXPECT_DOUBLE_EQ(LearningRateAt(o, shape, 50), 1.0);  // constant
  o.schedule = "step";
  o.decay_every_steps = 10;
  o.decay_factor = 0.5;
  EXPECT_DOUBLE_EQ(LearningRateAt(o, shape, 14), 1.0);
  EXPECT_DOUBLE_EQ(LearningRateAt(o, shape, 15), 0.5);
  EXPECT_DOUBLE_EQ(LearningRateAt(o, shape, 34), 0.25);
  o.schedule = "cosine";
  o.min_learning_rate = 0.1;
  EXPECT_DOUBLE_EQ(LearningRateAt(o, shape, 5), 1.0);
  EXPECT_NEAR(LearningRateAt(o, shape, 104), 0.1, 1e-12);
  EXPECT_NEAR(LearningRateAt(o, shape, 5 + 99 / 2.0), 0.55, 0.02);  // half way
  o.scale_with_batch = 128;                                         // linear scaling rule: 256 / 128
  EXPECT_NEAR(LearningRateAt(o, shape, 5), 2.0, 1e-12);
}

TEST(Schedule, TheOptimizerStepsWithIt) {
  OptimOptions o;
  o.type = "sgd";
  o.learning_rate = 1.0;
  o.warmup_steps = 2;
  Scalar s;
  ParamArena params(s.layout), grads(s.layout);
  grads.data()[0] = 1.0f;
  auto sgd = Optimizer::Create(o, s.layout, {10, 32});
  sgd->Step(params, grads);
  EXPECT_FLOAT_EQ(params.data()[0], -0.5f);
  EXPECT_DOUBLE_EQ(sgd->last_learning_rate(), 0.5);
  sgd->Step(params, grads);
  EXPECT_FLOAT_EQ(params.data()[0], -1.5f);
}

// Memory for one arena of `layout` that several optimizers' arenas point into, as the ranks of a
// host share their model (64-byte aligned, zeroed).
std::shared_ptr<float> SharedArenaMemory(const ParamLayout& layout) {
  const size_t bytes = (static_cast<size_t>(layout.total_size()) * sizeof(float) + 63) / 64 * 64;
  auto* memory = static_cast<float*>(std::aligned_alloc(64, bytes));
  std::memset(memory, 0, bytes);
  return {memory, &std::free};
}

// `parts` optimizers over one copy of the parameters and state, each given the rows it owns,
// against one optimizer given all: the same values bit for bit, whichever optimizer, after two
// steps. Dense tensors of awkward sizes (their slices end mid-tensor and past the end); tables
// whose rows are narrower than a cache line.
struct SharedRun {
  ParamLayout layout;
  std::vector<int64_t> listed = {17, 3, 39, 0, 22, 8, 31, 12, 5, 27, 35, 1, 19, 2, 38};
  SharedRun() {
    layout.Add("w", 7, 13, ParamKind::kDenseWeight);
    layout.Add("b", 1, 5, ParamKind::kBias);
    layout.Add("table", 40, 5, ParamKind::kEmbedding);
    layout.Add("narrow", 40, 4, ParamKind::kEmbedding);
  }
  static float Initial(int64_t i) { return 0.01f * static_cast<float>(i % 23) - 0.1f; }
  // The gradients of step `step`: every dense value, and the `listed` rows of both tables that part
  // `part` of `parts` owns (any split of the rows will do; this one puts neighbours in one part).
  void Gradients(int step, ParamArena& grads, RowSelection& rows, int part, int parts) const {
    rows.Reset(4);
    rows.SetSparse(2, 40, 5);
    rows.SetSparse(3, 40, 4);
    for (int spec : {0, 1}) {
      const ParamSpec& s = layout.spec(spec);
      for (int64_t i = 0; i < s.size(); ++i)
        grads.data()[s.offset + i] = 0.01f * static_cast<float>((i * 5 + step) % 13) - 0.06f;
    }
    for (int spec : {2, 3}) {
      const int64_t cols = layout.spec(spec).cols;
      for (size_t k = 0; k < listed.size(); ++k) {
        if (listed[k] / 4 % parts != part) continue;
        std::vector<float> gradient(static_cast<size_t>(cols));
        for (int64_t c = 0; c < cols; ++c)
          gradient[c] = 0.001f * static_cast<float>((k * 7 + c * 3 + step) % 11) - 0.004f;
        AddRow(rows, spec, listed[k], gradient);
      }
    }
  }
};

OptimOptions SharedRunOptions(const std::string& type) {
  OptimOptions options;
  options.type = type;
  options.learning_rate = 0.01;
  options.momentum = 0.9;
  options.embedding_weight_decay = 0.05;
  options.weight_decay = 0.02;
  return options;
}

TEST(SharedUpdates, PartsOverOneCopyMatchOneOptimizerBitForBit) {
  const SharedRun run;
  for (const char* type : {"sgd", "rmsprop", "adagrad", "adam", "adamw"}) {
    for (int parts : {2, 3}) {
      SCOPED_TRACE(std::string(type) + ", " + std::to_string(parts) + " parts");
      const OptimOptions options = SharedRunOptions(type);
      ParamArena alone_params(run.layout), grads(run.layout);
      for (int64_t i = 0; i < alone_params.size(); ++i) alone_params.data()[i] = SharedRun::Initial(i);
      auto alone = Optimizer::Create(options, run.layout);
      // The shared copy: parameters and each state arena once, every part's arenas pointing there.
      std::vector<std::shared_ptr<float>> memory{SharedArenaMemory(run.layout)};
      for (int64_t i = 0; i < alone_params.size(); ++i) memory[0].get()[i] = SharedRun::Initial(i);
      for (size_t k = 0; k < alone->state().size(); ++k) memory.push_back(SharedArenaMemory(run.layout));
      std::vector<std::unique_ptr<ParamArena>> part_params;
      std::vector<std::unique_ptr<Optimizer>> part_optimizers;
      for (int part = 0; part < parts; ++part) {
        part_params.push_back(std::make_unique<ParamArena>(run.layout));
        part_params.back()->UseStorage(memory[0].get());
        part_optimizers.push_back(Optimizer::Create(options, run.layout));
        part_optimizers.back()->ShareUpdates(part, parts, [](double) -> double {
          ADD_FAILURE() << "the sum over parts is only needed when clipping";
          return 0;
        });
        auto state = part_optimizers.back()->state();
        for (size_t k = 0; k < state.size(); ++k) state[k].second->UseStorage(memory[k + 1].get());
      }
      RowSelection rows;
      for (int step = 0; step < 2; ++step) {
        run.Gradients(step, grads, rows, 0, 1);
        alone->Step(alone_params, grads, &rows);
        for (int part = 0; part < parts; ++part) {
          run.Gradients(step, grads, rows, part, parts);
          part_optimizers[part]->Step(*part_params[part], grads, &rows);
        }
      }
      for (int64_t i = 0; i < alone_params.size(); ++i) {
        ASSERT_EQ(memory[0].get()[i], alone_params.data()[i]) << "parameter " << i;
        for (size_t k = 0; k < alone->state().size(); ++k) {
          ASSERT_EQ(memory[k + 1].get()[i], alone->state()[k].second->data()[i]) << alone->state()[k].first << " " << i;
        }
      }
    }
  }
}

// With clipping the parts add their rows' squared norms through `sum_over_parts` (here parts on
// threads meeting at a barrier, as ranks meet in an all-reduce): the norm and the step are those
// of one optimizer (to rounding: the sum's order differs).
TEST(SharedUpdates, ClippingSumsTheRowNormsOverParts) {
  const SharedRun run;
  OptimOptions options = SharedRunOptions("adam");
  options.clip_norm = 0.01;
  ParamArena alone_params(run.layout), grads(run.layout);
  for (int64_t i = 0; i < alone_params.size(); ++i) alone_params.data()[i] = SharedRun::Initial(i);
  auto alone = Optimizer::Create(options, run.layout);
  RowSelection rows;
  run.Gradients(0, grads, rows, 0, 1);
  alone->Step(alone_params, grads, &rows);
  ASSERT_GT(alone->last_gradient_norm(), 0.05) << "the test needs clipping to act";

  constexpr int kParts = 2;
  std::vector<std::shared_ptr<float>> memory{SharedArenaMemory(run.layout)};
  for (int64_t i = 0; i < alone_params.size(); ++i) memory[0].get()[i] = SharedRun::Initial(i);
  for (size_t k = 0; k < alone->state().size(); ++k) memory.push_back(SharedArenaMemory(run.layout));
  std::barrier meet(kParts);
  std::array<double, kParts> values{};
  std::array<double, kParts> norms{};
  std::vector<std::thread> threads;
  for (int part = 0; part < kParts; ++part) {
    threads.emplace_back([&, part] {
      ParamArena params(run.layout), part_grads(run.layout);
      params.UseStorage(memory[0].get());
      auto optimizer = Optimizer::Create(options, run.layout);
      auto state = optimizer->state();
      for (size_t k = 0; k < state.size(); ++k) state[k].second->UseStorage(memory[k + 1].get());
      optimizer->ShareUpdates(part, kParts, [&](double mine) {
        values[part] = mine;
        meet.arrive_and_wait();
        const double sum = values[0] + values[1];
        meet.arrive_and_wait();
        return sum;
      });
      RowSelection part_rows;
      run.Gradients(0, part_grads, part_rows, part, kParts);
      optimizer->Step(params, part_grads, &part_rows);
      norms[part] = optimizer->last_gradient_norm();
    });
  }
  for (auto& t : threads) t.join();
  for (int part = 0; part < kParts; ++part)
    EXPECT_NEAR(norms[part], alone->last_gradient_norm(), 1e-6 * alone->last_gradient_norm());
  for (int64_t i = 0; i < alone_params.size(); ++i) {
    ASSERT_NEAR(memory[0].get()[i], alone_params.data()[i], 1e-7) << "parameter " << i;
  }
}

// Adam's moments decay into denormals for parameters without gradient; training flushes them
// (core/denormals.h). On its own thread, so that the other tests keep the default.
TEST(Denormals, FlushedOnTheThreadThatAsksAndOnThoseItStarts) {
  std::thread([] {
    FlushDenormalsToZero();
    volatile float tiny = 1e-30f;
    EXPECT_EQ(tiny * 1e-10f, 0.0f) << "1e-40 is a denormal";
    std::thread([] {
      volatile float also_tiny = 1e-30f;
      EXPECT_EQ(also_tiny * 1e-10f, 0.0f) << "a thread started afterwards inherits the setting";
    }).join();
  }).join();
  volatile float tiny = 1e-30f;
  EXPECT_GT(tiny * 1e-10f, 0.0f) << "threads that did not ask keep IEEE denormals";
}

}  // namespace
}  // namespace ectrain::optim
