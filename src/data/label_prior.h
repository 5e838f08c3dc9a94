// What the training labels look like before any model has seen them: the prior a model's output
// bias starts from (model.initial_bias: prior), so that the first steps are not spent learning the
// base rate and the first epoch's loss starts at the constant predictor's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/schema.h"

namespace ectrain::data {

// The mean label (binary: the positive rate; regression: the mean), or for class labels each
// class's share (label_classes.size() values), over the first `max_rows` rows of `files` in turn.
// prepare writes rows in the source's order, so this is the whole set's prior unless the file is
// ordered by something that moves the label (then raise max_rows to read all). Errors name the file.
StatusOr<std::vector<double>> LabelPrior(const std::vector<std::string>& files, const FeatureSchema& schema,
                                         int64_t max_rows);

// Whether the first `max_rows` values of column `label` of the file at `path` are all 0 or 1 (what
// model.loss auto takes for binary labels where no prepared label type says). Errors name the file.
StatusOr<bool> LabelsAreZeroOrOne(const std::string& path, const std::string& label, int64_t max_rows);

}  // namespace ectrain::data
