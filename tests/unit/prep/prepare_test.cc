#include "prep/prepare.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>

#include "core/rng.h"
#include "data/encoding.h"
#include "datasets.h"
#include "unit/data/test_files.h"
#include "unit/prep/prepared_files.h"

namespace ectrain::prep {
namespace {

using data::testing::ScratchDir;
using data::testing::WriteTextFile;
using testing::PreparedFile;
using testing::ReadPrepared;
using testing::Request;

// 20 distinct rows plus 2 exact duplicates. "row" is unique so each output row can be traced
// back; "item" is unique too, so every test row is an unseen category; "rate in %" has a
// missing value on the line of row 4.
std::string SmallCsv() {
  std::string text = "row,rate in %,item,colour,bought\r\n";
  for (int row = 1; row <= 20; ++row) {
    const std::string rate = row == 4 ? "NA" : std::to_string(row % 7);
    const std::string label = row % 3 == 0 ? "yes" : (row % 3 == 1 ? "FALSE" : "0");
    text += std::to_string(row) + "," + rate + ",item" + std::to_string(row) + "," + (row % 2 ? "red" : "\"blue\"") +
            "," + label + "\r\n";
    if (row == 5 || row == 9) text += text.substr(text.rfind("\r\n", text.size() - 3) + 2);
  }
  return text;
}

Request SmallRequest(const ScratchDir& dir, const std::string& csv) {
  Request request;
  request.prepare.source = WriteTextFile(dir.File("small.csv"), csv);
  request.data.label = "bought";
  request.data.dense = {"row", "rate in %"};
  request.data.categorical = {"item", "colour"};
  request.prepare.test_fraction = 0.25;
  request.prepare.seed = 7;
  request.data.train = dir.File("out/nested/train.h5");
  request.data.test = dir.File("out/test.h5");
  return request;
}

// The CSV "row" value of each output row, undoing the standardization.
std::vector<int> RowIds(const PreparedFile& split) {
  const data::DenseColumnStats& stats = split.schema.dense_stats[0];
  std::vector<int> ids;
  for (const double v : split.columns.at("row"))
    ids.push_back(static_cast<int>(std::lround(v * stats.stddev + stats.mean)));
  return ids;
}

TEST(PrepareTest, SplitsStandardizesAndEncodes) {
  ScratchDir dir;
  const Request request = SmallRequest(dir, SmallCsv());
  StatusOr<PrepareReport> report = PrepareDataSet(request.prepare, request.data);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->rows_read, 22);
  EXPECT_EQ(report->duplicates_dropped, 2);
  EXPECT_EQ(report->train_rows + report->test_rows, 20);
  EXPECT_FALSE(std::filesystem::exists(request.data.train + ".tmp"));
  EXPECT_FALSE(std::filesystem::exists(request.data.test + ".tmp"));

  const PreparedFile train = ReadPrepared(request.data.train);
  const PreparedFile test = ReadPrepared(request.data.test);
  const int64_t n = train.rows;
  ASSERT_EQ(n, report->train_rows);
  ASSERT_EQ(test.rows, report->test_rows);
  ASSERT_GT(test.rows, 0);
  EXPECT_EQ(train.schema.label, "bought");
  EXPECT_EQ(train.schema.dense, request.data.dense);
  EXPECT_EQ(test.schema.categorical, request.data.categorical);
  EXPECT_EQ(train.schema.ToJson(), test.schema.ToJson());
  EXPECT_EQ(train.schema.ToJson(), report->schema.ToJson());

  // Every distinct row lands in exactly one split, in file order within each.
  const std::vector<int> train_ids = RowIds(train), test_ids = RowIds(test);
  EXPECT_TRUE(std::is_sorted(train_ids.begin(), train_ids.end()));
  EXPECT_TRUE(std::is_sorted(test_ids.begin(), test_ids.end()));
  std::vector<int> all = train_ids;
  all.insert(all.end(), test_ids.begin(), test_ids.end());
  std::sort(all.begin(), all.end());
  std::vector<int> expected(20);
  std::iota(expected.begin(), expected.end(), 1);
  EXPECT_EQ(all, expected);

