// ectrain: data-parallel training of e-commerce models. Parses the command line and runs one
// subcommand; the only place a Status becomes an exit code.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>

#include "cli/build_commit.h"
#include "cli/commands.h"
#include "core/denormals.h"
#include "core/log.h"
#include "core/version.h"
#include "data/hdf5_library.h"

namespace ectrain::cli {
namespace {

// "a,b,c" -> a YAML flow list of quoted names, so names with spaces or '%' survive.
std::string YamlNameList(const std::string& csv) {
  std::string out = "[";
  size_t start = 0;
  while (start <= csv.size()) {
    size_t end = csv.find(',', start);
    if (end == std::string::npos) end = csv.size();
    std::string name = csv.substr(start, end - start);
    std::string quoted;
    for (char c : name) quoted += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    if (!name.empty()) out += (out.size() > 1 ? ", \"" : "\"") + quoted + "\"";
    start = end + 1;
  }
  return out + "]";
}

std::string YamlText(const std::string& text) {
  std::string quoted;
  for (char c : text) quoted += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return "\"" + quoted + "\"";
}

// `--set a=1 --set b=2`: one value per flag, so a positional after it is not swallowed.
void AddSetOption(CLI::App* command, std::vector<std::string>& overrides, const std::string& help) {
  command->add_option("--set", overrides, help)->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

CLI::App* AddTrain(CLI::App& app, TrainArgs& train) {
  auto* cmd = app.add_subcommand("train", "train a model from a YAML config; rank 0 evaluates and checkpoints");
  cmd->add_option("config", train.config_path, "YAML config (see configs/)")->required();
  AddSetOption(cmd, train.overrides, "override a key: section.key=value (repeatable)");
  auto* resume_flag = cmd->add_flag(
      "--resume", train.resume,
      "continue from the newest checkpoint in checkpoint.dir, and fail if there is none (without this flag, "
      "training resumes when a checkpoint exists and starts afresh otherwise)");
  cmd->add_flag("--fresh", train.fresh, "move existing checkpoints aside (nothing is deleted) and start over")
      ->excludes(resume_flag);
  cmd->add_option("--ranks", train.ranks,
                  "debug mode: run N data-parallel ranks as threads of this one process (no mpirun; attach gdb as "
                  "usual); the same parameters as mpirun -np N")
      ->check(CLI::Range(1, 1024));
  cmd->footer(
      "Exit status: 0 done; 1 failure at run time; 2 usage or configuration error; 3 stopped by SIGTERM, SIGINT or "
      "SIGUSR1 after writing a checkpoint (run the same command again to resume). A second SIGINT or SIGTERM stops "
      "at once.");
  return cmd;
}

constexpr char kCheckpointHelp[] =
    "checkpoint file, its folder (the newest complete checkpoint), or a 'latest' or "
    "'best' pointer";

CLI::App* AddEval(CLI::App& app, EvalArgs& eval) {
  auto* cmd = app.add_subcommand("eval", "evaluate a checkpoint on labelled HDF5 data");
  cmd->add_option("--checkpoint", eval.checkpoint, kCheckpointHelp)->required();
  cmd->add_option("--data", eval.data, "HDF5 file (default: data.test of the checkpoint's config)");
  AddSetOption(cmd, eval.overrides, "override a key of the stored config: section.key=value");
  return cmd;
}

CLI::App* AddPredict(CLI::App& app, PredictArgs& predict) {
  auto* cmd = app.add_subcommand("predict", "score rows with a checkpoint: purchase/click probabilities");
  cmd->add_option("--checkpoint", predict.checkpoint, kCheckpointHelp)->required();
  auto* input =
      cmd->add_option("--input", predict.input, "rows to score: prepared HDF5 (.h5) or a raw CSV with a header (.csv)");
  auto* row =
      cmd->add_option("--row", predict.row, "one raw row, \"column=value,column=value,...\"; prints its probability");
  input->excludes(row);
  cmd->add_option("--output", predict.output, "CSV file for the probabilities (default: standard output)");
  cmd->add_option("--id-column", predict.id_column,
                  "a column of the --input rows (any column: an order or session id) written as is before the "
                  "predictions")
      ->excludes(row);
  cmd->add_option("--top-k", predict.top_k,
                  "classifiers: the K most likely classes (top1_class, top1_prob, ...) instead of one probability "
                  "column per class")
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  return cmd;
}

CLI::App* AddExport(CLI::App& app, ExportArgs& args) {
  auto* cmd =
      app.add_subcommand("export",
                         "write a checkpoint's model for serving: an ONNX graph of its forward pass, and OUT.json, the "
                         "preprocessing (vocabularies, scaling) and output it needs");
  cmd->add_option("--checkpoint", args.checkpoint, kCheckpointHelp)->required();
  cmd->add_option("--format", args.format, "onnx (the only format so far)")->capture_default_str();
  cmd->add_option("--out", args.out, "the model file to write, e.g. model.onnx (the sidecar goes to OUT.json)")
      ->required();
  return cmd;
}

CLI::App* AddRecommend(CLI::App& app, RecommendArgs& recommend) {
  auto* cmd = app.add_subcommand(
      "recommend", "rank items for users with a checkpoint (catalogue from the training data), or measure HR/NDCG@k");
  cmd->add_option("--checkpoint", recommend.checkpoint, kCheckpointHelp)->required();
  auto* user = cmd->add_option("--user", recommend.user, "a user id as in the raw data: its top k items");
  auto* users = cmd->add_option("--users", recommend.users, "a file of user ids, one per line");
  auto* evaluate = cmd->add_option(
      "--evaluate", recommend.evaluate,
      "prepared HDF5 of held-out interactions (e.g. prepare.split: last_per_user): HR@k, NDCG@k, recall@k with every "
      "item as a candidate, beside the most-popular baseline");
  user->excludes(users)->excludes(evaluate);
  users->excludes(evaluate);
  cmd->add_option("--k", recommend.k, "how many items (default 10)")->check(CLI::Range(1, 1000000));
  cmd->add_flag("--include-seen", recommend.include_seen,
                "also recommend items the user already has in the training data");
  cmd->add_option("--train", recommend.train, "training data the catalogue comes from (default: data.train)");
  cmd->add_option("--user-column", recommend.user_column,
                  "categorical column of users (default: the checkpoint's data.user_column, else user_id)");
  cmd->add_option("--item-column", recommend.item_column,
                  "categorical column of items (default: the checkpoint's data.item_column, else item_id)");
  cmd->add_option("--output", recommend.output, "CSV file for --users (default: standard output)");
  return cmd;
}

// The shorthand flags of `ectrain prepare`, turned into config overrides (data.*, prepare.*).
struct PrepareFlags {
  std::string source, label, dense, categorical, train_out, test_out;
  std::string multi_valued, text, format, delimiter, columns;
  bool no_header = false;
  double test_fraction = -1;
  int64_t seed = -1;

  void AddTo(CLI::App* cmd);
  void AppendOverrides(std::vector<std::string>& o) const;
};

void PrepareFlags::AddTo(CLI::App* cmd) {
  cmd->add_option("--source", source, "CSV file (prepare.source)");
  cmd->add_option("--label", label, "label column (data.label)");
  cmd->add_option("--dense", dense, "numeric columns, comma-separated (data.dense)");
  cmd->add_option("--categorical", categorical, "categorical columns, comma-separated (data.categorical)");
  cmd->add_option("--train-out", train_out, "output HDF5 for the training split (data.train)");
  cmd->add_option("--test-out", test_out, "output HDF5 for the test split (data.test)");
  cmd->add_option("--test-fraction", test_fraction, "share of rows for the test split (prepare.test_fraction)");
  cmd->add_option("--seed", seed, "seed of the split (prepare.seed)");
  cmd->add_option("--multi-valued", multi_valued,
                  "multi-valued columns as NAME:SEP, comma-separated, e.g. 'genres:|' (data.multi_valued, "
                  "prepare.separators; SEP defaults to '|')");
  cmd->add_option("--text", text, "text columns tokenized into multi-valued ids, comma-separated (prepare.text)");
  cmd->add_option("--format", format, "csv, criteo, movielens, taobao, libsvm or libffm (prepare.format)");
  cmd->add_option("--delimiter", delimiter, "field delimiter: one character or 'tab' (prepare.delimiter)");
  cmd->add_flag("--no-header", no_header, "the first line is data, not names (prepare.header: false)");
  cmd->add_option("--columns", columns,
                  "column names of a file without a header, comma-separated (prepare.columns; implies --no-header)");
}

void PrepareFlags::AppendOverrides(std::vector<std::string>& o) const {
  if (!source.empty()) o.push_back("prepare.source=" + YamlText(source));
  if (!label.empty()) o.push_back("data.label=" + YamlText(label));
  if (!dense.empty()) o.push_back("data.dense=" + YamlNameList(dense));
  if (!categorical.empty()) o.push_back("data.categorical=" + YamlNameList(categorical));
  if (!train_out.empty()) o.push_back("data.train=" + YamlText(train_out));
  if (!test_out.empty()) o.push_back("data.test=" + YamlText(test_out));
  if (test_fraction >= 0) o.push_back("prepare.test_fraction=" + std::to_string(test_fraction));
  if (seed >= 0) o.push_back("prepare.seed=" + std::to_string(seed));
  if (!format.empty()) o.push_back("prepare.format=" + YamlText(format));
  if (!delimiter.empty()) o.push_back("prepare.delimiter=" + YamlText(delimiter));
  if (no_header || !columns.empty()) o.push_back("prepare.header=false");
  if (!columns.empty()) o.push_back("prepare.columns=" + YamlNameList(columns));
  if (multi_valued.empty() && text.empty()) return;
  // "genres:|,tags" -> names [genres, tags] with separators {genres: "|"}; text columns join the list.
  std::string names, separators;
  size_t start = 0;
  while (start < multi_valued.size()) {
    size_t end = multi_valued.find(',', start);
    if (end == std::string::npos) end = multi_valued.size();
    const std::string item = multi_valued.substr(start, end - start);
    const size_t colon = item.rfind(':');
    const std::string name = item.substr(0, colon);
    names += (names.empty() ? "" : ",") + name;
    if (colon != std::string::npos) {
      separators += (separators.empty() ? "" : ", ") + YamlText(name) + ": " + YamlText(item.substr(colon + 1));
    }
    start = end + 1;
  }
  if (!text.empty()) names += (names.empty() ? "" : ",") + text;
  o.push_back("data.multi_valued=" + YamlNameList(names));
  if (!separators.empty()) o.push_back("prepare.separators={" + separators + "}");
  if (!text.empty()) o.push_back("prepare.text=" + YamlNameList(text));
}

CLI::App* AddPrepare(CLI::App& app, PrepareArgs& prepare, PrepareFlags& flags) {
  auto* cmd = app.add_subcommand(
      "prepare",
      "convert a CSV/TSV (or Criteo, MovieLens 100K/1M, Taobao) into train/test HDF5 files: dedupe, split, "
      "fill, scale, map categories, tokenize titles");
  cmd->add_option("config", prepare.config_path, "YAML config whose data: and prepare: sections apply");
  AddSetOption(cmd, prepare.overrides, "override a key: section.key=value");
  flags.AddTo(cmd);
  return cmd;
}

struct ConfigArgs {
  std::string path;
  std::vector<std::string> overrides;
  bool list_keys = false;
  bool no_data = false;
};

CLI::App* AddConfig(CLI::App& app, ConfigArgs& config) {
  auto* cmd = app.add_subcommand("config", "check a config and print it resolved, or list every key");
  cmd->add_option("config", config.path, "YAML config");
  AddSetOption(cmd, config.overrides, "override a key: section.key=value");
  cmd->add_flag("--keys", config.list_keys, "list every key with its default and meaning");
  cmd->add_flag("--no-data", config.no_data,
                "check the keys only, not the data files they name (a config whose data is not prepared yet)");
  cmd->footer("Exit status: 0 valid; 2 a key or a data file it names is wrong (each problem is listed).");
  return cmd;
}

CLI::App* AddPlan(CLI::App& app, PlanArgs& plan) {
  auto* cmd =
      app.add_subcommand("plan",
                         "before training: each rank's rows and blocks, memory per rank (parameters, optimizer state, "
                         "gradients, workspace, reader, data) and warnings, from the config and the files' metadata");
  cmd->add_option("config", plan.config_path, "YAML config")->required();
  AddSetOption(cmd, plan.overrides, "override a key: section.key=value");
  cmd->add_option("--ranks", plan.ranks, "data-parallel ranks (mpirun -np N, or train --ranks N)")
      ->check(CLI::Range(1, 1024));
  cmd->add_flag("--json", plan.json, "machine-readable output");
  return cmd;
}

CLI::App* AddGenerate(CLI::App& app, GenerateArgs& generate) {
  auto& g = generate.options;
  auto* cmd = app.add_subcommand(
      "generate", "write a synthetic e-commerce click data set of any size to sharded HDF5 (benchmarks, tests)");
  cmd->add_option("--out", g.out, "output directory (part-00000.h5, ...), or a .h5 file when there is one shard")
      ->required();
  cmd->add_option("--rows", g.rows, "training rows over all shards")->capture_default_str();
  cmd->add_option("--users", g.users, "users (ids 0..users-1)")->capture_default_str();
  cmd->add_option("--items", g.items, "items (ids 0..items-1)")->capture_default_str();
  cmd->add_option("--categories", g.categories, "item categories")->capture_default_str();
  cmd->add_option("--dense", g.num_dense,
                  "dense columns d0.. (price, activity, recency, position, discount, then Gaussian)")
      ->capture_default_str();
  cmd->add_option("--recent-items", g.max_recent_items,
                  "most ids per row of the multi-valued column recent_items (0: no such column)")
      ->capture_default_str();
  auto* shards = cmd->add_option("--shards", g.num_shards, "files, rows split evenly")->capture_default_str();
  cmd->add_option("--rows-per-shard", g.rows_per_shard, "rows per file (the last one shorter)")->excludes(shards);
  cmd->add_option("--test-rows", g.test_rows, "also write a test file of this many independent rows");
  cmd->add_option("--test-out", g.test_out,
                  "the test file (default: OUT with a final 'train' made 'test', else OUT-test; .h5)");
  cmd->add_option("--validation-rows", g.validation_rows,
                  "also write a validation file of this many rows from its own independent stream");
  cmd->add_option("--validation-out", g.validation_out,
                  "the validation file (default: as the test file, with 'validation' for 'test')");
  cmd->add_option("--seed", g.seed, "seed: the same seed gives the same values, however sharded")
      ->capture_default_str();
  cmd->add_option("--positive-rate", g.positive_rate, "target click rate (the hidden bias is calibrated to it)")
      ->capture_default_str();
  cmd->add_option("--item-zipf", g.item_zipf, "power-law exponent of item popularity (0 uniform, 1 Zipf)")
      ->capture_default_str();
  cmd->add_option("--user-zipf", g.user_zipf, "power-law exponent of user activity")->capture_default_str();
  cmd->add_option("--item-category-share", g.item_category_share,
                  "share F in [0, 1] of an item's latent factor that is its category's: "
                  "sqrt(F) * category + sqrt(1-F) * own")
      ->capture_default_str();
  cmd->add_flag("--scale-dense", g.scale_dense,
                "write the dense columns as `prepare` with log + standard scaling would (price, sessions and "
                "hours log1p'd; every column standardised)");
  cmd->add_option("--threads", g.threads, "generator threads (default: the number of cores)");
  cmd->add_option("--chunk-rows", g.chunk_rows, "HDF5 chunk size in rows")->capture_default_str();
  cmd->add_option("--deflate", g.deflate_level, "compression level 0-9 (0: none)")->capture_default_str();
  return cmd;
}

CLI::App* AddInspect(CLI::App& app, InspectArgs& inspect) {
  auto* cmd = app.add_subcommand(
      "inspect", "summarise HDF5 data files: columns, types, rows, label balance, statistics, schema, provenance");
  cmd->add_option("files", inspect.paths, "HDF5 files or directories of shards (summarised together)")->required();
  cmd->add_option("--label", inspect.label, "label column (default: the stored schema's label)");
  cmd->add_flag("--json", inspect.json, "machine-readable output");
  cmd->footer(
      "Exit status: 0 read (findings are printed as warnings); 1 a file missing, not HDF5, truncated or "
      "corrupt; 2 usage.");
  return cmd;
}

CLI::App* AddReport(CLI::App& app, ReportArgs& report) {
  auto* cmd = app.add_subcommand(
      "report",
      "training runs side by side in one self-contained HTML file: loss, metric and throughput curves, "
      "step time, memory, final metrics, configs");
  cmd->add_option("run_dirs", report.run_dirs, "run folders (train.output_dir), each with its metrics.jsonl")
      ->required();
  cmd->add_option("--out", report.out, "the HTML file to write")->capture_default_str();
  cmd->footer(
      "Exit status: 0 written; 1 a folder without metrics.jsonl, a malformed line, or --out not writable; 2 usage.");
  return cmd;
}

// The program: parses the command line, runs one subcommand, turns its Status into the exit code.
int Main(int argc, char** argv, std::chrono::steady_clock::time_point launch_time) {
  data::SkipHdf5ExitCleanup();  // before any HDF5 call: see hdf5_library.h
  FlushDenormalsToZero();       // every command computes the same way, on every thread it starts
  CLI::App app{"ectrain " ECTRAIN_VERSION
               ": data-parallel training of click, purchase and product models on HDF5 data.\n"
               "Run it alone (one process), under `mpirun -np N`, or in a Slurm job."};
  app.require_subcommand(1);
  const std::string commit =
      kBuildCommit[0] != '\0' ? std::string("commit ") + kBuildCommit : std::string("unknown commit");
  app.set_version_flag("--version", "ectrain " ECTRAIN_VERSION " (" + commit +
                                        ", matrix products: " ECTRAIN_MATRIX_PRODUCTS
                                        ", GPU backend: " ECTRAIN_GPU_BACKEND ")");
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose,
               "log from every rank (not only rank 0), debug lines, and HDF5's own error stacks")
      ->configurable(false);
  TrainArgs train;
  train.launch_time = launch_time;
  EvalArgs eval;
  PredictArgs predict;
  RecommendArgs recommend;
  ExportArgs export_args;
  PrepareArgs prepare;
  PrepareFlags prepare_flags;
  ConfigArgs config;
  GenerateArgs generate;
  generate.argv.assign(argv, argv + argc);
  InspectArgs inspect;
  ReportArgs report;
  PlanArgs plan;
  const CLI::App* train_cmd = AddTrain(app, train);
  const CLI::App* eval_cmd = AddEval(app, eval);
  const CLI::App* predict_cmd = AddPredict(app, predict);
  const CLI::App* recommend_cmd = AddRecommend(app, recommend);
  const CLI::App* export_cmd = AddExport(app, export_args);
  const CLI::App* prepare_cmd = AddPrepare(app, prepare, prepare_flags);
  const CLI::App* config_cmd = AddConfig(app, config);
  const CLI::App* generate_cmd = AddGenerate(app, generate);
  const CLI::App* inspect_cmd = AddInspect(app, inspect);
  const CLI::App* report_cmd = AddReport(app, report);
  const CLI::App* plan_cmd = AddPlan(app, plan);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  SetLogVerbose(verbose);
  if (verbose) setenv("ECTRAIN_HDF5_ERRORS", "1", 1);  // read by every thread that calls HDF5
  if (*predict_cmd && predict.input.empty() && predict.row.empty()) {
    std::fprintf(stderr, "ectrain predict: give --input FILE or --row \"column=value,...\"\n");
    return 2;
  }
  if (*recommend_cmd && recommend.user.empty() && recommend.users.empty() && recommend.evaluate.empty()) {
    std::fprintf(stderr, "ectrain recommend: give --user, --users or --evaluate\n");
    return 2;
  }
  prepare_flags.AppendOverrides(prepare.overrides);
  const Status status = *train_cmd       ? RunTrain(train)
                        : *eval_cmd      ? RunEval(eval)
                        : *predict_cmd   ? RunPredict(predict)
                        : *prepare_cmd   ? RunPrepare(prepare)
                        : *recommend_cmd ? RunRecommend(recommend)
                        : *export_cmd    ? RunExportProgram(export_args)
                        : *generate_cmd  ? RunGenerate(generate)
                        : *inspect_cmd   ? RunInspect(inspect)
                        : *report_cmd    ? RunReport(report)
                        : *config_cmd ? RunShowConfig(config.path, config.overrides, config.list_keys, config.no_data)
                        : *plan_cmd   ? RunPlanCommand(plan)
                                      : Status::Ok();
  if (!status.ok()) {
    std::fprintf(stderr, "ectrain: error: %s\n", status.message().c_str());
    return status.ExitCode();
  }
  return 0;
}

}  // namespace
}  // namespace ectrain::cli

int main(int argc, char** argv) { return ectrain::cli::Main(argc, argv, std::chrono::steady_clock::now()); }
