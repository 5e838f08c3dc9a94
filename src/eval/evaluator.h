// Scoring a whole table with a model: used by evaluation (rank 0), `ectrain eval` and `predict`.
// Works through the table in batches so memory stays bounded by eval.batch_size.
#pragma once

#include <string>
#include <vector>

#include "core/param_arena.h"
#include "core/status.h"
#include "data/column_file.h"
#include "eval/metrics.h"
#include "model/model.h"

namespace ectrain::eval {

// The model's raw outputs, (table.num_rows, model.num_outputs()) row-major, in table order. A
// non-finite output (parameters that hold NaN or infinity, or overflow) is an error naming how
// many and the first row: no metric or prediction is made of it.
StatusOr<std::vector<float>> ScoreTable(model::Model& model, const ParamArena& params, const data::Table& table,
                                        int64_t batch_size);

// The metrics of the model's task (binary, multiclass or regression) for outputs against labels.
Metrics MetricsOf(const model::Model& model, const std::vector<float>& outputs, std::span<const float> labels);

StatusOr<Metrics> EvaluateTable(model::Model& model, const ParamArena& params, const data::Table& table,
                                int64_t batch_size);

// What a prediction file holds besides the model's outputs.
struct PredictionColumns {
  std::string id_name;                            // a first column, this header, with ids[row]; "" none
  const std::vector<std::string>* ids = nullptr;  // one per row when id_name is set
  int64_t top_k = 0;                              // multiclass: 0 every class; K the K most likely
};

// Writes one line per row, "-" or "" meaning standard output, with a header (CSV, names quoted
// where they need it): the id column when asked, then binary: "probability"; regression:
// "prediction"; multiclass: one probability column per class, named by `class_names` (or the
// class id), in class order, or with top_k K the K most likely classes, most likely first:
// "top1_class,top1_prob,...,topK_class,topK_prob".
Status WritePredictions(const model::Model& model, const std::vector<float>& outputs,
                        const std::vector<std::string>& class_names, const std::string& path,
                        const PredictionColumns& columns = {});

}  // namespace ectrain::eval
