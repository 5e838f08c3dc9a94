#include "ckpt/restore.h"

#include <filesystem>

#include "ckpt/checkpoint.h"
#include "config/config.h"
#include "core/log.h"

namespace ectrain::ckpt {

model::FeatureShape ModelInputs(const data::FeatureSchema& schema) {
  return {static_cast<int>(schema.dense.size()), schema.categorical, schema.vocab_sizes, schema.multi_valued,
          schema.multi_vocab_sizes};
}

StatusOr<RestoredModel> RestoreModel(const std::string& checkpoint, const std::vector<std::string>& overrides) {
  RestoredModel restored;
  const auto load = [&](const std::string& path) -> Status {
    ASSIGN_OR_RETURN(CheckpointInfo info, ReadCheckpointInfo(path));
    ASSIGN_OR_RETURN(restored.config, config::ParseConfig(info.config_yaml, overrides, path + " (stored config)",
                                                          config::ConfigOrigin::kStored));
    ASSIGN_OR_RETURN(restored.schema, data::FeatureSchema::FromJson(*info.schema_json, path));
    restored.schema_json = info.schema_json;
    ASSIGN_OR_RETURN(restored.model, model::CreateModel(restored.config.model, ModelInputs(restored.schema)));
    restored.params = std::make_unique<ParamArena>(restored.model->layout());
    return LoadCheckpoint(path, restored.model->layout(), *restored.params, nullptr);
  };
  ASSIGN_OR_RETURN(const ChosenCheckpoint chosen, LoadNewestVerified(checkpoint, load));
  for (const std::string& note : chosen.notes) LOG_WARNING << note;
  // A folder means its newest checkpoint; a run that kept one on validation delivered `best`.
  std::error_code ec;
  if (std::filesystem::is_directory(checkpoint, ec)) {
    StatusOr<std::string> best = ResolveCheckpointPath(checkpoint + "/best");
    if (best.ok() && std::filesystem::exists(*best, ec) &&
        std::filesystem::path(*best).filename() != std::filesystem::path(chosen.path).filename()) {
      LOG_WARNING << "using " << chosen.path << ", the folder's newest checkpoint; the one training kept as best ("
                  << "checkpoint.keep_best) is " << *best << ": give --checkpoint " << checkpoint << "/best for it";
    }
  }
  restored.path = chosen.path;
  return restored;
}

}  // namespace ectrain::ckpt
