#include "eval/evaluator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>

namespace ectrain::eval {

StatusOr<std::vector<float>> ScoreTable(model::Model& model, const ParamArena& params, const data::Table& table,
                                        int64_t batch_size) {
  const int64_t width = model.num_outputs();
  std::vector<float> outputs(static_cast<size_t>(table.num_rows * width));
  for (int64_t begin = 0; begin < table.num_rows; begin += batch_size) {
    int64_t end = std::min(table.num_rows, begin + batch_size);
    model.Forward(data::ViewRows(table, begin, end), params, outputs.data() + begin * width);
  }
  const auto finite = [](float v) { return std::isfinite(v); };
  const auto first_bad = std::find_if_not(outputs.begin(), outputs.end(), finite);
  if (first_bad != outputs.end()) {
    const auto bad = std::count_if(outputs.begin(), outputs.end(), [&](float v) { return !finite(v); });
    return DataError("the model's output is not finite for " + std::to_string(bad) + " of " +
                     std::to_string(outputs.size()) + " values (first in row " +
                     std::to_string((first_bad - outputs.begin()) / width) +
                     "): its parameters hold NaN or infinity (a diverged run), or overflow on these rows; "
                     "use an earlier checkpoint, or retrain with a lower optimizer.learning_rate");
  }
  return outputs;
}

Metrics MetricsOf(const model::Model& model, const std::vector<float>& outputs, std::span<const float> labels) {
  switch (model.task()) {
    case model::Task::kBinary:
      return ComputeBinaryMetrics(outputs, labels);
    case model::Task::kMulticlass:
      return ComputeMulticlassMetrics(outputs, static_cast<int>(model.num_outputs()), labels);
    case model::Task::kRegression:
      return ComputeRegressionMetrics(outputs, labels);
  }
  return {};
}

StatusOr<Metrics> EvaluateTable(model::Model& model, const ParamArena& params, const data::Table& table,
                                int64_t batch_size) {
  ASSIGN_OR_RETURN(const std::vector<float> outputs, ScoreTable(model, params, table, batch_size));
  return MetricsOf(model, outputs, table.labels);
}

Status WritePredictions(const model::Model& model, const std::vector<float>& outputs,
                        const std::vector<std::string>& class_names, const std::string& path) {
  std::ofstream file_out;
  if (!path.empty() && path != "-") {
    file_out.open(path, std::ios::trunc);
    if (!file_out) return Internal("cannot write " + path + ": check the folder exists and is writable");
  }
  std::ostream& out = file_out.is_open() ? file_out : std::cout;
  const std::vector<double> probabilities = model.Probabilities(outputs);
  const auto width = static_cast<size_t>(model.num_outputs());
  char buf[64];
  switch (model.task()) {
    case model::Task::kBinary:
      out << "probability\n";
      break;
    case model::Task::kRegression:
      out << "prediction\n";
      break;
    case model::Task::kMulticlass:
      out << "class,probability\n";
      break;
  }
  for (size_t row = 0; row < probabilities.size(); row += width) {
    if (model.task() != model::Task::kMulticlass) {
      std::snprintf(buf, sizeof(buf), "%.9g\n", probabilities[row]);
      out << buf;
      continue;
    }
    const auto best = std::max_element(probabilities.begin() + row, probabilities.begin() + row + width) -
                      (probabilities.begin() + row);
    std::snprintf(buf, sizeof(buf), ",%.9g\n", probabilities[row + best]);
    const bool named = best < static_cast<int64_t>(class_names.size());
    out << (named ? class_names[static_cast<size_t>(best)] : std::to_string(best)) << buf;
  }
  out.flush();
  if (!out) return Internal("writing predictions to " + path + " failed");
  return Status::Ok();
}

}  // namespace ectrain::eval
