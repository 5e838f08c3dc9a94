// `ectrain eval`, `predict` and `recommend`: a model restored from a checkpoint, rows read or
// encoded as its training data was, and what the model says of them printed.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>

#include "ckpt/restore.h"
#include "cli/commands.h"
#include "core/log.h"
#include "data/csv.h"
#include "data/table_io.h"
#include "eval/evaluator.h"
#include "eval/recommend.h"

namespace ectrain::cli {
namespace {

// "a=1,b=x" -> {a: 1, b: x}
StatusOr<std::map<std::string, std::string>> ParseRow(const std::string& text) {
  std::map<std::string, std::string> row;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    size_t eq = item.find('=');
    if (eq == std::string::npos) {
      return InvalidArgument("--row: '" + item + "' is not column=value");
    }
    row[item.substr(0, eq)] = item.substr(eq + 1);
    start = end + 1;
  }
  return row;
}

// Predict's --row: the row's probability (or prediction, or most likely classes), in words.
void PrintOneRow(const ckpt::RestoredModel& restored, const std::vector<float>& outputs) {
  const model::Model& m = *restored.model;
  const std::vector<double> p = m.Probabilities(outputs);
  switch (m.task()) {
    case model::Task::kBinary:
      std::printf("probability %.4f: %s likely\n", p[0], p[0] > 0.5 ? restored.schema.label.c_str() : "not");
      break;
    case model::Task::kRegression:
      std::printf("prediction %.4f\n", p[0]);
      break;
    case model::Task::kMulticlass: {
      // The classes by probability, most likely first (at most 3).
      std::vector<size_t> order(p.size());
      std::iota(order.begin(), order.end(), 0);
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
      const auto& names = restored.schema.label_classes;
      for (size_t i = 0; i < std::min<size_t>(3, order.size()); ++i) {
        const size_t c = order[i];
        const std::string name = c < names.size() ? names[c] : std::to_string(c);
        std::printf("%s%s %.4f\n", i == 0 ? "class " : "  then ", name.c_str(), p[c]);
      }
      break;
    }
  }
}

// The index of `column` among the schema's categorical columns.
int CategoricalIndex(const data::FeatureSchema& schema, const std::string& column) {
  return static_cast<int>(std::find(schema.categorical.begin(), schema.categorical.end(), column) -
                          schema.categorical.begin());
}

// The user (or item) column: the flag, else the checkpoint's data.user_column, else mf's
// model.user_field, else the usual name.
std::string RoleColumn(const std::string& flag, const std::string& data_key, const std::string& model_key,
                       const std::string& usual) {
  for (const std::string* name : {&flag, &data_key, &model_key}) {
    if (!name->empty()) return *name;
  }
  return usual;
}

// The raw user ids of --user or of the --users file.
StatusOr<std::vector<std::string>> RawUsers(const RecommendArgs& args) {
  if (!args.user.empty()) return std::vector<std::string>{args.user};
  std::ifstream in(args.users);
  if (!in) return NotFound("--users: cannot read " + args.users);
  std::vector<std::string> users;
  for (std::string line; std::getline(in, line);) {
    const std::string id(data::TrimSpaces(line));
    if (!id.empty()) users.push_back(id);
  }
  return users;
}

Status PrintRanking(const ckpt::RestoredModel& restored, const eval::Catalog& catalog, const RecommendArgs& args,
                    int user_field, int item_field) {
  ASSIGN_OR_RETURN(const data::Table test,
                   data::ReadPreparedRows(args.evaluate, restored.schema, *restored.schema_json, /*with_labels=*/true));
  ASSIGN_OR_RETURN(const eval::RankingReport report,
                   eval::EvaluateRanking(*restored.model, *restored.params, catalog, test, user_field, item_field,
                                         static_cast<int>(args.k), restored.config.eval.batch_size));
  std::printf(
      "ranking on %s: %lld users, every item a candidate except those each user has in training "
      "(%lld held-out items unknown to the catalogue count as misses)\n",
      args.evaluate.c_str(), static_cast<long long>(report.users), static_cast<long long>(report.unknown_items));
  std::printf("  model (%s):    %s\n", restored.config.model.type.c_str(), eval::FormatMetrics(report.model).c_str());
  std::printf("  most popular: %s\n", eval::FormatMetrics(report.popular).c_str());
  return Status::Ok();
}

}  // namespace

