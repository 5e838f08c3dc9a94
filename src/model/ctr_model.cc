#include "model/ctr_model.h"

#include <algorithm>
#include <cstring>

#include "core/log.h"
#include "kernels/cpu_kernels.h"  // MixKey

namespace ectrain::model {
namespace {
// The embedding dropout's masks come from their own key stream (the deep part's layers use 0, 1, ...).
constexpr uint64_t kEmbeddingDropoutStream = 1 << 20;
}  // namespace

CtrModel::CtrModel(const ModelOptions& options, FeatureShape features, const kernels::Kernels& kernels)
    : Model(kernels),
      features_(std::move(features)),
      loss_(LossOf(options)),
      num_outputs_(loss_ == Loss::kSoftmax ? options.num_classes : 1) {
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
    embeddings_.emplace(features_, FieldSet::All(features_, /*dense=*/!dot_), dim, sum_bags, "", layout_, workspace_);
    x0_width_ = embeddings_->width();
    deep_width_ = x0_width_;
  }
  if (type == "logistic" || type == "wide_deep" || type == "deepfm") {
    wide_.emplace(features_, sum_bags, layout_, workspace_);
  }
  fm_ = type == "deepfm";
  if (type == "dcn") cross_.emplace(embeddings_->width(), options.cross_layers, layout_, workspace_);
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
    const auto& names = features_.categorical_names;
    auto column_of = [&](const std::string& name) {
      return bottom_width_ + (std::find(names.begin(), names.end(), name) - names.begin()) * dim;
    };
    for (const auto& [child, parent] : options.parents)
      parent_columns_.emplace_back(column_of(child), column_of(parent));
    embedding_dropout_ = static_cast<float>(options.embedding_dropout);
    deep_.emplace(deep_width_, options.hidden_units, num_outputs_, "", "output", options.layer_norm, options.dropout,
                  layout_, workspace_);
  }
  AddWorkspace();
  if (!options.class_weights.empty()) {
    // In the kernels' memory, for the loss.
    class_weights_.emplace(kernels.allocator());
    const std::vector<float> weights(options.class_weights.begin(), options.class_weights.end());
    class_weights_->CopyFromHost(weights.data(), weights.size());
  }
}

void CtrModel::AddWorkspace() {
  x0_ = workspace_.Add(x0_width_);
  dx0_ = workspace_.Add(x0_width_);
  if (dot_) {
    bottom_ = workspace_.Add(bottom_width_);
    dbottom_ = workspace_.Add(bottom_width_);
    interaction_ = workspace_.Add(deep_width_);
    dinteraction_ = workspace_.Add(deep_width_);
  }
  outputs_ = workspace_.Add(num_outputs_);
  doutputs_ = workspace_.Add(num_outputs_);
  part_ = workspace_.Add(1);
  if (!parent_columns_.empty()) child_sum_ = workspace_.Add(embeddings_->dim());
  if (embedding_dropout_ > 0) {
    embedding_mask_ = workspace_.Add(x0_width_);
    ones_.emplace(kernels().allocator());
    const std::vector<float> ones(static_cast<size_t>(x0_width_), 1.0f);
    ones_->CopyFromHost(ones.data(), ones.size());
  }
}

void CtrModel::ShapeEmbeddings(int64_t rows, bool train, uint64_t dropout_key) {
  const kernels::Kernels& k = kernels();
  const int64_t dim = embeddings_->dim();
  float* x0 = workspace_.at(x0_);
  for (const auto& [child, parent] : parent_columns_) {
    float* sum = workspace_.at(child_sum_);
    k.AddStrided(x0 + child, x0_width_, x0 + parent, x0_width_, rows, dim, sum);
    k.CopyRows(sum, dim, rows, dim, x0 + child, x0_width_);
  }
  dropped_ = train && embedding_dropout_ > 0;
  if (!dropped_) return;
  // The mask drops embedding values only: p (dot) and the dense columns keep a 1.
  float* mask = workspace_.at(embedding_mask_);
  k.DropoutMask(kernels::MixKey(dropout_key, kEmbeddingDropoutStream), rows, x0_width_, embedding_dropout_, mask);
  const int64_t vectors_end = bottom_width_ + embeddings_->num_fields() * dim;
  if (bottom_width_ > 0) k.CopyRows(ones_->data(), 0, rows, bottom_width_, mask, x0_width_);
  if (vectors_end < x0_width_)
    k.CopyRows(ones_->data(), 0, rows, x0_width_ - vectors_end, mask + vectors_end, x0_width_);
  k.ScaleBy(x0, mask, rows * x0_width_);
}

