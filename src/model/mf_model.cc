#include "model/mf_model.h"

#include <algorithm>
#include <cstring>

#include "kernels/cpu_kernels.h"

namespace ectrain::model {
namespace {
FieldSet OneField(const FeatureShape& features, const std::string& name) {
  const auto& names = features.categorical_names;
  FieldSet set;
  set.categorical = {static_cast<int>(std::find(names.begin(), names.end(), name) - names.begin())};
  return set;
}
}  // namespace

MatrixFactorizationModel::MatrixFactorizationModel(const ModelOptions& options, FeatureShape features)
    : features_(std::move(features)),
      loss_(LossOf(options)),
      dim_(options.embedding_dim),
      wide_(features_, options.bag_pooling == "sum", layout_),
      user_factors_(features_, OneField(features_, options.user_field), dim_, false, "mf/", layout_),
      item_factors_(features_, OneField(features_, options.item_field), dim_, false, "mf/", layout_) {}

void MatrixFactorizationModel::Initialize(ParamArena& params, uint64_t seed) const {
  InitializeParams(layout_, params, seed, {});
}

void MatrixFactorizationModel::ForwardInto(const BatchView& batch, const ParamArena& params) {
  const int64_t rows = batch.num_rows;
  if (rows > workspace_rows_) {
    workspace_rows_ = rows;
    for (auto* buffer : {&users_, &items_, &dusers_, &ditems_}) Reserve(*buffer, rows * dim_);
    Reserve(dots_, rows);
    Reserve(scores_, rows);
    Reserve(dscores_, rows);
  }
  wide_.Forward(batch, params, scores_.data());
  user_factors_.Forward(batch, params, users_.data(), dim_);
  item_factors_.Forward(batch, params, items_.data(), dim_);
  kernels::RowDotForward(users_.data(), items_.data(), rows, dim_, dots_.data());
  for (int64_t r = 0; r < rows; ++r) scores_[r] += dots_[r];
}

int64_t MatrixFactorizationModel::workspace_bytes() const {
  return wide_.workspace_bytes() + user_factors_.workspace_bytes() + item_factors_.workspace_bytes() +
         CapacityBytes(users_, items_, dusers_, ditems_, dots_, scores_, dscores_);
}

void MatrixFactorizationModel::Forward(const BatchView& batch, const ParamArena& params, float* outputs) {
  if (batch.num_rows == 0) return;
  ForwardInto(batch, params);
  std::memcpy(outputs, scores_.data(), static_cast<size_t>(batch.num_rows) * sizeof(float));
}

double MatrixFactorizationModel::ForwardBackward(const BatchView& batch, const ParamArena& params, ParamArena& grads,
                                                 float loss_scale, RowSelection* touched,
                                                 GradientReadyListener* ready) {
  const int64_t rows = batch.num_rows;
  if (rows == 0) {
    AnnounceAll(layout_, ready);
    return 0.0;
  }
  ForwardInto(batch, params);
  const double loss =
      LossAndGradient(loss_, scores_.data(), batch.labels, rows, 1, nullptr, loss_scale, dscores_.data());
  std::fill(dusers_.begin(), dusers_.begin() + rows * dim_, 0.0f);
  std::fill(ditems_.begin(), ditems_.begin() + rows * dim_, 0.0f);
  kernels::RowDotBackward(users_.data(), items_.data(), dscores_.data(), rows, dim_, dusers_.data(), ditems_.data());
  item_factors_.Backward(batch, ditems_.data(), dim_, grads, touched, ready);
  user_factors_.Backward(batch, dusers_.data(), dim_, grads, touched, ready);
  wide_.Backward(batch, dscores_.data(), grads, touched, ready);
  return loss;
}

}  // namespace ectrain::model
