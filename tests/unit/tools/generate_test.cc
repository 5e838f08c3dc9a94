// Synthetic click data: deterministic from the seed, independent of sharding, ids in range, the
// requested click rate, power-law popularity, a learnable hidden model, files `train` can read.
#include "tools/generate.h"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>

#include "data/column_file.h"
#include "data/hdf5_util.h"
#include "unit/data/test_files.h"

namespace ectrain::tools {
namespace {

using data::testing::ScratchDir;

GenerateOptions SmallOptions() {
  GenerateOptions o;
  o.rows = 10'000;
  o.users = 2'000;
  o.items = 1'000;
  o.categories = 40;
  o.num_dense = 7;
  o.seed = 7;
  o.chunk_rows = 1'000;
  return o;
}

std::shared_ptr<const ClickModel> Model(const GenerateOptions& o) {
  auto model = ClickModel::Create(o);
  EXPECT_TRUE(model.ok()) << model.status().message();
  return model.ok() ? *model : nullptr;
}

GeneratedRows Rows(const GenerateOptions& o, int64_t first, int64_t count, bool logits = false,
                   RowStream stream = RowStream::kTrain) {
  GeneratedRows rows;
  Model(o)->Generate(stream, first, count, logits, &rows);
  return rows;
}

// Area under the ROC curve by ranks (ties get their mean rank).
double Auc(const std::vector<float>& scores, const std::vector<float>& labels) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double positive_rank_sum = 0, positives = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    const double mean_rank = 0.5 * static_cast<double>(i + 1 + j);
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

template <typename T>
std::vector<T> ReadAll(const std::string& path, const std::string& name, hid_t memory_type) {
  data::H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  EXPECT_TRUE(file.valid()) << path;
  data::H5Handle dataset(H5Dopen2(file.get(), name.c_str(), H5P_DEFAULT));
  EXPECT_TRUE(dataset.valid()) << path << " " << name;
  if (!dataset.valid()) return {};
  data::H5Handle space(H5Dget_space(dataset.get()));
  std::vector<T> values(static_cast<size_t>(H5Sget_simple_extent_npoints(space.get())));
  EXPECT_GE(H5Dread(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
  return values;
}

// Every column of a set of files, concatenated in file order (CSR offsets rebased).
struct Columns {
  std::map<std::string, std::vector<float>> floats;
  std::map<std::string, std::vector<int32_t>> ints;
  std::vector<int32_t> recent_values;
  std::vector<int64_t> recent_offsets{0};
};

Columns ReadFiles(const std::vector<std::string>& paths, int num_dense) {
  Columns c;
  for (const std::string& path : paths) {
    std::vector<std::string> floats = {"clicked"};
    for (int j = 0; j < num_dense; ++j) floats.push_back("d" + std::to_string(j));
    for (const auto& name : floats) {
      auto v = ReadAll<float>(path, name, H5T_NATIVE_FLOAT);
      c.floats[name].insert(c.floats[name].end(), v.begin(), v.end());
    }
    for (const std::string name : {"user", "item", "category"}) {
      auto v = ReadAll<int32_t>(path, name, H5T_NATIVE_INT32);
      c.ints[name].insert(c.ints[name].end(), v.begin(), v.end());
    }
    auto values = ReadAll<int32_t>(path, "recent_items/values", H5T_NATIVE_INT32);
    auto offsets = ReadAll<int64_t>(path, "recent_items/offsets", H5T_NATIVE_INT64);
    EXPECT_FALSE(offsets.empty());
    if (offsets.empty()) continue;
    EXPECT_EQ(offsets.front(), 0);
    EXPECT_EQ(offsets.back(), static_cast<int64_t>(values.size()));
    const int64_t base = c.recent_offsets.back();
    for (size_t r = 1; r < offsets.size(); ++r) c.recent_offsets.push_back(base + offsets[r]);
    c.recent_values.insert(c.recent_values.end(), values.begin(), values.end());
  }
  return c;
}

TEST(Generate, SameSeedSameValuesOtherSeedOthers) {
  GenerateOptions o = SmallOptions();
  const GeneratedRows a = Rows(o, 0, 5'000, true);
  const GeneratedRows b = Rows(o, 0, 5'000, true);
  EXPECT_EQ(a.clicked, b.clicked);
  EXPECT_EQ(a.dense, b.dense);
  EXPECT_EQ(a.user, b.user);
  EXPECT_EQ(a.item, b.item);
  EXPECT_EQ(a.recent_values, b.recent_values);
  EXPECT_EQ(a.recent_offsets, b.recent_offsets);
  EXPECT_EQ(a.logits, b.logits);
  o.seed = 8;
  const GeneratedRows c = Rows(o, 0, 5'000);
  EXPECT_NE(a.item, c.item);
  EXPECT_NE(a.dense[0], c.dense[0]);
}

TEST(Generate, RowDependsOnlyOnSeedAndIndex) {
  // Rows 3000..3999 generated alone equal the same rows inside a larger block, with other threads.
  GenerateOptions o = SmallOptions();
  const GeneratedRows whole = Rows(o, 0, 5'000);
  o.threads = 1;
  const GeneratedRows part = Rows(o, 3'000, 1'000);
  EXPECT_TRUE(std::equal(part.user.begin(), part.user.end(), whole.user.begin() + 3'000));
  EXPECT_TRUE(std::equal(part.clicked.begin(), part.clicked.end(), whole.clicked.begin() + 3'000));
  for (int j = 0; j < o.num_dense; ++j) {
    EXPECT_TRUE(std::equal(part.dense[j].begin(), part.dense[j].end(), whole.dense[j].begin() + 3'000)) << j;
  }
  const int64_t offset = whole.recent_offsets[3'000];
  for (size_t r = 0; r + 1 < part.recent_offsets.size(); ++r) {
    EXPECT_EQ(part.recent_offsets[r + 1] - part.recent_offsets[r],
              whole.recent_offsets[3'000 + r + 1] - whole.recent_offsets[3'000 + r]);
  }
  EXPECT_TRUE(std::equal(part.recent_values.begin(), part.recent_values.end(), whole.recent_values.begin() + offset));
  // The test stream is another sequence.
  const GeneratedRows test = Rows(o, 0, 5'000, false, RowStream::kTest);
  EXPECT_NE(test.item, whole.item);
}

TEST(Generate, ShardsAreTheOneFileSplitAndTheTestFileIsTheSame) {
  ScratchDir dir;
  GenerateOptions o = SmallOptions();
  o.test_rows = 1'500;
  o.out = dir.File("one.h5");
  auto one = GenerateDataSet(o);
  ASSERT_TRUE(one.ok()) << one.status().message();
  EXPECT_EQ(one->files, (std::vector<std::string>{dir.File("one.h5"), dir.File("one-test.h5")}));
  EXPECT_EQ(one->test_file, dir.File("one-test.h5"));
  const Columns expected = ReadFiles({dir.File("one.h5")}, o.num_dense);
  ASSERT_EQ(expected.floats.at("clicked").size(), 10'000u);

  for (auto [shards, rows_per_shard] : {std::pair{4, 0}, {1, 3'333}, {7, 0}}) {
    GenerateOptions s = o;
    s.num_shards = shards;
    s.rows_per_shard = rows_per_shard;
    s.chunk_rows = 512;  // blocks cut elsewhere than in the single file
    s.threads = 3;
    s.out = dir.File("sharded-" + std::to_string(shards) + "-" + std::to_string(rows_per_shard));
    s.test_out = dir.File("test-" + std::to_string(shards) + ".h5");
    auto report = GenerateDataSet(s);
    ASSERT_TRUE(report.ok()) << report.status().message();
    const size_t expected_files = rows_per_shard > 0 ? 4 : static_cast<size_t>(shards);
    ASSERT_EQ(report->files.size(), expected_files + 1);
    std::vector<std::string> shard_files(report->files.begin(), report->files.end() - 1);
    EXPECT_EQ(shard_files.front(), s.out + "/part-00000.h5");
    const Columns got = ReadFiles(shard_files, o.num_dense);
    EXPECT_EQ(got.floats, expected.floats) << shards;
    EXPECT_EQ(got.ints, expected.ints) << shards;
    EXPECT_EQ(got.recent_values, expected.recent_values) << shards;
    EXPECT_EQ(got.recent_offsets, expected.recent_offsets) << shards;
    EXPECT_EQ(ReadFiles({s.test_out}, o.num_dense).floats, ReadFiles({dir.File("one-test.h5")}, o.num_dense).floats);
    if (rows_per_shard > 0) {
      EXPECT_EQ(ReadAll<float>(shard_files[0], "clicked", H5T_NATIVE_FLOAT).size(), 3'333u);
      EXPECT_EQ(ReadAll<float>(shard_files[3], "clicked", H5T_NATIVE_FLOAT).size(), 1u);
    }
    EXPECT_DOUBLE_EQ(report->positive_rate, one->positive_rate);
  }
}

TEST(Generate, IdsInRangeAndDenseValuesFinite) {
  GenerateOptions o = SmallOptions();
  const GeneratedRows rows = Rows(o, 0, 20'000);
  for (int64_t r = 0; r < rows.num_rows; ++r) {
    ASSERT_GE(rows.user[r], 0);
    ASSERT_LT(rows.user[r], o.users);
    ASSERT_GE(rows.item[r], 0);
    ASSERT_LT(rows.item[r], o.items);
    ASSERT_GE(rows.category[r], 0);
    ASSERT_LT(rows.category[r], o.categories);
    ASSERT_TRUE(rows.clicked[r] == 0.0f || rows.clicked[r] == 1.0f);
    const int64_t length = rows.recent_offsets[r + 1] - rows.recent_offsets[r];
    ASSERT_GE(length, 0);
    ASSERT_LE(length, o.max_recent_items);
    for (int j = 0; j < o.num_dense; ++j) ASSERT_TRUE(std::isfinite(rows.dense[j][r])) << j;
    ASSERT_GT(rows.dense[0][r], 0.0f);                                   // price
    ASSERT_GE(rows.dense[1][r], 1.0f);                                   // sessions
    ASSERT_TRUE(rows.dense[3][r] >= 1.0f && rows.dense[3][r] <= 20.0f);  // position
  }
  for (int32_t id : rows.recent_values) {
    ASSERT_GE(id, 0);
    ASSERT_LT(id, o.items);
  }
  // Every length 0..max occurs, and prices are heavy-tailed (max far above the median).
  std::vector<float> prices = rows.dense[0];
  std::sort(prices.begin(), prices.end());
  EXPECT_GT(prices.back(), 10 * prices[prices.size() / 2]);
}

TEST(Generate, PositiveRateWithinAFewPercentOfTheTarget) {
  for (double target : {0.02, 0.05, 0.3}) {
    GenerateOptions o = SmallOptions();
    o.positive_rate = target;
    const GeneratedRows rows = Rows(o, 0, 100'000);
    const double rate = std::accumulate(rows.clicked.begin(), rows.clicked.end(), 0.0) / 100'000;
    EXPECT_NEAR(rate, target, 0.05 * target + 0.001) << target;
  }
}

TEST(Generate, ItemPopularityFollowsAPowerLaw) {
  GenerateOptions o = SmallOptions();
  const GeneratedRows rows = Rows(o, 0, 100'000);
  std::vector<int64_t> counts(o.items, 0);
  for (int32_t item : rows.item) ++counts[item];
  std::vector<int64_t> sorted = counts;
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  const int64_t median = std::max<int64_t>(1, sorted[sorted.size() / 2]);
  EXPECT_EQ(sorted[0], counts[0]);  // id 0 is the most popular
  EXPECT_GT(sorted[0], 50 * median) << "top " << sorted[0] << " median " << sorted[sorted.size() / 2];
  // The top 1% of items draw a large share of the views.
  const int64_t top = std::accumulate(sorted.begin(), sorted.begin() + o.items / 100, int64_t{0});
  EXPECT_GT(top, 100'000 / 4);

  // Exponent 0 is uniform: no item is more than twice the mean.
  o.item_zipf = 0;
  const GeneratedRows uniform = Rows(o, 0, 100'000);
  std::vector<int64_t> flat(o.items, 0);
  for (int32_t item : uniform.item) ++flat[item];
  EXPECT_LT(*std::max_element(flat.begin(), flat.end()), 2 * 100'000 / o.items);
}

TEST(PowerLaw, SamplesStayInRange) {
  for (double s : {0.0, 0.5, 1.0, 1.05, 2.5}) {
    const PowerLaw law(10, s);
    EXPECT_EQ(law.Sample(0.0), 0) << s;
    EXPECT_EQ(law.Sample(std::nextafter(1.0, 0.0)), 9) << s;
    EXPECT_LE(law.Sample(0.5), law.Sample(0.9)) << s;
  }
  EXPECT_EQ(PowerLaw(1, 1.0).Sample(0.7), 0);
}

TEST(Generate, HiddenModelSeparatesClicksAndVisibleFeaturesCarrySignal) {
  GenerateOptions o = SmallOptions();
  o.positive_rate = 0.1;
  const GeneratedRows rows = Rows(o, 0, 100'000, /*logits=*/true);
  const double hidden_auc = Auc(rows.logits, rows.clicked);
  EXPECT_GT(hidden_auc, 0.75);
  EXPECT_LT(hidden_auc, 0.97);  // not trivially separable: clicks stay random

  // A model that only sees a visible column beats a constant: the item's click rate on the first
  // half, scored on the second half.
  std::vector<double> clicks(o.items, 0), views(o.items, 0);
  for (int64_t r = 0; r < 50'000; ++r) {
    clicks[rows.item[r]] += rows.clicked[r];
    views[rows.item[r]] += 1;
  }
  std::vector<float> scores, labels;
  for (int64_t r = 50'000; r < 100'000; ++r) {
    const int32_t i = rows.item[r];
    scores.push_back(static_cast<float>((clicks[i] + 1.0) / (views[i] + 10.0)));
    labels.push_back(rows.clicked[r]);
  }
  EXPECT_GT(Auc(scores, labels), 0.55);
  // So does the price alone (higher prices lower the click odds).
  std::vector<float> cheapness;
  for (float price : rows.dense[0]) cheapness.push_back(-price);
  EXPECT_GT(Auc(cheapness, rows.clicked), 0.55);
}

TEST(Generate, FilesCarryASchemaTrainCanReadAndProvenance) {
  ScratchDir dir;
  GenerateOptions o = SmallOptions();
  o.out = dir.File("train.h5");
  o.command_line = "ectrain generate --seed 7";
  ASSERT_TRUE(GenerateDataSet(o).ok());
  auto file = data::ColumnFile::Open(o.out);
  ASSERT_TRUE(file.ok()) << file.status().message();
  auto stored = file->StoredSchema();
  ASSERT_TRUE(stored.ok() && stored->has_value());
  const data::FeatureSchema& schema = **stored;
  EXPECT_EQ(schema.label, "clicked");
  EXPECT_EQ(schema.dense, (std::vector<std::string>{"d0", "d1", "d2", "d3", "d4", "d5", "d6"}));
  EXPECT_EQ(schema.categorical, (std::vector<std::string>{"user", "item", "category"}));
  EXPECT_EQ(schema.vocab_sizes, (std::vector<int64_t>{2'000, 1'000, 40}));
  EXPECT_EQ(schema.multi_valued, std::vector<std::string>{"recent_items"});
  EXPECT_EQ(schema.multi_vocab_sizes, std::vector<int64_t>{1'000});
  EXPECT_FALSE(schema.has_preprocessing());
  // The training reader accepts every value (finite dense values, ids within the vocabularies).
  data::FeatureSchema scalar = schema;
  scalar.multi_valued.clear();
  scalar.multi_vocab_sizes.clear();
  auto table = file->ReadAll(scalar, /*with_labels=*/true);
  ASSERT_TRUE(table.ok()) << table.status().message();
  EXPECT_EQ(table->num_rows, 10'000);

  data::H5Handle h5(H5Fopen(o.out.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  auto provenance = data::ReadStringDataset(h5.get(), "/ectrain/provenance", o.out);
  ASSERT_TRUE(provenance.ok());
  EXPECT_NE(provenance->find("command: ectrain generate --seed 7"), std::string::npos) << *provenance;
  EXPECT_NE(provenance->find("seed: 7"), std::string::npos);
  EXPECT_NE(provenance->find("rows [0, 10000)"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(o.out + ".tmp"));
}

TEST(Generate, NoRecentItemsColumnWhenAskedForNone) {
  ScratchDir dir;
  GenerateOptions o = SmallOptions();
  o.max_recent_items = 0;
  o.num_dense = 0;
  o.out = dir.File("plain.h5");
  ASSERT_TRUE(GenerateDataSet(o).ok());
  auto file = data::ColumnFile::Open(o.out);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->ColumnNames(), (std::vector<std::string>{"category", "clicked", "item", "user"}));
  auto stored = file->StoredSchema();
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_TRUE((*stored)->multi_valued.empty());
}

// Mean binary cross-entropy of logits against 0/1 labels, computed the plain way.
double LogLoss(const std::vector<float>& logits, const std::vector<float>& labels) {
  double loss = 0;
  for (size_t r = 0; r < logits.size(); ++r) {
    const double p = 1.0 / (1.0 + std::exp(-static_cast<double>(logits[r])));
    loss -= labels[r] > 0.5f ? std::log(p) : std::log(1.0 - p);
  }
  return loss / static_cast<double>(logits.size());
}

std::string Provenance(const std::string& path) {
  data::H5Handle h5(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  auto text = data::ReadStringDataset(h5.get(), "/ectrain/provenance", path);
  EXPECT_TRUE(text.ok());
  return text.ok() ? *text : "";
}

TEST(Generate, ValidationFileIsItsOwnDeterministicStream) {
  ScratchDir dir;
  GenerateOptions o = SmallOptions();
  o.test_rows = 2'000;
  o.validation_rows = 3'000;
  o.out = dir.File("a/train.h5");
  auto report = GenerateDataSet(o);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->validation_file, dir.File("a/validation.h5"));
  EXPECT_EQ(report->test_file, dir.File("a/test.h5"));
  EXPECT_EQ(report->files, (std::vector<std::string>{o.out, dir.File("a/validation.h5"), dir.File("a/test.h5")}));
  EXPECT_EQ(report->validation_rows, 3'000);
  EXPECT_NEAR(report->validation_positive_rate, o.positive_rate, 0.02);

  // Its rows are rows [0, 3000) of the validation stream: not the test rows, not the training rows.
  const Columns validation = ReadFiles({report->validation_file}, o.num_dense);
  const GeneratedRows expected = Rows(o, 0, 3'000, false, RowStream::kValidation);
  EXPECT_EQ(validation.ints.at("user"), expected.user);
  EXPECT_EQ(validation.ints.at("item"), expected.item);
  EXPECT_EQ(validation.floats.at("clicked"), expected.clicked);
  EXPECT_EQ(validation.floats.at("d0"), expected.dense[0]);
  const Columns test = ReadFiles({report->test_file}, o.num_dense);
  const std::vector<int32_t> test_items(test.ints.at("item").begin(), test.ints.at("item").begin() + 2'000);
  const std::vector<int32_t> validation_items(expected.item.begin(), expected.item.begin() + 2'000);
  EXPECT_NE(validation_items, test_items);
  EXPECT_NE(expected.item, Rows(o, 0, 3'000).item);

  // The same seed, other shards, blocks and threads: the same validation and test files. A
  // folder's files sit beside it as NAME-validation.h5 and NAME-test.h5.
  GenerateOptions s = o;
  s.out = dir.File("b/clicks");
  s.num_shards = 3;
  s.chunk_rows = 700;
  s.threads = 3;
  auto again = GenerateDataSet(s);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->validation_file, dir.File("b/clicks-validation.h5"));
  EXPECT_EQ(again->test_file, dir.File("b/clicks-test.h5"));
  const Columns validation_again = ReadFiles({again->validation_file}, o.num_dense);
  EXPECT_EQ(validation_again.floats, validation.floats);
  EXPECT_EQ(validation_again.ints, validation.ints);
  EXPECT_EQ(validation_again.recent_values, validation.recent_values);
  EXPECT_EQ(ReadFiles({again->test_file}, o.num_dense).floats, test.floats);
  EXPECT_NE(Provenance(again->validation_file).find("rows [0, 3000) of the validation stream"), std::string::npos);
}

TEST(Generate, BayesFiguresAreThoseOfTheFilesHiddenLogits) {
  ScratchDir dir;
  GenerateOptions o = SmallOptions();
  o.test_rows = 20'000;
  o.validation_rows = 15'000;
  o.out = dir.File("train.h5");
  auto report = GenerateDataSet(o);
  ASSERT_TRUE(report.ok()) << report.status().message();
  for (const auto& [path, bayes] : {std::pair{report->test_file, report->test_bayes},
                                    std::pair{report->validation_file, report->validation_bayes}}) {
    const auto logits = ReadAll<float>(path, "hidden_logit", H5T_NATIVE_FLOAT);
    const auto labels = ReadAll<float>(path, "clicked", H5T_NATIVE_FLOAT);
    ASSERT_EQ(logits.size(), labels.size()) << path;
    EXPECT_NEAR(bayes.auc, Auc(logits, labels), 1e-12) << path;
    EXPECT_NEAR(bayes.log_loss, LogLoss(logits, labels), 1e-9) << path;
    EXPECT_GT(bayes.auc, 0.75) << path;
    // The figures are in the file's provenance; the logits are not a column of its schema.
    char line[64];
    std::snprintf(line, sizeof(line), "AUC %.6f, log-loss %.6f", bayes.auc, bayes.log_loss);
    EXPECT_NE(Provenance(path).find(line), std::string::npos) << Provenance(path);
    auto file = data::ColumnFile::Open(path);
    ASSERT_TRUE(file.ok());
    auto stored = file->StoredSchema();
    ASSERT_TRUE(stored.ok() && stored->has_value());
    for (const auto& name : (*stored)->dense) EXPECT_NE(name, "hidden_logit");
  }
  // They are the hidden model's logits of those rows.
  const GeneratedRows test = Rows(o, 0, 20'000, /*logits=*/true, RowStream::kTest);
  EXPECT_EQ(ReadAll<float>(report->test_file, "hidden_logit", H5T_NATIVE_FLOAT), test.logits);
  // A training file has no such column.
  auto train = data::ColumnFile::Open(o.out);
  ASSERT_TRUE(train.ok());
  const auto names = train->ColumnNames();
  EXPECT_EQ(std::find(names.begin(), names.end(), "hidden_logit"), names.end());
  // A constant score has AUC 0.5.
  EXPECT_DOUBLE_EQ(ScoreLogits({1, 1, 1, 1}, {0, 1, 0, 1}).auc, 0.5);
}

TEST(Generate, ScaledDenseColumnsAreStandardisedAndLabelsUnchanged) {
  GenerateOptions o = SmallOptions();
  const GeneratedRows raw = Rows(o, 0, 100'000, /*logits=*/true);
  o.scale_dense = true;
  const auto model = Model(o);
  GeneratedRows scaled;
  model->Generate(RowStream::kTrain, 0, 100'000, /*with_logits=*/true, &scaled);
  EXPECT_EQ(scaled.clicked, raw.clicked);
  EXPECT_EQ(scaled.logits, raw.logits);
  EXPECT_EQ(scaled.item, raw.item);
  ASSERT_EQ(model->dense_scaling().size(), static_cast<size_t>(o.num_dense));
  for (int j = 0; j < o.num_dense; ++j) {
    const DenseScaling& s = model->dense_scaling()[j];
    EXPECT_EQ(s.log, j < 3) << j;  // price, sessions and hours are log1p'd
    double sum = 0, squares = 0;
    for (float v : scaled.dense[j]) sum += v;
    const double mean = sum / 100'000;
    for (float v : scaled.dense[j]) squares += (v - mean) * (v - mean);
    EXPECT_NEAR(mean, 0.0, 0.03) << j;
    EXPECT_NEAR(std::sqrt(squares / 100'000), 1.0, 0.03) << j;
    for (int64_t r = 0; r < 1'000; ++r) {
      const double x = raw.dense[j][r];
      EXPECT_NEAR(scaled.dense[j][r], ((s.log ? std::log1p(x) : x) - s.mean) / s.stddev, 1e-5) << j;
    }
  }
  // Without the option nothing is scaled.
  EXPECT_TRUE(Model(SmallOptions())->dense_scaling().empty());
}

TEST(Generate, ItemCategoryShareMixesTheItemFactor) {
  GenerateOptions o = SmallOptions();
  for (double share : {0.0, 0.36, 0.8, 1.0}) {
    o.item_category_share = share;
    const auto model = Model(o);
    // The item factors' regression on their category's: sqrt(share), and all of it at share 1.
    double cross = 0, category_squares = 0;
    for (int64_t i = 0; i < o.items; ++i) {
      const float* q = model->item_factor(i);
      const float* c = model->category_factor(model->item_category(i));
      for (int k = 0; k < ClickModel::kFactorDim; ++k) {
        cross += q[k] * c[k];
        category_squares += c[k] * c[k];
        if (share == 1.0) {
          ASSERT_EQ(q[k], c[k]) << i;
        }
      }
    }
    EXPECT_NEAR(cross / category_squares, std::sqrt(share), 0.05) << share;
  }
}

TEST(Generate, BadOptionsAreNamedErrors) {
  ScratchDir dir;
  auto error_of = [&](auto change) {
    GenerateOptions o = SmallOptions();
    o.out = dir.File("out");
    change(o);
    auto report = GenerateDataSet(o);
    EXPECT_FALSE(report.ok());
    return report.ok() ? Status::Ok() : report.status();
  };
  auto expect = [](const Status& s, const std::string& text) {
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
    EXPECT_NE(s.message().find(text), std::string::npos) << s.message();
  };
  expect(error_of([](GenerateOptions& o) { o.rows = 0; }), "--rows");
  expect(error_of([](GenerateOptions& o) { o.positive_rate = 1.5; }), "--positive-rate");
  expect(error_of([](GenerateOptions& o) { o.positive_rate = 0; }), "--positive-rate");
  expect(error_of([](GenerateOptions& o) { o.users = 0; }), "--users");
  expect(error_of([](GenerateOptions& o) { o.items = 3'000'000'000LL; }), "--items");
  expect(error_of([](GenerateOptions& o) { o.item_zipf = -1; }), "--item-zipf");
  expect(error_of([](GenerateOptions& o) { o.num_shards = 20'000; }), "fewer --shards");
  expect(error_of([&](GenerateOptions& o) { o.out = dir.File("x.h5"), o.num_shards = 2; }), "give a directory");
  expect(error_of([](GenerateOptions& o) { o.out.clear(); }), "--out");
  expect(error_of([](GenerateOptions& o) { o.item_category_share = 1.5; }), "--item-category-share");
  expect(error_of([](GenerateOptions& o) { o.validation_rows = -1; }), "--validation-rows");
  expect(error_of([&](GenerateOptions& o) {
           o.test_rows = o.validation_rows = 10;
           o.test_out = o.validation_out = dir.File("same.h5");
         }),
         "is also the validation file");

  // A folder holding shards of an earlier, larger run is refused (readers would mix them in).
  GenerateOptions o = SmallOptions();
  o.out = dir.File("reuse");
  o.num_shards = 3;
  ASSERT_TRUE(GenerateDataSet(o).ok());
  o.num_shards = 2;
  auto again = GenerateDataSet(o);
  ASSERT_FALSE(again.ok());
  expect(again.status(), "part-00002.h5");
  o.num_shards = 3;
  EXPECT_TRUE(GenerateDataSet(o).ok()) << "rewriting the same shards is fine";
}

}  // namespace
}  // namespace ectrain::tools
