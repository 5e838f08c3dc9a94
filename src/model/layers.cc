#include "model/layers.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/rng.h"
#include "kernels/cpu_kernels.h"

namespace ectrain::model {

Loss LossOf(const ModelOptions& options) {
  const std::string loss = ResolvedLoss(options);
  if (loss == "softmax") return Loss::kSoftmax;
  if (loss == "mse") return Loss::kMse;
  return Loss::kBce;
}

Task TaskOf(Loss loss) {
  switch (loss) {
    case Loss::kBce:
      return Task::kBinary;
    case Loss::kSoftmax:
      return Task::kMulticlass;
    case Loss::kMse:
      return Task::kRegression;
  }
  return Task::kBinary;
}

double LossAndGradient(Loss loss, const float* outputs, const float* labels, int64_t rows, int64_t num_outputs,
                       const float* class_weights, float scale, float* doutputs) {
  switch (loss) {
    case Loss::kBce:
      return kernels::BceWithLogits(outputs, labels, rows, scale, doutputs);
    case Loss::kSoftmax:
      return kernels::SoftmaxCrossEntropy(outputs, labels, rows, num_outputs, class_weights, scale, doutputs);
    case Loss::kMse:
      return kernels::SquaredError(outputs, labels, rows, scale, doutputs);
  }
  return 0.0;
}

void Reserve(std::vector<float>& buffer, int64_t size) {
  if (static_cast<int64_t>(buffer.size()) < size) buffer.resize(static_cast<size_t>(size));
}

void AnnounceAll(const ParamLayout& layout, GradientReadyListener* ready) {
  if (ready == nullptr) return;
  for (int i = static_cast<int>(layout.specs().size()) - 1; i >= 0; --i) ready->OnGradientReady(i);
}

void InitializeParams(const ParamLayout& layout, ParamArena& params, uint64_t seed, const std::vector<int>& ones) {
  params.SetZero();
  for (size_t i = 0; i < layout.specs().size(); ++i) {
    const ParamSpec& spec = layout.spec(static_cast<int>(i));
    float* p = params.data() + spec.offset;
    if (std::find(ones.begin(), ones.end(), static_cast<int>(i)) != ones.end()) {
      std::fill(p, p + spec.size(), 1.0f);
      continue;
    }
    Rng rng = Rng::ForStream(seed, 0x1417, i);
    double limit = 0.0;
    if (spec.kind == ParamKind::kDenseWeight) limit = std::sqrt(6.0 / static_cast<double>(spec.rows + spec.cols));
    if (spec.kind == ParamKind::kEmbedding) limit = 0.05;
    for (int64_t j = 0; j < spec.size(); ++j) p[j] = static_cast<float>(rng.Uniform(-limit, limit));
  }
}

FieldSet FieldSet::All(const FeatureShape& features, bool dense) {
  FieldSet set;
  for (size_t f = 0; f < features.categorical_names.size(); ++f) set.categorical.push_back(static_cast<int>(f));
  for (size_t b = 0; b < features.bag_names.size(); ++b) set.bags.push_back(static_cast<int>(b));
  set.dense = dense;
  return set;
}

FieldEmbeddings::FieldEmbeddings(const FeatureShape& features, FieldSet fields, int64_t dim, bool sum_bags,
                                 const std::string& prefix, ParamLayout& layout)
    : fields_(std::move(fields)), dim_(dim), num_dense_(features.num_dense), sum_bags_(sum_bags), layout_(layout) {
  for (int f : fields_.categorical) {
    tables_.push_back(layout.Add(prefix + "embedding/" + features.categorical_names[f], features.vocab_sizes[f], dim,
                                 ParamKind::kEmbedding));
  }
  for (int b : fields_.bags) {
    tables_.push_back(layout.Add(prefix + "embedding_bag/" + features.bag_names[b], features.bag_vocab_sizes[b], dim,
                                 ParamKind::kEmbedding));
  }
}

void FieldEmbeddings::Forward(const BatchView& batch, const ParamArena& params, float* out, int64_t out_stride) const {
  const int64_t rows = batch.num_rows;
  int64_t column = 0;
  size_t t = 0;
  for (int f : fields_.categorical) {
    kernels::EmbeddingGather(batch.categorical + f, batch.num_categorical, rows,
                             params.data() + layout_.spec(tables_[t++]).offset, dim_, out, out_stride, column);
    column += dim_;
  }
  for (int b : fields_.bags) {
    const BagColumnView& bag = batch.bags[b];
    const float* table = params.data() + layout_.spec(tables_[t++]).offset;
    if (sum_bags_) {
      kernels::EmbeddingBagSum(bag.offsets + batch.bag_row_begin, bag.values, rows, table, dim_, out, out_stride,
                               column);
    } else {
      kernels::EmbeddingBagMean(bag.offsets + batch.bag_row_begin, bag.values, rows, table, dim_, out, out_stride,
                                column);
    }
    column += dim_;
  }
  if (fields_.dense) {
    for (int64_t r = 0; r < rows; ++r) {
      std::memcpy(out + r * out_stride + column, batch.dense + r * batch.num_dense,
                  static_cast<size_t>(batch.num_dense) * sizeof(float));
    }
  }
}

void FieldEmbeddings::Backward(const BatchView& batch, const float* dout, int64_t dout_stride, ParamArena& grads,
                               RowSelection* touched, GradientReadyListener* ready) const {
  const int64_t rows = batch.num_rows;
  int64_t column = 0;
  size_t t = 0;
  for (int f : fields_.categorical) {
    const int spec = tables_[t++];
    if (touched != nullptr && touched->sparse(spec)) {
      // Row-sparse: the same kernel, adding into the table's compact rows by slot. A table's
      // slots are a cache miss each (they span the table's rows): fetched kAhead lookups ahead.
      constexpr int64_t kAhead = 16;
      if (slots_.size() < static_cast<size_t>(rows)) slots_.resize(static_cast<size_t>(rows));
      const int32_t* ids = batch.categorical + f;
      const int64_t stride = batch.num_categorical;
      for (int64_t r = 0; r < rows; ++r) {
        if (r + kAhead < rows) __builtin_prefetch(touched->slot_address(spec, ids[(r + kAhead) * stride]), 1);
        slots_[r] = touched->Slot(spec, ids[r * stride]);
      }
      kernels::EmbeddingScatterAdd(slots_.data(), 1, rows, dout, dout_stride, column, dim_, touched->gradients(spec));
    } else {
      kernels::EmbeddingScatterAdd(batch.categorical + f, batch.num_categorical, rows, dout, dout_stride, column, dim_,
                                   grads.data() + layout_.spec(spec).offset);
    }
    if (ready != nullptr) ready->OnGradientReady(spec);
    column += dim_;
  }
  for (int b : fields_.bags) {
    const int spec = tables_[t++];
    const BagColumnView& bag = batch.bags[b];
    const int64_t* offsets = bag.offsets + batch.bag_row_begin;
    const int32_t* ids = bag.values;
    float* dtable = grads.data() + layout_.spec(spec).offset;
    if (touched != nullptr && touched->sparse(spec)) {
      // Slots at the positions of the ids (the offsets index bag.values).
      if (slots_.size() < static_cast<size_t>(offsets[rows])) slots_.resize(static_cast<size_t>(offsets[rows]));
      for (int64_t k = offsets[0]; k < offsets[rows]; ++k) slots_[k] = touched->Slot(spec, bag.values[k]);
      ids = slots_.data();
      dtable = touched->gradients(spec);
    }
    if (sum_bags_) {
      kernels::EmbeddingBagSumBackward(offsets, ids, rows, dout, dout_stride, column, dim_, dtable);
    } else {
      kernels::EmbeddingBagMeanBackward(offsets, ids, rows, dout, dout_stride, column, dim_, dtable);
    }
    if (ready != nullptr) ready->OnGradientReady(spec);
    column += dim_;
  }
}

WideLinear::WideLinear(const FeatureShape& features, bool sum_bags, ParamLayout& layout)
    : layout_(layout), weights_(features, FieldSet::All(features, /*dense=*/false), 1, sum_bags, "wide/", layout) {
  if (features.num_dense > 0) {
    dense_weight_ = layout.Add("wide/dense/weight", features.num_dense, 1, ParamKind::kDenseWeight);
  }
  bias_ = layout.Add("wide/bias", 1, 1, ParamKind::kBias);
}

void WideLinear::Forward(const BatchView& batch, const ParamArena& params, float* out) {
  const int64_t rows = batch.num_rows;
  const int64_t fields = weights_.num_fields();
  const float bias = params.data()[layout_.spec(bias_).offset];
  if (dense_weight_ >= 0) {
    kernels::DenseForward(batch.dense, params.data() + layout_.spec(dense_weight_).offset, &bias, rows, batch.num_dense,
                          1, out);
  } else {
    std::fill(out, out + rows, bias);
  }
  if (fields == 0) return;
  Reserve(field_weights_, rows * fields);
  weights_.Forward(batch, params, field_weights_.data(), fields);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t f = 0; f < fields; ++f) out[r] += field_weights_[r * fields + f];
  }
}