Status RunEval(const EvalArgs& args) {
  ASSIGN_OR_RETURN(const ckpt::RestoredModel restored, ckpt::RestoreModel(args.checkpoint, args.overrides));
  const std::string path = args.data.empty() ? restored.config.data.test : args.data;
  ASSIGN_OR_RETURN(const data::Table table,
                   data::ReadPreparedRows(path, restored.schema, *restored.schema_json, /*with_labels=*/true));
  // As training evaluated it: held-out interactions as a ranking (eval.metrics).
  const data::DataOptions& d = restored.config.data;
  ASSIGN_OR_RETURN(const eval::MetricsChoice choice,
                   eval::ChooseMetrics(restored.config.eval.metrics, !d.user_column.empty() && !d.item_column.empty(),
                                       restored.model->task(), {&table}));
  if (choice.ranking) {
    ASSIGN_OR_RETURN(const eval::RankingEvaluation ranking,
                     eval::RankingEvaluation::Create(d.train, restored.schema, *restored.schema_json, d.user_column,
                                                     d.item_column, static_cast<int>(restored.config.eval.ranking_k)));
    ASSIGN_OR_RETURN(const eval::RankingReport report,
                     ranking.Evaluate(*restored.model, *restored.params, table, restored.config.eval.batch_size));
    std::printf("checkpoint %s on %s, ranked against the %lld items of %s: %s (most popular: %s)\n",
                restored.path.c_str(), path.c_str(), static_cast<long long>(ranking.catalog().num_items()),
                d.train.c_str(), eval::FormatMetrics(report.model).c_str(),
                eval::FormatMetrics(report.popular).c_str());
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(const eval::Metrics m,
                   eval::EvaluateTable(*restored.model, *restored.params, table, restored.config.eval.batch_size));
  std::printf("checkpoint %s on %s: %s\n", restored.path.c_str(), path.c_str(), eval::FormatMetrics(m).c_str());
  return Status::Ok();
}

Status RunPredict(const PredictArgs& args) {
  ASSIGN_OR_RETURN(const ckpt::RestoredModel restored, ckpt::RestoreModel(args.checkpoint, {}));
  if (args.top_k > 0 && restored.model->task() != model::Task::kMulticlass) {
    return InvalidArgument("--top-k: this checkpoint's model predicts one " +
                           std::string(model::TaskName(restored.model->task())) +
                           " value per row, not classes; leave --top-k out");
  }
  data::Table table;
  std::vector<std::string> ids;
  if (!args.row.empty()) {
    ASSIGN_OR_RETURN(auto row, ParseRow(args.row));
    StatusOr<data::Table> encoded = data::EncodeRawRow(restored.schema, row);
    if (!encoded.ok()) return Status(encoded.status().code(), "--row: " + encoded.status().message());
    table = std::move(*encoded);
  } else if (args.input.ends_with(".csv")) {
    ASSIGN_OR_RETURN(table, data::ReadRawCsv(restored.schema, args.input, args.id_column, &ids));
  } else {
    ASSIGN_OR_RETURN(table, data::ReadPreparedRows(args.input, restored.schema, *restored.schema_json,
                                                   /*with_labels=*/false));
    if (!args.id_column.empty()) {
      StatusOr<std::vector<std::string>> read = data::ReadIdColumn(args.input, args.id_column, table.num_rows);
      // A column the file lacks is a usage error (exit 2), naming the flag.
      if (!read.ok()) {
        return Status(
            read.status().code() == StatusCode::kNotFound ? StatusCode::kInvalidArgument : read.status().code(),
            "--id-column: " + read.status().message());
      }
      ids = std::move(*read);
    }
  }
  ASSIGN_OR_RETURN(const std::vector<float> outputs,
                   eval::ScoreTable(*restored.model, *restored.params, table, restored.config.eval.batch_size));
  if (!args.row.empty()) {
    PrintOneRow(restored, outputs);
    return Status::Ok();
  }
  const eval::PredictionColumns columns{args.id_column, &ids, args.top_k};
  RETURN_IF_ERROR(
      eval::WritePredictions(*restored.model, outputs, restored.schema.label_classes, args.output, columns));
  if (!args.output.empty() && args.output != "-") {
    std::fprintf(stderr, "wrote %lld predictions to %s\n", static_cast<long long>(table.num_rows), args.output.c_str());
  }
  return Status::Ok();
}

Status RunRecommend(const RecommendArgs& args) {
  ASSIGN_OR_RETURN(ckpt::RestoredModel restored, ckpt::RestoreModel(args.checkpoint, {}));
  const data::FeatureSchema& schema = restored.schema;
  if (restored.model->task() == model::Task::kMulticlass) {
    return InvalidArgument("recommend ranks items by one score; this checkpoint's model is a classifier");
  }
  const std::string user_column =
      RoleColumn(args.user_column, restored.config.data.user_column, restored.config.model.user_field, "user_id");
  const std::string item_column =
      RoleColumn(args.item_column, restored.config.data.item_column, restored.config.model.item_field, "item_id");
  const std::string train_path = args.train.empty() ? restored.config.data.train : args.train;
  std::vector<int32_t> sampled;
  ASSIGN_OR_RETURN(data::Table train_rows, data::ReadTrainingTable(train_path, schema, *restored.schema_json, sampled));
  ASSIGN_OR_RETURN(const eval::Catalog catalog,
                   eval::Catalog::Build(std::move(train_rows), schema, user_column, item_column, sampled));
  const int user_field = CategoricalIndex(schema, user_column), item_field = CategoricalIndex(schema, item_column);
  std::string item_features;
  for (const std::string& name : catalog.ItemFeatures(schema))
    item_features += (item_features.empty() ? "" : ", ") + name;
  std::fprintf(stderr, "catalogue: %lld items from %s; item features: %s\n",
               static_cast<long long>(catalog.num_items()), train_path.c_str(), item_features.c_str());
  if (!args.evaluate.empty()) return PrintRanking(restored, catalog, args, user_field, item_field);

  ASSIGN_OR_RETURN(const std::vector<std::string> users, RawUsers(args));
  std::ofstream file_out;
  if (!args.users.empty() && !args.output.empty() && args.output != "-") {
    file_out.open(args.output, std::ios::trunc);
    if (!file_out) return Internal("cannot write " + args.output + ": check the folder exists and is writable");
  }
  std::ostream& out = file_out.is_open() ? file_out : std::cout;
  if (!args.users.empty()) out << "user,rank,item,score\n";
  const eval::UserIds user_ids(schema, user_field);
  data::Table candidates;
  for (const std::string& raw_user : users) {
    ASSIGN_OR_RETURN(const int32_t user, user_ids.Of(raw_user));
    if (!catalog.HasUser(user)) {
      if (!args.user.empty()) {
        return NotFound("user '" + raw_user + "' has no rows in the training data (" + train_path +
                        "), so there is no profile to recommend from");
      }
      LOG_WARNING << "user '" << raw_user << "' has no rows in the training data: skipped";
      continue;
    }
    ASSIGN_OR_RETURN(const std::vector<eval::Recommendation> top,
                     eval::RecommendItems(*restored.model, *restored.params, catalog, user, args.k, args.include_seen,
                                          restored.config.eval.batch_size, candidates));
    char score[32];
    for (size_t rank = 0; rank < top.size(); ++rank) {
      const std::string item = eval::RawName(schema, item_field, top[rank].item);
      std::snprintf(score, sizeof(score), "%.6g", top[rank].score);
      if (!args.users.empty()) {
        out << raw_user << "," << rank + 1 << "," << item << "," << score << "\n";
      } else {
        out << rank + 1 << ". " << item_column << " " << item << "  score " << score << "\n";
      }
    }
  }
  out.flush();
  if (!out) return Internal("writing recommendations failed");
  return Status::Ok();
}

}  // namespace ectrain::cli