  // Standardized training columns: mean 0, population stddev 1.
  for (const std::string& column : request.data.dense) {
    const std::vector<double>& v = train.columns.at(column);
    const double mean = std::accumulate(v.begin(), v.end(), 0.0) / n;
    double squares = 0;
    for (const double x : v) squares += (x - mean) * (x - mean);
    EXPECT_NEAR(mean, 0.0, 1e-6) << column;
    EXPECT_NEAR(std::sqrt(squares / n), 1.0, 1e-6) << column;
  }
  // The missing rate (row 4) is the training mean of the others, i.e. 0 after standardizing.
  const bool four_in_train = std::count(train_ids.begin(), train_ids.end(), 4) > 0;
  const std::vector<int>& ids_with_4 = four_in_train ? train_ids : test_ids;
  const PreparedFile& split_with_4 = four_in_train ? train : test;
  const size_t pos = std::find(ids_with_4.begin(), ids_with_4.end(), 4) - ids_with_4.begin();
  EXPECT_NEAR(split_with_4.At("rate in %", pos), 0.0, 1e-6);
  double rate_sum = 0;
  int rate_count = 0;
  for (const int id : train_ids) {
    if (id != 4) rate_sum += id % 7, ++rate_count;
  }
  EXPECT_NEAR(train.schema.dense_stats[1].fill_value, rate_sum / rate_count, 1e-12);

  // "item" is unique per row: training ids are 1..n in file order, test ids all unseen (0).
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_EQ(train.At("item", i), i + 1);
    EXPECT_EQ(train.schema.vocabularies[0][i], "item" + std::to_string(train_ids[i]));
  }
  for (int64_t i = 0; i < test.rows; ++i) EXPECT_EQ(test.At("item", i), 0);
  EXPECT_EQ(train.schema.vocab_sizes, (std::vector<int64_t>{n + 1, 3}));
  // "colour" ids follow first appearance in training, quotes removed.
  const std::vector<std::string> colours = train.schema.vocabularies[1];
  EXPECT_EQ(colours[0], train_ids[0] % 2 ? "red" : "blue");
  for (int64_t i = 0; i < test.rows; ++i) {
    EXPECT_EQ(colours[static_cast<int>(test.At("colour", i)) - 1], test_ids[i] % 2 ? "red" : "blue");
  }

  // Labels: row % 3 == 0 means "yes".
  double positives = 0;
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_EQ(train.At("bought", i), train_ids[i] % 3 == 0 ? 1.0 : 0.0);
    positives += train.At("bought", i);
  }
  EXPECT_DOUBLE_EQ(report->train_positive_rate, positives / n);
}

TEST(PrepareTest, SplitDependsOnlyOnTheSeed) {
  ScratchDir dir;
  Request request = SmallRequest(dir, SmallCsv());
  request.prepare.test_fraction = 0.5;
  ASSERT_TRUE(PrepareDataSet(request.prepare, request.data).ok());
  const std::vector<int> first = RowIds(ReadPrepared(request.data.test));
  ASSERT_TRUE(PrepareDataSet(request.prepare, request.data).ok());
  EXPECT_EQ(RowIds(ReadPrepared(request.data.test)), first);
  request.prepare.seed = 8;
  ASSERT_TRUE(PrepareDataSet(request.prepare, request.data).ok());
  EXPECT_NE(RowIds(ReadPrepared(request.data.test)), first);
}

TEST(PrepareTest, KeepsDuplicatesWhenAsked) {
  ScratchDir dir;
  Request request = SmallRequest(dir, SmallCsv());
  request.prepare.drop_duplicates = false;
  StatusOr<PrepareReport> report = PrepareDataSet(request.prepare, request.data);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->duplicates_dropped, 0);
  EXPECT_EQ(report->train_rows + report->test_rows, 22);
}

// A synthetic table whose "id" column maps each output row back to its raw row.
struct Synthetic {
  std::vector<std::string> header = {"id", "x", "count", "cat", "user", "tags", "title", "t", "label"};
  std::vector<std::vector<std::string>> rows;  // by id
  std::string path;
};

