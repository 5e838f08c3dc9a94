#include "cli/commands.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "ckpt/checkpoint.h"
#include "comm/communicator.h"
#include "comm/in_process_communicator.h"
#include "config/config.h"
#include "core/log.h"
#include "data/csv.h"
#include "data/prepare.h"
#include "kernels/cpu_kernels.h"
#include "model/model.h"
#include "train/data_feed.h"
#include "train/evaluator.h"
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
  std::unique_ptr<model::Model> model;
  std::unique_ptr<ParamArena> params;
};

StatusOr<LoadedModel> LoadModel(const std::string& checkpoint, const std::vector<std::string>& overrides) {
  LoadedModel loaded;
  ASSIGN_OR_RETURN(loaded.path, ckpt::ResolveCheckpointPath(checkpoint));
  ASSIGN_OR_RETURN(ckpt::CheckpointInfo info, ckpt::ReadCheckpointInfo(loaded.path));
  ASSIGN_OR_RETURN(loaded.config, config::ParseConfig(info.config_yaml, overrides, loaded.path + " (stored config)"));
  ASSIGN_OR_RETURN(loaded.schema, data::FeatureSchema::FromJson(info.schema_json, loaded.path));
  ASSIGN_OR_RETURN(loaded.model, model::CreateModel(loaded.config.model, ShapeOf(loaded.schema)));
  loaded.params = std::make_unique<ParamArena>(loaded.model->layout());
  RETURN_IF_ERROR(ckpt::LoadCheckpoint(loaded.path, loaded.model->layout(), *loaded.params, nullptr));
  return loaded;
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
Status TrainOnRank(const RunConfig& config, const TrainArgs& args, comm::Communicator& comm) {
  auto feed = train::DataFeed::Open(config.data, comm.size(), comm.rank(), config.train.global_batch_size,
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
  if (args.ranks > 1) {
    if (comm::LaunchedByMpi() || config.comm.backend == "mpi") {
      return InvalidArgument("--ranks runs ranks as threads of one process; do not combine it with mpirun/srun or "
                             "comm.backend: mpi");
    }
    LOG_INFO << "debug mode: " << args.ranks << " ranks as threads of this process";
    return comm::RunInProcess(args.ranks, [&](comm::Communicator& comm) {
      SetLogRank(comm.rank());
      return TrainOnRank(config, args, comm);
    });
  }
  ASSIGN_OR_RETURN(auto comm, comm::MakeCommunicator(BackendOf(config.comm.backend)));
  return TrainOnRank(config, args, *comm);
}

Status RunEval(const EvalArgs& args) {
  ASSIGN_OR_RETURN(LoadedModel loaded, LoadModel(args.checkpoint, args.overrides));
  const std::string path = args.data.empty() ? loaded.config.data.test : args.data;
  ASSIGN_OR_RETURN(data::ColumnFile file, data::ColumnFile::Open(path));
  ASSIGN_OR_RETURN(data::Table table, file.ReadAll(loaded.schema, /*with_labels=*/true));
  train::Metrics m = train::EvaluateTable(*loaded.model, *loaded.params, table, loaded.config.eval.batch_size);
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
    ASSIGN_OR_RETURN(data::ColumnFile file, data::ColumnFile::Open(args.input));
    ASSIGN_OR_RETURN(table, file.ReadAll(loaded.schema, /*with_labels=*/false));
  }
  std::vector<float> outputs = train::ScoreTable(*loaded.model, *loaded.params, table, loaded.config.eval.batch_size);
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
