#include "model/ctr_model.h"

#include <cmath>
#include <cstring>

#include "core/rng.h"
#include "kernels/cpu_kernels.h"

namespace ectrain::model {

CtrModel::CtrModel(const ModelOptions& options, FeatureShape features)
    : features_(std::move(features)), embedding_dim_(options.embedding_dim) {
  // Input row: [categorical embeddings | pooled bag embeddings | dense columns].
  const int64_t num_fields = static_cast<int64_t>(features_.categorical_names.size() + features_.bag_names.size());
  input_width_ = num_fields * embedding_dim_ + features_.num_dense;
  for (size_t f = 0; f < features_.categorical_names.size(); ++f) {
    embedding_tables_.push_back(layout_.Add("embedding/" + features_.categorical_names[f],
                                            features_.vocab_sizes[f], embedding_dim_, ParamKind::kEmbedding));
  }
  for (size_t b = 0; b < features_.bag_names.size(); ++b) {
    bag_tables_.push_back(layout_.Add("embedding_bag/" + features_.bag_names[b], features_.bag_vocab_sizes[b],
                                      embedding_dim_, ParamKind::kEmbedding));
  }
  int64_t in = input_width_;
  std::vector<int64_t> widths = options.hidden_units;
  widths.push_back(1);
  for (size_t i = 0; i < widths.size(); ++i) {
    std::string name = i + 1 < widths.size() ? "dense_" + std::to_string(i) : "output";
    DenseLayer layer;
    layer.in = in;
    layer.out = widths[i];
    layer.weight = layout_.Add(name + "/weight", in, widths[i], ParamKind::kDenseWeight);
    layer.bias = layout_.Add(name + "/bias", 1, widths[i], ParamKind::kBias);
    layers_.push_back(layer);
    in = widths[i];
  }
}

void CtrModel::Initialize(ParamArena& params, uint64_t seed) const {
  params.SetZero();
  for (size_t i = 0; i < layout_.specs().size(); ++i) {
    const ParamSpec& spec = layout_.spec(static_cast<int>(i));
    Rng rng = Rng::ForStream(seed, 0x1417, i);
    float* p = params.data() + spec.offset;
    double limit = 0.0;
    if (spec.kind == ParamKind::kDenseWeight) limit = std::sqrt(6.0 / static_cast<double>(spec.rows + spec.cols));
    if (spec.kind == ParamKind::kEmbedding) limit = 0.05;
    for (int64_t j = 0; j < spec.size(); ++j) p[j] = static_cast<float>(rng.Uniform(-limit, limit));
  }
}

void CtrModel::EnsureWorkspace(int64_t rows) {
  if (rows <= workspace_rows_) return;
  workspace_rows_ = rows;
  activations_.resize(layers_.size() + 1);
  gradients_.resize(layers_.size() + 1);
  activations_[0].resize(static_cast<size_t>(rows * input_width_));
  gradients_[0].resize(static_cast<size_t>(rows * input_width_));
  for (size_t i = 0; i < layers_.size(); ++i) {
    activations_[i + 1].resize(static_cast<size_t>(rows * layers_[i].out));
    gradients_[i + 1].resize(static_cast<size_t>(rows * layers_[i].out));
  }
}

void CtrModel::ForwardInto(const BatchView& batch, const ParamArena& params) {
  const int64_t rows = batch.num_rows;
  EnsureWorkspace(rows);
  float* input = activations_[0].data();  // (rows, input_width)
  for (size_t f = 0; f < embedding_tables_.size(); ++f) {
    const ParamSpec& table = layout_.spec(embedding_tables_[f]);
    kernels::EmbeddingGather(batch.categorical + f, batch.num_categorical, rows, params.data() + table.offset,
                             embedding_dim_, input, input_width_, static_cast<int64_t>(f) * embedding_dim_);
  }
  for (size_t b = 0; b < bag_tables_.size(); ++b) {
    const BagColumnView& bag = batch.bags[b];
    kernels::EmbeddingBagMean(bag.offsets + batch.bag_row_begin, bag.values, rows,
                              params.data() + layout_.spec(bag_tables_[b]).offset, embedding_dim_, input, input_width_,
                              BagColumn(b));
  }
  const int64_t dense_offset = BagColumn(bag_tables_.size());
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(input + r * input_width_ + dense_offset, batch.dense + r * batch.num_dense,
                static_cast<size_t>(batch.num_dense) * sizeof(float));
  }
  for (size_t i = 0; i < layers_.size(); ++i) {
    const DenseLayer& l = layers_[i];
    float* y = activations_[i + 1].data();  // (rows, l.out)
    kernels::DenseForward(activations_[i].data(), params.data() + layout_.spec(l.weight).offset,
                          params.data() + layout_.spec(l.bias).offset, rows, l.in, l.out, y);
    if (i + 1 < layers_.size()) kernels::ReluForward(y, rows * l.out);
  }
}

