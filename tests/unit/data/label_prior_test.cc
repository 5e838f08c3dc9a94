#include "data/label_prior.h"

#include <gtest/gtest.h>

#include <span>
#include <vector>

#include "data/column_writer.h"
#include "unit/data/test_files.h"

namespace ectrain::data {
namespace {

std::string LabelFile(const testing::ScratchDir& dir, const std::string& name, const std::vector<float>& labels) {
  const std::string path = dir.File(name);
  auto writer = ColumnWriter::Create(path, {{"y", ColumnType::kFloat32}});
  EXPECT_TRUE(writer.ok()) << writer.status().message();
  EXPECT_TRUE(writer->Append(0, std::span<const float>(labels)).ok());
  EXPECT_TRUE(writer->Commit().ok());
  return path;
}

TEST(LabelPrior, MeanLabelOverTheFilesUpToMaxRows) {
  testing::ScratchDir dir;
  const std::string a = LabelFile(dir, "a.h5", {1, 0, 0, 0});
  const std::string b = LabelFile(dir, "b.h5", {1, 1, 0, 0});
  FeatureSchema schema;
  schema.label = "y";
  StatusOr<std::vector<double>> prior = LabelPrior({a, b}, schema, 100);
  ASSERT_TRUE(prior.ok()) << prior.status().message();
  EXPECT_DOUBLE_EQ(prior->at(0), 3.0 / 8);
  prior = LabelPrior({a, b}, schema, 6);  // a's 4 rows and b's first 2
  ASSERT_TRUE(prior.ok());
  EXPECT_DOUBLE_EQ(prior->at(0), 3.0 / 6);
}

TEST(LabelPrior, ClassSharesAndErrors) {
  testing::ScratchDir dir;
  const std::string path = LabelFile(dir, "c.h5", {0, 2, 2, 1, 2});
  FeatureSchema schema;
  schema.label = "y";
  schema.label_type = "class";
  schema.label_classes = {"a", "b", "c"};
  StatusOr<std::vector<double>> prior = LabelPrior({path}, schema, 100);
  ASSERT_TRUE(prior.ok()) << prior.status().message();
  EXPECT_EQ(*prior, (std::vector<double>{0.2, 0.2, 0.6}));
  schema.label = "z";
  EXPECT_NE(LabelPrior({path}, schema, 100).status().message().find("z"), std::string::npos);
  EXPECT_FALSE(LabelPrior({}, schema, 100).ok());
}

}  // namespace
}  // namespace ectrain::data
