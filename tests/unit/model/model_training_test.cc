// Each model learns a real e-commerce task: a short training loop (the optimizer, the model and
// a shuffled batch stream; no trainer) on real data, scored on held-out rows: the bundled sets in
// datasets/, and MovieLens where it has been fetched (skipped otherwise; see tests/datasets.h).
// Purchases (Online Shoppers): logistic, mlp, wide_deep, deepfm, dcn and mlp with DLRM's dot
// interaction by test AUC. Ratings (MovieLens 100K, fold u1): mf by RMSE against the mean
// predictor, two_tower by AUC of "rated 4 or 5".
// Product categories from titles (PriceRunner): classifier by accuracy. Every field kind is fed:
// dense columns, categorical columns and a multi-valued field (genres, title tokens).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "core/rng.h"
#include "datasets.h"
#include "model/model.h"
#include "optim/optimizer.h"

namespace ectrain::model {
namespace {

using ectrain::testing::BundledData;

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> Split(const std::string& line, char sep) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (char ch : line) {
    if (ch == '"') {
      quoted = !quoted;
    } else if (ch == sep && !quoted) {
      fields.emplace_back();
    } else {
      fields.back() += ch;
    }
  }
  return fields;
}

// Rows ready for a model: encoded features, a multi-valued field (CSR) and labels.
struct Table {
  FeatureShape shape;
  std::vector<float> dense;
  std::vector<int32_t> categorical;
  std::vector<int64_t> offsets{0};
  std::vector<int32_t> values;
  std::vector<float> labels;
  BagColumnView bag;

  int64_t rows() const { return static_cast<int64_t>(labels.size()); }
  BatchView View() {
    bag = {offsets.data(), values.data()};
    return {rows(),
            dense.data(),
            shape.num_dense,
            categorical.data(),
            static_cast<int>(shape.categorical_names.size()),
            labels.data(),
            &bag,
            static_cast<int>(shape.bag_names.size()),
            0};
  }
};

// One row of raw features before encoding into a Table.
struct Example {
  std::vector<float> dense;
  std::vector<int32_t> categorical;
  std::vector<int32_t> bag;
  float label = 0;
};

// Rows in `order`; dense columns standardised by `mean` and `stddev` (the training rows').
Table Encode(const std::vector<Example>& examples, const std::vector<size_t>& order, const FeatureShape& shape,
             const std::vector<double>& mean, const std::vector<double>& stddev) {
  Table t;
  t.shape = shape;
  for (size_t i : order) {
    const Example& e = examples[i];
    for (size_t d = 0; d < e.dense.size(); ++d)
      t.dense.push_back(static_cast<float>((e.dense[d] - mean[d]) / stddev[d]));
    t.categorical.insert(t.categorical.end(), e.categorical.begin(), e.categorical.end());
    t.values.insert(t.values.end(), e.bag.begin(), e.bag.end());
    t.offsets.push_back(static_cast<int64_t>(t.values.size()));
    t.labels.push_back(e.label);
  }
  return t;
}

void FitScaling(const std::vector<Example>& examples, const std::vector<size_t>& rows, int num_dense,
                std::vector<double>& mean, std::vector<double>& stddev) {
  mean.assign(num_dense, 0.0);
  stddev.assign(num_dense, 0.0);
  for (size_t i : rows) {
    for (int d = 0; d < num_dense; ++d) mean[d] += examples[i].dense[d] / rows.size();
  }
  for (size_t i : rows) {
    for (int d = 0; d < num_dense; ++d) stddev[d] += std::pow(examples[i].dense[d] - mean[d], 2) / rows.size();
  }
  for (auto& s : stddev) s = std::sqrt(s) + 1e-6;
}

// Train and test tables from examples split by `is_test`, each in a seeded random order.
std::pair<Table, Table> SplitAndEncode(const std::vector<Example>& examples, const std::vector<bool>& is_test,
                                       const FeatureShape& shape, uint64_t seed) {
  std::vector<size_t> train, test;
  for (size_t i = 0; i < examples.size(); ++i) (is_test[i] ? test : train).push_back(i);
  Rng rng(seed);
  for (size_t i = train.size(); i > 1; --i) std::swap(train[i - 1], train[rng.Below(i)]);
  std::vector<double> mean, stddev;
  FitScaling(examples, train, shape.num_dense, mean, stddev);
  return {Encode(examples, train, shape, mean, stddev), Encode(examples, test, shape, mean, stddev)};
}

// Minibatch training with Adam over the table in its (shuffled) order, `epochs` passes.
void Train(Model& model, ParamArena& params, Table& train, int epochs, int64_t batch_size, double learning_rate,
           double embedding_decay = 0.0) {
  optim::OptimOptions options;
  options.type = "adam";
  options.learning_rate = learning_rate;
  options.embedding_weight_decay = embedding_decay;
  const int64_t steps_per_epoch = (train.rows() + batch_size - 1) / batch_size;
  auto optimizer = optim::Optimizer::Create(options, model.layout(), {epochs * steps_per_epoch, batch_size});
  ParamArena grads(model.layout());
  model.Initialize(params, 7);
  const BatchView all = train.View();
  int64_t step = 0;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    for (int64_t begin = 0; begin < train.rows(); begin += batch_size) {
      const int64_t end = std::min(train.rows(), begin + batch_size);
      grads.SetZero();
      model.SetTrainingStep(7, step++);
      model.ForwardBackward(SliceRows(all, begin, end), params, grads, 1.0f / static_cast<float>(end - begin));
      optimizer->Step(params, grads);
    }
  }
}

