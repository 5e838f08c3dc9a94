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

// Users and items, named once in data.
const char* kRoles = R"(
data:
  train: t.h5
  test: e.h5
  validation: v.h5
  label: clicked
  categorical: [user, item, genre]
  user_column: user
  item_column: item
)";

TEST(Config, DataRolesMustBeTwoCategoricalColumns) {
  auto config = ParseConfig(kRoles, {}, "test.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->data.user_column, "user");
  EXPECT_EQ(config->data.item_column, "item");
  std::string message = ErrorOf(kRoles, {"data.user_column=age"});
  EXPECT_NE(message.find("data.user_column: column 'age' is not among data.categorical"), std::string::npos) << message;
  message = ErrorOf(kRoles, {"data.dense=[price]", "data.item_column=price"});
  EXPECT_NE(message.find("data.item_column: column 'price' is not among data.categorical"), std::string::npos)
      << message;
  message = ErrorOf(kRoles, {"data.item_column=user"});
  EXPECT_NE(message.find("data.item_column: 'user' is also data.user_column"), std::string::npos) << message;
}

TEST(Config, MfTakesItsUserAndItemFromTheDataRoles) {
  auto config = ParseConfig(kRoles, {"model.type=mf"}, "test.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->model.user_field, "user");
  EXPECT_EQ(config->model.item_field, "item");
  // The model keys alone still work, and agreeing ones are no conflict (the resolved YAML has both).
  auto alone = ParseConfig(kRoles,
                           {"model.type=mf", "data.user_column=\"\"", "data.item_column=\"\"", "model.user_field=genre",
                            "model.item_field=item"},
                           "test.yaml");
  ASSERT_TRUE(alone.ok()) << alone.status().message();
  EXPECT_EQ(alone->model.user_field, "genre");
  auto again = ParseConfig(ToYaml(*config), {}, "resolved.yaml");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(ToYaml(*again), ToYaml(*config));
  const std::string message = ErrorOf(kRoles, {"model.type=mf", "model.user_field=genre"});
  EXPECT_NE(message.find("model.user_field is 'genre' but data.user_column is 'user'"), std::string::npos) << message;
  // Without either, mf says where to name them.
  EXPECT_NE(ErrorOf(kRoles, {"model.type=mf", "data.item_column=\"\""}).find("data.item_column"), std::string::npos);
}

TEST(Config, TwoTowerUserTowerDefaultsToTheUserColumn) {
  auto config = ParseConfig(kRoles, {"model.type=two_tower"}, "test.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->model.user_fields, (std::vector<std::string>{"user"}));
  EXPECT_TRUE(config->model.item_fields.empty());  // every other field
  auto given = ParseConfig(kRoles, {"model.type=two_tower", "model.user_fields=[user, genre]"}, "test.yaml");
  ASSERT_TRUE(given.ok()) << given.status().message();
  EXPECT_EQ(given->model.user_fields, (std::vector<std::string>{"user", "genre"}));
  // Other types leave the model keys alone.
  auto mlp = ParseConfig(kRoles, {}, "test.yaml");
  ASSERT_TRUE(mlp.ok());
  EXPECT_TRUE(mlp->model.user_field.empty() && mlp->model.user_fields.empty());
}

TEST(Config, PrepareTakesTheDataRolesAndRefusesOthers) {
  auto config = ParseConfig(kRoles, {}, "test.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->prepare.user_column, "user");
  EXPECT_EQ(config->prepare.item_columns, (std::vector<std::string>{"item"}));
  auto described = ParseConfig(kRoles, {"prepare.item_columns=[item, genre]", "prepare.user_column=user"}, "test.yaml");
  ASSERT_TRUE(described.ok()) << described.status().message();
  EXPECT_EQ(described->prepare.item_columns, (std::vector<std::string>{"item", "genre"}));
  std::string message = ErrorOf(kRoles, {"prepare.user_column=genre"});
  EXPECT_NE(message.find("prepare.user_column is 'genre' but data.user_column is 'user'"), std::string::npos)
      << message;
  message = ErrorOf(kRoles, {"prepare.item_columns=[genre, item]"});
  EXPECT_NE(message.find("prepare.item_columns[0] is 'genre' but data.item_column is 'item'"), std::string::npos)
      << message;
}

TEST(Config, RankingMetricsAreNamedAtRankingK) {
  auto config = ParseConfig(kRoles, {"checkpoint.keep_best=ndcg@10"}, "test.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->eval.metrics, "auto");
  EXPECT_EQ(config->eval.ranking_k, 10);
  EXPECT_TRUE(ParseConfig(kRoles, {"checkpoint.keep_best=hr@5", "eval.ranking_k=5"}, "test.yaml").ok());
  EXPECT_TRUE(ParseConfig(kRoles, {"checkpoint.keep_best=recall@10", "eval.metrics=ranking"}, "test.yaml").ok());
  EXPECT_TRUE(ParseConfig(kRoles, {"checkpoint.keep_best=recall"}, "test.yaml").ok());  // binary recall
  std::string message = ErrorOf(kRoles, {"checkpoint.keep_best=ndcg"});
  EXPECT_NE(message.find("as ndcg@10; name that"), std::string::npos) << message;
  message = ErrorOf(kRoles, {"checkpoint.keep_best=hr@10", "eval.ranking_k=20"});
  EXPECT_NE(message.find("eval.ranking_k 20, as hr@20"), std::string::npos) << message;
  message = ErrorOf(kRoles, {"checkpoint.keep_best=ndcg@10", "eval.metrics=per_row"});
  EXPECT_NE(message.find("is a ranking metric, and eval.metrics is per_row"), std::string::npos) << message;
  message = ErrorOf(kRoles, {"checkpoint.keep_best=ndcg@10", "data.item_column=\"\""});
  EXPECT_NE(message.find("needs data.user_column and data.item_column"), std::string::npos) << message;
  message = ErrorOf(kRoles, {"checkpoint.keep_best=auc", "eval.metrics=ranking"});
  EXPECT_NE(message.find("'auc' is not a ranking metric"), std::string::npos) << message;
  message = ErrorOf(kRoles, {"checkpoint.keep_best=aucc"});
  EXPECT_NE(message.find("'aucc' is not allowed; allowed: auc, log_loss"), std::string::npos) << message;
  message = ErrorOf(kRoles, {"eval.metrics=ranking", "data.user_column=\"\""});
  EXPECT_NE(message.find("eval.metrics: ranking needs data.user_column and data.item_column"), std::string::npos)
      << message;
  message = ErrorOf(kRoles, {"eval.metrics=ranks"});
  EXPECT_NE(message.find("allowed: auto, per_row, ranking"), std::string::npos) << message;
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

// Each key that applies only to some model types, optimizers or schedules, written where it does
// not apply: an error naming the key, the choice it needs and the choice made.
TEST(Config, KeysThatDoNotApplyToTheChosenTypeAreErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"model: {type: logistic, user_field: u}",
       "model.user_field (only for model.type mf; here model.type is "
       "logistic)"},
      {"model: {type: mlp, cross_layers: 3}", "model.cross_layers (only for model.type dcn; here model.type is mlp)"},
      {"model: {type: logistic, hidden_units: [8]}",
       "model.hidden_units (only for model.type mlp, wide_deep, "
       "deepfm, dcn, classifier; here model.type is logistic)"},
      {"model: {type: logistic, embedding_dim: 8}", "model.embedding_dim"},
      {"model: {type: mf, user_field: u, item_field: i, dropout: 0.1}", "model.dropout"},
      {"model: {type: mlp, tower_units: [8]}", "model.tower_units (only for model.type two_tower"},
      {"model: {type: mlp, user_fields: [u]}", "model.user_fields"},
      {"model: {type: mlp, item_fields: [i]}", "model.item_fields"},
      {"model: {type: mlp, dense_tower: item}", "model.dense_tower"},
      {"model: {type: mlp, num_classes: 3}", "model.num_classes (only for model.type classifier"},
      {"model: {type: mlp, class_weights: [1, 2]}", "model.class_weights"},
      {"model: {type: deepfm, interaction: dot}",
       "model.interaction (only for model.type mlp, wide_deep, "
       "classifier; here model.type is deepfm)"},
      {"model: {type: dcn, interaction: concat}", "model.interaction"},
      {"optimizer: {type: sgd, beta1: 0.8}",
       "optimizer.beta1 (only for optimizer.type adam, adamw; here "
       "optimizer.type is sgd)"},
      {"optimizer: {type: sgd, beta2: 0.9}", "optimizer.beta2"},
      {"optimizer: {type: sgd, epsilon: 1e-6}", "optimizer.epsilon"},
      {"optimizer: {type: adam, momentum: 0.9}", "optimizer.momentum (only for optimizer.type sgd"},
      {"optimizer: {type: adam, nesterov: false}", "optimizer.nesterov"},
      {"optimizer: {type: adagrad, rho: 0.9}", "optimizer.rho (only for optimizer.type rmsprop"},
      {"optimizer: {decay_every_steps: 10}",
       "optimizer.decay_every_steps (only for optimizer.schedule step; "
       "here optimizer.schedule is constant)"},
      {"optimizer: {schedule: cosine, decay_factor: 0.5}", "optimizer.decay_factor"},
      {"optimizer: {schedule: step, min_learning_rate: 0.0001}",
       "optimizer.min_learning_rate (only for "
       "optimizer.schedule cosine"},
  };
  for (const auto& [yaml, expected] : cases) {
    const std::string message = ErrorOf(yaml);
    EXPECT_NE(message.find("test.yaml: a key that does not apply to this configuration: " + expected),
              std::string::npos)
        << yaml << "\n"
        << message;
    EXPECT_NE(message.find("Remove it, or change "), std::string::npos) << message;
  }
}

TEST(Config, KeysThatApplyToTheChosenTypeAreRead) {
  const char* yaml = R"(
model: {type: dcn, cross_layers: 3, hidden_units: [8], dropout: 0.1, layer_norm: true, embedding_dim: 4}
optimizer: {type: sgd, momentum: 0.9, nesterov: true, schedule: step, decay_every_steps: 10, decay_factor: 0.5}
)";
  auto config = ParseConfig(yaml, {}, "test.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->model.cross_layers, 3);
  EXPECT_TRUE(config->optimizer.nesterov);
  EXPECT_EQ(config->optimizer.decay_every_steps, 10);
  config = ParseConfig(
      "model: {type: two_tower, user_fields: [u], tower_units: [8], dense_tower: item}\n"
      "optimizer: {type: rmsprop, rho: 0.9, epsilon: 1e-6, schedule: cosine, min_learning_rate: 0}",
      {}, "test.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  config = ParseConfig(
      "model: {type: classifier, num_classes: 3, class_weights: [1, 2, 3], interaction: dot}\n"
      "optimizer: {type: adamw, beta1: 0.8, beta2: 0.99}",
      {}, "test.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
}

TEST(Config, EveryKeyThatDoesNotApplyIsNamedAtOnce) {
  const std::string message = ErrorOf(R"(
model: {type: mlp, cross_layers: 3, user_field: u, hidden_units: [8]}
optimizer: {type: sgd, beta1: 0.8, min_learning_rate: 0.0001}
)");
  EXPECT_NE(message.find("test.yaml: keys that do not apply to this configuration: "
                         "model.cross_layers (only for model.type dcn; here model.type is mlp), "
                         "model.user_field (only for model.type mf; here model.type is mlp), "
                         "optimizer.beta1 (only for optimizer.type adam, adamw; here optimizer.type is sgd), "
                         "optimizer.min_learning_rate (only for optimizer.schedule cosine, plateau; here "
                         "optimizer.schedule is constant). Remove them, or change model.type or optimizer.type or "
                         "optimizer.schedule"),
            std::string::npos)
      << message;
  EXPECT_EQ(message.find("hidden_units"), std::string::npos) << message;
}

TEST(Config, AnOverrideCountsAsWrittenAndChangesTheChoice) {
  const std::string message = ErrorOf(kValid, {"model.cross_layers=3"});
  EXPECT_NE(message.find("model.cross_layers (only for model.type dcn; here model.type is mlp)"), std::string::npos)
      << message;
  // kValid's optimizer is sgd: --set optimizer.type=adam makes nothing it wrote inapplicable.
  EXPECT_TRUE(ParseConfig(kValid, {"model.type=dcn", "model.cross_layers=3", "optimizer.type=adam"}, "t.yaml").ok());
  EXPECT_NE(ErrorOf("optimizer: {momentum: 0.9}", {"optimizer.type=adam"}).find("optimizer.momentum"),
            std::string::npos);
}

// Every combination of the choices: the defaults never count as written, and the resolved YAML
// (only the keys that apply) reads back, as a user's file, to itself.
TEST(Config, ResolvedYamlOfEveryChoiceReadsBack) {
  for (const char* type : {"logistic", "mlp", "wide_deep", "deepfm", "dcn", "two_tower", "mf", "classifier"}) {
    for (const char* optimizer : {"sgd", "rmsprop", "adagrad", "adam", "adamw"}) {
      for (const char* schedule : {"constant", "step", "cosine"}) {
        std::vector<std::string> sets = {std::string("model.type=") + type, std::string("optimizer.type=") + optimizer,
                                         std::string("optimizer.schedule=") + schedule};
        if (std::string(type) == "mf") sets.insert(sets.end(), {"model.user_field=k", "model.item_field=j"});
        if (std::string(type) == "two_tower") sets.push_back("model.user_fields=[k]");
        auto config = ParseConfig("", sets, "test.yaml");
        ASSERT_TRUE(config.ok()) << type << " " << optimizer << " " << schedule << ": " << config.status().message();
        const std::string yaml = ToYaml(*config);
        auto again = ParseConfig(yaml, {}, "resolved.yaml");
        ASSERT_TRUE(again.ok()) << again.status().message() << "\n" << yaml;
        EXPECT_EQ(ToYaml(*again), yaml);
      }
    }
  }
}

TEST(Config, ResolvedYamlHoldsOnlyTheKeysThatApply) {
  auto config = ParseConfig(kValid, {}, "test.yaml");  // mlp, sgd, constant
  ASSERT_TRUE(config.ok());
  const std::string yaml = ToYaml(*config);
  for (const char* key :
       {"hidden_units:", "embedding_dim:", "interaction:", "momentum:", "nesterov:", "weight_decay:"}) {
    EXPECT_NE(yaml.find(key), std::string::npos) << key << "\n" << yaml;
  }
  for (const char* key : {"cross_layers:", "tower_units:", "user_field:", "num_classes:", "beta1:", "epsilon:", "rho:",
                          "decay_factor:", "min_learning_rate:"}) {
    EXPECT_EQ(yaml.find(key), std::string::npos) << key << "\n" << yaml;
  }
}

// A checkpoint's stored copy (ConfigOrigin::kStored): its keys are ectrain's, not the user's; an
// override is the user's. Checkpoints written before the rule held every key.
TEST(Config, StoredConfigChecksOnlyTheOverrides) {
  const char* every_key = "model: {type: mlp, cross_layers: 2, user_field: \"\"}\noptimizer: {type: sgd, beta1: 0.9}\n";
  EXPECT_TRUE(ParseConfig(every_key, {"eval.batch_size=64"}, "ckpt (stored config)", ConfigOrigin::kStored).ok());
  auto result = ParseConfig(every_key, {"model.tower_units=[4]"}, "ckpt (stored config)", ConfigOrigin::kStored);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("model.tower_units (only for model.type two_tower"), std::string::npos)
      << result.status().message();
  EXPECT_EQ(result.status().message().find("cross_layers"), std::string::npos) << result.status().message();
}

// What the reader accepts as labels: auto follows the data (data.label_type auto, with the type's
// default where the data does not say); the classifier's auto and an explicit loss decide alone.
TEST(Config, LabelTypeFollowsTheLoss) {
  auto label_type = [](const std::vector<std::string>& sets) {
    auto config = ParseConfig("", sets, "test.yaml");
    EXPECT_TRUE(config.ok()) << config.status().message();
    return config.ok() ? config->data.label_type + "/" + config->data.label_type_otherwise : "";
  };
  EXPECT_EQ(label_type({"model.type=mlp"}), "auto/binary");
  EXPECT_EQ(label_type({"model.type=mf", "model.user_field=u", "model.item_field=i"}), "auto/regression");
  EXPECT_EQ(label_type({"model.type=classifier"}), "class/class");
  EXPECT_EQ(label_type({"model.type=mlp", "model.loss=mse"}), "regression/regression");
  EXPECT_EQ(label_type({"model.type=mf", "model.user_field=u", "model.item_field=i", "model.loss=bce"}),
            "binary/binary");
}

TEST(Config, PlateauNeedsTheMetricToWatch) {
  const std::string message = ErrorOf(kRoles, {"optimizer.schedule=plateau"});
  EXPECT_NE(message.find("optimizer.schedule: plateau needs checkpoint.keep_best"), std::string::npos) << message;
  auto config = ParseConfig(kRoles,
                            {"optimizer.schedule=plateau", "checkpoint.keep_best=log_loss",
                             "optimizer.plateau_patience=2", "optimizer.decay_factor=0.3"},
                            "test.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->optimizer.plateau_patience, 2);
  EXPECT_NE(ErrorOf(kRoles, {"optimizer.plateau_patience=2"}).find("optimizer.plateau_patience (only for"),
            std::string::npos);
}

TEST(Config, MissingFileIsAnError) {
  auto result = LoadConfig("/nonexistent/x.yaml", {});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("config file '/nonexistent/x.yaml' cannot be read"), std::string::npos);
}

}  // namespace
}  // namespace ectrain::config