Synthetic MakeSynthetic(const ScratchDir& dir, int num_rows, uint64_t seed) {
  Synthetic data;
  Rng rng(seed);
  const char* words[] = {"Apple", "iPhone", "64GB", "silver", "Samsung", "TV", "55\"", "black", "4K", "rare-word"};
  std::string text;
  for (const auto& h : data.header) text += (text.empty() ? "" : ",") + h;
  text += "\n";
  for (int id = 0; id < num_rows; ++id) {
    std::vector<std::string> row;
    row.push_back(std::to_string(id));
    row.push_back(id % 10 == 3 ? "" : std::to_string(static_cast<int>(rng.Below(1000)) - 200));
    row.push_back(std::to_string(static_cast<int>(std::exp(rng.Uniform(0, 8)))));
    row.push_back(id % 13 == 0 ? "rare" + std::to_string(id) : "v" + std::to_string(rng.Below(37)));
    row.push_back("u" + std::to_string(rng.Below(500)));
    std::string tags;
    for (uint64_t k = rng.Below(4); k > 0; --k)
      tags += (tags.empty() ? "" : "|") + std::string(1, char('a' + rng.Below(6)));
    row.push_back(tags);
    std::string title;
    for (uint64_t k = 1 + rng.Below(5); k > 0; --k)
      title += (title.empty() ? "" : " ") + std::string(words[rng.Below(10)]);
    row.push_back(title);
    row.push_back(std::to_string(rng.Below(300)));  // times, with ties
    row.push_back(rng.Below(3) == 0 ? "1" : "0");
    std::string line;
    for (const std::string& field : row) {
      std::string quoted = "\"";
      for (char c : field) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
      line += (line.empty() ? "" : ",") + quoted + "\"";
    }
    text += line + "\n";
    data.rows.push_back(std::move(row));
  }
  data.path = WriteTextFile(dir.File("synthetic.csv"), text);
  return data;
}

Request SyntheticRequest(const ScratchDir& dir, const Synthetic& data) {
  Request request;
  request.prepare.source = data.path;
  request.data.label = "label";
  request.data.dense = {"id", "x", "count"};
  request.prepare.scale_by_column = {{"id", "none"}};
  request.data.categorical = {"cat", "user"};
  request.data.multi_valued = {"tags", "title"};
  request.prepare.text = {"title"};
  request.prepare.hash_buckets_by_column = {{"user", 64}};
  request.prepare.min_count_by_column = {{"cat", 3}, {"title", 2}};
  request.prepare.test_fraction = 0.3;
  request.prepare.seed = 11;
  request.data.train = dir.File("train.h5");
  request.data.test = dir.File("test.h5");
  return request;
}

std::map<std::string, std::string> RawRow(const Synthetic& data, int id) {
  std::map<std::string, std::string> raw;
  for (size_t c = 0; c < data.header.size(); ++c) raw[data.header[c]] = data.rows[id][c];
  return raw;
}

// Every prepared row, train and test, is what FeatureSchema::EncodeRow (predict's path) gives
// for its raw row: the vocabulary with min_count and id 0, hashing of values never seen in
// training, split and tokenized bags.
void ExpectEncodeRowReproduces(const Synthetic& data, const PreparedFile& file) {
  const data::FeatureSchema& schema = file.schema;
  std::vector<float> dense(schema.dense.size());
  std::vector<int32_t> ids(schema.categorical.size());
  std::vector<std::vector<int32_t>> bags;
  for (int64_t i = 0; i < file.rows; ++i) {
    const int id = static_cast<int>(file.At("id", i));
    ASSERT_TRUE(schema.EncodeRow(RawRow(data, id), dense.data(), ids.data(), &bags).ok());
    for (size_t d = 0; d < schema.dense.size(); ++d) {
      EXPECT_EQ(static_cast<float>(file.At(schema.dense[d], i)), dense[d]) << schema.dense[d] << " id " << id;
    }
    for (size_t c = 0; c < schema.categorical.size(); ++c) {
      EXPECT_EQ(file.At(schema.categorical[c], i), ids[c]) << schema.categorical[c] << " id " << id;
    }
    for (size_t b = 0; b < schema.multi_valued.size(); ++b) {
      EXPECT_EQ(file.Bag(schema.multi_valued[b], i), bags[b]) << schema.multi_valued[b] << " id " << id;
    }
  }
}

