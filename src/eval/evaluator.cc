#include "eval/evaluator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <numeric>

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

namespace {

// A CSV field: quoted, with quotes doubled, when it holds a delimiter, quote or line break.
std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string ClassName(const std::vector<std::string>& class_names, size_t c) {
  return c < class_names.size() ? class_names[c] : std::to_string(c);
}

// `top_k`: multiclass, the K most likely classes (at most the classes); 0 every class.
std::string Header(const model::Model& model, const std::vector<std::string>& class_names, size_t width,
                   const std::string& id_name, size_t top_k) {
  std::string header = id_name.empty() ? "" : CsvField(id_name) + ",";
  switch (model.task()) {
    case model::Task::kBinary:
      return header + "probability";
    case model::Task::kRegression:
      return header + "prediction";
    case model::Task::kMulticlass:
      break;
  }
  for (size_t i = 0; i < (top_k > 0 ? top_k : width); ++i) {
    if (i > 0) header += ",";
    const std::string n = std::to_string(i + 1);
    header += top_k > 0 ? "top" + n + "_class,top" + n + "_prob" : CsvField(ClassName(class_names, i));
  }
  return header;
}

}  // namespace

Status WritePredictions(const model::Model& model, const std::vector<float>& outputs,
                        const std::vector<std::string>& class_names, const std::string& path,
                        const PredictionColumns& columns) {
  const std::vector<double> probabilities = model.Probabilities(outputs);
  const auto width = static_cast<size_t>(model.num_outputs());
  if (!columns.id_name.empty() && (columns.ids == nullptr || columns.ids->size() * width != probabilities.size())) {
    return Internal("predictions: " + std::to_string(columns.ids == nullptr ? 0 : columns.ids->size()) + " ids of '" +
                    columns.id_name + "' for " + std::to_string(probabilities.size() / width) + " rows");
  }
  std::ofstream file_out;
  if (!path.empty() && path != "-") {
    file_out.open(path, std::ios::trunc);
    if (!file_out) return Internal("cannot write " + path + ": check the folder exists and is writable");
  }
  std::ostream& out = file_out.is_open() ? file_out : std::cout;
  const bool multiclass = model.task() == model::Task::kMulticlass;
  const size_t top_k = multiclass && columns.top_k > 0 ? std::min(width, static_cast<size_t>(columns.top_k)) : 0;
  out << Header(model, class_names, width, columns.id_name, top_k) << "\n";
  std::vector<std::string> names(width);
  for (size_t c = 0; c < width; ++c) names[c] = CsvField(ClassName(class_names, c));
  std::vector<size_t> order(width);
  char buf[64];
  std::string line;
  for (size_t row = 0; row < probabilities.size(); row += width) {
    line.clear();
    if (!columns.id_name.empty()) line += CsvField((*columns.ids)[row / width]) + ",";
    const double* p = probabilities.data() + row;
    if (!multiclass || top_k == 0) {
      for (size_t c = 0; c < width; ++c) {
        std::snprintf(buf, sizeof(buf), c == 0 ? "%.9g" : ",%.9g", p[c]);
        line += buf;
      }
    } else {
      // The most likely first; equal probabilities in class order.
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(top_k), order.end(),
                        [p](size_t a, size_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
      for (size_t i = 0; i < top_k; ++i) {
        std::snprintf(buf, sizeof(buf), ",%.9g", p[order[i]]);
        line += (i == 0 ? "" : ",") + names[order[i]] + buf;
      }
    }
    out << line << "\n";
  }
  out.flush();
  if (!out) return Internal("writing predictions to " + path + " failed");
  return Status::Ok();
}

}  // namespace ectrain::eval