std::vector<float> Score(Model& model, const ParamArena& params, Table& table) {
  std::vector<float> outputs(table.rows() * model.num_outputs());
  const BatchView all = table.View();
  for (int64_t begin = 0; begin < table.rows(); begin += 1024) {
    const int64_t end = std::min(table.rows(), begin + 1024);
    model.Forward(SliceRows(all, begin, end), params, outputs.data() + begin * model.num_outputs());
  }
  return outputs;
}

// Area under the ROC curve by ranks (ties share their mean rank).
double Auc(const std::vector<float>& scores, const std::vector<float>& labels) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double positive_rank_sum = 0, positives = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    const double mean_rank = (i + j + 1) / 2.0;
    for (size_t k = i; k < j; ++k) {
      if (labels[order[k]] > 0.5f) {
        positive_rank_sum += mean_rank;
        positives += 1;
      }
    }
    i = j;
  }
  const double negatives = static_cast<double>(scores.size()) - positives;
  return (positive_rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

// Online Shoppers Purchasing Intention: will the session end in a purchase?

struct Shoppers {
  Table train, test;
};

Shoppers LoadShoppers() {
  const auto lines = ReadLines(BundledData("online-shoppers-intention/online_shoppers_intention.csv"));
  // Columns 0-9 numeric, 10-16 categorical, 17 Revenue.
  FeatureShape shape;
  shape.num_dense = 10;
  std::vector<std::map<std::string, int32_t>> vocab(7);
  const auto header = Split(lines.at(0), ',');
  for (int c = 10; c < 17; ++c) shape.categorical_names.push_back(header[c]);
  std::vector<Example> examples;
  std::vector<bool> is_test;
  Rng split(1);
  for (size_t i = 1; i < lines.size(); ++i) {
    const auto f = Split(lines[i], ',');
    Example e;
    // Durations and counts are heavy-tailed: log1p before standardising.
    for (int c = 0; c < 10; ++c) e.dense.push_back(static_cast<float>(std::log1p(std::max(0.0, std::stod(f[c])))));
    for (int c = 10; c < 17; ++c) {
      auto& v = vocab[c - 10];
      e.categorical.push_back(v.emplace(f[c], static_cast<int32_t>(v.size())).first->second);
    }
    e.label = f[17] == "TRUE" ? 1.0f : 0.0f;
    examples.push_back(e);
    is_test.push_back(split.Uniform() < 0.2);
  }
  for (const auto& v : vocab) shape.vocab_sizes.push_back(static_cast<int64_t>(v.size()));
  auto [train, test] = SplitAndEncode(examples, is_test, shape, 2);
  return {std::move(train), std::move(test)};
}

class PurchaseTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PurchaseTest, TestAucIsAbovePointEightFive) {
  Shoppers data = LoadShoppers();
  ASSERT_GT(data.train.rows(), 9000);
  ModelOptions options;
  // "<type>_dot": the type with DLRM's dot interaction.
  options.type = GetParam();
  if (options.type.ends_with("_dot")) {
    options.type.resize(options.type.size() - 4);
    options.interaction = "dot";
  }
  options.embedding_dim = 8;
  options.hidden_units = {32, 16};
  options.dropout = options.type == "wide_deep" ? 0.1 : 0.0;
  options.layer_norm = options.type == "dcn";
  auto model = CreateModel(options, data.train.shape);
  ASSERT_TRUE(model.ok()) << model.status().message();
  ParamArena params((*model)->layout());
  Train(**model, params, data.train, 4, 64, 3e-3);
  const double auc = Auc(Score(**model, params, data.test), data.test.labels);
  std::cout << GetParam() << ": test AUC " << auc << " on " << data.test.rows() << " sessions\n";
  EXPECT_GT(auc, 0.85);
}