void WideLinear::Backward(const BatchView& batch, const float* dout, ParamArena& grads, RowSelection* touched,
                          GradientReadyListener* ready) {
  const int64_t rows = batch.num_rows;
  const int64_t fields = weights_.num_fields();
  float* dbias = grads.data() + layout_.spec(bias_).offset;
  if (dense_weight_ >= 0) {
    kernels::DenseBackward(batch.dense, nullptr, dout, rows, batch.num_dense, 1,
                           grads.data() + layout_.spec(dense_weight_).offset, dbias, nullptr);
  } else {
    for (int64_t r = 0; r < rows; ++r) *dbias += dout[r];
  }
  if (ready != nullptr) {
    ready->OnGradientReady(bias_);
    if (dense_weight_ >= 0) ready->OnGradientReady(dense_weight_);
  }
  // Every field weight of row r enters the sum once: its gradient is dout(r).
  Reserve(field_weights_, rows * fields);
  for (int64_t r = 0; r < rows; ++r) std::fill_n(field_weights_.data() + r * fields, fields, dout[r]);
  weights_.Backward(batch, field_weights_.data(), fields, grads, touched, ready);
}

Mlp::Mlp(int64_t in, const std::vector<int64_t>& hidden, int64_t output_width, const std::string& prefix,
         const std::string& output_name, bool layer_norm, double dropout, ParamLayout& layout)
    : in_(in), dropout_(static_cast<float>(dropout)), layout_(layout) {
  int64_t width = in;
  for (size_t i = 0; i < hidden.size(); ++i) {
    const std::string name = prefix + "dense_" + std::to_string(i);
    Layer l;
    l.in = width;
    l.out = hidden[i];
    l.weight = layout.Add(name + "/weight", l.in, l.out, ParamKind::kDenseWeight);
    l.bias = layout.Add(name + "/bias", 1, l.out, ParamKind::kBias);
    if (layer_norm) {
      const std::string norm = prefix + "layer_norm_" + std::to_string(i);
      l.gamma = layout.Add(norm + "/gamma", 1, l.out, ParamKind::kBias);
      l.beta = layout.Add(norm + "/beta", 1, l.out, ParamKind::kBias);
      unit_scales_.push_back(l.gamma);
    }
    layers_.push_back(l);
    width = l.out;
  }
  if (output_width > 0) {
    Layer l;
    l.in = width;
    l.out = output_width;
    l.hidden = false;
    l.weight = layout.Add(output_name + "/weight", l.in, l.out, ParamKind::kDenseWeight);
    l.bias = layout.Add(output_name + "/bias", 1, l.out, ParamKind::kBias);
    layers_.push_back(l);
  }
}

