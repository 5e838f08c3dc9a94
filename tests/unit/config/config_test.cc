#include "config/config.h"

#include <gtest/gtest.h>

namespace ectrain::config {
namespace {

const char* kValid = R"(
data:
  train: t.h5
  test: e.h5
  label: y
  dense: [a, "b c"]
  categorical: [k]
train:
  epochs: 3
  global_batch_size: 128
optimizer:
  type: sgd
  learning_rate: 0.05
)";

std::string ErrorOf(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  auto result = ParseConfig(yaml, overrides, "test.yaml");
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  return result.status().message();
}

TEST(Config, ReadsValuesAndKeepsDefaults) {
  auto config = ParseConfig(kValid, {}, "test.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->data.dense, (std::vector<std::string>{"a", "b c"}));
  EXPECT_EQ(config->train.epochs, 3);
  EXPECT_EQ(config->train.global_batch_size, 128);
  EXPECT_EQ(config->optimizer.type, "sgd");
  EXPECT_DOUBLE_EQ(config->optimizer.learning_rate, 0.05);
  EXPECT_EQ(config->model.hidden_units, (std::vector<int64_t>{64, 32}));  // default
  EXPECT_TRUE(CheckTrainingInputs(*config, "test.yaml").ok());
}

TEST(Config, OverridesApplyBeforeValidation) {
  auto config =
      ParseConfig(kValid, {"train.epochs=7", "model.hidden_units=[16, 8, 4]", "data.label=clicked"}, "test.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->train.epochs, 7);
  EXPECT_EQ(config->model.hidden_units, (std::vector<int64_t>{16, 8, 4}));
  EXPECT_EQ(config->data.label, "clicked");
}

TEST(Config, UnknownKeyIsNamedWithTheKeysThatExist) {
  std::string message = ErrorOf("train:\n  epoch: 3\n");
  EXPECT_NE(message.find("unknown key 'train.epoch'"), std::string::npos) << message;
  EXPECT_NE(message.find("epochs"), std::string::npos) << message;
  message = ErrorOf("trian:\n  epochs: 3\n");
  EXPECT_NE(message.find("unknown section 'trian'"), std::string::npos) << message;
}

TEST(Config, WrongTypeNamesTheKey) {
  std::string message = ErrorOf("train:\n  epochs: ten\n");
  EXPECT_NE(message.find("train.epochs: expected an integer, got 'ten'"), std::string::npos) << message;
  message = ErrorOf("model:\n  hidden_units: 64\n");
  EXPECT_NE(message.find("model.hidden_units: expected a list"), std::string::npos) << message;
}

TEST(Config, OutOfRangeSaysWhatIsAllowed) {
  std::string message = ErrorOf("train:\n  global_batch_size: 0\n");
  EXPECT_NE(message.find("train.global_batch_size: 0 is out of range; allowed: 1 to"), std::string::npos) << message;
  message = ErrorOf("optimizer:\n  type: lamb\n");
  EXPECT_NE(message.find("allowed: sgd, rmsprop, adagrad, adam, adamw"), std::string::npos) << message;
  message = ErrorOf("optimizer:\n  learning_rate: 0\n");
  EXPECT_NE(message.find("optimizer.learning_rate"), std::string::npos) << message;
}

TEST(Config, MalformedYamlNamesTheLine) {
  std::string message = ErrorOf("train:\n  epochs: [1, 2\n");
  EXPECT_NE(message.find("test.yaml: not valid YAML (line"), std::string::npos) << message;
}

TEST(Config, BadOverrideIsAnError) {
  EXPECT_NE(ErrorOf(kValid, {"epochs=3"}).find("expected section.key=value"), std::string::npos);
  EXPECT_NE(ErrorOf(kValid, {"train.epoch=3"}).find("unknown key 'train.epoch'"), std::string::npos);
}

TEST(Config, ColumnWithTwoRolesIsAnError) {
  std::string message = ErrorOf(kValid, {"data.categorical=[a]"});
  EXPECT_NE(message.find("column 'a' is given more than one role"), std::string::npos) << message;
}

TEST(Config, MissingRequiredInputIsNamed) {
  auto config = ParseConfig("train:\n  epochs: 1\n", {}, "test.yaml");
  ASSERT_TRUE(config.ok());
  Status s = CheckTrainingInputs(*config, "test.yaml");
  EXPECT_NE(s.message().find("data.train is required"), std::string::npos) << s.message();
}

TEST(Config, ResolvedYamlReadsBackToTheSameConfig) {
  auto config = ParseConfig(kValid, {"optimizer.learning_rate=0.000123"}, "test.yaml");
  ASSERT_TRUE(config.ok());
  std::string yaml = ToYaml(*config);
  auto again = ParseConfig(yaml, {}, "resolved.yaml");
  ASSERT_TRUE(again.ok()) << again.status().message() << "\n" << yaml;
  EXPECT_EQ(ToYaml(*again), yaml);
  EXPECT_DOUBLE_EQ(again->optimizer.learning_rate, 0.000123);
  EXPECT_EQ(again->data.dense, config->data.dense);
}

TEST(Config, FieldRangesAreIndexPairsAndReadBack) {
  auto config = ParseConfig(kValid,
                            {"prepare.format=libsvm", "prepare.field_ranges={price: [1, 1], shop: [10, 19]}",
                             "prepare.leading_columns=[click, payprice]"},
                            "test.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->prepare.field_ranges.at("shop"), (std::pair<int64_t, int64_t>{10, 19}));
  EXPECT_EQ(config->prepare.leading_columns, (std::vector<std::string>{"click", "payprice"}));
  auto again = ParseConfig(ToYaml(*config), {}, "resolved.yaml");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->prepare.field_ranges, config->prepare.field_ranges);
  std::string message = ErrorOf(kValid, {"prepare.field_ranges={shop: [19, 10]}"});
  EXPECT_NE(message.find("prepare.field_ranges.shop: [19, 10] is not a range"), std::string::npos) << message;
  message = ErrorOf(kValid, {"prepare.field_ranges={shop: [1, 2, 3]}"});
  EXPECT_NE(message.find("prepare.field_ranges.shop: expected [first, last]"), std::string::npos) << message;
  message = ErrorOf(kValid, {"prepare.field_ranges={shop: [a, 2]}"});
  EXPECT_NE(message.find("prepare.field_ranges.shop[0]: expected an integer"), std::string::npos) << message;
}

TEST(Config, MissingFileIsAnError) {
  auto result = LoadConfig("/nonexistent/x.yaml", {});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("config file '/nonexistent/x.yaml' cannot be read"), std::string::npos);
}

}  // namespace
}  // namespace ectrain::config
