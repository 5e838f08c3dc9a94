// libSVM and libFFM files (prep/sparse_source): the rows each gives (fields by an index file in
// both layouts, by index ranges, by libFFM's numbers), the roles (one-hot, bags, dense values,
// -1/+1 labels), the roles chosen from the data, the whole prepare pipeline on them, and every
// kind of malformed input named by file, line and token.
#include "prep/sparse_source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "prep/prepare.h"
#include "unit/data/test_files.h"
#include "unit/prep/prepared_files.h"

namespace ectrain::prep {
namespace {

using data::testing::ScratchDir;
using data::testing::WriteTextFile;
using testing::PreparedFile;
using testing::ReadPrepared;
using testing::Request;
using Rows = std::vector<std::vector<std::string>>;

// make-ipinyou-data's featindex.txt in small: "truncate" (on every line), weekday (column 1),
// IP (8) and usertag (26, several a line).
constexpr char kFeatureIndex[] =
    "truncate\t0\n1:other\t1\n1:0\t2\n1:1\t3\n8:1.2.3.*\t4\n8:5.6.7.*\t5\n26:10006\t6\n26:10063\t7\n26:null\t8\n";

// Every row of `source` (the fields as strings), or the first error.
StatusOr<Rows> ReadAll(RowSource& source) {
  Rows rows;
  RawRow row;
  while (true) {
    ASSIGN_OR_RETURN(const bool more, source.Next(row));
    if (!more) return rows;
    rows.emplace_back(row.fields.begin(), row.fields.end());
  }
}

StatusOr<Rows> ReadRows(const SourceOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<RowSource> source, OpenRowSource(options));
  return ReadAll(*source);
}

SourceOptions IpinyouOptions(const ScratchDir& dir, const std::string& lines) {
  SourceOptions options;
  options.format = "libsvm";
  options.path = WriteTextFile(dir.File("train.yzx.txt"), lines);
  options.sparse.feature_index = WriteTextFile(dir.File("featindex.txt"), kFeatureIndex);
  options.sparse.leading_columns = {"click", "payprice"};
  options.sparse.categorical = {"truncate", "1", "8"};
  options.sparse.multi_valued = {"26"};
  options.sparse.binary_label = "click";
  return options;
}

// The first line of `status`'s message mentions every one of `parts`.
void ExpectMessage(const Status& status, const std::vector<std::string>& parts) {
  ASSERT_FALSE(status.ok());
  for (const std::string& part : parts) {
    EXPECT_NE(status.message().find(part), std::string::npos) << "'" << part << "' not in: " << status.message();
  }
}

TEST(SparseSourceTest, IndexFileNamesFieldsAndValues) {
  ScratchDir dir;
  const SourceOptions options =
      IpinyouOptions(dir, "1 300 0:1 2:1 4:1 6:1 7:1\n\n-1 20 0:1 3:1 5:1 8:1  # a comment\r\n+1 7 0:1 1:1 5:1 6:0\n");
  StatusOr<std::unique_ptr<RowSource>> source = OpenRowSource(options);
  ASSERT_TRUE(source.ok()) << source.status().message();
  EXPECT_EQ((*source)->columns(), (std::vector<std::string>{"click", "payprice", "truncate", "1", "8", "26"}));
  RawRow row;
  ASSERT_TRUE((*source)->Next(row).value());
  EXPECT_EQ(row.line, 1);
  EXPECT_EQ(std::vector<std::string>(row.fields.begin(), row.fields.end()),
            (std::vector<std::string>{"1", "300", "truncate", "0", "1.2.3.*", "10006|10063"}));
  ASSERT_TRUE((*source)->Next(row).value());
  EXPECT_EQ(row.line, 3);  // the blank line 2 is skipped; -1 is a 0 label
  EXPECT_EQ(std::vector<std::string>(row.fields.begin(), row.fields.end()),
            (std::vector<std::string>{"0", "20", "truncate", "1", "5.6.7.*", "null"}));
  ASSERT_TRUE((*source)->Next(row).value());  // value 0: absent
  EXPECT_EQ(std::vector<std::string>(row.fields.begin(), row.fields.end()),
            (std::vector<std::string>{"+1", "7", "truncate", "other", "5.6.7.*", ""}));
  EXPECT_FALSE((*source)->Next(row).value());
  ASSERT_TRUE((*source)->Rewind().ok());
  ASSERT_TRUE((*source)->Next(row).value());
  EXPECT_EQ(row.line, 1);
}

TEST(SparseSourceTest, IndexFileWithTheIndexFirstGivesTheSameRows) {
  ScratchDir dir;
  const std::string lines = "1 300 0:1 2:1 4:1 6:1 7:1\n0 20 0:1 3:1 5:1 8:1\n";
  SourceOptions options = IpinyouOptions(dir, lines);
  StatusOr<Rows> expected = ReadRows(options);
  ASSERT_TRUE(expected.ok()) << expected.status().message();
  options.sparse.feature_index = WriteTextFile(dir.File("index_first.txt"),
                                               "0\ttruncate\n1\t1:other\n2\t1:0\n3\t1:1\n4\t8:1.2.3.*\n5\t8:5.6.7.*\n"
                                               "6\t26:10006\n7\t26:10063\n8\t26:null\n");
  StatusOr<Rows> rows = ReadRows(options);
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  EXPECT_EQ(*rows, *expected);
}

TEST(SparseSourceTest, FieldRangesWithDenseValues) {
  ScratchDir dir;
  SourceOptions options;
  options.format = "libsvm";
  options.path = WriteTextFile(dir.File("x.svm"), "1 1:0.5 2:-3 12:1 21:1 23:1\n0 2:4e2 10:1\n0.25 1:0 25:1\n");
  options.sparse.field_ranges = {{"tags", 20, 29}, {"price", 1, 1}, {"clicks", 2, 2}, {"shop", 10, 19}};
  options.sparse.dense = {"price", "clicks"};
  options.sparse.categorical = {"shop"};
  options.sparse.multi_valued = {"tags"};
  options.sparse.separators = {{"tags", ","}};
  options.sparse.binary_label = "label";
  StatusOr<std::unique_ptr<RowSource>> source = OpenRowSource(options);
  ASSERT_TRUE(source.ok()) << source.status().message();
  // Fields in the order of their first index; categorical and bag values are the indices.
  EXPECT_EQ((*source)->columns(), (std::vector<std::string>{"label", "price", "clicks", "shop", "tags"}));
  StatusOr<Rows> rows = ReadAll(**source);
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  EXPECT_EQ(*rows, (Rows{{"1", "0.5", "-3", "12", "21,23"}, {"0", "", "4e2", "10", ""}, {"0.25", "0", "", "", "25"}}));
}

TEST(SparseSourceTest, LibffmFieldsByNameAndByNumber) {
  ScratchDir dir;
  SourceOptions options;
  options.format = "libffm";
  options.path = WriteTextFile(dir.File("x.ffm"), "-1 0:5:1 1:17:1 1:18:1 2:30:2.5\n1 0:6:1 2:30:0.5\n");
  options.sparse.categorical = {"f0"};
  options.sparse.multi_valued = {"f1"};
  options.sparse.dense = {"f2"};
  options.sparse.binary_label = "label";
  StatusOr<std::unique_ptr<RowSource>> source = OpenRowSource(options);  // no names: f0, f1, ... from the data
  ASSERT_TRUE(source.ok()) << source.status().message();
  EXPECT_EQ((*source)->columns(), (std::vector<std::string>{"label", "f0", "f1", "f2"}));
  const Rows expected = {{"0", "5", "17|18", "2.5"}, {"1", "6", "", "0.5"}};
  StatusOr<Rows> rows = ReadAll(**source);
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  EXPECT_EQ(*rows, expected);

  options.columns = {"user", "tags", "price"};
  options.sparse.categorical = {"user"};
  options.sparse.multi_valued = {"tags"};
  options.sparse.dense = {"price"};
  source = OpenRowSource(options);
  ASSERT_TRUE(source.ok()) << source.status().message();
  EXPECT_EQ((*source)->columns(), (std::vector<std::string>{"label", "user", "tags", "price"}));
  rows = ReadAll(**source);
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  EXPECT_EQ(*rows, expected);

  // A dense field keeps to one index: libffm does not say which a field has.
  options.path = WriteTextFile(dir.File("y.ffm"), "1 0:5:1 2:30:2.5\n0 0:5:1 2:31:2.5\n");
  source = OpenRowSource(options);
  ASSERT_TRUE(source.ok()) << source.status().message();
  ExpectMessage(ReadAll(**source).status(),
                {"y.ffm:2: token '2:31:2.5'", "'price' is dense, and has index 30 on line 1", "categorical"});
}

TEST(SparseSourceTest, SurveyGivesRolesByWhatEachFieldHolds) {
  ScratchDir dir;
  SourceOptions options;
  options.format = "libsvm";
  options.path = WriteTextFile(dir.File("a.svm"), "1 1:0.5 10:1 20:1 21:1 30:1\n0 1:2 11:1 20:1 31:0.5\n0 bad\n");
  const std::string test = WriteTextFile(dir.File("b.svm"), "0 12:1 22:1 22:1\n");
  options.sparse.field_ranges = {{"price", 1, 1},   {"shop", 10, 19},   {"tags", 20, 29},
                                 {"mixed", 30, 39}, {"unused", 40, 49}, {"bias", 50, 50}};
  ExpectMessage(SurveySparseFiles(options, {options.path, test}, false).status(), {"a.svm:3: ", "'bad'"});
  StatusOr<SparseSurvey> survey = SurveySparseFiles(options, {options.path, test}, /*skip_bad_lines=*/true);
  ASSERT_TRUE(survey.ok()) << survey.status().message();
  EXPECT_EQ(survey->lines, 4);
  EXPECT_EQ(survey->roles.label, "label");
  EXPECT_EQ(survey->roles.dense, std::vector<std::string>{"price"});
  EXPECT_EQ(survey->roles.categorical, std::vector<std::string>{"shop"});
  EXPECT_EQ(survey->roles.multi_valued, std::vector<std::string>{"tags"});  // two features on one line
  EXPECT_EQ(survey->unreadable, std::vector<std::string>{"mixed"});         // 0.5 on one of several indices
  EXPECT_EQ(survey->absent, (std::vector<std::string>{"unused", "bias"}));

  SourceOptions ffm;
  ffm.format = "libffm";
  ffm.path = WriteTextFile(dir.File("c.ffm"), "1 0:1:1 3:9:0.5\n0 0:2:1\n");
  survey = SurveySparseFiles(ffm, {ffm.path}, false);
  ASSERT_TRUE(survey.ok()) << survey.status().message();
  EXPECT_EQ(survey->fields, (std::vector<std::string>{"f0", "f1", "f2", "f3"}));
  EXPECT_EQ(survey->roles.categorical, std::vector<std::string>{"f0"});
  EXPECT_EQ(survey->roles.dense, std::vector<std::string>{"f3"});
  EXPECT_EQ(survey->absent, (std::vector<std::string>{"f1", "f2"}));
}

TEST(SparseSourceTest, MalformedLinesNameFileLineAndToken) {
  ScratchDir dir;
  const std::string good = "1 300 0:1 2:1\n";
  auto error = [&](const std::string& bad_line) { return ReadRows(IpinyouOptions(dir, good + bad_line)).status(); };
  ExpectMessage(error("0 12 5\n"), {"train.yzx.txt:2: token '5': not index:value", "prepare.leading_columns"});
  ExpectMessage(error("0 12 x:1\n"), {"train.yzx.txt:2: token 'x:1': 'x' is not a feature index"});
  ExpectMessage(error("0 12 3:one\n"), {":2: token '3:one': 'one' is not a finite number"});
  ExpectMessage(error("0 12 3:1:1\n"), {":2: token '3:1:1': not index:value"});
  ExpectMessage(error("0 12 99:1"), {":2: token '99:1': index 99 is in no field of prepare.feature_index",
                                     "featindex.txt", "prepare.bad_rows: skip", "probably cut"});
  ExpectMessage(error("0 4:1\n"), {":2: token '4:1' stands where 'payprice' belongs"});
  ExpectMessage(error("0\n"), {":2: a line starts with 2 plain values (click payprice", "this one has 1"});
  ExpectMessage(error("0 12 2:0.5\n"), {":2: token '2:0.5': field '1' is categorical", "data.dense"});
  ExpectMessage(error("0 12 2:1 3:1\n"),
                {":2: token '3:1': field '1' has another feature on this line ('2:1')", "data.multi_valued"});
  // After an error, reading goes on with the next line (prepare's bad_rows: skip).
  StatusOr<std::unique_ptr<RowSource>> source = OpenRowSource(IpinyouOptions(dir, "0 1 x:1\n1 2 0:1\n"));
  ASSERT_TRUE(source.ok());
  RawRow row;
  EXPECT_FALSE((*source)->Next(row).ok());
  ASSERT_TRUE((*source)->Next(row).value());
  EXPECT_EQ(row.line, 2);
}

TEST(SparseSourceTest, BadSettingsAndIndexFiles) {
  ScratchDir dir;
  SourceOptions options = IpinyouOptions(dir, "1 300 0:1\n");
  options.sparse.feature_index = WriteTextFile(dir.File("dup.txt"), "a:1\t0\nb:2\t0\n");
  ExpectMessage(ReadRows(options).status(), {"dup.txt:2: index 0 is given a second time (first on line 1)"});
  options.sparse.feature_index = WriteTextFile(dir.File("bad.txt"), "a:1\t0\na:2\tseven\n");
  ExpectMessage(ReadRows(options).status(), {"bad.txt:2: 'seven' is not a feature index"});
  options.sparse.feature_index = dir.File("missing.txt");
  EXPECT_EQ(ReadRows(options).status().code(), StatusCode::kNotFound);

  options.sparse.feature_index.clear();
  options.sparse.field_ranges = {{"a", 0, 10}, {"b", 5, 20}};
  ExpectMessage(ReadRows(options).status(), {"prepare.field_ranges.b: [5, 20] overlaps 'a' [0, 10]"});
  options.sparse.field_ranges = {{"a", 0, 10}, {"b", 11, 20}};
  options.sparse.categorical.clear();
  options.sparse.multi_valued.clear();
  options.sparse.dense = {"a"};
  ExpectMessage(ReadRows(options).status(), {"data.dense: field 'a' has 11 indices in prepare.field_ranges"});
  options.sparse.dense.clear();
  options.sparse.field_ranges = {{"click", 0, 10}};
  ExpectMessage(ReadRows(options).status(), {"field 'click'", "name of a leading column"});

  SourceOptions ffm;
  ffm.format = "libffm";
  ffm.path = WriteTextFile(dir.File("x.ffm"), "1 0:1:1 2:3:1\n");
  ffm.columns = {"a", "b"};
  ExpectMessage(ReadRows(ffm).status(), {"x.ffm:1: token '2:3:1': field 2 has no name", "fields 0 to 1"});
  ffm.path = WriteTextFile(dir.File("y.ffm"), "1 0:1\n");
  ExpectMessage(ReadRows(ffm).status(), {"y.ffm:1: token '0:1': not field:index:value"});
}

// The whole pipeline, from a config's settings: the label's -1, the index file's value names in
// the vocabularies, a bag, the split, and the roles chosen from the data when none are named.
TEST(SparseSourceTest, PrepareWithAnIndexFile) {
  ScratchDir dir;
  std::string lines;
  for (int i = 0; i < 40; ++i) {
    lines += std::string(i % 4 == 0 ? "1" : "-1") + " " + std::to_string(100 + i) + " 0:1 " +
             std::to_string(1 + i % 3) + ":1 " + std::to_string(4 + i % 2) + ":1 " + (i % 5 == 0 ? "6:1 7:1" : "8:1") +
             "\n";
  }
  Request request;
  request.prepare.format = "libsvm";
  request.prepare.source = WriteTextFile(dir.File("train.yzx.txt"), lines);
  request.prepare.feature_index = WriteTextFile(dir.File("featindex.txt"), kFeatureIndex);
  request.prepare.leading_columns = {"click", "payprice"};
  request.prepare.drop_duplicates = false;
  request.data.train = dir.File("out/train.h5");
  request.data.test = dir.File("out/test.h5");
  StatusOr<PrepareReport> report = PrepareDataSet(request.prepare, request.data);  // roles from the data
  ASSERT_TRUE(report.ok()) << report.status().message();
  const data::FeatureSchema& schema = report->schema;
  EXPECT_EQ(schema.label, "click");
  EXPECT_EQ(schema.categorical, (std::vector<std::string>{"truncate", "1", "8"}));
  EXPECT_EQ(schema.multi_valued, std::vector<std::string>{"26"});
  EXPECT_TRUE(schema.dense.empty());
  EXPECT_EQ(report->train_rows + report->test_rows, 40);
  EXPECT_NEAR(report->train_positive_rate, 0.25, 0.15);
  const std::set<std::string> weekdays(schema.vocabularies[1].begin(), schema.vocabularies[1].end());
  EXPECT_EQ(weekdays, (std::set<std::string>{"other", "0", "1"}));
  const std::set<std::string> tags(schema.bag_encodings[0].vocabulary.begin(),
                                   schema.bag_encodings[0].vocabulary.end());
  EXPECT_EQ(tags, (std::set<std::string>{"10006", "10063", "null"}));

  const PreparedFile train = ReadPrepared(request.data.train);
  ASSERT_EQ(train.rows, report->train_rows);
  for (int64_t r = 0; r < train.rows; ++r) {
    const double label = train.At("click", r);
    EXPECT_TRUE(label == 0 || label == 1) << label;
    EXPECT_GE(train.Bag("26", r).size(), 1u);
  }

  // Roles named: payprice read as a dense column, the label a regression target (-1 stays).
  request.data.label = "click";
  request.data.dense = {"payprice"};
  request.data.categorical = {"1"};
  request.prepare.label_type = "regression";
  report = PrepareDataSet(request.prepare, request.data);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->schema.dense, std::vector<std::string>{"payprice"});
  EXPECT_NEAR(report->schema.dense_stats[0].mean, 119.5, 5.0);
  EXPECT_LT(report->train_positive_rate, 0);  // the mean of -1 and 1 labels, three -1 to one 1
}

