#include "model/mf_model.h"

#include <algorithm>
#include <cstring>

namespace ectrain::model {
namespace {
FieldSet OneField(const FeatureShape& features, const std::string& name) {
  const auto& names = features.categorical_names;
  FieldSet set;
  set.categorical = {static_cast<int>(std::find(names.begin(), names.end(), name) - names.begin())};
  return set;
}
}  // namespace

MatrixFactorizationModel::MatrixFactorizationModel(const ModelOptions& options, FeatureShape features,
                                                   const kernels::Kernels& kernels)
    : Model(kernels),
      features_(std::move(features)),
      loss_(LossOf(options)),
      dim_(options.embedding_dim),
      wide_(features_, options.bag_pooling == "sum", layout_, workspace_),
      user_factors_(features_, OneField(features_, options.user_field), dim_, false, "mf/", layout_, workspace_),
      item_factors_(features_, OneField(features_, options.item_field), dim_, false, "mf/", layout_, workspace_) {
  users_ = workspace_.Add(dim_);
  items_ = workspace_.Add(dim_);
  dusers_ = workspace_.Add(dim_);
  ditems_ = workspace_.Add(dim_);
  dots_ = workspace_.Add(1);
  scores_ = workspace_.Add(1);
  dscores_ = workspace_.Add(1);
}

void MatrixFactorizationModel::Initialize(ParamArena& params, uint64_t seed) const {
  InitializeParams(layout_, params, seed, {});
}

void MatrixFactorizationModel::ForwardInto(const BatchView& batch, const ParamArena& params) {
  const kernels::Kernels& k = kernels();
  const int64_t rows = batch.num_rows;
  workspace_.Reserve(rows);
  float* scores = workspace_.at(scores_);
  float* dots = workspace_.at(dots_);
  wide_.Forward(batch, params, scores);
  user_factors_.Forward(batch, params, workspace_.at(users_), dim_);
  item_factors_.Forward(batch, params, workspace_.at(items_), dim_);
  k.RowDotForward(workspace_.at(users_), workspace_.at(items_), rows, dim_, dots);
  k.Add(dots, scores, rows);
}

int64_t MatrixFactorizationModel::workspace_bytes() const {
  return workspace_.bytes() + wide_.workspace_bytes() + user_factors_.workspace_bytes() +
         item_factors_.workspace_bytes();
}

void MatrixFactorizationModel::Forward(const BatchView& host_batch, const ParamArena& params, float* outputs) {
  const BatchView& batch = OnDevice(host_batch);
  if (batch.num_rows == 0) return;
  ForwardInto(batch, params);
  CopyOutputs(workspace_.at(scores_), batch.num_rows, outputs);
}

double MatrixFactorizationModel::ForwardBackward(const BatchView& host_batch, const ParamArena& params,
                                                 ParamArena& grads, float loss_scale, RowSelection* touched,
                                                 GradientReadyListener* ready) {
  const BatchView& batch = OnDevice(host_batch);
  const kernels::Kernels& k = kernels();
  const int64_t rows = batch.num_rows;
  if (rows == 0) {
    AnnounceAll(layout_, ready);
    return 0.0;
  }
  ForwardInto(batch, params);
  float* dscores = workspace_.at(dscores_);
  float* dusers = workspace_.at(dusers_);
  float* ditems = workspace_.at(ditems_);
  const double loss =
      LossAndGradient(k, loss_, workspace_.at(scores_), batch.labels, rows, 1, nullptr, loss_scale, dscores);
  k.Fill(dusers, rows * dim_, 0.0f);
  k.Fill(ditems, rows * dim_, 0.0f);
  k.RowDotBackward(workspace_.at(users_), workspace_.at(items_), dscores, rows, dim_, dusers, ditems);
  item_factors_.Backward(batch, ditems, dim_, grads, touched, ready);
  user_factors_.Backward(batch, dusers, dim_, grads, touched, ready);
  wide_.Backward(batch, dscores, grads, touched, ready);
  return loss;
}

}  // namespace ectrain::model
