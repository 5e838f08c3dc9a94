// The subcommands of the `ectrain` program. Each returns a Status; main() turns it into the
// exit code (0 ok, 2 usage or configuration, 1 failure at run time).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/status.h"
#include "tools/generate.h"

namespace ectrain::plan {
struct DataCheck;
}  // namespace ectrain::plan

namespace ectrain::cli {

struct TrainArgs {
  std::string config_path;
  std::vector<std::string> overrides;  // --set section.key=value
  bool resume = false;                 // insist on resuming from a checkpoint
  bool fresh = false;                  // move existing checkpoints aside and start over
  int ranks = 1;                       // > 1: that many ranks as threads in this process (debug mode)
  std::chrono::steady_clock::time_point launch_time;
};

struct EvalArgs {
  std::string checkpoint;  // a checkpoint file, or a folder with a `latest` pointer
  std::string data;        // HDF5 file; default: data.test of the checkpoint's config
  std::vector<std::string> overrides;
};

struct PredictArgs {
  std::string checkpoint;
  std::string input;      // .h5/.hdf5 (prepared columns) or .csv (raw rows, encoded like training)
  std::string output;     // CSV of probabilities; "-" or empty: standard output
  std::string row;        // one raw row: "column=value,column=value,..."
  std::string id_column;  // a column of the input passed through as the first output column
  int64_t top_k = 0;      // classifiers: only the K most likely classes (0: every class's probability)
};

struct ExportArgs {
  std::string checkpoint;
  std::string format = "onnx";
  std::string out;  // the model file; its sidecar is OUT.json
};

struct RecommendArgs {
  std::string checkpoint;
  std::string user;         // one raw user id: its top k items
  std::string users;        // a file of raw user ids, one per line: CSV user,rank,item,score
  std::string evaluate;     // prepared HDF5 of held-out interactions: HR/NDCG/recall@k vs most popular
  std::string train;        // the training data the catalogue comes from (default: data.train)
  std::string user_column;  // default: data.user_column, else model.user_field (mf), else "user_id"
  std::string item_column;  // default: data.item_column, else model.item_field (mf), else "item_id"
  std::string output;       // for --users: CSV file (default: standard output)
  int64_t k = 10;
  bool include_seen = false;  // also recommend items the user has in the training data
};

struct PrepareArgs {
  std::string config_path;             // optional
  std::vector<std::string> overrides;  // from --set and the shorthand flags
};

struct GenerateArgs {
  tools::GenerateOptions options;  // command_line and progress are filled by RunGenerate
  std::vector<std::string> argv;   // the command line, stored as provenance
};

struct InspectArgs {
  std::vector<std::string> paths;  // files or directories
  std::string label;               // label column (default: the stored schema's)
  bool json = false;
};

struct ReportArgs {
  std::vector<std::string> run_dirs;  // train.output_dir of each run
  std::string out = "report.html";
};

Status RunTrain(const TrainArgs& args);
Status RunEval(const EvalArgs& args);
Status RunPredict(const PredictArgs& args);
Status RunPrepare(const PrepareArgs& args);
// export_command.cc: the model's forward pass as an ONNX file, and its preprocessing sidecar.
Status RunExport(const ExportArgs& args);  // in ectrain-export (export_main.cc)
// `ectrain export`: runs ectrain-export, beside this program, with the parsed arguments.
Status RunExportProgram(const ExportArgs& args);
// Top-k items for users, or ranking quality on held-out interactions (src/eval/recommend.h).
Status RunRecommend(const RecommendArgs& args);
// Synthetic click data to sharded HDF5 (src/tools/generate.h); a summary line on stdout.
Status RunGenerate(const GenerateArgs& args);
// Summarises HDF5 data files (src/tools/inspect.h) as text or JSON on stdout.
Status RunInspect(const InspectArgs& args);
// Training runs side by side in one self-contained HTML page (src/report/report.h).
Status RunReport(const ReportArgs& args);
// inspect_checkpoint.cc: whether `path` names a checkpoint (a ckpt-*.h5 file, a `latest`/`best`
// pointer, a checkpoint folder, or an HDF5 file with a checkpoint's header), and its summary.
bool IsCheckpointPath(const std::string& path);
Status InspectCheckpoint(const std::string& path, bool json);
// Validates a config and, unless `no_data`, the data files it names (plan/data_check.h), and prints
// it resolved; with `list_keys`, prints every key instead.
Status RunShowConfig(const std::string& config_path, const std::vector<std::string>& overrides, bool list_keys,
                     bool no_data);

// Each problem CheckConfigData found, on stderr, then an InvalidArgument (exit 2) counting them.
Status ReportDataProblems(const plan::DataCheck& check, const std::string& config_path);

struct PlanArgs {
  std::string config_path;
  std::vector<std::string> overrides;
  int ranks = 1;
  bool json = false;
};
// plan_command.cc: each rank's rows and memory for a training run of the config (plan/run_estimate.h).
Status RunPlanCommand(const PlanArgs& args);

}  // namespace ectrain::cli
