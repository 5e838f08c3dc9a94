// ectrain: data-parallel training of e-commerce models. Parses the command line and runs one
// subcommand; the only place a Status becomes an exit code.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"
#include "core/log.h"
#include "core/version.h"

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
  command->add_option("--set", overrides, help)
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

}  // namespace

int main(int argc, char** argv) {
  const auto launch_time = std::chrono::steady_clock::now();
  CLI::App app{"ectrain " ECTRAIN_VERSION
               ": data-parallel training of click, purchase and product models on HDF5 data.\n"
               "Run it alone (one process), under `mpirun -np N`, or in a Slurm job."};
  app.require_subcommand(1);
  app.set_version_flag("--version", ECTRAIN_VERSION);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "log from every rank (not only rank 0), and debug lines")->configurable(false);

  ectrain::cli::TrainArgs train;
  train.launch_time = launch_time;
  auto* train_cmd = app.add_subcommand("train", "train a model from a YAML config; rank 0 evaluates and checkpoints");
  train_cmd->add_option("config", train.config_path, "YAML config (see configs/)")->required();
  AddSetOption(train_cmd, train.overrides, "override a key: section.key=value (repeatable)");
  auto* resume_flag = train_cmd->add_flag(
      "--resume", train.resume,
      "continue from the latest checkpoint in checkpoint.dir, and fail if there is none (without this flag, "
      "training resumes when a checkpoint exists and starts afresh otherwise)");
  train_cmd->add_flag("--fresh", train.fresh, "move existing checkpoints aside (nothing is deleted) and start over")
      ->excludes(resume_flag);
  train_cmd->add_option("--ranks", train.ranks,
                        "debug mode: run N data-parallel ranks as threads of this one process (no mpirun; "
                        "attach gdb as usual); the same parameters as mpirun -np N")
      ->check(CLI::Range(1, 1024));
  train_cmd->footer(
      "Exit status: 0 done; 1 failure at run time; 2 usage or configuration error; 3 stopped by SIGTERM, SIGINT or "
      "SIGUSR1 after writing a checkpoint (run the same command again to resume). A second SIGINT stops at once.");

  ectrain::cli::EvalArgs eval;
  auto* eval_cmd = app.add_subcommand("eval", "evaluate a checkpoint on labelled HDF5 data");
  eval_cmd->add_option("--checkpoint", eval.checkpoint, "checkpoint file, or a folder with a 'latest' pointer")
      ->required();
  eval_cmd->add_option("--data", eval.data, "HDF5 file (default: data.test of the checkpoint's config)");
  AddSetOption(eval_cmd, eval.overrides, "override a key of the stored config: section.key=value");

  ectrain::cli::PredictArgs predict;
  auto* predict_cmd = app.add_subcommand("predict", "score rows with a checkpoint: purchase/click probabilities");
  predict_cmd->add_option("--checkpoint", predict.checkpoint, "checkpoint file, or a folder with a 'latest' pointer")
      ->required();
  auto* input_opt = predict_cmd->add_option("--input", predict.input,
                                            "rows to score: prepared HDF5 (.h5) or a raw CSV with a header (.csv)");
  auto* row_opt = predict_cmd->add_option("--row", predict.row,
                                          "one raw row, \"column=value,column=value,...\"; prints its probability");
  input_opt->excludes(row_opt);
  predict_cmd->add_option("--output", predict.output, "CSV file for the probabilities (default: standard output)");

  ectrain::cli::PrepareArgs prepare;
  std::string source, label, dense, categorical, train_out, test_out;
  double test_fraction = -1;
  int64_t seed = -1;
  auto* prepare_cmd = app.add_subcommand(
      "prepare", "convert a CSV into train/test HDF5 files: dedupe, split, fill, standardize, map categories");
  prepare_cmd->add_option("config", prepare.config_path, "YAML config whose data: and prepare: sections apply");
  AddSetOption(prepare_cmd, prepare.overrides, "override a key: section.key=value");
  prepare_cmd->add_option("--source", source, "CSV file (prepare.source)");
  prepare_cmd->add_option("--label", label, "label column (data.label)");
  prepare_cmd->add_option("--dense", dense, "numeric columns, comma-separated (data.dense)");
  prepare_cmd->add_option("--categorical", categorical, "categorical columns, comma-separated (data.categorical)");
  prepare_cmd->add_option("--train-out", train_out, "output HDF5 for the training split (data.train)");
  prepare_cmd->add_option("--test-out", test_out, "output HDF5 for the test split (data.test)");
  prepare_cmd->add_option("--test-fraction", test_fraction, "share of rows for the test split (prepare.test_fraction)");
  prepare_cmd->add_option("--seed", seed, "seed of the split (prepare.seed)");

  std::string config_path;
  std::vector<std::string> config_overrides;
  bool list_keys = false;
  auto* config_cmd = app.add_subcommand("config", "check a config and print it resolved, or list every key");
  config_cmd->add_option("config", config_path, "YAML config");
  AddSetOption(config_cmd, config_overrides, "override a key: section.key=value");
  config_cmd->add_flag("--keys", list_keys, "list every key with its default and meaning");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  ectrain::SetLogVerbose(verbose);
  ectrain::Status status;
  if (*train_cmd) {
    status = ectrain::cli::RunTrain(train);
  } else if (*eval_cmd) {
    status = ectrain::cli::RunEval(eval);
  } else if (*predict_cmd) {
    if (predict.input.empty() && predict.row.empty()) {
      std::fprintf(stderr, "ectrain predict: give --input FILE or --row \"column=value,...\"\n");
      return 2;
    }
    status = ectrain::cli::RunPredict(predict);
  } else if (*prepare_cmd) {
    auto& o = prepare.overrides;
    if (!source.empty()) o.push_back("prepare.source=" + YamlText(source));
    if (!label.empty()) o.push_back("data.label=" + YamlText(label));
    if (!dense.empty()) o.push_back("data.dense=" + YamlNameList(dense));
    if (!categorical.empty()) o.push_back("data.categorical=" + YamlNameList(categorical));
    if (!train_out.empty()) o.push_back("data.train=" + YamlText(train_out));
    if (!test_out.empty()) o.push_back("data.test=" + YamlText(test_out));
    if (test_fraction >= 0) o.push_back("prepare.test_fraction=" + std::to_string(test_fraction));
    if (seed >= 0) o.push_back("prepare.seed=" + std::to_string(seed));
    status = ectrain::cli::RunPrepare(prepare);
  } else if (*config_cmd) {
    status = ectrain::cli::RunShowConfig(config_path, config_overrides, list_keys);
  }
  if (!status.ok()) {
    std::fprintf(stderr, "ectrain: error: %s\n", status.message().c_str());
    return status.ExitCode();
  }
  return 0;
}
