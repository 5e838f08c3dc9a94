#include "data/prepare.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <numeric>

#include "data/column_file.h"
#include "test_files.h"

namespace ectrain::data {
namespace {

using testing::ScratchDir;
using testing::WriteTextFile;

// 20 distinct rows plus 2 exact duplicates. "row" is unique so each output row can be traced
// back; "item" is unique too, so every test row is an unseen category; "rate in %" has a
// missing value on the line of row 4.
std::string SmallCsv() {
  std::string text = "row,rate in %,item,colour,bought\r\n";
  for (int row = 1; row <= 20; ++row) {
    const std::string rate = row == 4 ? "NA" : std::to_string(row % 7);
    const std::string label = row % 3 == 0 ? "yes" : (row % 3 == 1 ? "FALSE" : "0");
    text += std::to_string(row) + "," + rate + ",item" + std::to_string(row) + "," +
            (row % 2 ? "red" : "\"blue\"") + "," + label + "\r\n";
    if (row == 5 || row == 9) text += text.substr(text.rfind("\r\n", text.size() - 3) + 2);
  }
  return text;
}

PrepareRequest SmallRequest(const ScratchDir& dir, const std::string& csv) {
  PrepareRequest request;
  request.csv_path = WriteTextFile(dir.File("small.csv"), csv);
  request.label = "bought";
  request.dense = {"row", "rate in %"};
  request.categorical = {"item", "colour"};
  request.test_fraction = 0.25;
  request.seed = 7;
  request.train_path = dir.File("out/nested/train.h5");
  request.test_path = dir.File("out/test.h5");
  return request;
}

struct Split {
  FeatureSchema schema;
  Table table;
};

Split ReadSplit(const std::string& path) {
  StatusOr<ColumnFile> file = ColumnFile::Open(path);
  EXPECT_TRUE(file.ok()) << file.status().message();
  if (!file.ok()) return {};
  StatusOr<std::optional<FeatureSchema>> schema = file->StoredSchema();
  EXPECT_TRUE(schema.ok() && schema->has_value()) << path;
  if (!schema.ok() || !schema->has_value()) return {};
  StatusOr<Table> table = file->ReadAll(**schema, /*with_labels=*/true);
  EXPECT_TRUE(table.ok()) << table.status().message();
  if (!table.ok()) return {};
  return {**schema, std::move(table.value())};
}

// The CSV "row" value of each output row, undoing the standardization.
std::vector<int> RowIds(const Split& split) {
  const DenseColumnStats& stats = split.schema.dense_stats[0];
  std::vector<int> ids;
  for (int64_t i = 0; i < split.table.num_rows; ++i) {
    ids.push_back(
        static_cast<int>(std::lround(split.table.dense[i * 2] * stats.stddev + stats.mean)));
  }
  return ids;
}

TEST(PrepareTest, SplitsStandardizesAndEncodes) {
  ScratchDir dir;
  const PrepareRequest request = SmallRequest(dir, SmallCsv());
  StatusOr<PrepareReport> report = PrepareCsv(request);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->rows_read, 22);
  EXPECT_EQ(report->duplicates_dropped, 2);
  EXPECT_EQ(report->test_rows, 5);  // round(0.25 * 20)
  EXPECT_EQ(report->train_rows, 15);
  EXPECT_FALSE(std::filesystem::exists(request.train_path + ".tmp"));
  EXPECT_FALSE(std::filesystem::exists(request.test_path + ".tmp"));

  const Split train = ReadSplit(request.train_path);
  const Split test = ReadSplit(request.test_path);
  ASSERT_EQ(train.table.num_rows, 15);
  ASSERT_EQ(test.table.num_rows, 5);
  EXPECT_EQ(train.schema.label, "bought");
  EXPECT_EQ(train.schema.dense, request.dense);
  EXPECT_EQ(test.schema.categorical, request.categorical);
  EXPECT_EQ(train.schema.ToJson(), test.schema.ToJson());

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
  for (int d = 0; d < 2; ++d) {
    double sum = 0, squares = 0;
    for (int64_t i = 0; i < 15; ++i) sum += train.table.dense[i * 2 + d];
    for (int64_t i = 0; i < 15; ++i)
      squares += std::pow(train.table.dense[i * 2 + d] - sum / 15, 2);
    EXPECT_NEAR(sum / 15, 0.0, 1e-6) << d;
    EXPECT_NEAR(std::sqrt(squares / 15), 1.0, 1e-6) << d;
  }
  // The missing rate (row 4) is the training mean of the others, i.e. 0 after standardizing.
  const std::vector<int>& ids_with_4 =
      std::count(train_ids.begin(), train_ids.end(), 4) ? train_ids : test_ids;
  const Split& split_with_4 = &ids_with_4 == &train_ids ? train : test;
  const size_t pos = std::find(ids_with_4.begin(), ids_with_4.end(), 4) - ids_with_4.begin();
  EXPECT_FLOAT_EQ(split_with_4.table.dense[pos * 2 + 1], 0.0f);
  double rate_sum = 0;
  int rate_count = 0;
  for (const int id : train_ids) {
    if (id != 4) rate_sum += id % 7, ++rate_count;
  }
  EXPECT_NEAR(train.schema.dense_stats[1].fill_value, rate_sum / rate_count, 1e-12);