void CtrModel::ShapeEmbeddingsBackward(int64_t rows) {
  const kernels::Kernels& k = kernels();
  const int64_t dim = embeddings_->dim();
  float* dx0 = workspace_.at(dx0_);
  if (dropped_) k.ScaleBy(dx0, workspace_.at(embedding_mask_), rows * x0_width_);
  // A parent's vector reached the loss also through each of its children's.
  for (const auto& [child, parent] : parent_columns_) {
    float* sum = workspace_.at(child_sum_);
    k.AddStrided(dx0 + parent, x0_width_, dx0 + child, x0_width_, rows, dim, sum);
    k.CopyRows(sum, dim, rows, dim, dx0 + parent, x0_width_);
  }
}

void CtrModel::Initialize(ParamArena& params, uint64_t seed) const {
  InitializeParams(layout_, params, seed, deep_ ? deep_->unit_scales() : std::vector<int>{});
}

void CtrModel::ForwardInto(const BatchView& batch, const ParamArena& params, bool train) {
  const kernels::Kernels& k = kernels();
  const int64_t rows = batch.num_rows;
  workspace_.Reserve(rows);
  float* out = workspace_.at(outputs_);  // (rows, num_outputs)
  float* part = workspace_.at(part_);
  float* x0 = workspace_.at(x0_);
  if (embeddings_) {
    // Under dot, p takes x0's first vector and the embeddings follow it.
    embeddings_->Forward(batch, params, x0 + bottom_width_, x0_width_);
    const uint64_t dropout_key = train ? NextDropoutKey() : 0;
    ShapeEmbeddings(rows, train, dropout_key);
    if (dot_) {
      InteractionForward(batch, params);
      deep_input_ = workspace_.at(interaction_);
    } else {
      deep_input_ = cross_ ? cross_->Forward(x0, rows, params) : x0;
    }
    const float* y = deep_->Forward(deep_input_, rows, params, train, dropout_key);
    k.CopyRows(y, num_outputs_, rows, num_outputs_, out, num_outputs_);
    if (fm_) {
      k.FmInteractionForward(x0, x0_width_, 0, rows, embeddings_->num_fields(), embeddings_->dim(), part);
      k.Add(part, out, rows);
    }
  } else {
    k.Fill(out, rows * num_outputs_, 0.0f);
  }
  if (wide_) {
    wide_->Forward(batch, params, part);
    k.Add(part, out, rows);
  }
}

void CtrModel::InteractionForward(const BatchView& batch, const ParamArena& params) {
  const kernels::Kernels& k = kernels();
  const int64_t rows = batch.num_rows;
  const int64_t dim = embeddings_->dim();
  float* x0 = workspace_.at(x0_);
  float* interaction = workspace_.at(interaction_);
  if (bottom_weight_ >= 0) {
    float* bottom = workspace_.at(bottom_);
    k.DenseForward(batch.dense, TensorIn(params, layout_, bottom_weight_), TensorIn(params, layout_, bottom_bias_),
                   rows, batch.num_dense, dim, bottom);
    k.ReluForward(bottom, rows * dim);
    // p is both a vector of the pairs and, as in DLRM, passed to the top MLP itself.
    k.CopyRows(bottom, dim, rows, dim, x0, x0_width_);
    k.CopyRows(bottom, dim, rows, dim, interaction, deep_width_);
  }
  k.DotInteractionForward(x0, x0_width_, 0, rows, vectors_, dim, interaction, deep_width_, bottom_width_);
}

