// Recommending: the catalogue tells item features from user features, candidate rows combine
// them, TopK skips what a user has, and the ranking evaluation counts hits by hand.
#include "eval/recommend.h"

#include <gtest/gtest.h>

#include "model/model.h"

namespace ectrain::eval {
namespace {

// 6 training rows: (user, item) with one dense feature that belongs to the item (price) and one
// that belongs to the user (age), and a label.
//   user 1: items 1, 2 (liked 1); user 2: items 2, 3 (liked both); user 3: item 1 (liked).
data::FeatureSchema Schema() {
  data::FeatureSchema s;
  s.label = "liked";
  s.dense = {"price", "age"};
  s.categorical = {"user", "item"};
  s.vocab_sizes = {4, 5};
  s.vocabularies = {{"u1", "u2", "u3"}, {"i1", "i2", "i3", "i4"}};
  return s;
}

data::Table Rows() {
  data::Table t;
  t.num_dense = 2;
  t.num_categorical = 2;
  const int32_t users[] = {1, 1, 2, 2, 3, 3};
  const int32_t items[] = {1, 2, 2, 3, 1, 4};
  const float price[] = {10, 20, 20, 30, 10, 40};
  const float age[] = {25, 25, 40, 40, 60, 60};
  const float liked[] = {1, 0, 1, 1, 1, 0};
  for (int r = 0; r < 6; ++r) {
    t.dense.insert(t.dense.end(), {price[r], age[r]});
    t.categorical.insert(t.categorical.end(), {users[r], items[r]});
    t.labels.push_back(liked[r]);
  }
  t.num_rows = 6;
  return t;
}

TEST(Catalog, ItemFeaturesPopularityAndSeenItems) {
  // The last row (user 3, item 4) is a sampled negative: not something user 3 has seen.
  auto catalog = Catalog::Build(Rows(), Schema(), "user", "item", {0, 0, 0, 0, 0, 1});
  ASSERT_TRUE(catalog.ok()) << catalog.status().message();
  EXPECT_EQ(catalog->num_items(), 4);
  EXPECT_EQ(catalog->ItemFeatures(Schema()), (std::vector<std::string>{"price", "item"}));
  // Popularity counts liked rows: item 1 twice, item 2 once, item 3 once, item 4 never.
  EXPECT_EQ(catalog->popularity(), (std::vector<float>{2, 0 + 1, 1, 0}));
  EXPECT_EQ(catalog->Seen(1), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(catalog->Seen(3), (std::vector<int64_t>{0})) << "the sampled negative is not an interaction";
  EXPECT_EQ(catalog->IndexOf(3), 2);
  EXPECT_EQ(catalog->IndexOf(99), -1);
  EXPECT_FALSE(Catalog::Build(Rows(), Schema(), "user", "user").ok());
  EXPECT_FALSE(Catalog::Build(Rows(), Schema(), "customer", "item").ok());
}

TEST(TopK, BestFirstSkippingExcludedAndTiesByIndex) {
  const std::vector<float> scores{0.5f, 0.9f, 0.5f, 0.7f, 0.1f};
  EXPECT_EQ(TopK(scores, 3, {}), (std::vector<int64_t>{1, 3, 0}));
  EXPECT_EQ(TopK(scores, 3, {1}), (std::vector<int64_t>{3, 0, 2}));
  EXPECT_EQ(TopK(scores, 10, {0, 1, 2, 3}), (std::vector<int64_t>{4}));
}

// A model whose score is the item's price: candidate rows must carry each item's own price
// and the user's own age.
TEST(Catalog, CandidateRowsCombineTheUserAndEachItem) {
  auto catalog = Catalog::Build(Rows(), Schema(), "user", "item");
  ASSERT_TRUE(catalog.ok());
  model::ModelOptions options;
  options.type = "logistic";
  auto model = model::CreateModel(options, {2, {"user", "item"}, {4, 5}});
  ASSERT_TRUE(model.ok()) << model.status().message();
  ParamArena params((*model)->layout());
  params.SetZero();
  // logistic: the first dense weight (price) is 1, everything else 0.
  for (const ParamSpec& spec : (*model)->layout().specs()) {
    if (spec.kind == ParamKind::kDenseWeight && spec.rows == 2) params.data()[spec.offset] = 1.0f;
  }
  data::Table scratch;
  std::vector<float> scores;
  ASSERT_TRUE(catalog->Score(**model, params, 2, 16, scratch, scores).ok());
  EXPECT_EQ(scores, (std::vector<float>{10, 20, 30, 40}));
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(scratch.dense[i * 2 + 1], 40.0f) << "user 2's age";
  EXPECT_EQ(scratch.categorical[3 * 2 + 0], 2) << "user id kept";
  EXPECT_EQ(scratch.categorical[3 * 2 + 1], 4) << "item id put in";

  // Ranking: user 1 held out item 4 (price 40, the best score; item 1 and 2 are seen, so the
  // candidates are items 3 and 4): a hit at rank 1. User 2 held out item 1 (price 10): items
  // 1, 4 are candidates, 4 ranks first, 1 second -> a hit at k=2 but not at k=1.
  data::Table test;
  test.num_dense = 2;
  test.num_categorical = 2;
  test.dense = {40, 25, 10, 40};
  test.categorical = {1, 4, 2, 1};
  test.labels = {1, 1};
  test.num_rows = 2;
  RankingReport at1 = EvaluateRanking(**model, params, *catalog, test, 0, 1, 1, 16).value();
  EXPECT_EQ(at1.users, 2);
  EXPECT_DOUBLE_EQ(at1.model.Get("hr@1"), 0.5);
  RankingReport at2 = EvaluateRanking(**model, params, *catalog, test, 0, 1, 2, 16).value();
  EXPECT_DOUBLE_EQ(at2.model.Get("hr@2"), 1.0);
  // Most popular: user 1's candidates 3 (1 like) and 4 (0): item 4 ranks second; user 2's
  // candidates 1 (2 likes) and 4: item 1 first.
  EXPECT_DOUBLE_EQ(at1.popular.Get("hr@1"), 0.5);
}

// eval.metrics: auto ranks held-out interactions (every row a positive) of a 0/1-label model whose
// user and item are named, and reports per-row metrics otherwise.
TEST(ChooseMetrics, AutoRanksHeldOutPositivesWhenTheRolesAreNamed) {
  data::Table positives = Rows();
  positives.labels.assign(6, 1.0f);
  const data::Table mixed = Rows();
  using model::Task;
  auto choose = [](const std::string& setting, bool roles, Task task, std::vector<const data::Table*> sets) {
    StatusOr<MetricsChoice> choice = ChooseMetrics(setting, roles, task, sets);
    EXPECT_TRUE(choice.ok()) << choice.status().message();
    return choice.ok() ? *choice : MetricsChoice{};
  };
  EXPECT_TRUE(choose("auto", true, Task::kBinary, {&positives}).ranking);
  EXPECT_FALSE(choose("auto", true, Task::kBinary, {&positives, &mixed}).ranking) << "every set must be positives";
  EXPECT_FALSE(choose("auto", true, Task::kRegression, {&positives}).ranking) << "ratings are not interactions";
  const MetricsChoice unnamed = choose("auto", false, Task::kBinary, {&positives});
  EXPECT_FALSE(unnamed.ranking);
  EXPECT_TRUE(unnamed.per_row_undefined);
  EXPECT_NE(unnamed.reason.find("data.user_column"), std::string::npos) << unnamed.reason;
  EXPECT_FALSE(choose("auto", true, Task::kBinary, {&mixed}).per_row_undefined);
  EXPECT_TRUE(choose("ranking", true, Task::kBinary, {&mixed}).ranking);
  EXPECT_TRUE(choose("ranking", true, Task::kRegression, {&mixed}).ranking);
  EXPECT_FALSE(choose("per_row", true, Task::kBinary, {&positives}).ranking);
  EXPECT_FALSE(ChooseMetrics("ranking", true, Task::kMulticlass, {&mixed}).ok());
}

}  // namespace
}  // namespace ectrain::eval
