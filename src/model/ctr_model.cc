#include "model/ctr_model.h"

#include <algorithm>
#include <cstring>

#include "core/log.h"
#include "kernels/cpu_kernels.h"

namespace ectrain::model {

CtrModel::CtrModel(const ModelOptions& options, FeatureShape features)
    : features_(std::move(features)),
      loss_(LossOf(options)),
      num_outputs_(loss_ == Loss::kSoftmax ? options.num_classes : 1),
      class_weights_(options.class_weights.begin(), options.class_weights.end()) {
  const std::string& type = options.type;
  CHECK(type == "logistic" || type == "mlp" || type == "wide_deep" || type == "deepfm" || type == "dcn" ||
        type == "classifier")
      << "CtrModel cannot build model.type '" << type << "'; build models with CreateModel";
  dot_ = options.interaction == "dot";
  CHECK(!dot_ || type == "mlp" || type == "wide_deep" || type == "classifier")
      << "model.interaction: dot does not go with model.type '" << type << "'; build models with CreateModel";
  const bool sum_bags = options.bag_pooling == "sum";
  const int64_t dim = options.embedding_dim;
  if (type != "logistic") {
    // Under dot the dense columns enter through the bottom layer, not beside the embeddings.
    embeddings_.emplace(features_, FieldSet::All(features_, /*dense=*/!dot_), dim, sum_bags, "", layout_);
    x0_width_ = embeddings_->width();
    deep_width_ = x0_width_;
  }
  if (type == "logistic" || type == "wide_deep" || type == "deepfm") wide_.emplace(features_, sum_bags, layout_);
  fm_ = type == "deepfm";
  if (type == "dcn") cross_.emplace(embeddings_->width(), options.cross_layers, layout_);
  if (dot_) {
    if (features_.num_dense > 0) {
      bottom_width_ = dim;
      bottom_weight_ = layout_.Add("bottom/weight", features_.num_dense, dim, ParamKind::kDenseWeight);
      bottom_bias_ = layout_.Add("bottom/bias", 1, dim, ParamKind::kBias);
    }
    vectors_ = embeddings_->num_fields() + (bottom_width_ > 0 ? 1 : 0);
    CHECK(vectors_ >= 2) << "model.interaction: dot needs at least 2 vectors to pair; build models with CreateModel";
    x0_width_ = vectors_ * dim;
    deep_width_ = bottom_width_ + vectors_ * (vectors_ - 1) / 2;
  }
  if (embeddings_) {
    deep_.emplace(deep_width_, options.hidden_units, num_outputs_, "", "output", options.layer_norm, options.dropout,
                  layout_);
  }
}

void CtrModel::Initialize(ParamArena& params, uint64_t seed) const {
  InitializeParams(layout_, params, seed, deep_ ? deep_->unit_scales() : std::vector<int>{});
}

void CtrModel::ForwardInto(const BatchView& batch, const ParamArena& params, bool train) {
  const int64_t rows = batch.num_rows;
  if (rows > workspace_rows_) {
    workspace_rows_ = rows;
    Reserve(x0_, rows * x0_width_);
    Reserve(dx0_, rows * x0_width_);
    if (dot_) {
      Reserve(bottom_, rows * bottom_width_);
      Reserve(dbottom_, rows * bottom_width_);
      Reserve(interaction_, rows * deep_width_);
      Reserve(dinteraction_, rows * deep_width_);
    }
    Reserve(outputs_, rows * num_outputs_);
    Reserve(doutputs_, rows * num_outputs_);
    Reserve(part_, rows);
  }
  float* out = outputs_.data();  // (rows, num_outputs)
  std::fill(out, out + rows * num_outputs_, 0.0f);
  if (embeddings_) {
    // Under dot, p takes x0's first vector and the embeddings follow it.
    embeddings_->Forward(batch, params, x0_.data() + bottom_width_, x0_width_);
    if (dot_) {
      InteractionForward(batch, params);
      deep_input_ = interaction_.data();
    } else {
      deep_input_ = cross_ ? cross_->Forward(x0_.data(), rows, params) : x0_.data();
    }
    const float* y = deep_->Forward(deep_input_, rows, params, train, train ? NextDropoutKey() : 0);
    std::memcpy(out, y, static_cast<size_t>(rows * num_outputs_) * sizeof(float));
    if (fm_) {
      kernels::FmInteractionForward(x0_.data(), x0_width_, 0, rows, embeddings_->num_fields(), embeddings_->dim(),
                                    part_.data());
      for (int64_t r = 0; r < rows; ++r) out[r] += part_[r];
    }
  }
  if (wide_) {
    wide_->Forward(batch, params, part_.data());
    for (int64_t r = 0; r < rows; ++r) out[r] += part_[r];
  }
}

void CtrModel::InteractionForward(const BatchView& batch, const ParamArena& params) {
  const int64_t rows = batch.num_rows;
  const int64_t dim = embeddings_->dim();
  if (bottom_weight_ >= 0) {
    kernels::DenseForward(batch.dense, params.data() + layout_.spec(bottom_weight_).offset,
                          params.data() + layout_.spec(bottom_bias_).offset, rows, batch.num_dense, dim,
                          bottom_.data());
    kernels::ReluForward(bottom_.data(), rows * dim);
    // p is both a vector of the pairs and, as in DLRM, passed to the top MLP itself.
    for (int64_t r = 0; r < rows; ++r) {
      const float* p = bottom_.data() + r * dim;
      std::memcpy(x0_.data() + r * x0_width_, p, static_cast<size_t>(dim) * sizeof(float));
      std::memcpy(interaction_.data() + r * deep_width_, p, static_cast<size_t>(dim) * sizeof(float));
    }
  }
  kernels::DotInteractionForward(x0_.data(), x0_width_, 0, rows, vectors_, dim, interaction_.data(), deep_width_,
                                 bottom_width_);
}

void CtrModel::InteractionBackward(const BatchView& batch, const ParamArena& params, ParamArena& grads,
                                   GradientReadyListener* ready) {
  const int64_t rows = batch.num_rows;
  const int64_t dim = embeddings_->dim();
  std::fill(dx0_.data(), dx0_.data() + rows * x0_width_, 0.0f);
  kernels::DotInteractionBackward(x0_.data(), x0_width_, 0, rows, vectors_, dim, dinteraction_.data(), deep_width_,
                                  bottom_width_, dx0_.data());
  if (bottom_weight_ < 0) return;
  // p reaches the loss twice: directly and through its dots.
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = 0; k < dim; ++k) {
      dbottom_[r * dim + k] = dinteraction_[r * deep_width_ + k] + dx0_[r * x0_width_ + k];
    }
  }
  kernels::ReluBackward(bottom_.data(), dbottom_.data(), rows * dim);
  kernels::DenseBackward(batch.dense, nullptr, dbottom_.data(), rows, batch.num_dense, dim,
                         grads.data() + layout_.spec(bottom_weight_).offset,
                         grads.data() + layout_.spec(bottom_bias_).offset, nullptr);
  if (ready != nullptr) {
    ready->OnGradientReady(bottom_bias_);
    ready->OnGradientReady(bottom_weight_);
  }
}

