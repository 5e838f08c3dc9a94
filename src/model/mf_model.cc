#include "model/mf_model.h"

#include <algorithm>
#include <cstring>
#include <tuple>

#include "kernels/cpu_kernels.h"  // MixKey

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
  for (const auto& [child, parent] : options.parents) {
    parents_.push_back({std::make_unique<FieldEmbeddings>(features_, OneField(features_, parent), dim_, false, "mf/",
                                                          layout_, workspace_),
                        -1});
  }
  users_ = workspace_.Add(dim_);
  items_ = workspace_.Add(dim_);
  dusers_ = workspace_.Add(dim_);
  ditems_ = workspace_.Add(dim_);
  dots_ = workspace_.Add(1);
  scores_ = workspace_.Add(1);
  dscores_ = workspace_.Add(1);
  size_t p = 0;
  for (const auto& [child, parent] : options.parents)
    parents_[p++].child = child == options.user_field ? users_ : items_;
  if (!parents_.empty()) parent_vectors_ = workspace_.Add(dim_);
  embedding_dropout_ = static_cast<float>(options.embedding_dropout);
  if (embedding_dropout_ > 0) {
    user_mask_ = workspace_.Add(dim_);
    item_mask_ = workspace_.Add(dim_);
  }
}

void MatrixFactorizationModel::Initialize(ParamArena& params, uint64_t seed) const {
  InitializeParams(layout_, params, seed, {});
}

void MatrixFactorizationModel::ForwardInto(const BatchView& batch, const ParamArena& params, bool train) {
  const kernels::Kernels& k = kernels();
  const int64_t rows = batch.num_rows;
  workspace_.Reserve(rows);
  float* scores = workspace_.at(scores_);
  float* dots = workspace_.at(dots_);
  wide_.Forward(batch, params, scores);
  user_factors_.Forward(batch, params, workspace_.at(users_), dim_);
  item_factors_.Forward(batch, params, workspace_.at(items_), dim_);
  for (const Parent& parent : parents_) {
    float* vectors = workspace_.at(parent_vectors_);
    parent.factors->Forward(batch, params, vectors, dim_);
    k.Add(vectors, workspace_.at(parent.child), rows * dim_);
  }
  if (train && embedding_dropout_ > 0) {
    const uint64_t key = NextDropoutKey();
    for (auto [vectors, mask, stream] : {std::tuple{users_, user_mask_, 0}, {items_, item_mask_, 1}}) {
      k.DropoutMask(kernels::MixKey(key, stream), rows, dim_, embedding_dropout_, workspace_.at(mask));
      k.ScaleBy(workspace_.at(vectors), workspace_.at(mask), rows * dim_);
    }
  }
  k.RowDotForward(workspace_.at(users_), workspace_.at(items_), rows, dim_, dots);
  k.Add(dots, scores, rows);
}

int64_t MatrixFactorizationModel::workspace_bytes() const {
  int64_t bytes =
      workspace_.bytes() + wide_.workspace_bytes() + user_factors_.workspace_bytes() + item_factors_.workspace_bytes();
  for (const Parent& parent : parents_) bytes += parent.factors->workspace_bytes();
  return bytes;
}

void MatrixFactorizationModel::Forward(const BatchView& host_batch, const ParamArena& params, float* outputs) {
  const BatchView& batch = OnDevice(host_batch);
  if (batch.num_rows == 0) return;
  ForwardInto(batch, params, /*train=*/false);
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
  ForwardInto(batch, params, /*train=*/true);
  float* dscores = workspace_.at(dscores_);
  float* dusers = workspace_.at(dusers_);
  float* ditems = workspace_.at(ditems_);
  const double loss =
      LossAndGradient(k, loss_, workspace_.at(scores_), batch.labels, rows, 1, nullptr, loss_scale, dscores);
  k.Fill(dusers, rows * dim_, 0.0f);
  k.Fill(ditems, rows * dim_, 0.0f);
  k.RowDotBackward(workspace_.at(users_), workspace_.at(items_), dscores, rows, dim_, dusers, ditems);
  if (embedding_dropout_ > 0) {
    k.ScaleBy(dusers, workspace_.at(user_mask_), rows * dim_);
    k.ScaleBy(ditems, workspace_.at(item_mask_), rows * dim_);
  }
  // Reverse layout order: the parents' tables come last.
  for (auto parent = parents_.rbegin(); parent != parents_.rend(); ++parent) {
    parent->factors->Backward(batch, parent->child == users_ ? dusers : ditems, dim_, grads, touched, ready);
  }
  item_factors_.Backward(batch, ditems, dim_, grads, touched, ready);
  user_factors_.Backward(batch, dusers, dim_, grads, touched, ready);
  wide_.Backward(batch, dscores, grads, touched, ready);
  return loss;
}

}  // namespace ectrain::model