INSTANTIATE_TEST_SUITE_P(Models, PurchaseTest,
                         ::testing::Values("logistic", "mlp", "wide_deep", "deepfm", "dcn", "mlp_dot"),
                         [](const auto& info) { return info.param; });

// MovieLens 100K, fold u1. Fields: user, item, gender, occupation (categorical), age (dense), the item's genres
// (multi-valued).
std::pair<Table, Table> LoadMovieLens(const std::string& folder, bool binary_label) {
  std::map<int, std::vector<std::string>> users;
  for (const auto& line : ReadLines(folder + "/u.user")) users[std::stoi(line)] = Split(line, '|');
  std::map<int, std::vector<int32_t>> genres;
  for (const auto& line : ReadLines(folder + "/u.item")) {
    const auto f = Split(line, '|');
    std::vector<int32_t>& g = genres[std::stoi(f[0])];
    for (int k = 0; k < 19; ++k) {
      if (f[f.size() - 19 + k] == "1") g.push_back(k);
    }
  }
  std::map<std::string, int32_t> occupations;
  FeatureShape shape{1, {"user", "item", "gender", "occupation"}, {944, 1683, 2, 0}, {"genres"}, {19}};
  std::vector<Example> examples;
  std::vector<bool> is_test;
  for (const char* file : {"/u1.base", "/u1.test"}) {
    for (const auto& line : ReadLines(folder + file)) {
      const auto f = Split(line, '\t');
      const int user = std::stoi(f[0]), item = std::stoi(f[1]);
      const auto& u = users.at(user);
      Example e;
      e.dense = {std::stof(u[1])};
      e.categorical = {user, item, u[2] == "M" ? 1 : 0,
                       occupations.emplace(u[3], static_cast<int32_t>(occupations.size())).first->second};
      e.bag = genres.at(item);
      const float rating = std::stof(f[2]);
      e.label = binary_label ? (rating >= 4 ? 1.0f : 0.0f) : rating;
      examples.push_back(e);
      is_test.push_back(std::string(file).find("test") != std::string::npos);
    }
  }
  shape.vocab_sizes[3] = static_cast<int64_t>(occupations.size());
  return SplitAndEncode(examples, is_test, shape, 3);
}

TEST(RatingTest, MatrixFactorizationBeatsTheMeanPredictorOnU1Test) {
  ECTRAIN_REQUIRE_DATASET(ratings, "ml-100k", "u1.base");
  auto [train, test] = LoadMovieLens(std::filesystem::path(ratings).parent_path(), /*binary_label=*/false);
  ASSERT_EQ(train.rows(), 80000);
  ModelOptions options;
  options.type = "mf";
  options.user_field = "user";
  options.item_field = "item";
  options.embedding_dim = 16;
  auto model = CreateModel(options, train.shape);
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_EQ((*model)->task(), Task::kRegression);
  ParamArena params((*model)->layout());
  Train(**model, params, train, 6, 256, 5e-3, /*embedding_decay=*/1e-4);
  const auto predictions = Score(**model, params, test);
  const double mean = std::accumulate(train.labels.begin(), train.labels.end(), 0.0) / train.rows();
  double model_se = 0, mean_se = 0;
  for (int64_t i = 0; i < test.rows(); ++i) {
    model_se += std::pow(predictions[i] - test.labels[i], 2);
    mean_se += std::pow(mean - test.labels[i], 2);
  }
  const double rmse = std::sqrt(model_se / test.rows()), mean_rmse = std::sqrt(mean_se / test.rows());
  std::cout << "mf: test RMSE " << rmse << " (mean predictor " << mean_rmse << ")\n";
  EXPECT_LT(rmse, mean_rmse - 0.12);
}

