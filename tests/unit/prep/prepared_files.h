// Reads back what `ectrain prepare` wrote straight from HDF5 (independently of ColumnFile), for
// the prepare and importer tests: every scalar column as doubles, every multi-valued column as
// CSR, and the stored schema. Also the settings of one prepare run, as config/ gives them.
#pragma once

#include <gtest/gtest.h>
#include <hdf5.h>

#include <map>
#include <string>
#include <vector>

#include "data/hdf5_util.h"
#include "data/options.h"
#include "data/schema.h"
#include "prep/options.h"

namespace ectrain::prep::testing {

// What PrepareDataSet takes: the prepare: section, and the data: section's column roles (label,
// dense, categorical, multi_valued) and output files (train, test).
struct Request {
  PrepareOptions prepare;
  data::DataOptions data;
};

struct PreparedFile {
  data::FeatureSchema schema;
  int64_t rows = 0;
  std::map<std::string, std::vector<double>> columns;   // dense, categorical and the label
  std::map<std::string, std::vector<int64_t>> offsets;  // per multi-valued column
  std::map<std::string, std::vector<int32_t>> values;

  std::vector<int32_t> Bag(const std::string& name, int64_t row) const {
    const std::vector<int64_t>& o = offsets.at(name);
    const std::vector<int32_t>& v = values.at(name);
    return std::vector<int32_t>(v.begin() + o[row], v.begin() + o[row + 1]);
  }
  double At(const std::string& name, int64_t row) const { return columns.at(name)[row]; }
};

template <typename T>
std::vector<T> ReadDataset(hid_t file, const std::string& name, hid_t memory_type) {
  data::H5Handle dataset(H5Dopen2(file, name.c_str(), H5P_DEFAULT));
  EXPECT_TRUE(dataset.valid()) << "no dataset " << name;
  if (!dataset.valid()) return {};
  data::H5Handle space(H5Dget_space(dataset.get()));
  hsize_t size = 0;
  H5Sget_simple_extent_dims(space.get(), &size, nullptr);
  std::vector<T> out(size);
  if (size > 0) {
    EXPECT_GE(H5Dread(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), 0);
  }
  return out;
}

inline PreparedFile ReadPrepared(const std::string& path) {
  PreparedFile out;
  data::QuietHdf5Errors();
  std::lock_guard<std::mutex> lock(data::Hdf5Mutex());
  data::H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  EXPECT_TRUE(file.valid()) << "cannot open " << path;
  if (!file.valid()) return out;
  StatusOr<std::string> json = data::ReadStringDataset(file.get(), data::kSchemaDataset, path);
  EXPECT_TRUE(json.ok()) << json.status().message();
  if (!json.ok()) return out;
  StatusOr<data::FeatureSchema> schema = data::FeatureSchema::FromJson(*json, path);
  EXPECT_TRUE(schema.ok()) << schema.status().message();
  if (!schema.ok()) return out;
  out.schema = *schema;
  std::vector<std::string> scalars = out.schema.dense;
  scalars.insert(scalars.end(), out.schema.categorical.begin(), out.schema.categorical.end());
  scalars.push_back(out.schema.label);
  for (const std::string& name : scalars) out.columns[name] = ReadDataset<double>(file.get(), name, H5T_NATIVE_DOUBLE);
  out.rows = static_cast<int64_t>(out.columns[out.schema.label].size());
  for (const std::string& name : scalars) EXPECT_EQ(out.columns[name].size(), size_t(out.rows)) << name;
  for (const std::string& name : out.schema.multi_valued) {
    out.offsets[name] = ReadDataset<int64_t>(file.get(), name + "/offsets", H5T_NATIVE_INT64);
    out.values[name] = ReadDataset<int32_t>(file.get(), name + "/values", H5T_NATIVE_INT32);
    EXPECT_EQ(out.offsets[name].size(), size_t(out.rows + 1)) << name;
    EXPECT_EQ(out.offsets[name].front(), 0) << name;
    EXPECT_EQ(out.offsets[name].back(), int64_t(out.values[name].size())) << name;
  }
  return out;
}

}  // namespace ectrain::prep::testing
