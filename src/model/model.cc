#include "model/model.h"

#include "kernels/cpu_kernels.h"
#include "model/ctr_model.h"
#include "model/mf_model.h"
#include "model/two_tower_model.h"

namespace ectrain::model {

const char* TaskName(Task task) {
  switch (task) {
    case Task::kBinary: return "binary";
    case Task::kMulticlass: return "multiclass";
    case Task::kRegression: return "regression";
  }
  return "?";
}

uint64_t Model::NextDropoutKey() {
  using kernels::MixKey;
  const uint64_t step_key = MixKey(dropout_seed_, static_cast<uint64_t>(dropout_step_));
  return MixKey(MixKey(step_key, static_cast<uint64_t>(dropout_calls_++)), 0xd20);
}

StatusOr<std::unique_ptr<Model>> CreateModel(const ModelOptions& options, const FeatureShape& features) {
  RETURN_IF_ERROR(CheckModelOptions(options));
  RETURN_IF_ERROR(CheckModelFields(options, features.categorical_names, features.bag_names));
  if (features.num_dense == 0 && features.categorical_names.empty() && features.bag_names.empty()) {
    return InvalidArgument(
        "model: there are no inputs; name columns in data.dense, data.categorical or data.multi_valued");
  }
  if (options.interaction == "dot") {
    const size_t vectors = features.categorical_names.size() + features.bag_names.size() + (features.num_dense > 0);
    if (vectors < 2) {
      return InvalidArgument("model.interaction: dot pairs the field embeddings (and the dense columns, projected), "
                             "but these inputs give " + std::to_string(vectors) +
                             " vector; it needs at least 2 (use concat)");
    }
  }
  std::unique_ptr<Model> model;
  if (options.type == "two_tower") {
    model = std::make_unique<TwoTowerModel>(options, features);
  } else if (options.type == "mf") {
    model = std::make_unique<MatrixFactorizationModel>(options, features);
  } else {
    model = std::make_unique<CtrModel>(options, features);
  }
  return model;
}

}  // namespace ectrain::model
