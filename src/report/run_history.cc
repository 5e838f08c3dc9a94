#include "report/run_history.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/log.h"

namespace ectrain::report {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Reads the numbers of one line; the first problem names the file, the line and the key.
class LineReader {
 public:
  LineReader(const json& line, int64_t number, const std::string& path) : line_(line), number_(number), path_(path) {}

  // A number, or kNoValue where the key is absent or null (a value that was not finite).
  double Optional(const char* key) {
    const auto it = line_.find(key);
    if (it == line_.end() || it->is_null()) return kNoValue;
    if (it->is_number()) return it->get<double>();
    Fail(std::string("'") + key + "' is " + it->dump() + ", not a number");
    return kNoValue;
  }
  int64_t Required(const char* key) {
    const auto it = line_.find(key);
    if (it == line_.end() || !it->is_number()) {
      Fail(std::string("a '") + line_.value("event", "") + "' line needs a number '" + key + "'");
      return 0;
    }
    return it->get<int64_t>();
  }
  // "validation": {"auc": 0.9, "confusion": [[...]], ...} -> the numbers; arrays pass over.
  MetricValues Metrics(const char* set) {
    MetricValues values;
    const json& metrics = line_[set];
    if (!metrics.is_object()) {
      Fail(std::string("'") + set + "' is not an object of metrics");
      return values;
    }
    for (const auto& [name, value] : metrics.items()) {
      if (value.is_number()) {
        values[name] = value.get<double>();
      } else if (!value.is_null() && !value.is_array()) {
        Fail("metric '" + std::string(set) + "." + name + "' is " + value.dump() + ", not a number");
      }
    }
    return values;
  }
  void Fail(const std::string& reason) {
    if (status_.ok()) {
      status_ = DataError(path_ + " line " + std::to_string(number_) + ": " + reason +
                          "; is it a metrics.jsonl that ectrain train wrote? Fix or delete that line");
    }
  }
  const Status& status() const { return status_; }

 private:
  const json& line_;
  const int64_t number_;
  const std::string& path_;
  Status status_;
};

// Keeps `points` sorted by step, a later point replacing one at the same step.
template <typename Point, typename Merge>
void Upsert(std::vector<Point>& points, Point point, Merge merge) {
  auto it = points.end();
  while (it != points.begin() && std::prev(it)->step > point.step) --it;
  if (it != points.begin() && std::prev(it)->step == point.step) {
    merge(*std::prev(it), std::move(point));
  } else {
    points.insert(it, std::move(point));
  }
}

void ReplaceTrainPoint(TrainPoint& old, TrainPoint point) { old = point; }

void MergeEvalPoint(EvalPoint& old, EvalPoint point) {
  old.epoch = point.epoch;
  for (auto& [set, values] : point.sets) old.sets[set] = std::move(values);
}

void AddDone(const json& line, LineReader& reader, RunHistory& run) {
  const bool trained = reader.Optional("train_seconds") > 0.0;
  if (trained || !run.finished) {
    run.done.clear();
    for (const auto& [key, value] : line.items()) {
      if (value.is_number()) run.done[key] = value.get<double>();
      if (value.is_boolean()) run.done[key] = value.get<bool>() ? 1.0 : 0.0;  // stopped_early
    }
  }
  run.finished = true;
  run.final_sets.clear();
  for (const char* set : {"validation", "test"}) {
    if (line.contains(set)) run.final_sets[set] = reader.Metrics(set);
  }
}

}  // namespace

Status AddMetricsLine(const std::string& text, int64_t line_number, const std::string& path, RunHistory& run) {
  if (text.find_first_not_of(" \t\r") == std::string::npos) return Status::Ok();  // a blank line holds nothing
  json line;
  try {
    line = json::parse(text);
  } catch (const json::parse_error& e) {
    std::string reason = e.what();
    const size_t bracket = reason.find("] ");
    if (bracket != std::string::npos) reason = reason.substr(bracket + 2);  // nlohmann's "[json.exception...] "
    return DataError(path + " line " + std::to_string(line_number) + " is not JSON (" + reason +
                     "); fix or delete that line");
  }
  LineReader reader(line, line_number, path);
  if (!line.is_object() || !line.contains("event") || !line["event"].is_string()) {
    reader.Fail("not a JSON object with an \"event\"");
    return reader.status();
  }
  const std::string event = line["event"].get<std::string>();
  if (event == "step" || event == "epoch") {
    TrainPoint point;
    point.step = reader.Required("step");
    point.epoch = reader.Required("epoch");
    point.train_loss = reader.Optional("train_loss");
    point.learning_rate = reader.Optional("learning_rate");
    point.samples_per_second = reader.Optional("samples_per_second");
    if (reader.status().ok()) Upsert(event == "step" ? run.steps : run.epochs, point, ReplaceTrainPoint);
  } else if (event == "eval") {
    EvalPoint point;
    point.step = reader.Required("step");
    point.epoch = reader.Required("epoch");
    for (const char* set : {"validation", "test"}) {
      if (line.contains(set)) point.sets[set] = reader.Metrics(set);
    }
    if (reader.status().ok()) Upsert(run.evals, point, MergeEvalPoint);
  } else if (event == "done") {
    AddDone(line, reader, run);
  } else if (event == "start") {
    ++run.starts;
  }
  return reader.status();
}

Status ParseMetrics(std::istream& in, const std::string& path, RunHistory& run) {
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    const bool unterminated = in.eof();
    const Status status = AddMetricsLine(line, number, path, run);
    if (!status.ok() && unterminated) {
      LOG_WARNING << path << " line " << number
                  << " is incomplete (no newline at its end: the run is writing it); left out of the report";
      return Status::Ok();
    }
    RETURN_IF_ERROR(status);
  }
  if (in.bad()) return Internal("cannot read " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

StatusOr<RunHistory> ReadRun(const std::string& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    return NotFound("run folder '" + dir + "' " + (fs::exists(dir, error) ? "is not a folder" : "does not exist") +
                    "; give the train.output_dir of a training run");
  }
  RunHistory run;
  run.dir = dir;
  run.name = RunNames({dir}).front();
  const std::string metrics_path = (fs::path(dir) / "metrics.jsonl").string();
  if (!fs::exists(metrics_path, error)) {
    return NotFound(dir +
                    " has no metrics.jsonl: is it a training run's folder (train.output_dir)? ectrain train writes "
                    "metrics.jsonl there when training starts; give that folder");
  }
  std::ifstream metrics(metrics_path);
  if (!metrics) return Internal("cannot read " + metrics_path + ": " + std::strerror(errno));
  RETURN_IF_ERROR(ParseMetrics(metrics, metrics_path, run));
  std::ifstream config((fs::path(dir) / "config.yaml").string());
  if (config) {
    std::ostringstream text;
    text << config.rdbuf();
    run.config_yaml = text.str();
  }
  return run;
}

std::vector<std::string> RunNames(const std::vector<std::string>& dirs) {
  std::vector<std::string> folders;
  for (const std::string& dir : dirs) {
    fs::path path = fs::path(dir).lexically_normal();
    if (!path.has_filename()) path = path.parent_path();  // "runs/a/" -> "runs/a"
    if (path.filename() == "." || path.filename() == "..") path = fs::absolute(path).lexically_normal();
    if (!path.has_filename()) path = path.parent_path();
    folders.push_back(path.filename().string());
  }
  std::vector<std::string> names = folders;
  for (size_t i = 0; i < names.size(); ++i) {
    if (std::count(folders.begin(), folders.end(), folders[i]) > 1) names[i] = dirs[i];
  }
  return names;
}

}  // namespace ectrain::report
