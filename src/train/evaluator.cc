#include "train/evaluator.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "kernels/cpu_kernels.h"
#include "train/data_feed.h"

namespace ectrain::train {

std::vector<float> ScoreTable(model::CtrModel& model, const ParamArena& params, const data::Table& table,
                              int64_t batch_size) {
  std::vector<float> logits(static_cast<size_t>(table.num_rows));
  for (int64_t begin = 0; begin < table.num_rows; begin += batch_size) {
    int64_t end = std::min(table.num_rows, begin + batch_size);
    model.Forward(ViewRows(table, begin, end), params, logits.data() + begin);
  }
  return logits;
}

Metrics EvaluateTable(model::CtrModel& model, const ParamArena& params, const data::Table& table,
                            int64_t batch_size) {
  std::vector<float> logits = ScoreTable(model, params, table, batch_size);
  return ComputeBinaryMetrics(logits, table.labels);
}

Status WriteProbabilities(const std::vector<float>& logits, const std::string& path) {
  std::ofstream file_out;
  if (!path.empty() && path != "-") {
    file_out.open(path, std::ios::trunc);
    if (!file_out) return Internal("cannot write " + path + ": check the folder exists and is writable");
  }
  std::ostream& out = file_out.is_open() ? file_out : std::cout;
  out << "probability\n";
  char buf[32];
  for (float z : logits) {
    std::snprintf(buf, sizeof(buf), "%.9g\n", kernels::Sigmoid(z));
    out << buf;
  }
  out.flush();
  if (!out) return Internal("writing probabilities to " + path + " failed");
  return Status::Ok();
}

}  // namespace ectrain::train
