#include "data/schema.h"

#include <gtest/gtest.h>

#include <cmath>

#include "data/encoding.h"

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
  StatusOr<FeatureSchema> schema =
      FeatureSchema::FromJson(R"({"label": "click", "dense": ["a"], "categorical": ["c"], "vocab_sizes": [10]})", "x");
  ASSERT_TRUE(schema.ok()) << schema.status().message();
  EXPECT_FALSE(schema->has_preprocessing());
  EXPECT_EQ(schema->vocab_sizes, (std::vector<int64_t>{10}));
  float dense[1];
  int32_t ids[1];
  EXPECT_EQ(schema->EncodeRow({{"a", "1"}, {"c", "x"}}, dense, ids).code(), StatusCode::kInvalidArgument);
}

TEST(SchemaTest, FromJsonErrorsNameWhere) {
  for (const char* text : {"not json", "[1]", R"({"label": 3, "dense": [], "categorical": [], "vocab_sizes": []})",
                           R"({"label": "y", "dense": [], "categorical": ["c"], "vocab_sizes": []})",
                           R"({"label": "y", "dense": ["d"], "categorical": [], "vocab_sizes": [],
            "dense_stats": [], "vocabularies": [["a"]]})"}) {
    StatusOr<FeatureSchema> schema = FeatureSchema::FromJson(text, "train.h5 /ectrain/schema");
    ASSERT_FALSE(schema.ok()) << text;
    EXPECT_EQ(schema.status().code(), StatusCode::kDataError);
    EXPECT_EQ(schema.status().message().rfind("train.h5 /ectrain/schema: ", 0), 0u) << schema.status().message();
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
      {{"PageValues", "abc"}, {"BounceRates in %", "1"}, {"Month", "Feb"}, {"VisitorType", "x"}}, dense, ids);
  EXPECT_EQ(status.code(), StatusCode::kDataError);
  EXPECT_EQ(status.message(), "column 'PageValues': 'abc' is not a number");
  status = schema.EncodeRow({{"PageValues", "1"}, {"Month", "Feb"}, {"VisitorType", "x"}}, dense, ids);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("'BounceRates in %'"), std::string::npos) << status.message();
}

// A schema as `prepare` writes it with every kind of column: log + min-max, a missing-value
// indicator, a vocabulary and a hashed categorical column, a split and a text bag.
FeatureSchema FullSchema() {
  FeatureSchema schema;
  schema.label = "Category Label";
  schema.label_type = "class";
  schema.label_classes = {"CPUs", "TVs"};
  schema.dense = {"views", "views_missing"};
  DenseColumnStats views;
  views.fill_value = 3.0;
  views.fill = "median";
  views.log = true;
  views.scale = "minmax";
  views.mean = 0.5;
  views.stddev = 2.0;
  DenseColumnStats indicator;
  indicator.scale = "none";
  indicator.fill = "constant";
  indicator.indicator_of = "views";
  schema.dense_stats = {views, indicator};
  schema.categorical = {"country", "user"};
  schema.vocab_sizes = {3, 1000};
  schema.vocabularies = {{"de", "fr"}, {}};
  schema.hash_buckets = {0, 1000};
  schema.multi_valued = {"genres", "title"};
  schema.multi_vocab_sizes = {3, 50};
  BagEncoding genres;
  genres.separator = "|";
  genres.vocabulary = {"Action", "Comedy"};
  BagEncoding title;
  title.text = true;
  title.hash_buckets = 50;
  schema.bag_encodings = {genres, title};
  return schema;
}

TEST(SchemaTest, JsonRoundTripKeepsEveryEncoding) {
  const FeatureSchema schema = FullSchema();
  StatusOr<FeatureSchema> back = FeatureSchema::FromJson(schema.ToJson(), "test");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->ToJson(), schema.ToJson());
  EXPECT_EQ(back->label_type, "class");
  EXPECT_EQ(back->label_classes, schema.label_classes);
  EXPECT_EQ(back->hash_buckets, schema.hash_buckets);
  ASSERT_EQ(back->bag_encodings.size(), 2u);
  EXPECT_EQ(back->bag_encodings[0].separator, "|");
  EXPECT_EQ(back->bag_encodings[0].vocabulary, schema.bag_encodings[0].vocabulary);
  EXPECT_TRUE(back->bag_encodings[1].text);
  EXPECT_EQ(back->bag_encodings[1].hash_buckets, 50);
  EXPECT_TRUE(back->dense_stats[0].log);
  EXPECT_EQ(back->dense_stats[0].scale, "minmax");
  EXPECT_EQ(back->dense_stats[1].indicator_of, "views");
  EXPECT_FALSE(back->label_threshold.has_value());

  FeatureSchema rule = PreparedSchema();
  rule.label_threshold = 4.0;
  back = FeatureSchema::FromJson(rule.ToJson(), "test");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->label_threshold, 4.0);
}