TEST(PrepareTest, StatisticsComeFromTheTrainingSplitOnly) {
  ScratchDir dir;
  const Synthetic data = MakeSynthetic(dir, 600, 3);
  const Request request = SyntheticRequest(dir, data);
  StatusOr<PrepareReport> report = PrepareDataSet(request.prepare, request.data);
  ASSERT_TRUE(report.ok()) << report.status().message();
  const PreparedFile train = ReadPrepared(request.data.train);
  const PreparedFile test = ReadPrepared(request.data.test);
  ASSERT_EQ(train.rows + test.rows, 600);
  EXPECT_GT(test.rows, 600 * 0.3 - 60);
  EXPECT_LT(test.rows, 600 * 0.3 + 60);

  // Recompute every statistic from the raw training rows alone.
  std::vector<int> train_ids;
  for (int64_t i = 0; i < train.rows; ++i) train_ids.push_back(static_cast<int>(train.At("id", i)));
  double sum = 0;
  int present = 0;
  for (const int id : train_ids) {
    if (!data.rows[id][1].empty()) sum += std::stod(data.rows[id][1]), ++present;
  }
  const double mean = sum / present;
  double squares = 0;
  for (const int id : train_ids) {
    const double x = data.rows[id][1].empty() ? mean : std::stod(data.rows[id][1]);
    squares += (x - mean) * (x - mean);
  }
  const data::DenseColumnStats& x = train.schema.dense_stats[1];
  EXPECT_NEAR(x.fill_value, mean, 1e-9);
  EXPECT_NEAR(x.mean, mean, 1e-9);
  EXPECT_NEAR(x.stddev, std::sqrt(squares / train_ids.size()), 1e-9);

  std::map<std::string, std::pair<int, int>> counts;  // value -> (count, first)
  for (const int id : train_ids) {
    auto [it, inserted] = counts.try_emplace(data.rows[id][3], 0, static_cast<int>(counts.size()));
    ++it->second.first;
  }
  std::vector<std::pair<int, std::string>> kept;
  for (const auto& [value, count] : counts) {
    if (count.first >= 3) kept.emplace_back(count.second, value);
  }
  std::sort(kept.begin(), kept.end());
  std::vector<std::string> vocabulary;
  for (const auto& [first, value] : kept) vocabulary.push_back(value);
  EXPECT_EQ(train.schema.vocabularies[0], vocabulary);
  EXPECT_EQ(train.schema.vocab_sizes[0], static_cast<int64_t>(vocabulary.size()) + 1);
  EXPECT_TRUE(train.schema.vocabularies[1].empty());  // hashed
  EXPECT_EQ(train.schema.vocab_sizes[1], 64);
  // Rare values (count 1) are out of vocabulary: id 0 in both splits.
  for (const PreparedFile* file : {&train, &test}) {
    for (int64_t i = 0; i < file->rows; ++i) {
      const std::string& cat = data.rows[static_cast<int>(file->At("id", i))][3];
      if (cat.starts_with("rare")) {
        EXPECT_EQ(file->At("cat", i), 0) << cat;
      }
    }
  }
  // "rare-word" is tokenized as "rare" and "word"; tokens seen once in training are id 0.
  EXPECT_EQ(train.schema.bag_encodings[1].text, true);
  EXPECT_EQ(train.schema.bag_encodings[0].separator, "|");

  ExpectEncodeRowReproduces(data, train);
  ExpectEncodeRowReproduces(data, test);
}

TEST(PrepareTest, MedianFillLogMinMaxAndMissingIndicator) {
  ScratchDir dir;
  const Synthetic data = MakeSynthetic(dir, 301, 4);
  Request request = SyntheticRequest(dir, data);
  request.data.dense = {"id", "x", "x_missing", "count"};
  request.prepare.missing_indicator = {"x"};
  request.prepare.fill_by_column = {{"x", "median"}, {"count", "-1"}};
  request.prepare.scale_by_column = {{"id", "none"}, {"x", "minmax"}};
  request.prepare.log = {"x", "count"};
  StatusOr<PrepareReport> report = PrepareDataSet(request.prepare, request.data);
  ASSERT_TRUE(report.ok()) << report.status().message();
  const PreparedFile train = ReadPrepared(request.data.train);
  const PreparedFile test = ReadPrepared(request.data.test);

  std::vector<double> present;
  for (int64_t i = 0; i < train.rows; ++i) {
    const std::string& text = data.rows[static_cast<int>(train.At("id", i))][1];
    if (!text.empty()) present.push_back(std::stod(text));
  }
  std::sort(present.begin(), present.end());
  const double median = present[(present.size() - 1) / 2];  // the lower middle value
  const data::DenseColumnStats& x = train.schema.dense_stats[1];
  EXPECT_EQ(x.fill, "median");
  EXPECT_EQ(x.fill_value, median);
  EXPECT_TRUE(x.log);
  // Min-max over the filled, log-transformed training values: they span [0, 1] exactly.
  const std::vector<double>& scaled = train.columns.at("x");
  EXPECT_NEAR(*std::min_element(scaled.begin(), scaled.end()), 0.0, 1e-6);
  EXPECT_NEAR(*std::max_element(scaled.begin(), scaled.end()), 1.0, 1e-6);
  EXPECT_NEAR(x.mean, data::SignedLog1p(present.front()), 1e-9);
  EXPECT_NEAR(x.stddev, data::SignedLog1p(present.back()) - data::SignedLog1p(present.front()), 1e-9);
  EXPECT_EQ(train.schema.dense_stats[2].indicator_of, "x");
  EXPECT_EQ(train.schema.dense_stats[3].fill_value, -1.0);
  for (const PreparedFile* file : {&train, &test}) {
    for (int64_t i = 0; i < file->rows; ++i) {
      const bool missing = data.rows[static_cast<int>(file->At("id", i))][1].empty();
      EXPECT_EQ(file->At("x_missing", i), missing ? 1.0 : 0.0);
    }
  }
  ExpectEncodeRowReproduces(data, train);
  ExpectEncodeRowReproduces(data, test);
}