int64_t CtrModel::workspace_bytes() const {
  int64_t bytes = CapacityBytes(x0_, dx0_, bottom_, dbottom_, interaction_, dinteraction_, outputs_, doutputs_, part_);
  if (embeddings_) bytes += embeddings_->workspace_bytes();
  if (wide_) bytes += wide_->workspace_bytes();
  if (cross_) bytes += cross_->workspace_bytes();
  if (deep_) bytes += deep_->workspace_bytes();
  return bytes;
}

void CtrModel::Forward(const BatchView& batch, const ParamArena& params, float* outputs) {
  if (batch.num_rows == 0) return;
  ForwardInto(batch, params, /*train=*/false);
  std::memcpy(outputs, outputs_.data(), static_cast<size_t>(batch.num_rows * num_outputs_) * sizeof(float));
}

double CtrModel::ForwardBackward(const BatchView& batch, const ParamArena& params, ParamArena& grads, float loss_scale,
                                 RowSelection* touched, GradientReadyListener* ready) {
  const int64_t rows = batch.num_rows;
  if (rows == 0) {
    AnnounceAll(layout_, ready);
    return 0.0;
  }
  ForwardInto(batch, params, /*train=*/true);
  const double loss =
      LossAndGradient(loss_, outputs_.data(), batch.labels, rows, num_outputs_,
                      class_weights_.empty() ? nullptr : class_weights_.data(), loss_scale, doutputs_.data());
  // Every part adds into the outputs, so each receives the outputs' gradient. Parts go in reverse
  // layout order, so gradient sync can start from the arena's end.
  if (embeddings_) {
    std::memcpy(deep_->output_gradient(), doutputs_.data(), static_cast<size_t>(rows * num_outputs_) * sizeof(float));
    // Without tables (dense columns only) nothing below x0 needs its gradient.
    const bool need_dx0 = embeddings_->num_fields() > 0;
    if (dot_) {
      deep_->Backward(deep_input_, rows, params, grads, dinteraction_.data(), ready);
      InteractionBackward(batch, params, grads, ready);
    } else if (cross_) {
      deep_->Backward(deep_input_, rows, params, grads, cross_->output_gradient(), ready);
      cross_->Backward(x0_.data(), rows, params, grads, dx0_.data(), ready);
    } else {
      deep_->Backward(deep_input_, rows, params, grads, need_dx0 ? dx0_.data() : nullptr, ready);
    }
    if (wide_) wide_->Backward(batch, doutputs_.data(), grads, touched, ready);
    if (fm_) {
      kernels::FmInteractionBackward(x0_.data(), x0_width_, 0, rows, embeddings_->num_fields(), embeddings_->dim(),
                                     doutputs_.data(), dx0_.data());
    }
    if (need_dx0) embeddings_->Backward(batch, dx0_.data() + bottom_width_, x0_width_, grads, touched, ready);
  } else {
    wide_->Backward(batch, doutputs_.data(), grads, touched, ready);
  }
  return loss;
}

}  // namespace ectrain::model