// A schema written before these encodings existed still reads, with their defaults.
TEST(SchemaTest, OlderSchemaReadsWithDefaults) {
  StatusOr<FeatureSchema> schema = FeatureSchema::FromJson(
      R"({"label": "y", "dense": ["a"], "categorical": ["c"], "vocab_sizes": [2],
          "dense_stats": [{"fill_value": 1, "mean": 1, "stddev": 2}], "vocabularies": [["x"]]})",
      "old.h5");
  ASSERT_TRUE(schema.ok()) << schema.status().message();
  EXPECT_EQ(schema->label_type, "binary");
  EXPECT_FALSE(schema->dense_stats[0].log);
  EXPECT_EQ(schema->dense_stats[0].scale, "standard");
  EXPECT_TRUE(schema->hash_buckets.empty());
  float dense[1];
  int32_t ids[1];
  ASSERT_TRUE(schema->EncodeRow({{"a", "5"}, {"c", "x"}}, dense, ids).ok());
  EXPECT_FLOAT_EQ(dense[0], 2.0f);
  EXPECT_EQ(ids[0], 1);
}

TEST(SchemaTest, EncodeRowTransformsDenseAndEncodesBags) {
  const FeatureSchema schema = FullSchema();
  float dense[2];
  int32_t ids[2];
  std::vector<std::vector<int32_t>> bags;
  ASSERT_TRUE(schema
                  .EncodeRow({{"views", "9"},
                              {"country", " fr "},
                              {"user", "u-never-seen"},
                              {"genres", "Comedy|Western| Action |"},
                              {"title", "Apple iPhone-8 64GB, SILVER"}},
                             dense, ids, &bags)
                  .ok());
  EXPECT_FLOAT_EQ(dense[0], static_cast<float>((std::log1p(9.0) - 0.5) / 2.0));
  EXPECT_EQ(dense[1], 0.0f);  // present
  EXPECT_EQ(ids[0], 2);
  EXPECT_EQ(ids[1], HashedId("u-never-seen", 1000));  // hashing covers unseen values
  EXPECT_GE(ids[1], 1);
  EXPECT_LT(ids[1], 1000);
  ASSERT_EQ(bags.size(), 2u);
  EXPECT_EQ(bags[0], (std::vector<int32_t>{2, 0, 1}));  // Western: not in the vocabulary
  std::vector<int32_t> title;
  for (const char* token : {"apple", "iphone", "8", "64gb", "silver"}) title.push_back(HashedId(token, 50));
  EXPECT_EQ(bags[1], title);

  // Missing: the median fill goes through the log too, and the indicator says so.
  ASSERT_TRUE(schema
                  .EncodeRow({{"views", "NA"}, {"country", "xx"}, {"user", ""}, {"genres", ""}, {"title", ""}}, dense,
                             ids, &bags)
                  .ok());
  EXPECT_FLOAT_EQ(dense[0], static_cast<float>((std::log1p(3.0) - 0.5) / 2.0));
  EXPECT_EQ(dense[1], 1.0f);
  EXPECT_EQ(ids[0], 0);  // out of vocabulary
  EXPECT_TRUE(bags[0].empty());
  EXPECT_TRUE(bags[1].empty());

  // Bags need somewhere to go.
  EXPECT_EQ(
      schema.EncodeRow({{"views", "1"}, {"country", "de"}, {"user", "u"}, {"genres", ""}, {"title", ""}}, dense, ids)
          .code(),
      StatusCode::kInvalidArgument);
}

// A copy of the schema that lost hash_buckets must not silently map every value to id 0.
TEST(SchemaTest, IncompleteHashedColumnIsRefused) {
  FeatureSchema schema = FullSchema();
  schema.hash_buckets.clear();
  float dense[2];
  int32_t ids[2];
  std::vector<std::vector<int32_t>> bags;
  const Status status = schema.EncodeRow(
      {{"views", "9"}, {"country", "fr"}, {"user", "u"}, {"genres", ""}, {"title", ""}}, dense, ids, &bags);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("'user' has 1000 ids but a vocabulary of 0 values"), std::string::npos)
      << status.message();
}