void CtrModel::InteractionBackward(const BatchView& batch, const ParamArena& params, ParamArena& grads,
                                   GradientReadyListener* ready) {
  const kernels::Kernels& k = kernels();
  const int64_t rows = batch.num_rows;
  const int64_t dim = embeddings_->dim();
  float* dx0 = workspace_.at(dx0_);
  const float* dinteraction = workspace_.at(dinteraction_);
  k.Fill(dx0, rows * x0_width_, 0.0f);
  k.DotInteractionBackward(workspace_.at(x0_), x0_width_, 0, rows, vectors_, dim, dinteraction, deep_width_,
                           bottom_width_, dx0);
  if (bottom_weight_ < 0) return;
  // p reaches the loss twice: directly and through its dots.
  float* dbottom = workspace_.at(dbottom_);
  k.AddStrided(dinteraction, deep_width_, dx0, x0_width_, rows, dim, dbottom);
  k.ReluBackward(workspace_.at(bottom_), dbottom, rows * dim);
  k.DenseBackward(batch.dense, nullptr, dbottom, rows, batch.num_dense, dim, TensorIn(grads, layout_, bottom_weight_),
                  TensorIn(grads, layout_, bottom_bias_), nullptr);
  if (ready != nullptr) {
    ready->OnGradientReady(bottom_bias_);
    ready->OnGradientReady(bottom_weight_);
  }
}

int64_t CtrModel::workspace_bytes() const {
  int64_t bytes = workspace_.bytes();
  if (embeddings_) bytes += embeddings_->workspace_bytes();
  if (wide_) bytes += wide_->workspace_bytes();
  return bytes;
}

void CtrModel::Forward(const BatchView& host_batch, const ParamArena& params, float* outputs) {
  const BatchView& batch = OnDevice(host_batch);
  if (batch.num_rows == 0) return;
  ForwardInto(batch, params, /*train=*/false);
  CopyOutputs(workspace_.at(outputs_), batch.num_rows, outputs);
}

double CtrModel::ForwardBackward(const BatchView& host_batch, const ParamArena& params, ParamArena& grads,
                                 float loss_scale, RowSelection* touched, GradientReadyListener* ready) {
  const BatchView& batch = OnDevice(host_batch);
  const kernels::Kernels& k = kernels();
  const int64_t rows = batch.num_rows;
  if (rows == 0) {
    AnnounceAll(layout_, ready);
    return 0.0;
  }
  ForwardInto(batch, params, /*train=*/true);
  float* doutputs = workspace_.at(doutputs_);
  const double loss = LossAndGradient(k, loss_, workspace_.at(outputs_), batch.labels, rows, num_outputs_,
                                      class_weights_ ? class_weights_->data() : nullptr, loss_scale, doutputs);
  // Every part adds into the outputs, so each receives the outputs' gradient. Parts go in reverse
  // layout order, so gradient sync can start from the arena's end.
  if (embeddings_) {
    k.CopyRows(doutputs, num_outputs_, rows, num_outputs_, deep_->output_gradient(), num_outputs_);
    // Without tables (dense columns only) nothing below x0 needs its gradient.
    const bool need_dx0 = embeddings_->num_fields() > 0;
    float* dx0 = workspace_.at(dx0_);
    if (dot_) {
      deep_->Backward(deep_input_, rows, params, grads, workspace_.at(dinteraction_), ready);
      InteractionBackward(batch, params, grads, ready);
    } else if (cross_) {
      deep_->Backward(deep_input_, rows, params, grads, cross_->output_gradient(), ready);
      cross_->Backward(workspace_.at(x0_), rows, params, grads, dx0, ready);
    } else {
      deep_->Backward(deep_input_, rows, params, grads, need_dx0 ? dx0 : nullptr, ready);
    }
    if (wide_) wide_->Backward(batch, doutputs, grads, touched, ready);
    if (fm_) {
      k.FmInteractionBackward(workspace_.at(x0_), x0_width_, 0, rows, embeddings_->num_fields(), embeddings_->dim(),
                              doutputs, dx0);
    }
    if (need_dx0) {
      ShapeEmbeddingsBackward(rows);
      embeddings_->Backward(batch, dx0 + bottom_width_, x0_width_, grads, touched, ready);
    }
  } else {
    wide_->Backward(batch, doutputs, grads, touched, ready);
  }
  return loss;
}

}  // namespace ectrain::model