  // "item" is unique per row: training ids are 1..15 in file order, test ids all unseen (0).
  for (int64_t i = 0; i < 15; ++i) {
    EXPECT_EQ(train.table.categorical[i * 2], i + 1);
    EXPECT_EQ(train.schema.vocabularies[0][i], "item" + std::to_string(train_ids[i]));
  }
  for (int64_t i = 0; i < 5; ++i) EXPECT_EQ(test.table.categorical[i * 2], 0);
  EXPECT_EQ(train.schema.vocab_sizes, (std::vector<int64_t>{16, 3}));
  // "colour" ids follow first appearance in training, quotes removed.
  const std::vector<std::string> colours = train.schema.vocabularies[1];
  EXPECT_EQ(colours[0], train_ids[0] % 2 ? "red" : "blue");
  for (int64_t i = 0; i < 5; ++i) {
    EXPECT_EQ(colours[test.table.categorical[i * 2 + 1] - 1], test_ids[i] % 2 ? "red" : "blue");
  }

  // Labels: row % 3 == 0 means "yes".
  double positives = 0;
  for (int64_t i = 0; i < 15; ++i) {
    EXPECT_EQ(train.table.labels[i], train_ids[i] % 3 == 0 ? 1.0f : 0.0f);
    positives += train.table.labels[i];
  }
  EXPECT_DOUBLE_EQ(report->train_positive_rate, positives / 15);
}

TEST(PrepareTest, SplitDependsOnlyOnTheSeed) {
  ScratchDir dir;
  PrepareRequest request = SmallRequest(dir, SmallCsv());
  ASSERT_TRUE(PrepareCsv(request).ok());
  const std::vector<int> first = RowIds(ReadSplit(request.test_path));
  ASSERT_TRUE(PrepareCsv(request).ok());
  EXPECT_EQ(RowIds(ReadSplit(request.test_path)), first);
  request.seed = 8;
  ASSERT_TRUE(PrepareCsv(request).ok());
  EXPECT_NE(RowIds(ReadSplit(request.test_path)), first);
}

TEST(PrepareTest, KeepsDuplicatesWhenAsked) {
  ScratchDir dir;
  PrepareRequest request = SmallRequest(dir, SmallCsv());
  request.drop_duplicates = false;
  StatusOr<PrepareReport> report = PrepareCsv(request);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->duplicates_dropped, 0);
  EXPECT_EQ(report->train_rows + report->test_rows, 22);
}

Status PrepareError(const PrepareRequest& request) {
  StatusOr<PrepareReport> report = PrepareCsv(request);
  EXPECT_FALSE(report.ok());
  EXPECT_FALSE(std::filesystem::exists(request.train_path)) << "no output on error";
  return report.status();
}

TEST(PrepareTest, MissingColumnListsTheHeader) {
  ScratchDir dir;
  PrepareRequest request = SmallRequest(dir, SmallCsv());
  request.categorical = {"colour", "size"};
  const Status status = PrepareError(request);
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_NE(
      status.message().find("no column 'size'; columns are: row, rate in %, item, colour, bought"),
      std::string::npos)
      << status.message();
}

TEST(PrepareTest, NonNumericDenseValueNamesLineAndColumn) {
  ScratchDir dir;
  std::string csv = SmallCsv();
  // Row 7 is on line 9: the header is line 1 and row 5's duplicate line 7.
  csv.replace(csv.find("\r\n7,0,"), 6, "\r\n7,abc,");
  const PrepareRequest request = SmallRequest(dir, csv);
  const Status status = PrepareError(request);
  EXPECT_EQ(status.code(), StatusCode::kDataError);
  EXPECT_EQ(status.message(), request.csv_path + ":9 column 'rate in %': 'abc' is not a number");
}