TEST(SchemaTest, SelectKeepsEachColumnsEncoding) {
  const FeatureSchema schema = FullSchema();
  StatusOr<FeatureSchema> selected = schema.Select({"views"}, {"user"}, {"title"});
  ASSERT_TRUE(selected.ok()) << selected.status().message();
  EXPECT_EQ(selected->dense, (std::vector<std::string>{"views"}));
  EXPECT_TRUE(selected->dense_stats[0].log);
  EXPECT_EQ(selected->hash_buckets, (std::vector<int64_t>{1000}));
  EXPECT_EQ(selected->vocab_sizes, (std::vector<int64_t>{1000}));
  EXPECT_TRUE(selected->bag_encodings[0].text);
  EXPECT_EQ(selected->label_classes, schema.label_classes);
  StatusOr<FeatureSchema> missing = schema.Select({}, {"city"}, {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("categorical column 'city' is not in the schema"), std::string::npos);
}

TEST(SchemaTest, SelectFromAnRvalueMovesTheEncodingsAndAnErrorMovesNothing) {
  FeatureSchema schema = FullSchema();
  const std::string expected = FullSchema().Select({"views"}, {"country"}, {"genres"})->ToJson();
  // A name the schema lacks fails before anything is moved out.
  StatusOr<FeatureSchema> missing = std::move(schema).Select({"views"}, {"country", "city"}, {"genres"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("categorical column 'city' is not in the schema"), std::string::npos);
  EXPECT_EQ(schema.ToJson(), FullSchema().ToJson());
  StatusOr<FeatureSchema> selected = std::move(schema).Select({"views"}, {"country"}, {"genres"});
  ASSERT_TRUE(selected.ok()) << selected.status().message();
  EXPECT_EQ(selected->ToJson(), expected);  // the same as selecting from a copy
  EXPECT_EQ(selected->vocabularies[0], (std::vector<std::string>{"de", "fr"}));
  EXPECT_TRUE(schema.vocabularies[0].empty());  // moved, not copied
  EXPECT_TRUE(schema.bag_encodings[0].vocabulary.empty());
}

TEST(SchemaTest, ColumnsOnlyKeepsColumnsSizesAndLabelButNoPreprocessing) {
  FeatureSchema schema = FullSchema();
  schema.label_positive_values = {"yes"};
  const FeatureSchema columns = schema.ColumnsOnly();
  EXPECT_EQ(columns.label, schema.label);
  EXPECT_EQ(columns.label_type, "class");
  EXPECT_EQ(columns.label_classes, schema.label_classes);
  EXPECT_EQ(columns.label_positive_values, schema.label_positive_values);
  EXPECT_EQ(columns.dense, schema.dense);
  EXPECT_EQ(columns.categorical, schema.categorical);
  EXPECT_EQ(columns.vocab_sizes, schema.vocab_sizes);
  EXPECT_EQ(columns.multi_valued, schema.multi_valued);
  EXPECT_EQ(columns.multi_vocab_sizes, schema.multi_vocab_sizes);
  EXPECT_FALSE(columns.has_preprocessing());
  EXPECT_TRUE(columns.hash_buckets.empty());
}

TEST(SchemaTest, EncodeLabelByType) {
  FeatureSchema schema = FullSchema();
  EXPECT_EQ(schema.EncodeLabel(" TVs").value(), 1.0f);
  EXPECT_EQ(schema.EncodeLabel("CPUs").value(), 0.0f);
  EXPECT_FALSE(schema.EncodeLabel("Fridges").ok());
  schema.label_type = "regression";
  EXPECT_EQ(schema.EncodeLabel("3.5").value(), 3.5f);
  EXPECT_FALSE(schema.EncodeLabel("x").ok());
  schema.label_type = "binary";
  EXPECT_FALSE(schema.EncodeLabel("3.5").ok());  // outside [0, 1]
  schema.label_threshold = 4.0;
  EXPECT_EQ(schema.EncodeLabel("4").value(), 1.0f);
  EXPECT_EQ(schema.EncodeLabel("3").value(), 0.0f);
  schema.label_threshold.reset();
  schema.label_positive_values = {"buy", "cart"};
  EXPECT_EQ(schema.EncodeLabel("buy").value(), 1.0f);
  EXPECT_EQ(schema.EncodeLabel("pv").value(), 0.0f);
}

TEST(SchemaTest, TokenizerHashAndTime) {
  std::vector<std::string> tokens;
  Tokenize("Samsung QE55Q7F 55\" 4K (Black)--Smart TV; Größe", tokens);
  EXPECT_EQ(tokens, (std::vector<std::string>{"samsung", "qe55q7f", "55", "4k", "black", "smart", "tv", "größe"}));
  std::vector<std::string> values;
  SplitValues(" a || b |c ", "|", values);
  EXPECT_EQ(values, (std::vector<std::string>{"a", "b", "c"}));
  // The hash is fixed: changing it would silently change the ids of every prepared file.
  EXPECT_EQ(StableHash(""), Mix64(0xcbf29ce484222325ULL ^ Mix64(0)));
  EXPECT_NE(StableHash("a"), StableHash("b"));
  EXPECT_EQ(HashedId("C1=05db9164", 2), 1);
  EXPECT_EQ(SignedLog1p(-1.0), -std::log1p(1.0));
  EXPECT_EQ(ParseTime("1511544070").value(), 1511544070.0);
  EXPECT_EQ(ParseTime("1970-01-02").value(), 86400.0);
  EXPECT_EQ(ParseTime("2017-11-25 12:00:30").value(), 1511611230.0);
  EXPECT_FALSE(ParseTime("yesterday").has_value());
  EXPECT_FALSE(ParseTime("2017-13-01").has_value());
}

TEST(SchemaTest, ParseLabel) {
  const std::vector<std::pair<std::string, float>> good = {{"1", 1.0f},     {"0", 0.0f},   {" TRUE ", 1.0f},
                                                           {"false", 0.0f}, {"Yes", 1.0f}, {"NO", 0.0f},
                                                           {"0.25", 0.25f}, {"1e0", 1.0f}};
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
  for (const std::string text : {"0", "abc", "-", "none"}) EXPECT_FALSE(IsMissingValue(text)) << text;

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

// Rows prepared apart from the training data mean other things to the model: each way a column's
// encoding can differ is named, with the column.
TEST(SchemaTest, CheckEncodedAlikeNamesTheColumnThatDiffers) {
  const FeatureSchema model = PreparedSchema();
  EXPECT_TRUE(CheckEncodedAlike(model, model, true, "same.h5").ok());
  const auto message = [&](const FeatureSchema& data) {
    const Status s = CheckEncodedAlike(data, model, true, "other.h5");
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    return s.message();
  };
  FeatureSchema reordered = model;
  reordered.vocabularies[0] = {"Mar", "Feb"};
  EXPECT_NE(message(reordered).find("data file 'other.h5' was not encoded like the checkpoint's training data: column "
                                    "'Month' has another vocabulary (id 1 is 'Mar' there but 'Feb' in training"),
            std::string::npos)
      << message(reordered);
  FeatureSchema longer = model;
  longer.vocabularies[1].push_back("New_Visitor");
  longer.vocab_sizes[1] = 3;
  EXPECT_NE(
      message(longer).find("column 'VisitorType' has another vocabulary (2 values; the checkpoint's has 1 values)"),
      std::string::npos)
      << message(longer);
  FeatureSchema hashed = model;
  hashed.hash_buckets = {0, 64};
  EXPECT_NE(message(hashed).find("column 'VisitorType' is hashed into 64 ids there but 0 in training"),
            std::string::npos);
  FeatureSchema scaled = model;
  scaled.dense_stats[1].mean = 0.5;
  EXPECT_NE(message(scaled).find("column 'BounceRates in %' is filled or scaled differently"), std::string::npos);
  FeatureSchema regression = model;
  regression.label_type = "regression";
  EXPECT_NE(message(regression).find("column 'Revenue' is a regression label there but a binary label in training"),
            std::string::npos);
  EXPECT_TRUE(CheckEncodedAlike(regression, model, /*with_labels=*/false, "rows.h5").ok()) << "predict reads no labels";
  // A file with only some of the columns (prepared without roles): what it has is compared.
  FeatureSchema plain = model.ColumnsOnly();
  EXPECT_TRUE(CheckEncodedAlike(plain, model, true, "plain.h5").ok());
}

}  // namespace
}  // namespace ectrain::data
