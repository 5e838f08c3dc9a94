#include "data/column_file.h"

#include <gtest/gtest.h>
#include <malloc.h>

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
void WriteColumn(hid_t file, const std::string& name, hid_t type, const std::vector<T>& values, bool chunked = false) {
  const hsize_t n = values.size();
  H5Handle space(H5Screate_simple(1, &n, nullptr));
  H5Handle props(H5Pcreate(H5P_DATASET_CREATE));
  if (chunked) {
    const hsize_t chunk = std::min<hsize_t>(n, 8);
    H5Pset_chunk(props.get(), 1, &chunk);
    H5Pset_deflate(props.get(), 4);
  }
  H5Handle dataset(H5Dcreate2(file, name.c_str(), type, space.get(), H5P_DEFAULT, props.get(), H5P_DEFAULT));
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
  ASSERT_GE(H5Dwrite(dataset.get(), H5T_NATIVE_DOUBLE, memory.get(), space.get(), H5P_DEFAULT, &value), 0);
}

std::string ReadError(const std::string& path, const FeatureSchema& schema) {
  StatusOr<ColumnFile> file = ColumnFile::Open(path);
  if (!file.ok()) return "open failed: " + file.status().message();
  StatusOr<Table> table = file->ReadAll(schema, /*with_labels=*/true);
  if (table.ok()) return "no error";
  EXPECT_EQ(table.status().code(), StatusCode::kDataError) << table.status().message();
  return table.status().message();
}

