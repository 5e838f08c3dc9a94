// One training run as its folder records it, for `ectrain report`: metrics.jsonl's `step`, `epoch`,
// `eval` and `done` lines (src/train/chief.cc writes them) and config.yaml. Value types; ReadRun
// reads the folder, ParseMetrics and AddMetricsLine are pure.
#pragma once

#include <cstdint>
#include <istream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace ectrain::report {

constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

// Metric name -> value for one evaluated set; a metric logged as null (not finite) is absent.
using MetricValues = std::map<std::string, double>;

// A `step` line, or an `epoch` line. Fields the line lacks (or logged as null) are kNoValue.
struct TrainPoint {
  int64_t step = 0;
  int64_t epoch = 0;
  double train_loss = kNoValue;
  double learning_rate = kNoValue;
  double samples_per_second = kNoValue;
};

// An `eval` line: each evaluated set ("validation", "test") with its metrics.
struct EvalPoint {
  int64_t step = 0;
  int64_t epoch = 0;
  std::map<std::string, MetricValues> sets;
};

struct RunHistory {
  std::string name;  // how the report labels the run: its folder's name
  std::string dir;
  // By step. A step logged again (a resume from an earlier checkpoint, a finished run run again)
  // keeps its last line, so the curves follow the run that went on.
  std::vector<TrainPoint> steps;
  std::vector<TrainPoint> epochs;
  std::vector<EvalPoint> evals;
  int64_t starts = 0;  // `start` lines: 1 + the times the run was resumed
  // The `done` line: every number it holds (seconds, memory in MB, ...) and its final metrics by
  // set. A finished run run again appends a `done` line with nothing trained; its metrics replace
  // the earlier ones but not the step loop's figures.
  bool finished = false;
  std::map<std::string, double> done;
  std::map<std::string, MetricValues> final_sets;
  std::string config_yaml;  // config.yaml as written; empty when the folder has none
};

// Adds one line of metrics.jsonl (`line_number` counts from 1) to `run`; a line that is not a JSON
// object with an "event", or whose step, epoch or metrics are not numbers, is a DataError naming
// `path` and the line. Events the report does not draw (start, best, ...) are counted or passed over.
Status AddMetricsLine(const std::string& line, int64_t line_number, const std::string& path, RunHistory& run);

// Every line of a metrics.jsonl, in order. A last line without its newline that does not parse is
// being written by a run still training: it is left out with a warning instead of failing.
Status ParseMetrics(std::istream& in, const std::string& path, RunHistory& run);

// The run in folder `dir`: its metrics.jsonl (required) and config.yaml (optional).
StatusOr<RunHistory> ReadRun(const std::string& dir);

// Labels for the runs: each folder's name, or its path as given where two folders share a name.
std::vector<std::string> RunNames(const std::vector<std::string>& dirs);

}  // namespace ectrain::report