TEST(PrepareTest, TimeSplitPutsEveryTestTimeAfterEveryTrainTime) {
  ScratchDir dir;
  const Synthetic data = MakeSynthetic(dir, 800, 5);
  Request request = SyntheticRequest(dir, data);
  request.prepare.split = "time";
  request.prepare.time_column = "t";
  request.prepare.test_fraction = 0.25;
  StatusOr<PrepareReport> report = PrepareDataSet(request.prepare, request.data);
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_TRUE(report->time_threshold.has_value());
  const PreparedFile train = ReadPrepared(request.data.train);
  const PreparedFile test = ReadPrepared(request.data.test);
  auto times = [&](const PreparedFile& file) {
    std::vector<double> t;
    for (int64_t i = 0; i < file.rows; ++i) t.push_back(std::stod(data.rows[static_cast<int>(file.At("id", i))][7]));
    return t;
  };
  const std::vector<double> train_times = times(train), test_times = times(test);
  ASSERT_FALSE(test_times.empty());
  const double last_train = *std::max_element(train_times.begin(), train_times.end());
  const double first_test = *std::min_element(test_times.begin(), test_times.end());
  EXPECT_LT(last_train, first_test);
  EXPECT_LE(last_train, *report->time_threshold);
  EXPECT_GT(first_test, *report->time_threshold);
  EXPECT_NEAR(static_cast<double>(test.rows) / 800, 0.25, 0.05);

  request.prepare.time_column = "title";
  const Status status = PrepareDataSet(request.prepare, request.data).status();
  EXPECT_EQ(status.code(), StatusCode::kDataError);
  EXPECT_NE(status.message().find(data.path + ":2 column 'title': '"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("is not a time"), std::string::npos) << status.message();
}

TEST(PrepareTest, ValidationSplitComesFromTheNonTestRowsAndLeavesTheTestRowsAlone) {
  ScratchDir dir;
  const Synthetic data = MakeSynthetic(dir, 2000, 5);
  Request request = SyntheticRequest(dir, data);
  request.prepare.test_fraction = 0.2;
  ASSERT_TRUE(PrepareDataSet(request.prepare, request.data).ok());
  const PreparedFile test_alone = ReadPrepared(request.data.test);
  request.prepare.validation_fraction = 0.1;
  request.data.validation = dir.File("out/validation.h5");
  StatusOr<PrepareReport> report = PrepareDataSet(request.prepare, request.data);
  ASSERT_TRUE(report.ok()) << report.status().message();
  const PreparedFile train = ReadPrepared(request.data.train);
  const PreparedFile validation = ReadPrepared(request.data.validation);
  const PreparedFile test = ReadPrepared(request.data.test);
  EXPECT_EQ(report->validation_rows, validation.rows);
  EXPECT_EQ(train.rows + validation.rows + test.rows, 2000);
  EXPECT_NEAR(static_cast<double>(validation.rows) / 2000, 0.1, 0.025);
  auto ids = [](const PreparedFile& file) {
    std::vector<int64_t> out;
    for (int64_t i = 0; i < file.rows; ++i) out.push_back(static_cast<int64_t>(file.At("id", i)));
    std::sort(out.begin(), out.end());
    return out;
  };
  // The test rows are those of the run without a validation split; no row is in two files.
  EXPECT_EQ(ids(test), ids(test_alone));
  std::vector<int64_t> all = ids(train);
  for (const auto& file : {validation, test}) {
    const std::vector<int64_t> more = ids(file);
    all.insert(all.end(), more.begin(), more.end());
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());
  // Statistics and vocabularies come from the training rows only: the validation file shares the schema.
  EXPECT_EQ(validation.schema.dense_stats[0].mean, train.schema.dense_stats[0].mean);
}

TEST(PrepareTest, TimeSplitPutsValidationBetweenTrainAndTest) {
  ScratchDir dir;
  const Synthetic data = MakeSynthetic(dir, 800, 5);
  Request request = SyntheticRequest(dir, data);
  request.prepare.split = "time";
  request.prepare.time_column = "t";
  request.prepare.test_fraction = 0.2;
  request.prepare.validation_fraction = 0.2;
  request.data.validation = dir.File("out/validation.h5");
  StatusOr<PrepareReport> report = PrepareDataSet(request.prepare, request.data);
  ASSERT_TRUE(report.ok()) << report.status().message();
  auto times = [&](const std::string& path) {
    const PreparedFile file = ReadPrepared(path);
    std::vector<double> t;
    for (int64_t i = 0; i < file.rows; ++i) t.push_back(std::stod(data.rows[static_cast<int>(file.At("id", i))][7]));
    return t;
  };
  const std::vector<double> train = times(request.data.train), validation = times(request.data.validation),
                            test = times(request.data.test);
  ASSERT_FALSE(validation.empty());
  EXPECT_LT(*std::max_element(train.begin(), train.end()), *std::min_element(validation.begin(), validation.end()));
  EXPECT_LT(*std::max_element(validation.begin(), validation.end()), *std::min_element(test.begin(), test.end()));
  EXPECT_NEAR(static_cast<double>(validation.size()) / 800, 0.2, 0.05);
  ASSERT_TRUE(report->validation_time_threshold.has_value());
}

TEST(PrepareTest, ValidationSplitSettingsAreChecked) {
  ScratchDir dir;
  Request request = SmallRequest(dir, SmallCsv());
  request.prepare.validation_fraction = 0.1;
  Status status = PrepareDataSet(request.prepare, request.data).status();
  EXPECT_NE(status.message().find("data.validation is empty"), std::string::npos) << status.message();
  request.data.validation = dir.File("out/validation.h5");
  request.prepare.validation_fraction = 0.8;  // test_fraction 0.25 leaves 0.75
  status = PrepareDataSet(request.prepare, request.data).status();
  EXPECT_NE(status.message().find("prepare.validation_fraction is 0.8"), std::string::npos) << status.message();
  EXPECT_FALSE(std::filesystem::exists(request.data.train));
}

TEST(PrepareTest, DuplicatesInAGivenTestFileStayAndAreCountedApart) {
  ScratchDir dir;
  Request request = SmallRequest(dir, SmallCsv());
  // The test file repeats two training rows and one of its own.
  std::string test_csv = "row,rate in %,item,colour,bought\n1,1,item1,red,FALSE\n2,2,item2,\"blue\",0\n";
  test_csv += "30,2,item30,red,yes\n30,2,item30,red,yes\n";
  request.prepare.test_source = WriteTextFile(dir.File("test.csv"), test_csv);
  StatusOr<PrepareReport> report = PrepareDataSet(request.prepare, request.data);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->duplicates_dropped, 2);  // the source's own two
  EXPECT_EQ(report->test_duplicates_kept, 3);
  EXPECT_EQ(report->test_rows, 4);
}