void Mlp::EnsureWorkspace(int64_t rows) {
  if (rows <= workspace_rows_) return;
  workspace_rows_ = rows;
  for (Layer& l : layers_) {
    const int64_t n = rows * l.out;
    Reserve(l.z, n);
    Reserve(l.grad, n);
    if (l.gamma >= 0) {
      Reserve(l.xhat, n);
      Reserve(l.inv_std, rows);
      Reserve(l.y, n);
      Reserve(l.dz, n);
    }
    if (l.hidden && dropout_ > 0) Reserve(l.mask, n);
  }
}

int64_t Mlp::workspace_bytes() const {
  int64_t bytes = 0;
  for (const Layer& l : layers_) bytes += CapacityBytes(l.z, l.xhat, l.inv_std, l.y, l.mask, l.grad, l.dz);
  return bytes;
}

const float* Mlp::Forward(const float* x, int64_t rows, const ParamArena& params, bool train, uint64_t dropout_key) {
  EnsureWorkspace(rows);
  dropped_ = train && dropout_ > 0;
  const float* input = x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    Layer& l = layers_[i];
    kernels::DenseForward(input, params.data() + layout_.spec(l.weight).offset,
                          params.data() + layout_.spec(l.bias).offset, rows, l.in, l.out, l.z.data());
    float* y = l.z.data();  // (rows, l.out): the layer's output, transformed in place below
    if (l.gamma >= 0) {
      kernels::LayerNormForward(l.z.data(), params.data() + layout_.spec(l.gamma).offset,
                                params.data() + layout_.spec(l.beta).offset, rows, l.out, kLayerNormEpsilon, l.y.data(),
                                l.xhat.data(), l.inv_std.data());
      y = l.y.data();
    }
    if (l.hidden) {
      kernels::ReluForward(y, rows * l.out);
      if (dropped_) {
        kernels::DropoutMask(kernels::MixKey(dropout_key, i), rows, l.out, dropout_, l.mask.data());
        kernels::ScaleBy(y, l.mask.data(), rows * l.out);
      }
    }
    input = y;
  }
  return input;
}

