#include "eval/recommend.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <numeric>

#include "data/table_io.h"
#include "eval/evaluator.h"

namespace ectrain::eval {
namespace {

int FieldIndex(const std::vector<std::string>& names, const std::string& name) {
  auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

std::vector<int32_t> BagOf(const data::Table& t, int bag, int64_t row) {
  const auto& offsets = t.bags.offsets(bag);
  const auto& values = t.bags.values(bag);
  return std::vector<int32_t>(values.begin() + offsets[row], values.begin() + offsets[row + 1]);
}

}  // namespace

StatusOr<Catalog> Catalog::Build(data::Table train, const data::FeatureSchema& schema, const std::string& user_column,
                                 const std::string& item_column, const std::vector<int32_t>& sampled) {
  Catalog c;
  c.user_field_ = FieldIndex(schema.categorical, user_column);
  c.item_field_ = FieldIndex(schema.categorical, item_column);
  if (c.user_field_ < 0 || c.item_field_ < 0 || c.user_field_ == c.item_field_) {
    return InvalidArgument("recommend: the user column ('" + user_column + "') and the item column ('" + item_column +
                           "') must be two of the model's categorical columns (data.categorical); use --user-column "
                           "and --item-column");
  }
  const int nd = train.num_dense, nc = train.num_categorical, nb = train.bags.size();
  const int64_t rows = train.num_rows;
  // With a vocabulary (data from `ectrain prepare`), id 0 is "unknown": not an item to recommend.
  const bool zero_is_unknown = static_cast<size_t>(c.item_field_) < schema.vocabularies.size();
  c.item_dense_.assign(static_cast<size_t>(nd), true);
  c.item_categorical_.assign(static_cast<size_t>(nc), true);
  c.item_bags_.assign(static_cast<size_t>(nb), true);
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t item = train.categorical[r * nc + c.item_field_];
    const int32_t user = train.categorical[r * nc + c.user_field_];
    if (item == 0 && zero_is_unknown) continue;
    auto [it, first] = c.item_index_.try_emplace(item, static_cast<int64_t>(c.items_.size()));
    if (first) {
      c.items_.push_back(item);
      c.item_row_.push_back(r);
      c.popularity_.push_back(0);
    } else {
      // A feature that differs between two rows of one item is not an item feature.
      const int64_t first_row = c.item_row_[it->second];
      for (int d = 0; d < nd; ++d) {
        if (train.dense[r * nd + d] != train.dense[first_row * nd + d]) c.item_dense_[d] = false;
      }
      for (int k = 0; k < nc; ++k) {
        if (train.categorical[r * nc + k] != train.categorical[first_row * nc + k]) c.item_categorical_[k] = false;
      }
      for (int b = 0; b < nb; ++b) {
        if (c.item_bags_[b] && BagOf(train, b, r) != BagOf(train, b, first_row)) c.item_bags_[b] = false;
      }
    }
    if (!train.labels.empty() && train.labels[r] > 0.5f) ++c.popularity_[it->second];
    c.user_row_.try_emplace(user, r);
    const bool interaction = sampled.empty() || sampled[static_cast<size_t>(r)] == 0;
    if (interaction) c.seen_[user].push_back(it->second);
  }
  c.item_categorical_[c.user_field_] = false;
  c.item_categorical_[c.item_field_] = true;
  for (auto& [user, items] : c.seen_) {
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
  }
  c.train_ = std::move(train);
  c.train_.bags.Link();
  return c;
}

const std::vector<int64_t>& Catalog::Seen(int32_t user) const {
  static const std::vector<int64_t> none;
  auto it = seen_.find(user);
  return it == seen_.end() ? none : it->second;
}

int64_t Catalog::IndexOf(int32_t item) const {
  auto it = item_index_.find(item);
  return it == item_index_.end() ? -1 : it->second;
}

std::vector<std::string> Catalog::ItemFeatures(const data::FeatureSchema& schema) const {
  std::vector<std::string> names;
  for (size_t d = 0; d < item_dense_.size(); ++d) {
    if (item_dense_[d]) names.push_back(schema.dense[d]);
  }
  for (size_t k = 0; k < item_categorical_.size(); ++k) {
    if (item_categorical_[k]) names.push_back(schema.categorical[k]);
  }
  for (size_t b = 0; b < item_bags_.size(); ++b) {
    if (item_bags_[b]) names.push_back(schema.multi_valued[b]);
  }
  return names;
}

Status Catalog::Score(model::Model& model, const ParamArena& params, int32_t user, int64_t batch_size,
                      data::Table& candidates, std::vector<float>& scores) const {
  const int nd = train_.num_dense, nc = train_.num_categorical, nb = train_.bags.size();
  const int64_t n = num_items();
  const int64_t user_row = user_row_.at(user);
  candidates.num_rows = n;
  candidates.num_dense = nd;
  candidates.num_categorical = nc;
  candidates.dense.resize(static_cast<size_t>(n * nd));
  candidates.categorical.resize(static_cast<size_t>(n * nc));
  candidates.labels.clear();
  candidates.bags.Resize(nb);
  for (int b = 0; b < nb; ++b) {
    candidates.bags.offsets(b).assign(1, 0);
    candidates.bags.values(b).clear();
  }
  for (int64_t i = 0; i < n; ++i) {
    const int64_t item_row = item_row_[i];
    for (int d = 0; d < nd; ++d) {
      candidates.dense[i * nd + d] = train_.dense[(item_dense_[d] ? item_row : user_row) * nd + d];
    }
    for (int k = 0; k < nc; ++k) {
      candidates.categorical[i * nc + k] = train_.categorical[(item_categorical_[k] ? item_row : user_row) * nc + k];
    }
    for (int b = 0; b < nb; ++b) {
      const int64_t from = item_bags_[b] ? item_row : user_row;
      const auto& offsets = train_.bags.offsets(b);
      const auto& values = train_.bags.values(b);
      auto& out = candidates.bags.values(b);
      out.insert(out.end(), values.begin() + offsets[from], values.begin() + offsets[from + 1]);
      candidates.bags.offsets(b).push_back(static_cast<int64_t>(out.size()));
    }
  }
  candidates.bags.Link();
  ASSIGN_OR_RETURN(const std::vector<float> outputs, ScoreTable(model, params, candidates, batch_size));
  // A multiclass model has no single score per item; recommend needs binary or regression.
  scores.assign(outputs.begin(), outputs.begin() + n);
  return Status::Ok();
}

std::vector<int64_t> TopK(const std::vector<float>& scores, int64_t k, const std::vector<int64_t>& exclude) {
  std::vector<int64_t> order;
  order.reserve(scores.size());
  for (int64_t i = 0; i < static_cast<int64_t>(scores.size()); ++i) {
    if (!std::binary_search(exclude.begin(), exclude.end(), i)) order.push_back(i);
  }
  k = std::min<int64_t>(k, static_cast<int64_t>(order.size()));
  // Ties rank by catalogue index, as RankingMetrics does.
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](int64_t a, int64_t b) { return scores[a] > scores[b] || (scores[a] == scores[b] && a < b); });
  order.resize(static_cast<size_t>(k));
  return order;
}

