#include "data/schema.h"

#include <gtest/gtest.h>

#include <cmath>

namespace ectrain::data {
namespace {

FeatureSchema PreparedSchema() {
  FeatureSchema schema;
  schema.label = "Revenue";
  schema.dense = {"PageValues", "BounceRates in %"};
  schema.categorical = {"Month", "VisitorType"};
  schema.vocab_sizes = {3, 2};
  schema.dense_stats = {{5.5, 5.5, 2.0}, {0.1 / 3, 0.1 / 3, 1.0 / 7}};
  schema.vocabularies = {{"Feb", "Mar"}, {"Returning_Visitor"}};
  return schema;
}

TEST(SchemaTest, JsonRoundTripIsExact) {
  const FeatureSchema schema = PreparedSchema();
  StatusOr<FeatureSchema> back = FeatureSchema::FromJson(schema.ToJson(), "test");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->label, schema.label);
  EXPECT_EQ(back->dense, schema.dense);
  EXPECT_EQ(back->categorical, schema.categorical);
  EXPECT_EQ(back->vocab_sizes, schema.vocab_sizes);
  EXPECT_EQ(back->vocabularies, schema.vocabularies);
  ASSERT_EQ(back->dense_stats.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back->dense_stats[i].fill_value, schema.dense_stats[i].fill_value);
    EXPECT_EQ(back->dense_stats[i].mean, schema.dense_stats[i].mean);
    EXPECT_EQ(back->dense_stats[i].stddev, schema.dense_stats[i].stddev);
  }
  EXPECT_TRUE(back->has_preprocessing());
}

TEST(SchemaTest, SchemaWithoutPreprocessing) {
  StatusOr<FeatureSchema> schema = FeatureSchema::FromJson(
      R"({"label": "click", "dense": ["a"], "categorical": ["c"], "vocab_sizes": [10]})", "x");
  ASSERT_TRUE(schema.ok()) << schema.status().message();
  EXPECT_FALSE(schema->has_preprocessing());
  EXPECT_EQ(schema->vocab_sizes, (std::vector<int64_t>{10}));
  float dense[1];
  int32_t ids[1];
  EXPECT_EQ(schema->EncodeRow({{"a", "1"}, {"c", "x"}}, dense, ids).code(),
            StatusCode::kInvalidArgument);
}

TEST(SchemaTest, FromJsonErrorsNameWhere) {
  for (const char* text :
       {"not json", "[1]", R"({"label": 3, "dense": [], "categorical": [], "vocab_sizes": []})",
        R"({"label": "y", "dense": [], "categorical": ["c"], "vocab_sizes": []})",
        R"({"label": "y", "dense": ["d"], "categorical": [], "vocab_sizes": [],
            "dense_stats": [], "vocabularies": [["a"]]})"}) {
    StatusOr<FeatureSchema> schema = FeatureSchema::FromJson(text, "train.h5 /ectrain/schema");
    ASSERT_FALSE(schema.ok()) << text;
    EXPECT_EQ(schema.status().code(), StatusCode::kDataError);
    EXPECT_EQ(schema.status().message().rfind("train.h5 /ectrain/schema: ", 0), 0u)
        << schema.status().message();
  }
}

TEST(SchemaTest, EncodeRowStandardizesFillsAndMapsIds) {
  const FeatureSchema schema = PreparedSchema();
  float dense[2];
  int32_t ids[2];
  ASSERT_TRUE(schema
                  .EncodeRow({{"PageValues", " 9.5 "},
                              {"BounceRates in %", "NA"},
                              {"Month", "Mar"},
                              {"VisitorType", "New_Visitor"},
                              {"other", "x"}},
                             dense, ids)
                  .ok());
  EXPECT_FLOAT_EQ(dense[0], 2.0f);  // (9.5 - 5.5) / 2
  EXPECT_FLOAT_EQ(dense[1], 0.0f);  // filled with the mean
  EXPECT_EQ(ids[0], 2);
  EXPECT_EQ(ids[1], 0);  // not seen in training
}

TEST(SchemaTest, EncodeRowErrorsNameColumnAndValue) {
  const FeatureSchema schema = PreparedSchema();
  float dense[2];
  int32_t ids[2];
  Status status = schema.EncodeRow(
      {{"PageValues", "abc"}, {"BounceRates in %", "1"}, {"Month", "Feb"}, {"VisitorType", "x"}},
      dense, ids);
  EXPECT_EQ(status.code(), StatusCode::kDataError);
  EXPECT_EQ(status.message(), "column 'PageValues': 'abc' is not a number");
  status =
      schema.EncodeRow({{"PageValues", "1"}, {"Month", "Feb"}, {"VisitorType", "x"}}, dense, ids);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("'BounceRates in %'"), std::string::npos) << status.message();
}

TEST(SchemaTest, ParseLabel) {
  const std::vector<std::pair<std::string, float>> good = {
      {"1", 1.0f},   {"0", 0.0f},  {" TRUE ", 1.0f}, {"false", 0.0f},
      {"Yes", 1.0f}, {"NO", 0.0f}, {"0.25", 0.25f},  {"1e0", 1.0f}};
  for (const auto& [text, expected] : good) {
    StatusOr<float> label = ParseLabel(text);
    ASSERT_TRUE(label.ok()) << text << ": " << label.status().message();
    EXPECT_EQ(*label, expected) << text;
  }
  for (const std::string text : {"", "maybe", "nan", "inf", "1x", "t"}) {
    StatusOr<float> label = ParseLabel(text);
    ASSERT_FALSE(label.ok()) << text;
    EXPECT_EQ(label.status().code(), StatusCode::kDataError);
  }
}

TEST(SchemaTest, MissingValuesAndDenseParsing) {
  for (const std::string text : {"", "  ", "NA", "n/a", "NaN", "null", "NULL", "?"}) {
    EXPECT_TRUE(IsMissingValue(text)) << "'" << text << "'";
  }
  for (const std::string text : {"0", "abc", "-", "none"})
    EXPECT_FALSE(IsMissingValue(text)) << text;

  StatusOr<std::optional<double>> value = ParseDenseValue(" 2.5 ");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(**value, 2.5);
  value = ParseDenseValue("?");
  ASSERT_TRUE(value.ok());
  EXPECT_FALSE(value->has_value());
  EXPECT_EQ(ParseDenseValue("12abc").status().message(), "'12abc' is not a number");
  EXPECT_FALSE(ParseDenseValue("1e999").ok());
  EXPECT_FALSE(ParseDenseValue("-inf").ok());
}

}  // namespace
}  // namespace ectrain::data
