// Scoring a whole table with a model: used by evaluation (rank 0), `ectrain eval` and `predict`.
// Works through the table in batches so memory stays bounded by eval.batch_size.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "core/param_arena.h"
#include "data/column_file.h"
#include "model/ctr_model.h"
#include "train/metrics.h"

namespace ectrain::train {

// logits(table.num_rows), in table order.
std::vector<float> ScoreTable(model::CtrModel& model, const ParamArena& params, const data::Table& table,
                              int64_t batch_size);

Metrics EvaluateTable(model::CtrModel& model, const ParamArena& params, const data::Table& table,
                            int64_t batch_size);

// Writes "probability" and one sigmoid(logit) per line, "-" or "" meaning standard output.
Status WriteProbabilities(const std::vector<float>& logits, const std::string& path);

}  // namespace ectrain::train
