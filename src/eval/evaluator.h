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

// Writes one line per row, "-" or "" meaning standard output, with a header:
//   binary: "probability"; multiclass: "class,probability" (the most likely class, its id or its
//   name from `class_names`); regression: "prediction".
Status WritePredictions(const model::Model& model, const std::vector<float>& outputs,
                        const std::vector<std::string>& class_names, const std::string& path);

}  // namespace ectrain::eval