StatusOr<RankingReport> EvaluateRanking(model::Model& model, const ParamArena& params, const Catalog& catalog,
                                        const data::Table& test, int user_field, int item_field, int k,
                                        int64_t batch_size) {
  // Each user's held-out positives, in order of first appearance.
  std::map<int32_t, std::vector<int32_t>> held_out;
  const int nc = test.num_categorical;
  for (int64_t r = 0; r < test.num_rows; ++r) {
    if (!test.labels.empty() && test.labels[r] <= 0.5f) continue;
    held_out[test.categorical[r * nc + user_field]].push_back(test.categorical[r * nc + item_field]);
  }
  RankingReport report;
  RankingMetrics model_ranking(k), popular_ranking(k);
  data::Table candidates;
  std::vector<float> scores, kept_scores, kept_popularity;
  std::vector<int64_t> positives;
  const std::vector<float>& popularity = catalog.popularity();
  for (const auto& [user, items] : held_out) {
    if (!catalog.HasUser(user)) continue;  // no profile to score with
    RETURN_IF_ERROR(catalog.Score(model, params, user, batch_size, candidates, scores));
    // Candidates: every catalogue item but those seen in training, held-out ones kept.
    std::vector<int64_t> held_indices;
    for (int32_t item : items) {
      const int64_t index = catalog.IndexOf(item);
      if (index < 0) {
        ++report.unknown_items;
      } else {
        held_indices.push_back(index);
      }
    }
    std::sort(held_indices.begin(), held_indices.end());
    kept_scores.clear();
    kept_popularity.clear();
    positives.clear();
    const std::vector<int64_t>& seen = catalog.Seen(user);
    for (int64_t i = 0; i < catalog.num_items(); ++i) {
      const bool held = std::binary_search(held_indices.begin(), held_indices.end(), i);
      if (!held && std::binary_search(seen.begin(), seen.end(), i)) continue;
      if (held) positives.push_back(static_cast<int64_t>(kept_scores.size()));
      kept_scores.push_back(scores[i]);
      kept_popularity.push_back(popularity[i]);
    }
    // An unknown held-out item is a miss: a positive that no candidate list contains.
    std::vector<int64_t> all_positives = positives;
    const int64_t unknown = static_cast<int64_t>(items.size() - held_indices.size());
    for (int64_t u = 0; u < unknown; ++u) {
      kept_scores.push_back(-1e30f);
      kept_popularity.push_back(-1e30f);
      all_positives.push_back(static_cast<int64_t>(kept_scores.size()) - 1);
    }
    model_ranking.AddUser(kept_scores, all_positives);
    popular_ranking.AddUser(kept_popularity, all_positives);
    ++report.users;
  }
  report.model = model_ranking.Result();
  report.popular = popular_ranking.Result();
  return report;
}

