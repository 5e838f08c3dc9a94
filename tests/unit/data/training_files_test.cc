#include "data/training_files.h"

#include <gtest/gtest.h>

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "data/column_writer.h"
#include "data/label_prior.h"
#include "unit/data/test_files.h"

namespace ectrain::data {
namespace {

// A file with a dense column x and a label column y; with `stored_label_type`, the schema
// `ectrain prepare` would store for it (label y of that type).
std::string DataFile(const testing::ScratchDir& dir, const std::vector<float>& labels,
                     const std::optional<std::string>& stored_label_type = std::nullopt) {
  const std::string path = dir.File("data.h5");
  auto writer = ColumnWriter::Create(path, {{"x", ColumnType::kFloat32}, {"y", ColumnType::kFloat32}});
  EXPECT_TRUE(writer.ok()) << writer.status().message();
  const std::vector<float> x(labels.size(), 0.5f);
  EXPECT_TRUE(writer->Append(0, std::span<const float>(x)).ok());
  EXPECT_TRUE(writer->Append(1, std::span<const float>(labels)).ok());
  if (stored_label_type) {
    FeatureSchema schema;
    schema.label = "y";
    schema.dense = {"x"};
    schema.label_type = *stored_label_type;
    if (schema.label_type == "class") schema.label_classes = {"a", "b", "c", "d", "e"};
    EXPECT_TRUE(writer->WriteSchema(schema).ok());
  }
  EXPECT_TRUE(writer->Commit().ok());
  return path;
}

// data.label_type auto (model.loss auto), with the model type's default `otherwise`.
DataOptions AutoLabels(const std::string& path, const std::string& otherwise) {
  DataOptions options;
  options.train = path;
  options.label = "y";
  options.dense = {"x"};
  options.label_type = "auto";
  options.label_type_otherwise = otherwise;
  return options;
}

// The label type the training files are read with, or "error: " and the message.
std::string LabelTypeOf(const DataOptions& options) {
  StatusOr<TrainingFiles> files = OpenTrainingFiles(options);
  return files.ok() ? files->schema.label_type : "error: " + files.status().message();
}

// 1 or 0, or -1 on an error.
int ZeroOrOne(const std::string& path, const std::string& label, int64_t max_rows) {
  StatusOr<bool> result = LabelsAreZeroOrOne(path, label, max_rows);
  return result.ok() ? static_cast<int>(*result) : -1;
}

TEST(LabelsAreZeroOrOne, LooksAtTheFirstRowsOnly) {
  testing::ScratchDir dir;
  const std::string path = DataFile(dir, {0, 1, 1, 0, 3.5f});
  EXPECT_EQ(ZeroOrOne(path, "y", 100), 0);
  EXPECT_EQ(ZeroOrOne(path, "y", 4), 1);
  EXPECT_EQ(ZeroOrOne(path, "x", 100), 0);  // 0.5: a probability, not a 0/1 label
  EXPECT_NE(LabelsAreZeroOrOne(path, "z", 100).status().message().find("z"), std::string::npos);
}

TEST(AutoLabelType, UnpreparedFileZeroOneLabelsAreBinaryForAnyModel) {
  testing::ScratchDir dir;
  const std::string path = DataFile(dir, {0, 1, 1, 0});
  EXPECT_EQ(LabelTypeOf(AutoLabels(path, "regression")), "binary");  // mf on clicks: bce
  EXPECT_EQ(LabelTypeOf(AutoLabels(path, "binary")), "binary");
}

TEST(AutoLabelType, UnpreparedFileOtherLabelsKeepTheModelTypesDefault) {
  testing::ScratchDir dir;
  const std::string path = DataFile(dir, {1, 3, 5, 4});
  EXPECT_EQ(LabelTypeOf(AutoLabels(path, "regression")), "regression");  // mf on ratings: mse
  // An mlp keeps bce, whose reader then refuses ratings naming the row.
  EXPECT_EQ(LabelTypeOf(AutoLabels(path, "binary")), "binary");
}

TEST(AutoLabelType, APreparedLabelTypeDecides) {
  testing::ScratchDir dir;
  // Ratings that happen to be 0/1 in these rows are still ratings: prepare said so.
  EXPECT_EQ(LabelTypeOf(AutoLabels(DataFile(dir, {0, 1, 1}, "regression"), "binary")), "regression");
  EXPECT_EQ(LabelTypeOf(AutoLabels(DataFile(dir, {0, 1, 1}, "binary"), "regression")), "binary");
  // Class labels need model.type: classifier (whose loss is softmax, never auto).
  const std::string classes = LabelTypeOf(AutoLabels(DataFile(dir, {0, 4, 2}, "class"), "binary"));
  EXPECT_NE(classes.find("error: data.label: column 'y'"), std::string::npos) << classes;
  EXPECT_NE(classes.find("model.type: classifier"), std::string::npos) << classes;
}

TEST(AutoLabelType, AnExplicitLabelTypeWins) {
  testing::ScratchDir dir;
  DataOptions options = AutoLabels(DataFile(dir, {0, 1, 1, 0}), "binary");
  options.label_type = "regression";  // model.loss: mse on 0/1 labels
  EXPECT_EQ(LabelTypeOf(options), "regression");
}

}  // namespace
}  // namespace ectrain::data