TEST(SparseSourceTest, PrepareLibffmWithATestFileAndBadRows) {
  ScratchDir dir;
  std::string lines;
  for (int i = 0; i < 30; ++i) {
    lines += std::to_string(i % 3 == 0) + " 0:" + std::to_string(i % 4) + ":1 1:" + std::to_string(10 + i % 2) +
             ":1 2:99:" + std::to_string(i * 0.5) + "\n";
  }
  lines += "1 0:1:1 1:oops:1\n";
  Request request;
  request.prepare.format = "libffm";
  request.prepare.source = WriteTextFile(dir.File("train.ffm"), lines);
  request.prepare.test_source = WriteTextFile(dir.File("test.ffm"), "0 0:1:1\n1 0:2:1 1:10:1\n");  // fewer fields
  request.data.train = dir.File("out/train.h5");
  request.data.test = dir.File("out/test.h5");
  StatusOr<PrepareReport> report = PrepareDataSet(request.prepare, request.data);
  ExpectMessage(report.status(), {"train.ffm:31: token '1:oops:1': 'oops' is not a feature index"});

  request.prepare.bad_rows = "skip";
  report = PrepareDataSet(request.prepare, request.data);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->bad_rows_skipped, 1);
  EXPECT_EQ(report->train_rows, 30);
  EXPECT_EQ(report->test_rows, 2);
  EXPECT_EQ(report->schema.categorical, (std::vector<std::string>{"f0", "f1"}));
  EXPECT_EQ(report->schema.dense, std::vector<std::string>{"f2"});
  const PreparedFile test = ReadPrepared(request.data.test);
  ASSERT_EQ(test.rows, 2);
  // f2 is absent from the test rows: filled with the training mean, 0 after standardizing.
  EXPECT_NEAR(test.At("f2", 0), 0.0, 1e-6);
  EXPECT_EQ(test.At("f1", 0), 0);  // absent: "" was never a training value
  EXPECT_GT(test.At("f1", 1), 0);

  // Settings that do not go with the format are refused before any reading.
  request.prepare.delimiter = "tab";
  ExpectMessage(PrepareDataSet(request.prepare, request.data).status(), {"prepare.delimiter", "libffm"});
  request.prepare.delimiter.clear();
  request.prepare.field_ranges = {{"a", {0, 3}}};
  ExpectMessage(PrepareDataSet(request.prepare, request.data).status(), {"prepare.field_ranges are for libsvm"});
  request.prepare.format = "libsvm";
  request.prepare.field_ranges.clear();
  ExpectMessage(PrepareDataSet(request.prepare, request.data).status(),
                {"prepare.feature_index", "prepare.field_ranges", "one of them"});
  request.prepare.format = "csv";
  request.prepare.leading_columns = {"y"};
  ExpectMessage(PrepareDataSet(request.prepare, request.data).status(), {"libsvm and libffm, not csv"});
}

}  // namespace
}  // namespace ectrain::prep