Status PrepareError(const Request& request) {
  StatusOr<PrepareReport> report = PrepareDataSet(request.prepare, request.data);
  EXPECT_FALSE(report.ok());
  EXPECT_FALSE(std::filesystem::exists(request.data.train)) << "no output on error";
  return report.status();
}

TEST(PrepareTest, MissingColumnListsTheHeader) {
  ScratchDir dir;
  Request request = SmallRequest(dir, SmallCsv());
  request.data.categorical = {"colour", "size"};
  const Status status = PrepareError(request);
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_NE(status.message().find("no column 'size'; columns are: row, rate in %, item, colour, bought"),
            std::string::npos)
      << status.message();
}

TEST(PrepareTest, NonNumericDenseValueNamesLineAndColumn) {
  ScratchDir dir;
  std::string csv = SmallCsv();
  // Row 7 is on line 9: the header is line 1 and row 5's duplicate line 7.
  csv.replace(csv.find("\r\n7,0,"), 6, "\r\n7,abc,");
  const Request request = SmallRequest(dir, csv);
  const Status status = PrepareError(request);
  EXPECT_EQ(status.code(), StatusCode::kDataError);
  EXPECT_EQ(status.message(), request.prepare.source + ":9 column 'rate in %': 'abc' is not a number");
}

TEST(PrepareTest, BadLabelsNameLineAndColumn) {
  ScratchDir dir;
  for (const std::string label : {"NaN", "maybe", "2"}) {
    std::string csv = SmallCsv();
    csv.replace(csv.find(",item3,red,yes"), 14, ",item3,red," + label);  // line 4
    const Request request = SmallRequest(dir, csv);
    const Status status = PrepareError(request);
    EXPECT_EQ(status.code(), StatusCode::kDataError);
    EXPECT_EQ(status.message().rfind(request.prepare.source + ":4 column 'bought': ", 0), 0u) << status.message();
  }
}

