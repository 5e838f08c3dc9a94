#include "model/model.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu_kernels.h"
#include "model/ctr_model.h"
#include "model/mf_model.h"
#include "model/two_tower_model.h"

namespace ectrain::model {

const char* TaskName(Task task) {
  switch (task) {
    case Task::kBinary:
      return "binary";
    case Task::kMulticlass:
      return "multiclass";
    case Task::kRegression:
      return "regression";
  }
  return "?";
}

std::vector<double> Model::Probabilities(std::span<const float> outputs) const {
  std::vector<double> out(outputs.size());
  switch (task()) {
    case Task::kBinary:
      for (size_t i = 0; i < outputs.size(); ++i) out[i] = kernels::Sigmoid(outputs[i]);
      break;
    case Task::kRegression:
      std::copy(outputs.begin(), outputs.end(), out.begin());
      break;
    case Task::kMulticlass: {
      const auto width = static_cast<size_t>(num_outputs());
      for (size_t row = 0; row < outputs.size(); row += width) {
        const float top = *std::max_element(outputs.begin() + row, outputs.begin() + row + width);
        double sum = 0;
        for (size_t c = row; c < row + width; ++c) sum += out[c] = std::exp(static_cast<double>(outputs[c] - top));
        for (size_t c = row; c < row + width; ++c) out[c] /= sum;
      }
      break;
    }
  }
  return out;
}

uint64_t Model::NextDropoutKey() {
  using kernels::MixKey;
  const uint64_t step_key = MixKey(dropout_seed_, static_cast<uint64_t>(dropout_step_));
  return MixKey(MixKey(step_key, static_cast<uint64_t>(dropout_calls_++)), 0xd20);
}

void Model::InitializeOutputBias(ParamArena& params, const std::vector<double>& prior) const {
  const ParamSpec& spec = layout().spec(output_bias());
  std::vector<float> bias(static_cast<size_t>(spec.size()), 0.0f);
  constexpr double kFloor = 1e-6;  // a class (or label value) never seen must not give -infinity
  switch (task()) {
    case Task::kBinary: {
      const double p = std::clamp(prior.at(0), kFloor, 1.0 - kFloor);
      bias[0] = static_cast<float>(std::log(p / (1.0 - p)));
      break;
    }
    case Task::kMulticlass:
      for (size_t c = 0; c < bias.size() && c < prior.size(); ++c) {
        bias[c] = static_cast<float>(std::log(std::max(prior[c], kFloor)));
      }
      break;
    case Task::kRegression:
      bias[0] = static_cast<float>(prior.at(0));
      break;
  }
  params.allocator().CopyFromHost(params.data() + spec.offset, bias.data(), bias.size() * sizeof(float));
}

void Model::CopyOutputs(const float* outputs, int64_t rows, float* host) const {
  kernels().allocator().CopyToHost(host, outputs, static_cast<size_t>(rows * num_outputs()) * sizeof(float));
}

StatusOr<std::unique_ptr<Model>> CreateModel(const ModelOptions& options, const FeatureShape& features,
                                             const kernels::Kernels& kernels) {
  RETURN_IF_ERROR(CheckModelOptions(options));
  RETURN_IF_ERROR(CheckModelFields(options, features.categorical_names, features.bag_names));
  if (features.num_dense == 0 && features.categorical_names.empty() && features.bag_names.empty()) {
    return InvalidArgument(
        "model: there are no inputs; name columns in data.dense, data.categorical or data.multi_valued");
  }
  if (options.interaction == "dot") {
    const size_t vectors = features.categorical_names.size() + features.bag_names.size() + (features.num_dense > 0);
    if (vectors < 2) {
      return InvalidArgument(
          "model.interaction: dot pairs the field embeddings (and the dense columns, projected), "
          "but these inputs give " +
          std::to_string(vectors) + " vector; it needs at least 2 (use concat)");
    }
  }
  std::unique_ptr<Model> model;
  if (options.type == "two_tower") {
    model = std::make_unique<TwoTowerModel>(options, features, kernels);
  } else if (options.type == "mf") {
    model = std::make_unique<MatrixFactorizationModel>(options, features, kernels);
  } else {
    model = std::make_unique<CtrModel>(options, features, kernels);
  }
  return model;
}

}  // namespace ectrain::model
