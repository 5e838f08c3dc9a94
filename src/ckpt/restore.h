// A trained model restored from a checkpoint for inference (eval, predict, recommend, export):
// the model built from the checkpoint's own config and schema, and its parameters loaded and
// verified. Value type; one per thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/run_config.h"
#include "core/param_arena.h"
#include "core/status.h"
#include "data/schema.h"
#include "model/model.h"

namespace ectrain::ckpt {

struct RestoredModel {
  std::string path;  // the checkpoint file read
  RunConfig config;  // the config it was trained with (and the caller's overrides)
  data::FeatureSchema schema;
  std::shared_ptr<const std::string> schema_json;  // as the checkpoint stores it
  std::unique_ptr<model::Model> model;
  std::unique_ptr<ParamArena> params;
};

// `checkpoint`: a file, a `latest` or `best` pointer, or a folder (its newest checkpoint that reads
// back whole; the ones passed over are named in warnings). `overrides` (section.key=value) apply
// to the stored config.
StatusOr<RestoredModel> RestoreModel(const std::string& checkpoint, const std::vector<std::string>& overrides);

// The model's inputs as the data's schema describes them.
model::FeatureShape ModelInputs(const data::FeatureSchema& schema);

}  // namespace ectrain::ckpt