// bad_rows: fail stops at the first malformed row with its file, line and column; skip goes
// on, counts them and keeps the first few messages.
TEST(PrepareTest, BadRowsFailOrSkip) {
  ScratchDir dir;
  std::string csv = SmallCsv();
  csv.replace(csv.find("\r\n3,3,"), 6, "\r\n3,3,extra,");  // line 4: a field too many
  csv.replace(csv.find("\r\n7,0,"), 6, "\r\n7,1e999,");    // line 9: not finite
  Request request = SmallRequest(dir, csv);
  Status status = PrepareError(request);
  EXPECT_EQ(status.message(), request.prepare.source +
                                  ":4 column 6: expected 5 fields as in the header, found 6; quote fields that "
                                  "contain the delimiter");
  request.prepare.bad_rows = "skip";
  StatusOr<PrepareReport> report = PrepareDataSet(request.prepare, request.data);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->rows_read, 22);
  EXPECT_EQ(report->bad_rows_skipped, 2);
  EXPECT_EQ(report->train_rows + report->test_rows, 18);
  ASSERT_EQ(report->bad_row_examples.size(), 2u);
  EXPECT_EQ(report->bad_row_examples[1],
            request.prepare.source + ":9 column 'rate in %': '1e999' is not a finite number");
}

TEST(PrepareTest, InvalidRequests) {
  ScratchDir dir;
  auto expect_invalid = [&](const Request& request, const std::string& text) {
    const Status status = PrepareError(request);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.message();
    EXPECT_NE(status.message().find(text), std::string::npos) << status.message();
  };
  Request request = SmallRequest(dir, SmallCsv());
  request.data.dense = {"row", "a/b"};
  expect_invalid(request, "cannot name an HDF5 dataset");
  request = SmallRequest(dir, SmallCsv());
  request.data.categorical = {"item", "row"};
  expect_invalid(request, "listed twice");
  request = SmallRequest(dir, SmallCsv());
  request.prepare.test_fraction = 1.0;
  expect_invalid(request, "test_fraction");
  request = SmallRequest(dir, SmallCsv());
  request.prepare.text = {"item"};
  expect_invalid(request, "prepare.text: 'item' is not in data.multi_valued");
  request = SmallRequest(dir, SmallCsv());
  request.prepare.missing_indicator = {"row"};
  expect_invalid(request, "list it in data.dense too");
  request = SmallRequest(dir, SmallCsv());
  request.prepare.fill_by_column = {{"rate in %", "average"}};
  expect_invalid(request, "prepare.fill_by_column.rate in %: 'average'; allowed: mean, median or a number");
  request = SmallRequest(dir, SmallCsv());
  request.prepare.fill_by_column = {{"colour", "0"}};
  expect_invalid(request, "prepare.fill_by_column: 'colour' is not one of the dense columns");
  request = SmallRequest(dir, SmallCsv());
  request.prepare.hash_buckets = 1;
  expect_invalid(request, "prepare.hash_buckets: 1 buckets");
  request = SmallRequest(dir, SmallCsv());
  request.prepare.label_type = "regression";
  request.prepare.positive_values = {"yes"};
  expect_invalid(request, "make a binary label");
  request = SmallRequest(dir, SmallCsv());
  request.prepare.split = "time";
  expect_invalid(request, "prepare.time_column");
  request = SmallRequest(dir, SmallCsv());
  request.prepare.test_fraction = 0.001;  // no row lands in the test split
  expect_invalid(request, "leaves the test split empty");
}