StatusOr<MetricsChoice> ChooseMetrics(const std::string& setting, bool roles_named, model::Task task,
                                      const std::vector<const data::Table*>& sets) {
  bool all_positive = true;
  for (const data::Table* set : sets) {
    all_positive =
        all_positive && std::all_of(set->labels.begin(), set->labels.end(), [](float v) { return v > 0.5f; });
  }
  const bool binary = task == model::Task::kBinary;
  if (setting == "ranking") {
    if (task == model::Task::kMulticlass) {
      return InvalidArgument("eval.metrics: ranking ranks items by one score; a classifier has one per class");
    }
    return MetricsChoice{true, "eval.metrics is ranking", false};
  }
  if (setting == "per_row") return MetricsChoice{false, "eval.metrics is per_row", binary && all_positive};
  if (!binary) return MetricsChoice{false, "eval.metrics auto: the model's labels are not 0/1", false};
  if (!all_positive) {
    return MetricsChoice{false, "eval.metrics auto: the evaluated rows hold negatives (label 0)", false};
  }
  if (!roles_named) {
    return MetricsChoice{false, "eval.metrics auto: data.user_column and data.item_column are not both named", true};
  }
  return MetricsChoice{true,
                       "eval.metrics auto: every evaluated row is a positive (held-out interactions) and "
                       "data.user_column and data.item_column are named",
                       false};
}

StatusOr<RankingEvaluation> RankingEvaluation::Create(const std::string& train, const data::FeatureSchema& schema,
                                                      const std::string& schema_json, const std::string& user_column,
                                                      const std::string& item_column, int k) {
  RankingEvaluation r;
  std::vector<int32_t> sampled;
  ASSIGN_OR_RETURN(data::Table rows, data::ReadTrainingTable(train, schema, schema_json, sampled));
  ASSIGN_OR_RETURN(r.catalog_, Catalog::Build(std::move(rows), schema, user_column, item_column, sampled));
  r.user_field_ = FieldIndex(schema.categorical, user_column);
  r.item_field_ = FieldIndex(schema.categorical, item_column);
  r.k_ = k;
  return r;
}

StatusOr<RankingReport> RankingEvaluation::Evaluate(model::Model& model, const ParamArena& params,
                                                    const data::Table& rows, int64_t batch_size) const {
  return EvaluateRanking(model, params, catalog_, rows, user_field_, item_field_, k_, batch_size);
}

UserIds::UserIds(const data::FeatureSchema& schema, int user_field) : schema_(&schema), user_field_(user_field) {
  std::vector<std::string> raw_columns = schema.dense;
  raw_columns.insert(raw_columns.end(), schema.categorical.begin(), schema.categorical.end());
  raw_columns.insert(raw_columns.end(), schema.multi_valued.begin(), schema.multi_valued.end());
  StatusOr<data::RowEncoder> encoder = data::RowEncoder::Create(schema, raw_columns);
  if (encoder.ok()) encoder_.emplace(std::move(*encoder));
}

StatusOr<int32_t> UserIds::Of(const std::string& raw_user) const {
  if (encoder_) return encoder_->CategoricalId(static_cast<size_t>(user_field_), raw_user);
  char* end = nullptr;
  const long id = std::strtol(raw_user.c_str(), &end, 10);  // files without vocabularies hold ids
  if (raw_user.empty() || end != raw_user.c_str() + raw_user.size()) {
    return InvalidArgument("user '" + raw_user + "': this checkpoint's data has no vocabulary for '" +
                           schema_->categorical[static_cast<size_t>(user_field_)] + "', so give the numeric id");
  }
  return static_cast<int32_t>(id);
}

std::string RawName(const data::FeatureSchema& schema, int field, int32_t id) {
  const auto c = static_cast<size_t>(field);
  if (c < schema.vocabularies.size() && id >= 1 && static_cast<size_t>(id) <= schema.vocabularies[c].size()) {
    return schema.vocabularies[c][static_cast<size_t>(id - 1)];
  }
  return "#" + std::to_string(id);
}

StatusOr<std::vector<Recommendation>> RecommendItems(model::Model& model, const ParamArena& params,
                                                     const Catalog& catalog, int32_t user, int64_t k, bool include_seen,
                                                     int64_t batch_size, data::Table& candidates) {
  std::vector<float> scores;
  RETURN_IF_ERROR(catalog.Score(model, params, user, batch_size, candidates, scores));
  static const std::vector<int64_t> kNone;
  const std::vector<int64_t> top = TopK(scores, k, include_seen ? kNone : catalog.Seen(user));
  std::vector<float> top_scores;
  for (const int64_t index : top) top_scores.push_back(scores[static_cast<size_t>(index)]);
  const std::vector<double> shown = model.Probabilities(top_scores);
  std::vector<Recommendation> out;
  for (size_t i = 0; i < top.size(); ++i) out.push_back({catalog.item_id(top[i]), shown[i]});
  return out;
}

}  // namespace ectrain::eval