TEST(RatingTest, TwoTowerRanksLikedMoviesAboveTheRest) {
  ECTRAIN_REQUIRE_DATASET(ratings, "ml-100k", "u1.base");
  auto [train, test] = LoadMovieLens(std::filesystem::path(ratings).parent_path(), /*binary_label=*/true);
  ModelOptions options;
  options.type = "two_tower";
  options.user_fields = {"user", "gender", "occupation"};  // the item tower: item and genres
  options.embedding_dim = 16;
  options.tower_units = {32, 16};
  auto model = CreateModel(options, train.shape);
  ASSERT_TRUE(model.ok()) << model.status().message();
  ParamArena params((*model)->layout());
  Train(**model, params, train, 3, 256, 3e-3);
  const double auc = Auc(Score(**model, params, test), test.labels);
  std::cout << "two_tower: test AUC " << auc << " (rating >= 4)\n";
  EXPECT_GT(auc, 0.72);
}

// PriceRunner: the product's category from its title.
TEST(ProductCategoryTest, ClassifierOnHashedTitleTokensIsAccurate) {
  const auto lines = ReadLines(BundledData("pricerunner-product-classification/pricerunner_aggregate.csv"));
  constexpr int32_t kTokenBuckets = 1 << 14;
  constexpr int32_t kMerchantBuckets = 512;
  std::map<std::string, int32_t> classes;
  FeatureShape shape{1, {"merchant"}, {kMerchantBuckets}, {"title"}, {kTokenBuckets}};
  std::vector<Example> examples;
  std::vector<bool> is_test;
  Rng split(4);
  auto hash = [](const std::string& s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
    return h;
  };
  for (size_t i = 1; i < lines.size(); ++i) {
    const auto f = Split(lines[i], ',');
    Example e;
    std::string token;
    for (char ch : f[1] + " ") {
      if (std::isalnum(static_cast<unsigned char>(ch))) {
        token += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      } else if (!token.empty()) {
        e.bag.push_back(static_cast<int32_t>(hash(token) % kTokenBuckets));
        token.clear();
      }
    }
    e.dense = {static_cast<float>(std::log1p(e.bag.size()))};
    e.categorical = {static_cast<int32_t>(hash(f[2]) % kMerchantBuckets)};
    e.label = static_cast<float>(classes.emplace(f.back(), static_cast<int32_t>(classes.size())).first->second);
    examples.push_back(e);
    is_test.push_back(split.Uniform() < 0.2);
  }
  ASSERT_EQ(classes.size(), 10u);
  auto [train, test] = SplitAndEncode(examples, is_test, shape, 5);
  ModelOptions options;
  options.type = "classifier";
  options.num_classes = 10;
  options.embedding_dim = 16;
  options.hidden_units = {64};
  options.dropout = 0.1;
  auto model = CreateModel(options, train.shape);
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_EQ((*model)->num_outputs(), 10);
  ParamArena params((*model)->layout());
  Train(**model, params, train, 3, 128, 3e-3);
  const auto logits = Score(**model, params, test);
  int64_t correct = 0;
  for (int64_t r = 0; r < test.rows(); ++r) {
    const float* row = logits.data() + r * 10;
    correct += std::max_element(row, row + 10) - row == static_cast<int64_t>(test.labels[r]);
  }
  const double accuracy = static_cast<double>(correct) / test.rows();
  std::cout << "classifier: test accuracy " << accuracy << " over 10 categories\n";
  EXPECT_GT(accuracy, 0.85);
}

}  // namespace
}  // namespace ectrain::model
