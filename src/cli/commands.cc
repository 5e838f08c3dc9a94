#include "cli/commands.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <iostream>
#include <fstream>
#include <optional>

#include "ckpt/checkpoint.h"
#include "comm/communicator.h"
#include "comm/in_process_communicator.h"
#include "comm/make_communicator.h"
#include "comm/no_gradient_exchange.h"
#include "config/config.h"
#include "core/log.h"
#include "data/csv.h"
#include "data/prepare.h"
#include "kernels/cpu_kernels.h"
#include "model/model.h"
#include "train/data_feed.h"
#include "train/evaluator.h"
#include "train/recommend.h"
#include "train/trainer.h"

namespace ectrain::cli {
namespace {

model::FeatureShape ShapeOf(const data::FeatureSchema& schema) {
  return {static_cast<int>(schema.dense.size()), schema.categorical, schema.vocab_sizes, schema.multi_valued,
          schema.multi_vocab_sizes};
}

comm::Backend BackendOf(const std::string& name) {
  if (name == "local") return comm::Backend::kLocal;
  if (name == "mpi") return comm::Backend::kMpi;
  return comm::Backend::kAuto;
}

// A trained model restored from a checkpoint, with the config and schema it was trained with.
struct LoadedModel {
  std::string path;
  RunConfig config;
  data::FeatureSchema schema;
  std::shared_ptr<const std::string> schema_json;  // as the checkpoint stores it
  std::unique_ptr<model::Model> model;
  std::unique_ptr<ParamArena> params;
};

// `checkpoint`: a file, a `latest` or `best` pointer, or a folder (its newest checkpoint that reads
// back whole and verified; the checkpoints passed over are named in warnings).
StatusOr<LoadedModel> LoadModel(const std::string& checkpoint, const std::vector<std::string>& overrides) {
  LoadedModel loaded;
  const auto load = [&](const std::string& path) -> Status {
    ASSIGN_OR_RETURN(ckpt::CheckpointInfo info, ckpt::ReadCheckpointInfo(path));
    ASSIGN_OR_RETURN(loaded.config, config::ParseConfig(info.config_yaml, overrides, path + " (stored config)"));
    ASSIGN_OR_RETURN(loaded.schema, data::FeatureSchema::FromJson(*info.schema_json, path));
    loaded.schema_json = info.schema_json;
    ASSIGN_OR_RETURN(loaded.model, model::CreateModel(loaded.config.model, ShapeOf(loaded.schema)));
    loaded.params = std::make_unique<ParamArena>(loaded.model->layout());
    return ckpt::LoadCheckpoint(path, loaded.model->layout(), *loaded.params, nullptr);
  };
  ASSIGN_OR_RETURN(const ckpt::ChosenCheckpoint chosen, ckpt::LoadNewestVerified(checkpoint, load));
  for (const std::string& note : chosen.notes) LOG_WARNING << note;
  loaded.path = chosen.path;
  return loaded;
}

// A prepared file's stored schema against the checkpoint's (data::CheckEncodedAlike). The text
// the same (the file the model was trained or tested on) is the common case and needs no parsing:
// with real vocabularies that parse costs a second and tens of MB.
Status CheckEncodedLikeCheckpoint(const data::ColumnFile& file, const LoadedModel& loaded, bool with_labels) {
  ASSIGN_OR_RETURN(const std::optional<std::string> text, file.StoredSchemaText());
  if (!text || (loaded.schema_json && *text == *loaded.schema_json)) return Status::Ok();
  ASSIGN_OR_RETURN(const data::FeatureSchema stored, data::ParseStoredSchema(*text, file.path()));
  return data::CheckEncodedAlike(stored, loaded.schema, with_labels, file.path());
}

// Every row of a prepared data file, for `model`: the file's stored schema must encode the
// columns as the checkpoint's training data did, and it must have rows.
StatusOr<data::Table> ReadRowsFor(const LoadedModel& loaded, const std::string& path, bool with_labels) {
  ASSIGN_OR_RETURN(data::ColumnFile file, data::ColumnFile::Open(path));
  RETURN_IF_ERROR(CheckEncodedLikeCheckpoint(file, loaded, with_labels));
  ASSIGN_OR_RETURN(data::Table table, file.ReadAll(loaded.schema, with_labels));
  if (table.num_rows == 0) return DataError("data file '" + path + "' has no rows: nothing to evaluate or score");
  return table;
}

// Appends one raw row, encoded as `prepare` encoded training (the same RowEncoder), to `table`.
Status AppendEncodedRow(const data::RowEncoder& encoder, const std::vector<std::string_view>& fields,
                        const std::string& row_name, data::Table& table, std::vector<std::vector<int32_t>>& bags) {
  table.dense.resize(table.dense.size() + table.num_dense);
  table.categorical.resize(table.categorical.size() + table.num_categorical);
  Status s = encoder.Encode(fields, table.dense.data() + table.num_rows * table.num_dense,
                            table.categorical.data() + table.num_rows * table.num_categorical, &bags);
  if (!s.ok()) return Status(s.code(), row_name + ": " + s.message());
  for (int b = 0; b < table.bags.size(); ++b) {
    std::vector<int32_t>& values = table.bags.values(b);
    values.insert(values.end(), bags[b].begin(), bags[b].end());
    table.bags.offsets(b).push_back(static_cast<int64_t>(values.size()));
  }
  ++table.num_rows;
  return Status::Ok();
}

StatusOr<data::Table> EmptyRawTable(const data::FeatureSchema& schema) {
  if (!schema.has_preprocessing()) {
    return InvalidArgument("this checkpoint's data was not made by `ectrain prepare`, so raw values cannot be "
                           "encoded; give prepared HDF5 rows with --input FILE.h5");
  }
  data::Table table;
  table.num_dense = static_cast<int>(schema.dense.size());
  table.num_categorical = static_cast<int>(schema.categorical.size());
  table.bags.Resize(static_cast<int>(schema.multi_valued.size()));
  for (int b = 0; b < table.bags.size(); ++b) table.bags.offsets(b).push_back(0);
  return table;
}

// One raw row (column name -> text).
StatusOr<data::Table> EncodeRawRow(const data::FeatureSchema& schema, const std::map<std::string, std::string>& row) {
  ASSIGN_OR_RETURN(data::Table table, EmptyRawTable(schema));
  std::vector<std::string> columns;
  std::vector<std::string_view> fields;
  for (const auto& [name, text] : row) {
    columns.push_back(name);
    fields.push_back(text);
  }
  StatusOr<data::RowEncoder> encoder = data::RowEncoder::Create(schema, columns);
  if (!encoder.ok()) return Status(encoder.status().code(), "--row: " + encoder.status().message());
  std::vector<std::vector<int32_t>> bags;
  RETURN_IF_ERROR(AppendEncodedRow(*encoder, fields, "--row", table, bags));
  table.bags.Link();
  return table;
}

// A raw CSV with a header, streamed and encoded row by row.
StatusOr<data::Table> ReadRawCsv(const data::FeatureSchema& schema, const std::string& path) {
  ASSIGN_OR_RETURN(data::Table table, EmptyRawTable(schema));
  ASSIGN_OR_RETURN(data::CsvReader reader, data::CsvReader::Open(path));
  StatusOr<data::RowEncoder> encoder = data::RowEncoder::Create(schema, reader.header());
  if (!encoder.ok()) return Status(encoder.status().code(), path + ": " + encoder.status().message());
  data::CsvRecord record;
  std::vector<std::string_view> fields;
  std::vector<std::vector<int32_t>> bags;
  while (true) {
    ASSIGN_OR_RETURN(const bool found, reader.Next(record));
    if (!found) break;
    fields.resize(record.size());
    for (size_t i = 0; i < record.size(); ++i) fields[i] = record[i];
    RETURN_IF_ERROR(AppendEncodedRow(*encoder, fields, path + ":" + std::to_string(record.line), table, bags));
  }
  if (table.num_rows == 0) return DataError("'" + path + "' has no rows after its header: nothing to score");
  table.bags.Link();
  return table;
}

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

// One rank's whole training run; the same for a process of its own and for a thread of --ranks N.
// `no_gradient_exchange`: bench/comm_ceiling.sh's timing-only run (comm/no_gradient_exchange.h).
Status TrainOnRank(const RunConfig& config, const TrainArgs& args, comm::Communicator& rank_comm,
                   bool no_gradient_exchange) {
  std::optional<comm::NoGradientExchangeCommunicator> timing_only;
  if (no_gradient_exchange) timing_only.emplace(rank_comm);
  comm::Communicator& comm = timing_only ? *timing_only : rank_comm;
  data::DataOptions data = config.data;
  data.ranks_on_host = comm.local_size();
  auto feed = train::DataFeed::Open(data, comm.size(), comm.rank(), config.train.global_batch_size,
                                    static_cast<uint64_t>(config.train.seed));
  RETURN_IF_ERROR(comm::AgreeOk(comm, feed.status(), "opening the training data"));
  StatusOr<std::unique_ptr<model::Model>> model = model::CreateModel(config.model, ShapeOf(feed->schema()));
  RETURN_IF_ERROR(comm::AgreeOk(comm, model.status(), "building the model"));
  train::Trainer trainer(config, comm, **model, *feed);
  const train::ResumeMode mode = args.fresh    ? train::ResumeMode::kFresh
                                 : args.resume ? train::ResumeMode::kRequired
                                               : train::ResumeMode::kAuto;
  ASSIGN_OR_RETURN(train::TrainResult result, trainer.Run(args.launch_time, mode));
  if (result.test_metrics && result.already_complete) {
    LOG_INFO << "final test " << train::FormatMetrics(*result.test_metrics) << "; checkpoint "
             << result.checkpoint_path;
  } else if (result.test_metrics) {
    LOG_INFO << "done: " << result.epochs << " epochs, " << result.steps << " steps in "
             << train::FormatDuration(result.train_seconds) << " (" << static_cast<int64_t>(result.samples_per_second)
             << " samples/s); final test " << train::FormatMetrics(*result.test_metrics);
    LOG_INFO << "checkpoint: " << result.checkpoint_path << "   metrics: " << config.train.output_dir
             << "/metrics.jsonl";
  }
  return Status::Ok();
}

}  // namespace

Status RunTrain(const TrainArgs& args) {
  ASSIGN_OR_RETURN(RunConfig config, config::LoadConfig(args.config_path, args.overrides));
  RETURN_IF_ERROR(config::CheckTrainingInputs(config, args.config_path));
  const bool no_gradient_exchange = comm::NoGradientExchangeRequested();
  if (args.ranks > 1) {
    if (comm::LaunchedByMpi() || config.comm.backend == "mpi") {
      return InvalidArgument("--ranks runs ranks as threads of one process; do not combine it with mpirun/srun or "
                             "comm.backend: mpi");
    }
    LOG_INFO << "debug mode: " << args.ranks << " ranks as threads of this process";
    return comm::RunInProcess(args.ranks, [&](comm::Communicator& comm) {
      SetLogRank(comm.rank());
      return TrainOnRank(config, args, comm, no_gradient_exchange);
    });
  }
  ASSIGN_OR_RETURN(auto comm, comm::MakeCommunicator(BackendOf(config.comm.backend), config.comm.host_shared_memory));
  return TrainOnRank(config, args, *comm, no_gradient_exchange);
}

Status RunEval(const EvalArgs& args) {
  ASSIGN_OR_RETURN(LoadedModel loaded, LoadModel(args.checkpoint, args.overrides));
  const std::string path = args.data.empty() ? loaded.config.data.test : args.data;
  ASSIGN_OR_RETURN(const data::Table table, ReadRowsFor(loaded, path, /*with_labels=*/true));
  ASSIGN_OR_RETURN(const train::Metrics m,
                   train::EvaluateTable(*loaded.model, *loaded.params, table, loaded.config.eval.batch_size));
  std::printf("checkpoint %s on %s: %s\n", loaded.path.c_str(), path.c_str(), train::FormatMetrics(m).c_str());
  return Status::Ok();
}

Status RunPredict(const PredictArgs& args) {
  ASSIGN_OR_RETURN(LoadedModel loaded, LoadModel(args.checkpoint, {}));
  data::Table table;
  if (!args.row.empty()) {
    ASSIGN_OR_RETURN(auto row, ParseRow(args.row));
    ASSIGN_OR_RETURN(table, EncodeRawRow(loaded.schema, row));
  } else if (args.input.size() > 4 && args.input.substr(args.input.size() - 4) == ".csv") {
    ASSIGN_OR_RETURN(table, ReadRawCsv(loaded.schema, args.input));
  } else {
    ASSIGN_OR_RETURN(table, ReadRowsFor(loaded, args.input, /*with_labels=*/false));
  }
  ASSIGN_OR_RETURN(std::vector<float> outputs,
                   train::ScoreTable(*loaded.model, *loaded.params, table, loaded.config.eval.batch_size));
  const model::Model& m = *loaded.model;
  if (!args.row.empty()) {
    switch (m.task()) {
      case model::Task::kBinary: {
        const float p = kernels::Sigmoid(outputs[0]);
        std::printf("probability %.4f: %s likely\n", p, p > 0.5f ? loaded.schema.label.c_str() : "not");
        break;
      }
      case model::Task::kRegression: std::printf("prediction %.4f\n", outputs[0]); break;
      case model::Task::kMulticlass: {
        // The classes by probability, most likely first (at most 3).
        const int64_t k = m.num_outputs();
        std::vector<double> p(static_cast<size_t>(k));
        const float top = *std::max_element(outputs.begin(), outputs.begin() + k);
        double sum = 0;
        for (int64_t c = 0; c < k; ++c) sum += p[c] = std::exp(static_cast<double>(outputs[c] - top));
        std::vector<int64_t> order(static_cast<size_t>(k));
        for (int64_t c = 0; c < k; ++c) order[c] = c;
        std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
        const auto& names = loaded.schema.label_classes;
        for (int64_t i = 0; i < std::min<int64_t>(3, k); ++i) {
          const int64_t c = order[i];
          const std::string name = c < static_cast<int64_t>(names.size()) ? names[c] : std::to_string(c);
          std::printf("%s%s %.4f\n", i == 0 ? "class " : "  then ", name.c_str(), p[c] / sum);
        }
        break;
      }
    }
    return Status::Ok();
  }
  RETURN_IF_ERROR(train::WritePredictions(m, outputs, loaded.schema.label_classes, args.output));
  if (!args.output.empty() && args.output != "-") {
    std::fprintf(stderr, "wrote %lld predictions to %s\n", static_cast<long long>(table.num_rows), args.output.c_str());
  }
  return Status::Ok();
}

namespace {

// The training rows of every file of data.train (one file, a folder or a glob), concatenated.
// `sampled` gets each row's sampled-negative mark (all 0 for files without marks).
StatusOr<data::Table> ReadTrainingRows(const std::string& train, const LoadedModel& loaded,
                                       std::vector<int32_t>& sampled) {
  const data::FeatureSchema& schema = loaded.schema;
  ASSIGN_OR_RETURN(std::vector<std::string> files, train::ExpandTrainFiles(train));
  data::Table all;
  for (const std::string& path : files) {
    ASSIGN_OR_RETURN(data::ColumnFile file, data::ColumnFile::Open(path));
    RETURN_IF_ERROR(CheckEncodedLikeCheckpoint(file, loaded, /*with_labels=*/true));
    ASSIGN_OR_RETURN(data::Table t, file.ReadAll(schema, /*with_labels=*/true));
    ASSIGN_OR_RETURN(std::vector<int32_t> marks, file.SampledMarks());
    marks.resize(static_cast<size_t>(t.num_rows), 0);
    sampled.insert(sampled.end(), marks.begin(), marks.end());
    if (all.num_rows == 0 && all.dense.empty() && all.categorical.empty()) {
      all = std::move(t);
      continue;
    }
    all.dense.insert(all.dense.end(), t.dense.begin(), t.dense.end());
    all.categorical.insert(all.categorical.end(), t.categorical.begin(), t.categorical.end());
    all.labels.insert(all.labels.end(), t.labels.begin(), t.labels.end());
    for (int b = 0; b < all.bags.size(); ++b) {
      auto& values = all.bags.values(b);
      auto& offsets = all.bags.offsets(b);
      const int64_t base = static_cast<int64_t>(values.size());
      values.insert(values.end(), t.bags.values(b).begin(), t.bags.values(b).end());
      for (size_t r = 1; r < t.bags.offsets(b).size(); ++r) offsets.push_back(base + t.bags.offsets(b)[r]);
    }
    all.num_rows += t.num_rows;
  }
  all.bags.Link();
  return all;
}

// The raw name of item id `id` of categorical column `c` (its vocabulary entry, else "#id").
std::string RawName(const data::FeatureSchema& schema, int c, int32_t id) {
  if (static_cast<size_t>(c) < schema.vocabularies.size() && id >= 1 &&
      static_cast<size_t>(id) <= schema.vocabularies[c].size()) {
    return schema.vocabularies[c][static_cast<size_t>(id - 1)];
  }
  return "#" + std::to_string(id);
}

}  // namespace

Status RunRecommend(const RecommendArgs& args) {
  ASSIGN_OR_RETURN(LoadedModel loaded, LoadModel(args.checkpoint, {}));
  const data::FeatureSchema& schema = loaded.schema;
  if (loaded.model->task() == model::Task::kMulticlass) {
    return InvalidArgument("recommend ranks items by one score; this checkpoint's model is a classifier");
  }
  const model::ModelOptions& m = loaded.config.model;
  std::string user_column = args.user_column, item_column = args.item_column;
  if (user_column.empty()) user_column = !m.user_field.empty() ? m.user_field : "user_id";
  if (item_column.empty()) item_column = !m.item_field.empty() ? m.item_field : "item_id";
  const std::string train_path = args.train.empty() ? loaded.config.data.train : args.train;
  std::vector<int32_t> sampled;
  ASSIGN_OR_RETURN(data::Table train_rows, ReadTrainingRows(train_path, loaded, sampled));
  ASSIGN_OR_RETURN(train::Catalog catalog,
                   train::Catalog::Build(std::move(train_rows), schema, user_column, item_column, sampled));
  const int user_c = static_cast<int>(std::find(schema.categorical.begin(), schema.categorical.end(), user_column) -
                                      schema.categorical.begin());
  const int item_c = static_cast<int>(std::find(schema.categorical.begin(), schema.categorical.end(), item_column) -
                                      schema.categorical.begin());
  std::string item_features;
  for (const std::string& name : catalog.ItemFeatures(schema)) item_features += (item_features.empty() ? "" : ", ") + name;
  std::fprintf(stderr, "catalogue: %lld items from %s; item features: %s\n", static_cast<long long>(catalog.num_items()),
               train_path.c_str(), item_features.c_str());
  const int64_t batch = loaded.config.eval.batch_size;

  if (!args.evaluate.empty()) {
    ASSIGN_OR_RETURN(const data::Table test, ReadRowsFor(loaded, args.evaluate, /*with_labels=*/true));
    ASSIGN_OR_RETURN(const train::RankingReport report,
                     train::EvaluateRanking(*loaded.model, *loaded.params, catalog, test, user_c, item_c,
                                            static_cast<int>(args.k), batch));
    std::printf("ranking on %s: %lld users, every item a candidate except those each user has in training "
                "(%lld held-out items unknown to the catalogue count as misses)\n",
                args.evaluate.c_str(), static_cast<long long>(report.users), static_cast<long long>(report.unknown_items));
    std::printf("  model (%s):    %s\n", m.type.c_str(), train::FormatMetrics(report.model).c_str());
    std::printf("  most popular: %s\n", train::FormatMetrics(report.popular).c_str());
    return Status::Ok();
  }

  // Raw user ids -> the user column's ids, as prepare encoded them.
  std::vector<std::string> raw_columns = schema.dense;
  raw_columns.insert(raw_columns.end(), schema.categorical.begin(), schema.categorical.end());
  raw_columns.insert(raw_columns.end(), schema.multi_valued.begin(), schema.multi_valued.end());
  StatusOr<data::RowEncoder> encoder = data::RowEncoder::Create(schema, raw_columns);
  std::vector<std::string> users;
  if (!args.user.empty()) {
    users.push_back(args.user);
  } else {
    std::ifstream in(args.users);
    if (!in) return NotFound("--users: cannot read " + args.users);
    for (std::string line; std::getline(in, line);) {
      const std::string id(data::TrimSpaces(line));
      if (!id.empty()) users.push_back(id);
    }
  }
  std::ofstream file_out;
  if (!args.users.empty() && !args.output.empty() && args.output != "-") {
    file_out.open(args.output, std::ios::trunc);
    if (!file_out) return Internal("cannot write " + args.output + ": check the folder exists and is writable");
  }
  std::ostream& out = file_out.is_open() ? file_out : std::cout;
  if (!args.users.empty()) out << "user,rank,item,score\n";
  data::Table candidates;
  std::vector<float> scores;
  const std::vector<int64_t> none;
  for (const std::string& raw_user : users) {
    int32_t user = -1;
    if (encoder.ok()) {
      user = encoder->CategoricalId(static_cast<size_t>(user_c), raw_user);
    } else {
      char* end = nullptr;
      const long id = std::strtol(raw_user.c_str(), &end, 10);  // files without vocabularies hold ids
      if (end != raw_user.c_str() + raw_user.size()) {
        return InvalidArgument("user '" + raw_user + "': this checkpoint's data has no vocabulary for '" +
                               user_column + "', so give the numeric id");
      }
      user = static_cast<int32_t>(id);
    }
    if (!catalog.HasUser(user)) {
      if (!args.user.empty()) {
        return NotFound("user '" + raw_user + "' has no rows in the training data (" + train_path +
                        "), so there is no profile to recommend from");
      }
      LOG_WARNING << "user '" << raw_user << "' has no rows in the training data: skipped";
      continue;
    }
    RETURN_IF_ERROR(catalog.Score(*loaded.model, *loaded.params, user, batch, candidates, scores));
    const std::vector<int64_t> top = train::TopK(scores, args.k, args.include_seen ? none : catalog.Seen(user));
    char score[32];
    for (size_t rank = 0; rank < top.size(); ++rank) {
      const std::string item = RawName(schema, item_c, catalog.item_id(top[rank]));
      std::snprintf(score, sizeof(score), "%.6g", loaded.model->task() == model::Task::kBinary
                                                      ? kernels::Sigmoid(scores[top[rank]])
                                                      : scores[top[rank]]);
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

Status RunPrepare(const PrepareArgs& args) {
  const std::string source = args.config_path.empty() ? "the command line" : args.config_path;
  StatusOr<RunConfig> loaded = args.config_path.empty() ? config::ParseConfig("", args.overrides, source)
                                                        : config::LoadConfig(args.config_path, args.overrides);
  RETURN_IF_ERROR(loaded.status());
  const RunConfig& config = *loaded;
  RETURN_IF_ERROR(config::CheckPrepareInputs(config, source));
  const data::PrepareOptions& p = config.prepare;
  data::PrepareRequest request;
  request.csv_path = p.source;
  request.test_source = p.test_source;
  request.format = p.format;
  if (!p.delimiter.empty()) {
    StatusOr<char> delimiter = data::ParseDelimiter(p.delimiter);
    if (!delimiter.ok()) return InvalidArgument(source + ": prepare.delimiter: " + delimiter.status().message());
    request.delimiter = *delimiter;
  }
  request.header = p.header == "auto" ? -1 : (p.header == "true" ? 1 : 0);
  request.columns = p.columns;
  request.latin1 = p.encoding == "latin-1";
  request.label = config.data.label;
  request.dense = config.data.dense;
  request.categorical = config.data.categorical;
  request.multi_valued = config.data.multi_valued;
  request.separators = p.separators;
  request.text = p.text;
  request.label_type = p.label_type;
  request.positive_values = p.positive_values;
  request.label_threshold = p.label_threshold;
  request.min_count = p.min_count;
  request.min_count_by_column = p.min_count_by_column;
  request.hash_buckets = p.hash_buckets;
  request.hash_buckets_by_column = p.hash_buckets_by_column;
  request.fill = p.fill;
  request.fill_by_column = p.fill_by_column;
  request.scale = p.scale;
  request.scale_by_column = p.scale_by_column;
  request.log = p.log;
  request.missing_indicator = p.missing_indicator;
  request.drop_duplicates = p.drop_duplicates;
  request.bad_rows = p.bad_rows;
  request.split = p.split;
  request.time_column = p.time_column;
  request.user_column = p.user_column;
  request.negatives_per_positive = p.negatives_per_positive;
  request.item_columns = p.item_columns;
  request.test_fraction = p.test_fraction;
  request.seed = static_cast<uint64_t>(p.seed);
  request.train_path = config.data.train;
  request.test_path = config.data.test;
  request.show_progress = isatty(STDERR_FILENO) != 0;
  StatusOr<data::PrepareReport> prepared = data::PrepareCsv(request);
  if (!prepared.ok()) {
    const Status& s = prepared.status();
    // Errors about the request name the keys; say where they came from.
    return s.code() == StatusCode::kInvalidArgument ? Status(s.code(), source + ": " + s.message()) : s;
  }
  const data::PrepareReport& report = *prepared;
  const data::FeatureSchema& schema = report.schema;
  for (const std::string& example : report.bad_row_examples) LOG_WARNING << "skipped: " << example;
  const std::string label_summary =
      schema.label_type == "binary" ? "positive rate" : schema.label_type == "class" ? "mean class id" : "mean label";
  std::printf("prepared %s: %lld rows read, %lld exact duplicates dropped", request.csv_path.c_str(),
              static_cast<long long>(report.rows_read), static_cast<long long>(report.duplicates_dropped));
  if (report.negatives_sampled > 0) {
    std::printf(", %lld sampled negative rows added to train", static_cast<long long>(report.negatives_sampled));
  }
  if (report.bad_rows_skipped > 0) {
    std::printf(", %lld bad rows skipped", static_cast<long long>(report.bad_rows_skipped));
  }
  std::printf("\n  train: %s (%lld rows, %s %.4f)\n  test:  %s (%lld rows)\n", request.train_path.c_str(),
              static_cast<long long>(report.train_rows), label_summary.c_str(), report.train_positive_rate,
              request.test_path.c_str(), static_cast<long long>(report.test_rows));
  if (report.time_threshold) {
    std::printf("  split by %s: train <= %.17g < test\n", request.time_column.c_str(), *report.time_threshold);
  }
  std::string multi;
  for (const std::string& name : schema.multi_valued) multi += (multi.empty() ? "" : ", ") + name;
  std::printf("  label '%s' (%s%s), %zu dense, %zu categorical, %zu multi-valued%s%s%s\n", schema.label.c_str(),
              schema.label_type.c_str(),
              schema.label_type == "class" ? (", " + std::to_string(schema.label_classes.size()) + " classes").c_str()
                                           : "",
              schema.dense.size(), schema.categorical.size(), schema.multi_valued.size(), multi.empty() ? "" : " (",
              multi.c_str(), multi.empty() ? "" : ")");
  const double seconds = std::max(report.seconds, 1e-9);
  std::printf("  %.2f s: %.0f rows/s, %.1f MB/s\n", report.seconds, static_cast<double>(report.rows_read) / seconds,
              static_cast<double>(report.bytes_read) / 1e6 / seconds);
  return Status::Ok();
}

Status RunShowConfig(const std::string& config_path, const std::vector<std::string>& overrides, bool list_keys) {
  if (list_keys) {
    std::printf("key                           default         meaning\n%s", config::DescribeKeys().c_str());
    return Status::Ok();
  }
  if (config_path.empty()) return InvalidArgument("ectrain config: give a CONFIG file, or --keys");
  ASSIGN_OR_RETURN(RunConfig config, config::LoadConfig(config_path, overrides));
  std::printf("%s", config::ToYaml(config).c_str());
  return Status::Ok();
}

}  // namespace ectrain::cli
