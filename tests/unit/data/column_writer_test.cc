// ColumnWriter: what it writes reads back with plain HDF5 (as h5py would), chunked and
// compressed; the final name appears only on Commit; bad appends are named errors.
#include "data/column_writer.h"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <filesystem>
#include <numeric>
#include <vector>

#include "test_files.h"

namespace ectrain::data {
namespace {

template <typename T>
std::vector<T> ReadDataset(const std::string& path, const std::string& name, hid_t memory_type) {
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  EXPECT_GE(file, 0) << path;
  hid_t dataset = H5Dopen2(file, name.c_str(), H5P_DEFAULT);
  EXPECT_GE(dataset, 0) << name;
  hid_t space = H5Dget_space(dataset);
  std::vector<T> values(static_cast<size_t>(H5Sget_simple_extent_npoints(space)));
  EXPECT_GE(H5Dread(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
  // Chunked and compressed, so readers decompress only what they touch.
  hid_t create = H5Dget_create_plist(dataset);
  EXPECT_EQ(H5Pget_layout(create), H5D_CHUNKED);
  EXPECT_GE(H5Pget_nfilters(create), 1);
  H5Pclose(create);
  H5Sclose(space);
  H5Dclose(dataset);
  H5Fclose(file);
  return values;
}

TEST(ColumnWriter, WritesScalarAndMultiValuedColumnsAcrossChunks) {
  testing::ScratchDir dir;
  const std::string path = dir.File("out.h5");
  auto writer = ColumnWriter::Create(path,
                                     {{"price", ColumnType::kFloat32},
                                      {"user", ColumnType::kInt32},
                                      {"genres", ColumnType::kInt32, /*multi_valued=*/true}},
                                     /*chunk_rows=*/7);
  ASSERT_TRUE(writer.ok()) << writer.status().message();
  const int rows = 25;  // several chunks and a partial one
  std::vector<float> prices(rows);
  std::vector<int32_t> users(rows);
  std::iota(prices.begin(), prices.end(), 0.5f);
  std::iota(users.begin(), users.end(), 100);
  ASSERT_TRUE(writer->Append(0, std::span<const float>(prices)).ok());
  ASSERT_TRUE(writer->Append(1, std::span<const int32_t>(users)).ok());
  std::vector<int32_t> all_ids;
  for (int r = 0; r < rows; ++r) {
    std::vector<int32_t> ids(static_cast<size_t>(r % 4), r);  // rows with 0..3 ids
    all_ids.insert(all_ids.end(), ids.begin(), ids.end());
    ASSERT_TRUE(writer->AppendBagRow(2, ids).ok());
  }
  EXPECT_EQ(writer->rows(2), rows);
  FeatureSchema schema;
  schema.label = "price";
  ASSERT_TRUE(writer->WriteSchema(schema).ok());
  EXPECT_FALSE(std::filesystem::exists(path)) << "the final name appears only on Commit";
  ASSERT_TRUE(writer->Commit().ok());
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  EXPECT_EQ(ReadDataset<float>(path, "price", H5T_NATIVE_FLOAT), prices);
  EXPECT_EQ(ReadDataset<int32_t>(path, "user", H5T_NATIVE_INT32), users);
  EXPECT_EQ(ReadDataset<int32_t>(path, "genres/values", H5T_NATIVE_INT32), all_ids);
  const auto offsets = ReadDataset<int64_t>(path, "genres/offsets", H5T_NATIVE_INT64);
  ASSERT_EQ(offsets.size(), static_cast<size_t>(rows + 1));
  EXPECT_EQ(offsets.front(), 0);
  for (int r = 0; r < rows; ++r) EXPECT_EQ(offsets[r + 1] - offsets[r], r % 4) << "row " << r;
}

TEST(ColumnWriter, UnequalColumnsAreRefusedAndLeaveNoFile) {
  testing::ScratchDir dir;
  const std::string path = dir.File("out.h5");
  {
    auto writer = ColumnWriter::Create(path, {{"a", ColumnType::kFloat32}, {"b", ColumnType::kInt64}});
    ASSERT_TRUE(writer.ok());
    const float a[3] = {1, 2, 3};
    const int64_t b[2] = {1, 2};
    ASSERT_TRUE(writer->Append(0, std::span<const float>(a)).ok());
    ASSERT_TRUE(writer->Append(1, std::span<const int64_t>(b)).ok());
    Status status = writer->Commit();
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.message().find("'b' has 2 rows"), std::string::npos) << status.message();
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp")) << "an abandoned writer removes its temporary file";
}

TEST(ColumnWriter, IntegerColumnsRefuseFractionsAndOutOfRange) {
  testing::ScratchDir dir;
  auto writer = ColumnWriter::Create(dir.File("out.h5"), {{"id", ColumnType::kInt32}});
  ASSERT_TRUE(writer.ok());
  const float fraction[1] = {1.5f};
  Status status = writer->Append(0, std::span<const float>(fraction));
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("'id'"), std::string::npos) << status.message();
  const int64_t huge[1] = {int64_t{1} << 40};
  EXPECT_FALSE(writer->Append(0, std::span<const int64_t>(huge)).ok());
  const int32_t fine[1] = {7};
  EXPECT_TRUE(writer->Append(0, std::span<const int32_t>(fine)).ok());
  EXPECT_FALSE(writer->AppendBagRow(0, std::span<const int32_t>(fine)).ok()) << "'id' is not multi-valued";
}

TEST(ColumnWriter, UnwritableFolderIsANamedError) {
  auto writer = ColumnWriter::Create("/nonexistent-folder/x.h5", {{"a", ColumnType::kFloat32}});
  ASSERT_FALSE(writer.ok());
  EXPECT_NE(writer.status().message().find("/nonexistent-folder/x.h5"), std::string::npos);
}

}  // namespace
}  // namespace ectrain::data
