// The data a config names, checked before anything runs (`ectrain config`, `ectrain plan`): the
// training files (data.train), the test and validation files exist, are readable HDF5 and hold
// the columns the config names with the right kinds, the training set resolves to a schema
// (vocabulary sizes, the label's kind for the loss) and the model builds on it (model.parents,
// towers, fields). Only metadata is read: the files' datasets and stored schemas, never their rows
// (a label column without a stored schema excepted: model.loss auto looks at its first rows, as
// training does). Uses the checks training starts with (data/training_files.h, CreateModel).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/run_config.h"
#include "data/training_files.h"

namespace ectrain::plan {

struct DataCheck {
  // Each problem: the key, the file and column where there is one, and what to do.
  std::vector<std::string> problems;
  // The training files, opened and bound, when they passed (what a plan reads further).
  std::optional<data::TrainingFiles> training;
  // The config with model.loss auto resolved from the training labels (as `ectrain train` does).
  RunConfig resolved;
  // Rows of the larger of data.test and data.validation (rank 0 evaluates them in batches).
  int64_t held_out_rows = 0;
};

// `source`: the config file, for the messages.
DataCheck CheckConfigData(const RunConfig& config, const std::string& source);

}  // namespace ectrain::plan