TEST(ColumnFileTest, ReadsRangesColumnMajorAndWholeFilesRowMajor) {
  ScratchDir dir;
  const std::string path = WriteShopFile(dir);
  StatusOr<ColumnFile> file = ColumnFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_EQ(file->ColumnNames(), (std::vector<std::string>{"Month", "PageValues", "Revenue"}));
  StatusOr<int64_t> length = file->CheckColumns({"Revenue", "Month"});
  ASSERT_TRUE(length.ok()) << length.status().message();
  EXPECT_EQ(*length, 20);

  // A range, into column-major buffers (as the streaming reader reads a block).
  StatusOr<int64_t> rows = file->Bind(ShopSchema(), /*with_labels=*/true);
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  EXPECT_EQ(*rows, 20);
  EXPECT_EQ(file->BoundChunkRows(), 8);  // Month is chunked by 8 rows
  std::vector<float> page_values(5), revenue(5);
  std::vector<int32_t> months(5);
  std::vector<float*> dense = {page_values.data()};
  std::vector<int32_t*> categorical = {months.data()};
  ReadScratch scratch;
  ASSERT_TRUE(file->ReadRows(13, 18, RowsOut{dense, 1, categorical, 1, revenue.data(), {}, {}}, scratch).ok());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(page_values[i], 10.0f * (13 + i));
    EXPECT_EQ(months[i], (13 + i) % 11);
    EXPECT_EQ(revenue[i], (13 + i) % 2);
  }
  EXPECT_DEATH(file->ReadRows(15, 21, RowsOut{dense, 1, categorical, 1, revenue.data(), {}, {}}, scratch),
               "rows \\[15, 21\\) of 20");

  StatusOr<Table> table = file->ReadAll(ShopSchema(), /*with_labels=*/true);
  ASSERT_TRUE(table.ok()) << table.status().message();
  ASSERT_EQ(table->num_rows, 20);
  for (int row = 0; row < 20; ++row) {
    EXPECT_EQ(table->dense[row], 10.0f * row);
    EXPECT_EQ(table->categorical[row], row % 11);
    EXPECT_EQ(table->labels[row], row % 2);
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

TEST(ColumnFileTest, ReadingKeepsNoChunkCache) {
  // 10 float columns of 1 MB each, in chunks of 4,096 rows (as `ectrain prepare` writes them).
  // HDF5's default chunk cache would keep up to 1 MB of every column read while the file is open.
  ScratchDir dir;
  const std::string path = dir.File("wide.h5");
  constexpr int64_t kRows = 262144, kChunk = 4096;
  FeatureSchema schema;
  schema.label = "y";
  {
    H5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    const hsize_t n = kRows, chunk = kChunk;
    H5Handle space(H5Screate_simple(1, &n, nullptr));
    H5Handle props(H5Pcreate(H5P_DATASET_CREATE));
    H5Pset_chunk(props.get(), 1, &chunk);
    std::vector<float> values(kRows);
    for (int c = 0; c < 10; ++c) {
      const std::string name = c == 0 ? "y" : "d" + std::to_string(c);
      if (c > 0) schema.dense.push_back(name);
      for (int64_t i = 0; i < kRows; ++i) values[i] = static_cast<float>((i + c) % 2);
      H5Handle set(
          H5Dcreate2(file.get(), name.c_str(), H5T_NATIVE_FLOAT, space.get(), H5P_DEFAULT, props.get(), H5P_DEFAULT));
      ASSERT_GE(H5Dwrite(set.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
    }
  }
  StatusOr<ColumnFile> file = ColumnFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status().message();
  ASSERT_TRUE(file->Bind(schema, /*with_labels=*/true).ok());
  std::vector<float> dense(9 * kChunk), labels(kChunk);
  std::vector<float*> columns;
  for (int c = 0; c < 9; ++c) columns.push_back(dense.data() + c * kChunk);
  ReadScratch scratch;
  scratch.Reserve(kChunk);
  const size_t heap_before = mallinfo2().uordblks;
  for (int64_t begin = 0; begin < kRows; begin += kChunk) {
    ASSERT_TRUE(file->ReadRows(begin, begin + kChunk, RowsOut{columns, 1, {}, 1, labels.data(), {}, {}}, scratch).ok());
    ASSERT_EQ(labels[1], static_cast<float>((begin + 1) % 2));
  }
  const double held_mb = static_cast<double>(mallinfo2().uordblks - heap_before) / 1e6;
  EXPECT_LT(held_mb, 1.0) << "heap held after reading 10 MB of columns, file still open";
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
    H5Handle matrix(
        H5Dcreate2(file.get(), "matrix", H5T_NATIVE_FLOAT, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
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

// Text goes into fixed-length string datasets (a variable-length one passes through HDF5's
// global heap, which keeps copies in memory); both kinds read back, as h5py writes either.
TEST(ColumnFileTest, StringDatasetsAreFixedLengthAndVariableLengthOnesStillRead) {
  ScratchDir dir;
  const std::string path = dir.File("strings.h5");
  const std::string text = "{\"vocabularies\": [[\"K\u00f6ln\", \"Paris\"]]}";
  {
    H5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    ASSERT_TRUE(WriteStringDataset(file.get(), "written", text).ok());
    ASSERT_TRUE(WriteStringDataset(file.get(), "empty", "").ok());
    H5Handle type(H5Tcopy(H5T_C_S1));  // what older versions of ectrain wrote
    H5Tset_size(type.get(), H5T_VARIABLE);
    H5Tset_cset(type.get(), H5T_CSET_UTF8);
    H5Handle space(H5Screate(H5S_SCALAR));
    H5Handle old(H5Dcreate2(file.get(), "variable", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    const char* data = text.c_str();
    ASSERT_GE(H5Dwrite(old.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &data), 0);
  }
  H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  H5Handle written(H5Dopen2(file.get(), "written", H5P_DEFAULT));
  H5Handle written_type(H5Dget_type(written.get()));
  EXPECT_EQ(H5Tis_variable_str(written_type.get()), 0);
  EXPECT_EQ(H5Tget_cset(written_type.get()), H5T_CSET_UTF8);
  for (const char* name : {"written", "variable"}) {
    StatusOr<std::string> back = ReadStringDataset(file.get(), name, path);
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(*back, text) << name;
  }
  StatusOr<std::string> empty = ReadStringDataset(file.get(), "empty", path);
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_EQ(*empty, "");
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
  EXPECT_NE(length.status().message().find("column 'short' has 3 rows but column 'Revenue' has 20"), std::string::npos)
      << length.status().message();
}

// A multi-valued column NAME: group NAME with `values` (ids) and `offsets` (rows + 1, from 0).
// 5 rows: row r has r % 3 ids, r, r + 1, ...; beside a dense column and a label.
std::string WriteBagFile(const ScratchDir& dir, std::vector<int64_t> offsets = {0, 0, 1, 3, 3, 4},
                         std::vector<int32_t> values = {1, 3, 4, 4}) {
  const std::string path = dir.File("bags.h5");
  H5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  WriteColumn(file.get(), "price", H5T_NATIVE_FLOAT, std::vector<float>{0, 1, 2, 3, 4});
  WriteColumn(file.get(), "bought", H5T_NATIVE_FLOAT, std::vector<float>{0, 1, 0, 1, 0});
  H5Handle group(H5Gcreate2(file.get(), "genres", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  WriteColumn(group.get(), "values", H5T_NATIVE_INT32, values, /*chunked=*/true);
  WriteColumn(group.get(), "offsets", H5T_NATIVE_INT64, offsets);
  return path;
}

FeatureSchema BagSchema(int64_t vocab_size = 5) {
  FeatureSchema schema;
  schema.label = "bought";
  schema.dense = {"price"};
  schema.multi_valued = {"genres"};
  schema.multi_vocab_sizes = {vocab_size};
  return schema;
}

TEST(ColumnFileTest, MultiValuedColumnsAreGroupsReadAsCsr) {
  ScratchDir dir;
  StatusOr<ColumnFile> file = ColumnFile::Open(WriteBagFile(dir));
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_EQ(file->ColumnNames(), (std::vector<std::string>{"bought", "genres", "price"}));
  StatusOr<int64_t> rows = file->CheckColumns({"price", "genres"});
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  EXPECT_EQ(*rows, 5);
  StatusOr<Table> table = file->ReadAll(BagSchema(), /*with_labels=*/true);
  ASSERT_TRUE(table.ok()) << table.status().message();
  ASSERT_EQ(table->bags.size(), 1);
  EXPECT_EQ(table->bags.offsets(0), (std::vector<int64_t>{0, 0, 1, 3, 3, 4}));
  EXPECT_EQ(table->bags.values(0), (std::vector<int32_t>{1, 3, 4, 4}));
  // The views follow the table through a copy.
  const Table copy = *table;
  ASSERT_NE(copy.bags.views(), nullptr);
  EXPECT_EQ(copy.bags.views()[0].values, copy.bags.values(0).data());
  EXPECT_EQ(copy.bags.views()[0].offsets[3], 3);
  // Listed as dense, a group is refused with the key to use.
  FeatureSchema as_dense = BagSchema();
  as_dense.dense = {"genres"};
  as_dense.multi_valued.clear();
  as_dense.multi_vocab_sizes.clear();
  StatusOr<Table> refused = file->ReadAll(as_dense, true);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("'genres' is multi-valued"), std::string::npos)
      << refused.status().message();
}

TEST(ColumnFileTest, MultiValuedIdsAndOffsetsAreValidated) {
  {
    ScratchDir dir;
    const std::string path = WriteBagFile(dir);
    EXPECT_EQ(ReadError(path, BagSchema(4)),
              path +
                  ": column 'genres' row 2: id 4 out of range [0, 4) (vocab size); ids must be integers below the "
                  "vocab size: raise data.vocab_sizes.genres (or re-run `ectrain prepare`) if the data is right");
  }
  {
    ScratchDir dir;
    const std::string path = WriteBagFile(dir, {0, 0, 3, 1, 3, 4});
    EXPECT_NE(ReadError(path, BagSchema()).find("column 'genres' row 2: offsets 3 to 1 are not a range"),
              std::string::npos);
  }
  {
    ScratchDir dir;
    const std::string path = WriteBagFile(dir, {0, 0, 1, 3, 3, 3});
    EXPECT_NE(ReadError(path, BagSchema()).find("has offsets from 0 to 3 but 4 values"), std::string::npos);
  }
}

TEST(ColumnFileTest, ValidationErrorsNameFileColumnAndRow) {
  ScratchDir dir;
  const std::string path = WriteShopFile(dir);
  Poke(path, "Revenue", 17, kNaN);
  EXPECT_EQ(ReadError(path, ShopSchema()),
            path + ": column 'Revenue' row 17: label is NaN; labels must be finite values in [0, 1]");
  Poke(path, "Revenue", 17, 2.0);
  EXPECT_NE(ReadError(path, ShopSchema()).find("column 'Revenue' row 17: label is 2;"), std::string::npos);
  Poke(path, "Revenue", 17, 1.0);

  Poke(path, "Month", 5, 40);
  EXPECT_NE(ReadError(path, ShopSchema())
                .find(path + ": column 'Month' row 5: id 40 out of range [0, 11) (vocab size); ids must be "
                             "integers below the vocab size: raise data.vocab_sizes.Month"),
            std::string::npos);
  Poke(path, "Month", 5, -1);
  EXPECT_NE(ReadError(path, ShopSchema()).find("row 5: id -1 out of range"), std::string::npos);
  Poke(path, "Month", 5, 5);

  Poke(path, "PageValues", 3, std::numeric_limits<double>::infinity());
  EXPECT_NE(ReadError(path, ShopSchema()).find("column 'PageValues' row 3: value is inf"), std::string::npos);
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
  EXPECT_NE(file.status().message().find("data file '" + path + "' is not a readable HDF5 file"), std::string::npos)
      << file.status().message();
}

TEST(ColumnFileTest, TruncatedFileIsADataError) {
  ScratchDir dir;
  const std::string path = WriteShopFile(dir);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  StatusOr<ColumnFile> file = ColumnFile::Open(path);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), StatusCode::kDataError);
  EXPECT_NE(file.status().message().find("data file '" + path + "' is not a readable HDF5 file"), std::string::npos)
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
                "': could not read column 'Month' (rows 0 to 19); the file is truncated or corrupt, re-create it");
}

// h5py's LZF (HDF5 filter 32000) is not in Debian's HDF5: a column compressed with it is named as
// such, not as a corrupt file. The file is written here with a stand-in for the filter,
// registered only while writing.
TEST(ColumnFileTest, AFilterThisHdf5LacksIsNamed) {
  ScratchDir dir;
  const std::string path = WriteShopFile(dir);
  const H5Z_class2_t lzf = {H5Z_CLASS_T_VERS,
                            static_cast<H5Z_filter_t>(32000),
                            1,
                            1,
                            "lzf",
                            nullptr,
                            nullptr,
                            [](unsigned, size_t, const unsigned[], size_t bytes, size_t*, void**) { return bytes; }};
  ASSERT_GE(H5Zregister(&lzf), 0);
  {
    H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    const std::vector<float> pages(20, 1.0f);
    const hsize_t n = pages.size(), chunk = 8;
    H5Handle space(H5Screate_simple(1, &n, nullptr));
    H5Handle props(H5Pcreate(H5P_DATASET_CREATE));
    H5Pset_chunk(props.get(), 1, &chunk);
    H5Pset_filter(props.get(), 32000, H5Z_FLAG_MANDATORY, 0, nullptr);
    H5Ldelete(file.get(), "PageValues", H5P_DEFAULT);
    H5Handle dataset(
        H5Dcreate2(file.get(), "PageValues", H5T_NATIVE_FLOAT, space.get(), H5P_DEFAULT, props.get(), H5P_DEFAULT));
    ASSERT_GE(H5Dwrite(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, pages.data()), 0);
  }
  ASSERT_GE(H5Zunregister(32000), 0);
  EXPECT_EQ(ReadError(path, ShopSchema()),
            "data file '" + path +
                "': column 'PageValues' is compressed with the HDF5 filter 'lzf' (id 32000), which this HDF5 library "
                "does not have; rewrite the file with gzip compression, e.g. `h5repack -f GZIP=4 " +
                path + " out.h5` (h5py: compression=\"gzip\")");
}

}  // namespace
}  // namespace ectrain::data
