#include "data/column_file.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "data/hdf5_util.h"
#include "test_files.h"

namespace ectrain::data {
namespace {

using testing::ScratchDir;
using testing::WriteTextFile;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Writes a 1-D dataset the way h5py would; `chunked` adds a gzip-compressed chunk layout.
template <typename T>
void WriteColumn(hid_t file, const std::string& name, hid_t type, const std::vector<T>& values,
                 bool chunked = false) {
  const hsize_t n = values.size();
  H5Handle space(H5Screate_simple(1, &n, nullptr));
  H5Handle props(H5Pcreate(H5P_DATASET_CREATE));
  if (chunked) {
    const hsize_t chunk = std::min<hsize_t>(n, 8);
    H5Pset_chunk(props.get(), 1, &chunk);
    H5Pset_deflate(props.get(), 4);
  }
  H5Handle dataset(
      H5Dcreate2(file, name.c_str(), type, space.get(), H5P_DEFAULT, props.get(), H5P_DEFAULT));
  ASSERT_TRUE(dataset.valid()) << name;
  ASSERT_GE(H5Dwrite(dataset.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
}

FeatureSchema ShopSchema() {
  FeatureSchema schema;
  schema.label = "Revenue";
  schema.dense = {"PageValues"};
  schema.categorical = {"Month"};
  schema.vocab_sizes = {11};
  return schema;
}

// 20 rows: PageValues = 10 * row (double), Month = row % 11 (int64), Revenue = row % 2 (float).
std::string WriteShopFile(const ScratchDir& dir, const std::string& name = "shop.h5") {
  const std::string path = dir.File(name);
  H5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  std::vector<double> page_values;
  std::vector<int64_t> months;
  std::vector<float> revenue;
  for (int row = 0; row < 20; ++row) {
    page_values.push_back(10.0 * row);
    months.push_back(row % 11);
    revenue.push_back(static_cast<float>(row % 2));
  }
  WriteColumn(file.get(), "PageValues", H5T_NATIVE_DOUBLE, page_values);
  WriteColumn(file.get(), "Month", H5T_NATIVE_INT64, months, /*chunked=*/true);
  WriteColumn(file.get(), "Revenue", H5T_NATIVE_FLOAT, revenue);
  return path;
}

// Rewrites one value of a dataset in an existing file.
void Poke(const std::string& path, const std::string& column, hsize_t row, double value) {
  H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
  H5Handle dataset(H5Dopen2(file.get(), column.c_str(), H5P_DEFAULT));
  H5Handle space(H5Dget_space(dataset.get()));
  const hsize_t one = 1;
  H5Sselect_elements(space.get(), H5S_SELECT_SET, 1, &row);
  H5Handle memory(H5Screate_simple(1, &one, nullptr));
  ASSERT_GE(
      H5Dwrite(dataset.get(), H5T_NATIVE_DOUBLE, memory.get(), space.get(), H5P_DEFAULT, &value),
      0);
}

std::string ReadError(const std::string& path, const FeatureSchema& schema) {
  StatusOr<ColumnFile> file = ColumnFile::Open(path);
  if (!file.ok()) return "open failed: " + file.status().message();
  StatusOr<Table> table = file->ReadAll(schema, /*with_labels=*/true);
  if (table.ok()) return "no error";
  EXPECT_EQ(table.status().code(), StatusCode::kDataError) << table.status().message();
  return table.status().message();
}

TEST(ColumnFileTest, ReadsRowsInRequestedOrderWithRepeats) {
  ScratchDir dir;
  const std::string path = WriteShopFile(dir);
  StatusOr<ColumnFile> file = ColumnFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_EQ(file->ColumnNames(), (std::vector<std::string>{"Month", "PageValues", "Revenue"}));
  StatusOr<int64_t> length = file->CheckColumns({"Revenue", "Month"});
  ASSERT_TRUE(length.ok()) << length.status().message();
  EXPECT_EQ(*length, 20);

  // Dense enough for one contiguous read, and sparse enough for a point selection.
  for (const std::vector<int64_t>& rows :
       {std::vector<int64_t>{3, 0, 3, 1}, std::vector<int64_t>{19, 2, 19, 15}}) {
    StatusOr<Table> table = file->Read(ShopSchema(), rows, /*with_labels=*/true);
    ASSERT_TRUE(table.ok()) << table.status().message();
    EXPECT_EQ(table->num_rows, 4);
    EXPECT_EQ(table->num_dense, 1);
    EXPECT_EQ(table->num_categorical, 1);
    ASSERT_EQ(table->labels.size(), 4u);
    for (size_t i = 0; i < rows.size(); ++i) {
      EXPECT_EQ(table->dense[i], 10.0f * rows[i]);
      EXPECT_EQ(table->categorical[i], rows[i] % 11);
      EXPECT_EQ(table->labels[i], rows[i] % 2);
    }
  }
  StatusOr<Table> unlabelled = file->ReadAll(ShopSchema(), /*with_labels=*/false);
  ASSERT_TRUE(unlabelled.ok()) << unlabelled.status().message();
  EXPECT_EQ(unlabelled->num_rows, 20);
  EXPECT_TRUE(unlabelled->labels.empty());
  EXPECT_EQ(unlabelled->dense[19], 190.0f);

  StatusOr<std::optional<FeatureSchema>> stored = file->StoredSchema();
  ASSERT_TRUE(stored.ok()) << stored.status().message();
  EXPECT_FALSE(stored->has_value());
}

TEST(ColumnFileTest, StoredSchemaAndNonColumnsAreSkipped) {
  ScratchDir dir;
  const std::string path = WriteShopFile(dir);
  {
    H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    FeatureSchema schema = ShopSchema();
    schema.dense_stats = {{1.5, 1.5, 2.0}};
    schema.vocabularies = {{"Jan", "Feb"}};
    ASSERT_TRUE(WriteStringDataset(file.get(), kSchemaDataset, schema.ToJson()).ok());
    const hsize_t dims[2] = {2, 3};
    H5Handle space(H5Screate_simple(2, dims, nullptr));
    H5Handle matrix(H5Dcreate2(file.get(), "matrix", H5T_NATIVE_FLOAT, space.get(), H5P_DEFAULT,
                               H5P_DEFAULT, H5P_DEFAULT));
    ASSERT_TRUE(matrix.valid());
  }
  StatusOr<ColumnFile> opened = ColumnFile::Open(path);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  ColumnFile file = std::move(opened.value());  // moving keeps the file open
  EXPECT_EQ(file.ColumnNames(), (std::vector<std::string>{"Month", "PageValues", "Revenue"}));
  StatusOr<std::optional<FeatureSchema>> stored = file.StoredSchema();
  ASSERT_TRUE(stored.ok()) << stored.status().message();
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((*stored)->vocabularies[0], (std::vector<std::string>{"Jan", "Feb"}));
  EXPECT_EQ((*stored)->dense_stats[0].stddev, 2.0);
  StatusOr<int64_t> length = file.CheckColumns({"matrix"});
  ASSERT_FALSE(length.ok());
  EXPECT_NE(length.status().message().find("'matrix' is not a 1-D dataset"), std::string::npos)
      << length.status().message();
}

TEST(ColumnFileTest, MissingColumnListsColumns) {
  ScratchDir dir;
  StatusOr<ColumnFile> file = ColumnFile::Open(WriteShopFile(dir, "x.h5"));
  ASSERT_TRUE(file.ok()) << file.status().message();
  FeatureSchema schema = ShopSchema();
  schema.label = "clicked";
  StatusOr<Table> table = file->ReadAll(schema, /*with_labels=*/true);
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(table.status().message(), "data file '" + dir.File("x.h5") +
                                          "' has no column 'clicked'; columns are: Month, "
                                          "PageValues, Revenue");
  // Without labels the label column is not needed.
  EXPECT_TRUE(file->ReadAll(schema, /*with_labels=*/false).ok());
}

TEST(ColumnFileTest, ColumnsOfDifferentLengthsAreAnError) {
  ScratchDir dir;
  const std::string path = WriteShopFile(dir);
  {
    H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    WriteColumn(file.get(), "short", H5T_NATIVE_FLOAT, std::vector<float>{1, 2, 3});
  }
  StatusOr<ColumnFile> file = ColumnFile::Open(path);
  ASSERT_TRUE(file.ok());
  StatusOr<int64_t> length = file->CheckColumns({"Revenue", "short"});
  ASSERT_FALSE(length.ok());
  EXPECT_EQ(length.status().code(), StatusCode::kDataError);
  EXPECT_NE(length.status().message().find("column 'short' has 3 rows but column 'Revenue' has 20"),
            std::string::npos)
      << length.status().message();
}

TEST(ColumnFileTest, RowOutsideTheFileIsAnInternalError) {
  ScratchDir dir;
  StatusOr<ColumnFile> file = ColumnFile::Open(WriteShopFile(dir));
  ASSERT_TRUE(file.ok());
  for (const int64_t row : {int64_t{20}, int64_t{-1}}) {
    const std::vector<int64_t> rows = {0, row};
    StatusOr<Table> table = file->Read(ShopSchema(), rows, true);
    ASSERT_FALSE(table.ok());
    EXPECT_EQ(table.status().code(), StatusCode::kInternal);
  }
}

TEST(ColumnFileTest, ValidationErrorsNameFileColumnAndRow) {
  ScratchDir dir;
  const std::string path = WriteShopFile(dir);
  Poke(path, "Revenue", 17, kNaN);
  EXPECT_EQ(
      ReadError(path, ShopSchema()),
      path + ": column 'Revenue' row 17: label is NaN; labels must be finite values in [0, 1]");
  Poke(path, "Revenue", 17, 2.0);
  EXPECT_NE(ReadError(path, ShopSchema()).find("column 'Revenue' row 17: label is 2;"),
            std::string::npos);
  Poke(path, "Revenue", 17, 1.0);

  Poke(path, "Month", 5, 40);
  EXPECT_NE(ReadError(path, ShopSchema())
                .find(path + ": column 'Month' row 5: id 40 out of range [0, 11) (vocab size)"),
            std::string::npos);
  Poke(path, "Month", 5, -1);
  EXPECT_NE(ReadError(path, ShopSchema()).find("row 5: id -1 out of range"), std::string::npos);
  Poke(path, "Month", 5, 5);

  Poke(path, "PageValues", 3, std::numeric_limits<double>::infinity());
  EXPECT_NE(ReadError(path, ShopSchema()).find("column 'PageValues' row 3: value is inf"),
            std::string::npos);
  Poke(path, "PageValues", 3, 30);
  EXPECT_EQ(ReadError(path, ShopSchema()), "no error");
}

TEST(ColumnFileTest, FractionalCategoricalIdIsAnError) {
  ScratchDir dir;
  const std::string path = dir.File("f.h5");
  {
    H5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    WriteColumn(file.get(), "PageValues", H5T_NATIVE_FLOAT, std::vector<float>{1, 2});
    WriteColumn(file.get(), "Month", H5T_NATIVE_DOUBLE, std::vector<double>{1, 2.5});
    WriteColumn(file.get(), "Revenue", H5T_NATIVE_INT8, std::vector<int8_t>{0, 1});
  }
  EXPECT_NE(ReadError(path, ShopSchema()).find("column 'Month' row 1: id 2.5"), std::string::npos);
}

TEST(ColumnFileTest, MissingFileIsNotFound) {
  ScratchDir dir;
  StatusOr<ColumnFile> file = ColumnFile::Open(dir.File("absent.h5"));
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(file.status().message(), "data file '" + dir.File("absent.h5") + "' not found");
}

TEST(ColumnFileTest, NonHdf5FileIsADataError) {
  ScratchDir dir;
  const std::string path = WriteTextFile(dir.File("data.h5"), "a,b\n1,2\n");
  StatusOr<ColumnFile> file = ColumnFile::Open(path);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), StatusCode::kDataError);
  EXPECT_NE(file.status().message().find("data file '" + path + "' is not a readable HDF5 file"),
            std::string::npos)
      << file.status().message();
}

TEST(ColumnFileTest, TruncatedFileIsADataError) {
  ScratchDir dir;
  const std::string path = WriteShopFile(dir);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  StatusOr<ColumnFile> file = ColumnFile::Open(path);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), StatusCode::kDataError);
  EXPECT_NE(file.status().message().find("data file '" + path + "' is not a readable HDF5 file"),
            std::string::npos)
      << file.status().message();
}

TEST(ColumnFileTest, CorruptChunkIsADataErrorNamingTheColumn) {
  ScratchDir dir;
  const std::string path = WriteShopFile(dir);
  haddr_t address = 0;
  hsize_t num_bytes = 0;
  {
    H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    H5Handle dataset(H5Dopen2(file.get(), "Month", H5P_DEFAULT));
    const hsize_t origin = 0;
    ASSERT_GE(H5Dget_chunk_info_by_coord(dataset.get(), &origin, nullptr, &address, &num_bytes), 0);
    ASSERT_GT(num_bytes, 0u);
  }
  {
    std::fstream out(path, std::ios::in | std::ios::out | std::ios::binary);
    out.seekp(static_cast<std::streamoff>(address));
    const std::string garbage(num_bytes, '\xff');
    out.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  EXPECT_EQ(ReadError(path, ShopSchema()),
            "data file '" + path +
                "': could not read column 'Month'; the file may be corrupt, "
                "re-create it");
}

}  // namespace
}  // namespace ectrain::data
