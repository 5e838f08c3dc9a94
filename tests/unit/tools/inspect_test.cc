// `inspect`: exact statistics on files from h5py (no schema), from the writer with a prepared
// schema and from `generate`; shards summarised together; damaged files are named errors.
#include "tools/inspect.h"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "data/column_writer.h"
#include "data/hdf5_util.h"
#include "tools/generate.h"
#include "unit/data/test_files.h"

namespace ectrain::tools {
namespace {

using data::testing::ScratchDir;

template <typename T>
void WriteColumn(hid_t file, const std::string& name, hid_t type, const std::vector<T>& values) {
  const hsize_t n = values.size();
  data::H5Handle space(H5Screate_simple(1, &n, nullptr));
  data::H5Handle dataset(H5Dcreate2(file, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  ASSERT_TRUE(dataset.valid()) << name;
  ASSERT_GE(H5Dwrite(dataset.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
}

// As h5py writes it: contiguous float64/int64 datasets, no schema; 1000 rows.
// price = row (NaN every 100th row), shop = row % 37 (int64), bought = 1 for rows % 4 == 0,
// plus a 2-D dataset that is not a column.
std::string WriteH5pyFile(const std::string& path) {
  data::H5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  std::vector<double> price;
  std::vector<int64_t> shop;
  std::vector<float> bought;
  for (int r = 0; r < 1000; ++r) {
    price.push_back(r % 100 == 0 ? std::numeric_limits<double>::quiet_NaN() : r);
    shop.push_back(r % 37);
    bought.push_back(r % 4 == 0 ? 1.0f : 0.0f);
  }
  WriteColumn(file.get(), "price", H5T_IEEE_F64LE, price);
  WriteColumn(file.get(), "shop", H5T_STD_I64LE, shop);
  WriteColumn(file.get(), "bought", H5T_IEEE_F32LE, bought);
  const hsize_t dims[2] = {3, 2};
  data::H5Handle space(H5Screate_simple(2, dims, nullptr));
  data::H5Handle matrix(
      H5Dcreate2(file.get(), "matrix", H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  return path;
}

const ColumnSummary& Column(const InspectReport& report, const std::string& name) {
  for (const ColumnSummary& c : report.columns) {
    if (c.name == name) return c;
  }
  ADD_FAILURE() << "no column " << name;
  static ColumnSummary none;
  return none;
}

bool HasProblem(const InspectReport& report, const std::string& text) {
  for (const auto& p : report.problems) {
    if (p.find(text) != std::string::npos) return true;
  }
  return false;
}

StatusOr<InspectReport> InspectPaths(std::vector<std::string> paths, const std::string& label = "",
                                     int64_t chunk_rows = 64) {
  InspectOptions options;
  options.paths = std::move(paths);
  options.label = label;
  options.chunk_rows = chunk_rows;
  return Inspect(options);
}

TEST(Inspect, H5pyFileWithoutSchemaExactStatistics) {
  ScratchDir dir;
  const std::string path = WriteH5pyFile(dir.File("shop.h5"));
  auto report = InspectPaths({path}, "bought", /*chunk_rows=*/64);  // chunks that do not divide 1000
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->rows, 1000);
  EXPECT_FALSE(report->schema.has_value());
  EXPECT_FALSE(report->provenance.has_value());
  ASSERT_EQ(report->columns.size(), 3u);

  const ColumnSummary& price = Column(*report, "price");
  EXPECT_EQ(price.type, "float64");
  EXPECT_EQ(price.storage, "contiguous");
  EXPECT_EQ(price.missing, 10);
  EXPECT_FALSE(price.is_id);
  EXPECT_EQ(price.min, 1);
  EXPECT_EQ(price.max, 999);
  // Rows 0..999 without multiples of 100: mean 500 (the removed ones average 450 -> shift).
  double sum = 0, sum_sq = 0;
  int n = 0;
  for (int r = 0; r < 1000; ++r) {
    if (r % 100) sum += r, sum_sq += static_cast<double>(r) * r, ++n;
  }
  const double mean = sum / n;
  EXPECT_NEAR(price.mean, mean, 1e-9);
  EXPECT_NEAR(price.stddev, std::sqrt(sum_sq / n - mean * mean), 1e-6);

  const ColumnSummary& shop = Column(*report, "shop");
  EXPECT_EQ(shop.type, "int64");
  EXPECT_TRUE(shop.is_id);
  EXPECT_EQ(shop.distinct_estimate, 37);
  EXPECT_FALSE(shop.vocab_size.has_value());
  EXPECT_EQ(shop.outside_vocab, 0);
  EXPECT_EQ(shop.max, 36);

  ASSERT_TRUE(report->label.has_value());
  EXPECT_EQ(report->label->positives, 250);
  EXPECT_EQ(report->label->negatives, 750);
  EXPECT_EQ(report->label->other, 0);
  EXPECT_EQ(report->other_objects.size(), 1u);
  EXPECT_NE(report->other_objects[0].find("matrix: float32 (3, 2)"), std::string::npos) << report->other_objects[0];

  const std::string text = report->ToText();
  EXPECT_NE(text.find("schema: none stored"), std::string::npos) << text;
  EXPECT_NE(text.find("label 'bought': 250 positive, 750 negative"), std::string::npos) << text;
  EXPECT_NE(text.find("data.vocab_sizes.shop >= 37"), std::string::npos) << text;
  const auto json = nlohmann::json::parse(report->ToJson());
  EXPECT_EQ(json["rows"], 1000);
  EXPECT_EQ(json["label"]["positives"], 250);
  EXPECT_TRUE(json["schema"].is_null());
}

TEST(Inspect, UnknownLabelIsAUsageErrorListingTheColumns) {
  ScratchDir dir;
  auto report = InspectPaths({WriteH5pyFile(dir.File("shop.h5"))}, "clicked");
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(report.status().message().find("columns are: bought, price, shop"), std::string::npos)
      << report.status().message();
}

TEST(Inspect, PreparedFileShowsSchemaPreprocessingAndOutOfVocabIds) {
  ScratchDir dir;
  const std::string path = dir.File("prepared.h5");
  auto writer = data::ColumnWriter::Create(path,
                                           {{"Revenue", data::ColumnType::kFloat32},
                                            {"PageValues", data::ColumnType::kFloat32},
                                            {"Month", data::ColumnType::kInt32}},
                                           /*chunk_rows=*/16);
  ASSERT_TRUE(writer.ok()) << writer.status().message();
  std::vector<float> revenue, pages;
  std::vector<int32_t> months;
  for (int r = 0; r < 100; ++r) {
    revenue.push_back(r < 30 ? 1.0f : 0.0f);
    pages.push_back(static_cast<float>(r) / 10.0f - 5.0f);
    months.push_back(r == 99 ? 12 : r % 11);  // one id beyond the vocabulary of 11
  }
  ASSERT_TRUE(writer->Append(0, std::span<const float>(revenue)).ok());
  ASSERT_TRUE(writer->Append(1, std::span<const float>(pages)).ok());
  ASSERT_TRUE(writer->Append(2, std::span<const int32_t>(months)).ok());
  data::FeatureSchema schema;
  schema.label = "Revenue";
  schema.dense = {"PageValues"};
  schema.categorical = {"Month"};
  schema.vocab_sizes = {11};
  schema.dense_stats = {{5.9, 5.9, 18.5}};
  schema.vocabularies = {{"Feb", "Mar", "May", "June", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}};
  ASSERT_TRUE(writer->WriteSchema(schema).ok());
  ASSERT_TRUE(writer->Commit().ok());

  auto report = InspectPaths({path});
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_TRUE(report->schema.has_value());
  EXPECT_TRUE(report->schema->has_preprocessing());
  ASSERT_TRUE(report->label.has_value());  // from the stored schema
  EXPECT_EQ(report->label->column, "Revenue");
  EXPECT_EQ(report->label->positives, 30);
  const ColumnSummary& month = Column(*report, "Month");
  EXPECT_EQ(month.vocab_size, 11);
  EXPECT_EQ(month.outside_vocab, 1);
  EXPECT_EQ(month.storage, "chunked 16, shuffle, deflate 1");
  EXPECT_TRUE(HasProblem(*report, "column 'Month': 1 ids outside [0, 11)"));
  const std::string text = report->ToText();
  EXPECT_NE(text.find("PageValues mean 5.9 sd 18.5"), std::string::npos) << text;
  EXPECT_NE(text.find("categorical (vocab size) [Month (11)]"), std::string::npos) << text;
}

TEST(Inspect, GeneratedShardsSummarisedTogether) {
  ScratchDir dir;
  GenerateOptions g;
  g.rows = 5'000;
  g.users = 300;
  g.items = 200;
  g.categories = 10;
  g.num_dense = 3;
  g.num_shards = 3;
  g.chunk_rows = 700;
  g.out = dir.File("shards");
  ASSERT_TRUE(GenerateDataSet(g).ok());
  g.num_shards = 1;
  g.out = dir.File("one.h5");
  ASSERT_TRUE(GenerateDataSet(g).ok());

  auto shards = InspectPaths({dir.File("shards")}, "", 1000);
  auto one = InspectPaths({dir.File("one.h5")}, "", 1 << 20);
  ASSERT_TRUE(shards.ok()) << shards.status().message();
  ASSERT_TRUE(one.ok()) << one.status().message();
  EXPECT_EQ(shards->files.size(), 3u);
  EXPECT_EQ(shards->rows, 5'000);
  EXPECT_TRUE(shards->problems.empty()) << shards->problems[0];
  ASSERT_TRUE(shards->provenance.has_value());
  EXPECT_NE(shards->provenance->find("training shard 0 of 3"), std::string::npos);
  ASSERT_TRUE(shards->label.has_value() && one->label.has_value());
  EXPECT_EQ(shards->label->positives, one->label->positives);
  EXPECT_GT(one->label->positives, 0);
  ASSERT_EQ(shards->columns.size(), one->columns.size());
  for (size_t c = 0; c < one->columns.size(); ++c) {
    const ColumnSummary& a = shards->columns[c];
    const ColumnSummary& b = one->columns[c];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.rows, b.rows) << a.name;
    EXPECT_EQ(a.min, b.min) << a.name;
    EXPECT_EQ(a.max, b.max) << a.name;
    EXPECT_NEAR(a.mean, b.mean, 1e-9 * (1 + std::abs(b.mean))) << a.name;
    EXPECT_NEAR(a.stddev, b.stddev, 1e-9 * (1 + b.stddev)) << a.name;
    EXPECT_EQ(a.distinct_estimate, b.distinct_estimate) << a.name;
  }
  const ColumnSummary& recent = Column(*one, "recent_items");
  EXPECT_TRUE(recent.multi_valued);
  EXPECT_EQ(recent.type, "int32 values, int64 offsets");
  EXPECT_EQ(recent.values_per_row_max, 5);
  EXPECT_NEAR(recent.values_per_row_mean, 2.5, 0.1);  // uniform 0..5
  EXPECT_GT(recent.empty_rows, 0);
  EXPECT_EQ(recent.vocab_size, 200);
  EXPECT_EQ(recent.outside_vocab, 0);
  const ColumnSummary& item = Column(*one, "item");
  EXPECT_EQ(item.vocab_size, 200);
  EXPECT_LE(item.distinct_estimate, 200);
  EXPECT_GT(item.distinct_estimate, 150);
}

TEST(Inspect, MalformedCsrOffsetsAndUnequalLengthsAreReported) {
  ScratchDir dir;
  const std::string path = dir.File("bad.h5");
  {
    data::H5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    WriteColumn(file.get(), "a", H5T_IEEE_F32LE, std::vector<float>{1, 2, 3});
    WriteColumn(file.get(), "b", H5T_IEEE_F32LE, std::vector<float>{1, 2});
    data::H5Handle group(H5Gcreate2(file.get(), "tags", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    WriteColumn(group.get(), "values", H5T_STD_I32LE, std::vector<int32_t>{4, 5, 6});
    WriteColumn(group.get(), "offsets", H5T_STD_I64LE, std::vector<int64_t>{0, 2, 1, 3});
  }
  auto report = InspectPaths({path});
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_TRUE(HasProblem(*report, "column 'b' has 2 rows but 'a' has 3")) << report->ToText();
  EXPECT_TRUE(HasProblem(*report, "'tags': offsets decrease at row 1")) << report->ToText();
}

TEST(Inspect, MissingNotHdf5AndTruncatedFilesAreErrorsNamingTheFile) {
  ScratchDir dir;
  auto missing = InspectPaths({dir.File("nope.h5")});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope.h5"), std::string::npos);

  const std::string text = data::testing::WriteTextFile(dir.File("text.h5"), "a,b\n1,2\n");
  auto not_hdf5 = InspectPaths({text});
  ASSERT_FALSE(not_hdf5.ok());
  EXPECT_EQ(not_hdf5.status().ExitCode(), 1);
  EXPECT_NE(not_hdf5.status().message().find("text.h5' is not an HDF5 file"), std::string::npos);

  GenerateOptions g;
  g.rows = 20'000;
  g.users = 100;
  g.items = 100;
  g.categories = 5;
  g.out = dir.File("whole.h5");
  ASSERT_TRUE(GenerateDataSet(g).ok());
  const auto size = std::filesystem::file_size(g.out);
  for (double keep : {0.5, 0.95}) {
    const std::string cut = dir.File("cut.h5");
    std::filesystem::copy_file(g.out, cut, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::resize_file(cut, static_cast<uintmax_t>(size * keep));
    auto truncated = InspectPaths({cut});
    ASSERT_FALSE(truncated.ok()) << keep;
    EXPECT_EQ(truncated.status().ExitCode(), 1);
    EXPECT_NE(truncated.status().message().find("cut.h5"), std::string::npos) << truncated.status().message();
    EXPECT_NE(truncated.status().message().find("truncated or corrupt"), std::string::npos)
        << truncated.status().message();
  }

  std::filesystem::create_directory(dir.File("empty"));
  auto empty = InspectPaths({dir.File("empty")});
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("holds no .h5"), std::string::npos);
}

}  // namespace
}  // namespace ectrain::tools
