// Recommending with a trained model: score every item of the catalogue for a user and rank them.
//
// The catalogue and the users' profiles come from the training data. A feature whose value is
// the same in every training row of an item is an item feature (its id, genres, release year);
// every other feature is a user feature, taken from the user's first training row (its id, age,
// gender, occupation). A candidate row for (user, item) is the user's row with the item's
// features put in, so any model (mlp, two_tower, mf, ...) scores it as it scored training rows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/param_arena.h"
#include "core/status.h"
#include "data/column_file.h"
#include "data/schema.h"
#include "eval/metrics.h"
#include "model/model.h"

namespace ectrain::eval {

class Catalog {
 public:
  // `train` holds the training rows (with labels) of `schema`; user_column and item_column are
  // categorical columns of it. Errors name the key (recommend's --user-column/--item-column).
  // `sampled` (empty, or one mark per row) flags rows that are sampled negatives, not interactions.
  static StatusOr<Catalog> Build(data::Table train, const data::FeatureSchema& schema, const std::string& user_column,
                                 const std::string& item_column, const std::vector<int32_t>& sampled = {});

  int64_t num_items() const { return static_cast<int64_t>(items_.size()); }
  int32_t item_id(int64_t index) const { return items_[index]; }  // the item column's id
  bool HasUser(int32_t user) const { return user_row_.count(user) > 0; }
  // Items the user has in the training data (as catalogue indices, sorted).
  const std::vector<int64_t>& Seen(int32_t user) const;
  // Catalogue index of an item id, or -1 when the item never appears in training.
  int64_t IndexOf(int32_t item) const;
  // Training rows with a positive label per catalogue item: the most-popular baseline's score.
  const std::vector<float>& popularity() const { return popularity_; }
  // Names of the features taken from the item (for the log).
  std::vector<std::string> ItemFeatures(const data::FeatureSchema& schema) const;

  // Scores every catalogue item for `user` with `model` (binary logits, or predictions) into
  // `scores` (num_items()). `candidates` is scratch reused between calls. Non-finite scores are
  // an error (see ScoreTable).
  Status Score(model::Model& model, const ParamArena& params, int32_t user, int64_t batch_size, data::Table& candidates,
               std::vector<float>& scores) const;

 private:
  data::Table train_;
  int user_field_ = 0, item_field_ = 0;  // categorical column indices
  std::vector<bool> item_dense_, item_categorical_, item_bags_;
  std::vector<int32_t> items_;     // catalogue index -> item id
  std::vector<int64_t> item_row_;  // catalogue index -> a training row with its features
  std::unordered_map<int32_t, int64_t> item_index_;
  std::unordered_map<int32_t, int64_t> user_row_;  // user id -> its first training row
  std::unordered_map<int32_t, std::vector<int64_t>> seen_;
  std::vector<float> popularity_;
};

// The top `k` catalogue indices by score, best first; those in `exclude` (sorted) are skipped.
std::vector<int64_t> TopK(const std::vector<float>& scores, int64_t k, const std::vector<int64_t>& exclude);

// Users' ids in the user column (categorical column `user_field`) from the raw ids a person types,
// as prepare encoded them (vocabulary or hashing), or the number itself for data without
// preprocessing. Holds a pointer to `schema`, which must outlive it.
class UserIds {
 public:
  UserIds(const data::FeatureSchema& schema, int user_field);
  StatusOr<int32_t> Of(const std::string& raw_user) const;

 private:
  const data::FeatureSchema* schema_;
  int user_field_;
  std::optional<data::RowEncoder> encoder_;
};

// The raw name of id `id` of categorical column `field` (its vocabulary entry, else "#id").
std::string RawName(const data::FeatureSchema& schema, int field, int32_t id);

// The top `k` items for `user` (who must be in the catalogue), best first, with the score a user
// reads (a probability for binary models, the prediction for regression); the items the user has
// in training are left out unless `include_seen`. `candidates` is scratch reused between calls.
struct Recommendation {
  int32_t item = 0;  // the item column's id
  double score = 0;
};
StatusOr<std::vector<Recommendation>> RecommendItems(model::Model& model, const ParamArena& params,
                                                     const Catalog& catalog, int32_t user, int64_t k, bool include_seen,
                                                     int64_t batch_size, data::Table& candidates);

// Ranking quality on held-out interactions: for every user with positive rows in `test`, all
// catalogue items are candidates except those the user has in training (the held-out item is
// kept); RankingMetrics at k for the model and, scored the same way, for the most-popular
// baseline. Test items unknown to the catalogue count as misses.
struct RankingReport {
  Metrics model;
  Metrics popular;
  int64_t users = 0;
  int64_t unknown_items = 0;
};
StatusOr<RankingReport> EvaluateRanking(model::Model& model, const ParamArena& params, const Catalog& catalog,
                                        const data::Table& test, int user_field, int item_field, int k,
                                        int64_t batch_size);

// What evaluations report (eval.metrics: "auto", "per_row" or "ranking") for a model and the
// rows it is evaluated on (`sets`). "auto" is a ranking when the user and item columns are named,
// the model's labels are 0/1 and every row of every set is a positive: held-out interactions, on
// which per-row metrics such as auc are undefined. `reason` says why, for the log and errors;
// `per_row_undefined`: per_row was chosen though every row is a positive (worth a warning).
struct MetricsChoice {
  bool ranking = false;
  std::string reason;
  bool per_row_undefined = false;
};
StatusOr<MetricsChoice> ChooseMetrics(const std::string& setting, bool roles_named, model::Task task,
                                      const std::vector<const data::Table*>& sets);

// A ranking evaluation as `recommend --evaluate` makes it (EvaluateRanking at k), with the catalogue
// built once from the training rows (every row of data.train on this process: memory of the
// training set), for training's evaluations. Value type.
class RankingEvaluation {
 public:
  static StatusOr<RankingEvaluation> Create(const std::string& train, const data::FeatureSchema& schema,
                                            const std::string& schema_json, const std::string& user_column,
                                            const std::string& item_column, int k);
  StatusOr<RankingReport> Evaluate(model::Model& model, const ParamArena& params, const data::Table& rows,
                                   int64_t batch_size) const;
  const Catalog& catalog() const { return catalog_; }

 private:
  Catalog catalog_;
  int user_field_ = 0, item_field_ = 0, k_ = 10;
};

}  // namespace ectrain::eval
