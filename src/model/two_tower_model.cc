#include "model/two_tower_model.h"

#include <algorithm>
#include <cstring>

#include "kernels/cpu_kernels.h"  // MixKey

namespace ectrain::model {
namespace {
// The fields named in `names`, in feature order; the item side, when `names` is empty, is every
// field not in `user_names`.
FieldSet FieldsOf(const FeatureShape& features, const std::vector<std::string>& names,
                  const std::vector<std::string>* user_names, bool dense) {
  auto on_side = [&](const std::string& name) {
    if (user_names != nullptr && names.empty()) {
      return std::find(user_names->begin(), user_names->end(), name) == user_names->end();
    }
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  FieldSet set;
  for (size_t f = 0; f < features.categorical_names.size(); ++f) {
    if (on_side(features.categorical_names[f])) set.categorical.push_back(static_cast<int>(f));
  }
  for (size_t b = 0; b < features.bag_names.size(); ++b) {
    if (on_side(features.bag_names[b])) set.bags.push_back(static_cast<int>(b));
  }
  set.dense = dense;
  return set;
}
}  // namespace

TwoTowerModel::TwoTowerModel(const ModelOptions& options, FeatureShape features, const kernels::Kernels& kernels)
    : Model(kernels), features_(std::move(features)), loss_(LossOf(options)) {
  const bool sum_bags = options.bag_pooling == "sum";
  const bool dense_to_user = options.dense_tower == "user" && features_.num_dense > 0;
  const bool dense_to_item = options.dense_tower == "item" && features_.num_dense > 0;
  user_.inputs.emplace(features_, FieldsOf(features_, options.user_fields, nullptr, dense_to_user),
                       options.embedding_dim, sum_bags, "", layout_, workspace_);
  item_.inputs.emplace(features_, FieldsOf(features_, options.item_fields, &options.user_fields, dense_to_item),
                       options.embedding_dim, sum_bags, "", layout_, workspace_);
  const std::vector<int64_t> hidden(options.tower_units.begin(), options.tower_units.end() - 1);
  for (auto [tower, name] : {std::pair{&user_, "user_tower/"}, {&item_, "item_tower/"}}) {
    tower->mlp.emplace(tower->inputs->width(), hidden, options.tower_units.back(), name, std::string(name) + "output",
                       options.layer_norm, options.dropout, layout_, workspace_);
    tower->x = workspace_.Add(tower->inputs->width());
    tower->dx = workspace_.Add(tower->inputs->width());
  }
  bias_ = layout_.Add("output/bias", 1, 1, ParamKind::kBias);
  scores_ = workspace_.Add(1);
  dscores_ = workspace_.Add(1);
}

void TwoTowerModel::Initialize(ParamArena& params, uint64_t seed) const {
  std::vector<int> ones = user_.mlp->unit_scales();
  ones.insert(ones.end(), item_.mlp->unit_scales().begin(), item_.mlp->unit_scales().end());
  InitializeParams(layout_, params, seed, ones);
}

void TwoTowerModel::ForwardInto(const BatchView& batch, const ParamArena& params, bool train) {
  const kernels::Kernels& k = kernels();
  const int64_t rows = batch.num_rows;
  workspace_.Reserve(rows);
  const uint64_t key = train ? NextDropoutKey() : 0;
  for (Tower* tower : {&user_, &item_}) {
    float* x = workspace_.at(tower->x);
    tower->inputs->Forward(batch, params, x, tower->inputs->width());
    // Each tower draws its own masks.
    tower->out = tower->mlp->Forward(x, rows, params, train, kernels::MixKey(key, tower == &item_));
  }
  float* scores = workspace_.at(scores_);
  k.RowDotForward(user_.out, item_.out, rows, user_.mlp->out_width(), scores);
  k.AddScalar(TensorIn(params, layout_, bias_), scores, rows);
}

int64_t TwoTowerModel::workspace_bytes() const {
  return workspace_.bytes() + user_.inputs->workspace_bytes() + item_.inputs->workspace_bytes();
}

void TwoTowerModel::Forward(const BatchView& host_batch, const ParamArena& params, float* outputs) {
  const BatchView& batch = OnDevice(host_batch);
  if (batch.num_rows == 0) return;
  ForwardInto(batch, params, /*train=*/false);
  CopyOutputs(workspace_.at(scores_), batch.num_rows, outputs);
}

double TwoTowerModel::ForwardBackward(const BatchView& host_batch, const ParamArena& params, ParamArena& grads,
                                      float loss_scale, RowSelection* touched, GradientReadyListener* ready) {
  const BatchView& batch = OnDevice(host_batch);
  const kernels::Kernels& k = kernels();
  const int64_t rows = batch.num_rows;
  if (rows == 0) {
    AnnounceAll(layout_, ready);
    return 0.0;
  }
  ForwardInto(batch, params, /*train=*/true);
  float* dscores = workspace_.at(dscores_);
  const double loss =
      LossAndGradient(k, loss_, workspace_.at(scores_), batch.labels, rows, 1, nullptr, loss_scale, dscores);
  k.AddSum(dscores, rows, TensorIn(grads, layout_, bias_));
  if (ready != nullptr) ready->OnGradientReady(bias_);
  const int64_t width = user_.mlp->out_width();
  k.Fill(user_.mlp->output_gradient(), rows * width, 0.0f);
  k.Fill(item_.mlp->output_gradient(), rows * width, 0.0f);
  k.RowDotBackward(user_.out, item_.out, dscores, rows, width, user_.mlp->output_gradient(),
                   item_.mlp->output_gradient());
  // Item tower first: its tensors sit later in the layout.
  for (Tower* tower : {&item_, &user_}) {
    const bool need_dx = tower->inputs->num_fields() > 0;
    tower->mlp->Backward(workspace_.at(tower->x), rows, params, grads, need_dx ? workspace_.at(tower->dx) : nullptr,
                         ready);
  }
  for (Tower* tower : {&item_, &user_}) {
    if (tower->inputs->num_fields() > 0) {
      tower->inputs->Backward(batch, workspace_.at(tower->dx), tower->inputs->width(), grads, touched, ready);
    }
  }
  return loss;
}

}  // namespace ectrain::model
