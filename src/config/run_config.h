// RunConfig: every setting of a run. Each module owns the struct of its own settings
// (<module>/options.h); config/ is the one place that fills and validates them from YAML.
#pragma once

#include "ckpt/options.h"
#include "comm/options.h"
#include "data/options.h"
#include "model/options.h"
#include "optim/options.h"
#include "prep/options.h"
#include "train/options.h"

namespace ectrain {

struct RunConfig {
  data::DataOptions data;
  prep::PrepareOptions prepare;
  model::ModelOptions model;
  optim::OptimOptions optimizer;
  train::TrainOptions train;
  train::EvalOptions eval;
  ckpt::CheckpointOptions checkpoint;
  comm::CommOptions comm;

  std::string checkpoint_dir() const {
    return checkpoint.dir.empty() ? train.output_dir + "/checkpoints" : checkpoint.dir;
  }
};

}  // namespace ectrain