void CtrModel::Forward(const BatchView& batch, const ParamArena& params, float* logits) {
  if (batch.num_rows == 0) return;
  ForwardInto(batch, params);
  std::memcpy(logits, activations_.back().data(), static_cast<size_t>(batch.num_rows) * sizeof(float));
}

double CtrModel::ForwardBackward(const BatchView& batch, const ParamArena& params, ParamArena& grads,
                                 float loss_scale, RowSelection* touched, GradientReadyListener* ready) {
  const int64_t rows = batch.num_rows;
  if (rows == 0) {
    if (ready != nullptr) {
      for (int i = static_cast<int>(layout_.specs().size()) - 1; i >= 0; --i) ready->OnGradientReady(i);
    }
    return 0.0;
  }
  ForwardInto(batch, params);
  double loss = kernels::BceWithLogits(activations_.back().data(), batch.labels, rows, loss_scale,
                                       gradients_.back().data());
  for (size_t i = layers_.size(); i-- > 0;) {
    const DenseLayer& l = layers_[i];
    float* dy = gradients_[i + 1].data();  // (rows, l.out)
    if (i + 1 < layers_.size()) kernels::ReluBackward(activations_[i + 1].data(), dy, rows * l.out);
    // The input gradient is needed below the first layer only when there are embeddings.
    bool need_dx = i > 0 || !embedding_tables_.empty() || !bag_tables_.empty();
    kernels::DenseBackward(activations_[i].data(), params.data() + layout_.spec(l.weight).offset, dy, rows, l.in,
                           l.out, grads.data() + layout_.spec(l.weight).offset,
                           grads.data() + layout_.spec(l.bias).offset, need_dx ? gradients_[i].data() : nullptr);
    if (ready != nullptr) {
      ready->OnGradientReady(l.bias);
      ready->OnGradientReady(l.weight);
    }
  }
  for (size_t f = 0; f < embedding_tables_.size(); ++f) {
    const ParamSpec& table = layout_.spec(embedding_tables_[f]);
    kernels::EmbeddingScatterAdd(batch.categorical + f, batch.num_categorical, rows, gradients_[0].data(),
                                 input_width_, static_cast<int64_t>(f) * embedding_dim_, embedding_dim_,
                                 grads.data() + table.offset);
    if (touched != nullptr && touched->sparse(embedding_tables_[f])) {
      std::vector<int64_t>& ids = touched->rows(embedding_tables_[f]);
      for (int64_t r = 0; r < rows; ++r) ids.push_back(batch.categorical[r * batch.num_categorical + f]);
    }
    if (ready != nullptr) ready->OnGradientReady(embedding_tables_[f]);
  }
  for (size_t b = 0; b < bag_tables_.size(); ++b) {
    const BagColumnView& bag = batch.bags[b];
    const int64_t* offsets = bag.offsets + batch.bag_row_begin;
    kernels::EmbeddingBagMeanBackward(offsets, bag.values, rows, gradients_[0].data(), input_width_, BagColumn(b),
                                      embedding_dim_, grads.data() + layout_.spec(bag_tables_[b]).offset);
    if (touched != nullptr && touched->sparse(bag_tables_[b])) {
      std::vector<int64_t>& ids = touched->rows(bag_tables_[b]);
      for (int64_t k = offsets[0]; k < offsets[rows]; ++k) ids.push_back(bag.values[k]);
    }
    if (ready != nullptr) ready->OnGradientReady(bag_tables_[b]);
  }
  return loss;
}

}  // namespace ectrain::model