TEST(PrepareTest, RegressionAndClassLabels) {
  ScratchDir dir;
  std::string csv = "price,brand,kind\n";
  const char* kinds[] = {"TVs", "CPUs", "Fridges"};
  for (int i = 0; i < 60; ++i)
    csv += std::to_string(i * 2.5) + ",b" + std::to_string(i % 4) + "," + kinds[i % 3] + "\n";
  Request request;
  request.prepare.source = WriteTextFile(dir.File("p.csv"), csv);
  request.data.categorical = {"brand"};
  request.data.label = "price";
  request.prepare.label_type = "regression";
  request.data.train = dir.File("train.h5");
  request.data.test = dir.File("test.h5");
  ASSERT_TRUE(PrepareDataSet(request.prepare, request.data).ok());
  PreparedFile train = ReadPrepared(request.data.train);
  EXPECT_EQ(train.schema.label_type, "regression");
  for (int64_t i = 0; i < train.rows; ++i) EXPECT_EQ(std::fmod(train.At("price", i), 2.5), 0.0);
  EXPECT_GT(*std::max_element(train.columns["price"].begin(), train.columns["price"].end()), 100.0);

  request.data.label = "kind";
  request.prepare.label_type = "class";
  ASSERT_TRUE(PrepareDataSet(request.prepare, request.data).ok());
  train = ReadPrepared(request.data.train);
  EXPECT_EQ(train.schema.label_classes, (std::vector<std::string>{"CPUs", "Fridges", "TVs"}));
  for (int64_t i = 0; i < train.rows; ++i) {
    const int brand = static_cast<int>(train.At("brand", i));
    ASSERT_GT(brand, 0);
    EXPECT_GE(train.At("kind", i), 0);
    EXPECT_LT(train.At("kind", i), 3);
  }
}

TEST(PrepareTest, FailedWriteLeavesNoOutput) {
  ScratchDir dir;
  Request request = SmallRequest(dir, SmallCsv());
  std::filesystem::create_directories(request.data.test + ".tmp");  // the final rename will fail
  EXPECT_FALSE(PrepareError(request).ok());
  EXPECT_FALSE(std::filesystem::exists(request.data.train + ".tmp"));
  EXPECT_FALSE(std::filesystem::exists(request.data.train + ".tmp.tmp"));
  EXPECT_FALSE(std::filesystem::exists(request.data.test + ".tmp.tmp"));

  request = SmallRequest(dir, SmallCsv());
  request.data.test = WriteTextFile(dir.File("a_file"), "x") + "/test.h5";
  EXPECT_EQ(PrepareError(request).code(), StatusCode::kInvalidArgument);
}

// The real Online Shoppers Intention data (bundled): CRLF, names like 'BounceRates in %',
// TRUE/FALSE labels and exact duplicate rows.
TEST(PrepareTest, OnlineShoppersIntention) {
  const std::string csv = ectrain::testing::BundledData("online-shoppers-intention/online_shoppers_intention.csv");
  ScratchDir dir;
  Request request;
  request.prepare.source = csv;
  request.data.label = "Revenue";
  request.data.dense = {"Administrative", "Administrative_Duration", "Informational",    "Informational_Duration",
                        "ProductRelated", "ProductRelated_Duration", "BounceRates in %", "ExitRates in %",
                        "PageValues",     "SpecialDay (probability)"};
  request.data.categorical = {"Month",       "OperatingSystems", "Browser", "Region",
                              "TrafficType", "VisitorType",      "Weekend"};
  request.data.train = dir.File("train.h5");
  request.data.test = dir.File("test.h5");
  StatusOr<PrepareReport> report = PrepareDataSet(request.prepare, request.data);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->rows_read, 12330);
  EXPECT_EQ(report->duplicates_dropped, 125);
  const int64_t kept = report->rows_read - report->duplicates_dropped;
  EXPECT_EQ(report->train_rows + report->test_rows, kept);
  EXPECT_NEAR(static_cast<double>(report->test_rows) / kept, 0.2, 0.02);
  EXPECT_GT(report->train_positive_rate, 0.1);
  EXPECT_LT(report->train_positive_rate, 0.25);

  const PreparedFile train = ReadPrepared(request.data.train);
  const PreparedFile test = ReadPrepared(request.data.test);
  EXPECT_EQ(train.rows, report->train_rows);
  EXPECT_EQ(test.rows, report->test_rows);
  EXPECT_EQ(train.schema.vocab_sizes[0], 11);  // 10 months appear, plus "unseen"
  EXPECT_EQ(train.schema.vocabularies[6], (std::vector<std::string>{"FALSE", "TRUE"}));
  for (const std::string& column : request.data.dense) {
    const std::vector<double>& v = train.columns.at(column);
    EXPECT_NEAR(std::accumulate(v.begin(), v.end(), 0.0) / train.rows, 0.0, 1e-4) << column;
  }
}

}  // namespace
}  // namespace ectrain::prep