void Mlp::Backward(const float* x, int64_t rows, const ParamArena& params, ParamArena& grads, float* dx,
                   GradientReadyListener* ready) {
  for (size_t i = layers_.size(); i-- > 0;) {
    Layer& l = layers_[i];
    const int64_t n = rows * l.out;
    float* dy = l.grad.data();  // (rows, l.out), at the layer's output; becomes the gradient at z
    if (l.hidden) {
      if (dropped_) kernels::ScaleBy(dy, l.mask.data(), n);
      // The output after dropout is positive exactly where the ReLU passed and the mask kept.
      kernels::ReluBackward(l.gamma >= 0 ? l.y.data() : l.z.data(), dy, n);
    }
    if (l.gamma >= 0) {
      kernels::LayerNormBackward(l.xhat.data(), l.inv_std.data(), params.data() + layout_.spec(l.gamma).offset, dy,
                                 rows, l.out, grads.data() + layout_.spec(l.gamma).offset,
                                 grads.data() + layout_.spec(l.beta).offset, l.dz.data());
      dy = l.dz.data();
      if (ready != nullptr) {
        ready->OnGradientReady(l.beta);
        ready->OnGradientReady(l.gamma);
      }
    }
    const float* input = i > 0 ? (layers_[i - 1].gamma >= 0 ? layers_[i - 1].y.data() : layers_[i - 1].z.data()) : x;
    float* dinput = i > 0 ? layers_[i - 1].grad.data() : dx;
    kernels::DenseBackward(input, params.data() + layout_.spec(l.weight).offset, dy, rows, l.in, l.out,
                           grads.data() + layout_.spec(l.weight).offset, grads.data() + layout_.spec(l.bias).offset,
                           dinput);
    if (ready != nullptr) {
      ready->OnGradientReady(l.bias);
      ready->OnGradientReady(l.weight);
    }
  }
}

CrossNetwork::CrossNetwork(int64_t d, int64_t layers, ParamLayout& layout) : d_(d), layout_(layout) {
  for (int64_t l = 0; l < layers; ++l) {
    const std::string name = "cross_" + std::to_string(l);
    weights_.push_back(layout.Add(name + "/weight", d, d, ParamKind::kDenseWeight));
    biases_.push_back(layout.Add(name + "/bias", 1, d, ParamKind::kBias));
  }
  xs_.resize(weights_.size() + 1);
  us_.resize(weights_.size());
}

int64_t CrossNetwork::workspace_bytes() const {
  int64_t bytes = CapacityBytes(grad_, grad_below_);
  for (const auto& x : xs_) bytes += CapacityBytes(x);
  for (const auto& u : us_) bytes += CapacityBytes(u);
  return bytes;
}

const float* CrossNetwork::Forward(const float* x0, int64_t rows, const ParamArena& params) {
  if (rows > workspace_rows_) {
    workspace_rows_ = rows;
    for (auto& x : xs_) Reserve(x, rows * d_);
    for (auto& u : us_) Reserve(u, rows * d_);
    Reserve(grad_, rows * d_);
    Reserve(grad_below_, rows * d_);
  }
  const float* xl = x0;
  for (size_t l = 0; l < weights_.size(); ++l) {
    kernels::CrossLayerForward(x0, xl, params.data() + layout_.spec(weights_[l]).offset,
                               params.data() + layout_.spec(biases_[l]).offset, rows, d_, us_[l].data(),
                               xs_[l + 1].data());
    xl = xs_[l + 1].data();
  }
  return xl;
}

void CrossNetwork::Backward(const float* x0, int64_t rows, const ParamArena& params, ParamArena& grads, float* dx0,
                            GradientReadyListener* ready) {
  std::fill(dx0, dx0 + rows * d_, 0.0f);
  float* g = grad_.data();              // at layer l's output
  float* g_below = grad_below_.data();  // at its input x_l
  for (size_t l = weights_.size(); l-- > 0;) {
    const float* xl = l > 0 ? xs_[l].data() : x0;
    kernels::CrossLayerBackward(x0, xl, us_[l].data(), params.data() + layout_.spec(weights_[l]).offset, g, rows, d_,
                                grads.data() + layout_.spec(weights_[l]).offset,
                                grads.data() + layout_.spec(biases_[l]).offset, g_below, dx0);
    if (ready != nullptr) {
      ready->OnGradientReady(biases_[l]);
      ready->OnGradientReady(weights_[l]);
    }
    std::swap(g, g_below);
  }
  // The first layer's input is x0 itself.
  Eigen::Map<Eigen::ArrayXf>(dx0, rows * d_) += Eigen::Map<const Eigen::ArrayXf>(g, rows * d_);
}

}  // namespace ectrain::model