TEST(PrepareTest, BadLabelsNameLineAndColumn) {
  ScratchDir dir;
  for (const std::string label : {"NaN", "maybe", "2"}) {
    std::string csv = SmallCsv();
    csv.replace(csv.find(",item3,red,yes"), 14, ",item3,red," + label);  // line 4
    const PrepareRequest request = SmallRequest(dir, csv);
    const Status status = PrepareError(request);
    EXPECT_EQ(status.code(), StatusCode::kDataError);
    EXPECT_EQ(status.message().rfind(request.csv_path + ":4 column 'bought': ", 0), 0u)
        << status.message();
  }
}

TEST(PrepareTest, InvalidRequests) {
  ScratchDir dir;
  PrepareRequest request = SmallRequest(dir, SmallCsv());
  request.dense = {"row", "a/b"};
  EXPECT_EQ(PrepareError(request).code(), StatusCode::kInvalidArgument);
  request = SmallRequest(dir, SmallCsv());
  request.categorical = {"item", "row"};
  EXPECT_EQ(PrepareError(request).code(), StatusCode::kInvalidArgument);
  request = SmallRequest(dir, SmallCsv());
  request.test_fraction = 0.01;  // rounds to an empty test split
  const Status status = PrepareError(request);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("test_fraction"), std::string::npos) << status.message();
  request.test_fraction = 1.0;
  EXPECT_EQ(PrepareError(request).code(), StatusCode::kInvalidArgument);
}

TEST(PrepareTest, FailedWriteLeavesNoOutput) {
  ScratchDir dir;
  PrepareRequest request = SmallRequest(dir, SmallCsv());
  std::filesystem::create_directories(request.test_path + ".tmp");  // H5Fcreate will fail
  EXPECT_FALSE(PrepareError(request).ok());
  EXPECT_FALSE(std::filesystem::exists(request.train_path + ".tmp"));

  request = SmallRequest(dir, SmallCsv());
  request.test_path = WriteTextFile(dir.File("a_file"), "x") + "/test.h5";
  EXPECT_EQ(PrepareError(request).code(), StatusCode::kInvalidArgument);
}

// The real Online Shoppers Intention data: CRLF, names like 'BounceRates in %', TRUE/FALSE
// labels and exact duplicate rows. The data must be there: a missing file fails the test.
TEST(PrepareTest, OnlineShoppersIntention) {
  const char* shared = std::getenv("ECTRAIN_SHARED_DATA");
  const std::string csv = std::string(shared ? shared : "/work/shared/data") +
                          "/online-shoppers-intention/online_shoppers_intention.csv";
  ASSERT_TRUE(std::filesystem::exists(csv))
      << csv << " is missing; set ECTRAIN_SHARED_DATA to the shared data directory";
  ScratchDir dir;
  PrepareRequest request;
  request.csv_path = csv;
  request.label = "Revenue";
  request.dense = {"Administrative",          "Administrative_Duration", "Informational",
                   "Informational_Duration",  "ProductRelated",          "ProductRelated_Duration",
                   "BounceRates in %",        "ExitRates in %",          "PageValues",
                   "SpecialDay (probability)"};
  request.categorical = {"Month",       "OperatingSystems", "Browser", "Region",
                         "TrafficType", "VisitorType",      "Weekend"};
  request.train_path = dir.File("train.h5");
  request.test_path = dir.File("test.h5");
  StatusOr<PrepareReport> report = PrepareCsv(request);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->rows_read, 12330);
  EXPECT_GT(report->duplicates_dropped, 0);
  EXPECT_EQ(report->train_rows + report->test_rows, report->rows_read - report->duplicates_dropped);
  EXPECT_EQ(report->test_rows,
            std::llround(0.2 * (report->rows_read - report->duplicates_dropped)));
  EXPECT_GT(report->train_positive_rate, 0.1);
  EXPECT_LT(report->train_positive_rate, 0.25);

  const Split train = ReadSplit(request.train_path);
  const Split test = ReadSplit(request.test_path);
  EXPECT_EQ(train.table.num_rows, report->train_rows);
  EXPECT_EQ(test.table.num_rows, report->test_rows);
  EXPECT_EQ(train.schema.vocab_sizes[0], 11);  // 10 months appear, plus "unseen"
  EXPECT_EQ(train.schema.vocabularies[6], (std::vector<std::string>{"FALSE", "TRUE"}));
  for (int d = 0; d < 10; ++d) {
    double sum = 0;
    for (int64_t i = 0; i < train.table.num_rows; ++i) sum += train.table.dense[i * 10 + d];
    EXPECT_NEAR(sum / train.table.num_rows, 0.0, 1e-4) << request.dense[d];
  }
}

}  // namespace
}  // namespace ectrain::data
