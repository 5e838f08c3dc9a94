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
  const bool sum_bags = options.bag_pooling == "sum";
  if (type != "logistic") {
    embeddings_.emplace(features_, FieldSet::All(features_, /*dense=*/true), options.embedding_dim, sum_bags, "",
                        layout_);
  }
  if (type == "logistic" || type == "wide_deep" || type == "deepfm") wide_.emplace(features_, sum_bags, layout_);
  fm_ = type == "deepfm";
  if (type == "dcn") cross_.emplace(embeddings_->width(), options.cross_layers, layout_);
  if (embeddings_) {
    deep_.emplace(embeddings_->width(), options.hidden_units, num_outputs_, "", "output", options.layer_norm,
                  options.dropout, layout_);
  }
}

void CtrModel::Initialize(ParamArena& params, uint64_t seed) const {
  InitializeParams(layout_, params, seed, deep_ ? deep_->unit_scales() : std::vector<int>{});
}

void CtrModel::ForwardInto(const BatchView& batch, const ParamArena& params, bool train) {
  const int64_t rows = batch.num_rows;
  if (rows > workspace_rows_) {
    workspace_rows_ = rows;
    const int64_t width = embeddings_ ? embeddings_->width() : 0;
    Reserve(x0_, rows * width);
    Reserve(dx0_, rows * width);
    Reserve(outputs_, rows * num_outputs_);
    Reserve(doutputs_, rows * num_outputs_);
    Reserve(part_, rows);
  }
  float* out = outputs_.data();  // (rows, num_outputs)
  std::fill(out, out + rows * num_outputs_, 0.0f);
  if (embeddings_) {
    const int64_t width = embeddings_->width();
    embeddings_->Forward(batch, params, x0_.data(), width);
    deep_input_ = cross_ ? cross_->Forward(x0_.data(), rows, params) : x0_.data();
    const float* y = deep_->Forward(deep_input_, rows, params, train, train ? NextDropoutKey() : 0);
    std::memcpy(out, y, static_cast<size_t>(rows * num_outputs_) * sizeof(float));
    if (fm_) {
      kernels::FmInteractionForward(x0_.data(), width, 0, rows, embeddings_->num_fields(), embeddings_->dim(),
                                    part_.data());
      for (int64_t r = 0; r < rows; ++r) out[r] += part_[r];
    }
  }
  if (wide_) {
    wide_->Forward(batch, params, part_.data());
    for (int64_t r = 0; r < rows; ++r) out[r] += part_[r];
  }
}

void CtrModel::Forward(const BatchView& batch, const ParamArena& params, float* outputs) {
  if (batch.num_rows == 0) return;
  ForwardInto(batch, params, /*train=*/false);
  std::memcpy(outputs, outputs_.data(), static_cast<size_t>(batch.num_rows * num_outputs_) * sizeof(float));
}

double CtrModel::ForwardBackward(const BatchView& batch, const ParamArena& params, ParamArena& grads,
                                 float loss_scale, RowSelection* touched, GradientReadyListener* ready) {
  const int64_t rows = batch.num_rows;
  if (rows == 0) {
    AnnounceAll(layout_, ready);
    return 0.0;
  }
  ForwardInto(batch, params, /*train=*/true);
  const double loss = LossAndGradient(loss_, outputs_.data(), batch.labels, rows, num_outputs_,
                                      class_weights_.empty() ? nullptr : class_weights_.data(), loss_scale,
                                      doutputs_.data());
  // Every part adds into the outputs, so each receives the outputs' gradient. Parts go in reverse
  // layout order, so gradient sync can start from the arena's end.
  if (embeddings_) {
    const int64_t width = embeddings_->width();
    std::memcpy(deep_->output_gradient(), doutputs_.data(), static_cast<size_t>(rows * num_outputs_) * sizeof(float));
    // Without tables (dense columns only) nothing below x0 needs its gradient.
    const bool need_dx0 = embeddings_->num_fields() > 0;
    if (cross_) {
      deep_->Backward(deep_input_, rows, params, grads, cross_->output_gradient(), ready);
      cross_->Backward(x0_.data(), rows, params, grads, dx0_.data(), ready);
    } else {
      deep_->Backward(deep_input_, rows, params, grads, need_dx0 ? dx0_.data() : nullptr, ready);
    }
    if (wide_) wide_->Backward(batch, doutputs_.data(), grads, touched, ready);
    if (fm_) {
      kernels::FmInteractionBackward(x0_.data(), width, 0, rows, embeddings_->num_fields(), embeddings_->dim(),
                                     doutputs_.data(), dx0_.data());
    }
    if (need_dx0) embeddings_->Backward(batch, dx0_.data(), width, grads, touched, ready);
  } else {
    wide_->Backward(batch, doutputs_.data(), grads, touched, ready);
  }
  return loss;
}

}  // namespace ectrain::model
