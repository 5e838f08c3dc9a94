#include "model/layers.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/rng.h"
#include "kernels/cpu_kernels.h"  // MixKey

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

double LossAndGradient(const kernels::Kernels& k, Loss loss, const float* outputs, const float* labels, int64_t rows,
                       int64_t num_outputs, const float* class_weights, float scale, float* doutputs) {
  switch (loss) {
    case Loss::kBce:
      return k.BceWithLogits(outputs, labels, rows, scale, doutputs);
    case Loss::kSoftmax:
      return k.SoftmaxCrossEntropy(outputs, labels, rows, num_outputs, class_weights, scale, doutputs);
    case Loss::kMse:
      return k.SquaredError(outputs, labels, rows, scale, doutputs);
  }
  return 0.0;
}

void AnnounceAll(const ParamLayout& layout, GradientReadyListener* ready) {
  if (ready == nullptr) return;
  for (int i = static_cast<int>(layout.specs().size()) - 1; i >= 0; --i) ready->OnGradientReady(i);
}

namespace {
void DrawParams(const ParamLayout& layout, float* values, uint64_t seed, const std::vector<int>& ones) {
  for (size_t i = 0; i < layout.specs().size(); ++i) {
    const ParamSpec& spec = layout.spec(static_cast<int>(i));
    float* p = values + spec.offset;
    if (std::find(ones.begin(), ones.end(), static_cast<int>(i)) != ones.end()) {
      std::fill(p, p + spec.size(), 1.0f);
      continue;
    }
    // The wide part is linear: nothing to break symmetry for, and a random start (Glorot on the dense
    // columns' weights) would put the first predictions far from the prior. It starts at 0.
    if (spec.name.starts_with("wide/")) continue;
    Rng rng = Rng::ForStream(seed, 0x1417, i);
    double limit = 0.0;
    if (spec.kind == ParamKind::kDenseWeight) limit = std::sqrt(6.0 / static_cast<double>(spec.rows + spec.cols));
    if (spec.kind == ParamKind::kEmbedding) limit = 0.05;
    for (int64_t j = 0; j < spec.size(); ++j) p[j] = static_cast<float>(rng.Uniform(-limit, limit));
  }
}
}  // namespace

void InitializeParams(const ParamLayout& layout, ParamArena& params, uint64_t seed, const std::vector<int>& ones) {
  params.SetZero();
  if (params.allocator().kind() == DeviceKind::kCpu) {
    DrawParams(layout, params.data(), seed, ones);
    return;
  }
  std::vector<float> host(static_cast<size_t>(params.size()), 0.0f);
  DrawParams(layout, host.data(), seed, ones);
  params.allocator().CopyFromHost(params.data(), host.data(), host.size() * sizeof(float));
}

FieldSet FieldSet::All(const FeatureShape& features, bool dense) {
  FieldSet set;
  for (size_t f = 0; f < features.categorical_names.size(); ++f) set.categorical.push_back(static_cast<int>(f));
  for (size_t b = 0; b < features.bag_names.size(); ++b) set.bags.push_back(static_cast<int>(b));
  set.dense = dense;
  return set;
}

FieldEmbeddings::FieldEmbeddings(const FeatureShape& features, FieldSet fields, int64_t dim, bool sum_bags,
                                 const std::string& prefix, ParamLayout& layout, Workspace& workspace)
    : fields_(std::move(fields)),
      dim_(dim),
      num_dense_(features.num_dense),
      sum_bags_(sum_bags),
      layout_(layout),
      k_(workspace.kernels()),
      device_slots_(workspace.kernels().allocator()) {
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
    k_.EmbeddingGather(batch.categorical + f, batch.num_categorical, rows, TensorIn(params, layout_, tables_[t++]),
                       dim_, out, out_stride, column);
    column += dim_;
  }
  for (int b : fields_.bags) {
    const BagColumnView& bag = batch.bags[b];
    const float* table = TensorIn(params, layout_, tables_[t++]);
    if (sum_bags_) {
      k_.EmbeddingBagSum(bag.offsets + batch.bag_row_begin, bag.values, rows, table, dim_, out, out_stride, column);
    } else {
      k_.EmbeddingBagMean(bag.offsets + batch.bag_row_begin, bag.values, rows, table, dim_, out, out_stride, column);
    }
    column += dim_;
  }
  if (fields_.dense) k_.CopyRows(batch.dense, batch.num_dense, rows, batch.num_dense, out + column, out_stride);
}

const int32_t* FieldEmbeddings::Slots(const int32_t* host_ids, int64_t stride, int64_t begin, int64_t end, int spec,
                                      RowSelection& touched) const {
  // A table's slots are a cache miss each (they span the table's rows): fetched kAhead lookups ahead.
  constexpr int64_t kAhead = 16;
  if (slots_.size() < static_cast<size_t>(end)) slots_.resize(static_cast<size_t>(end));
  for (int64_t k = begin; k < end; ++k) {
    if (k + kAhead < end) __builtin_prefetch(touched.slot_address(spec, host_ids[(k + kAhead) * stride]), 1);
    slots_[k] = touched.Slot(spec, host_ids[k * stride]);
  }
  if (k_.device() == DeviceKind::kCpu) return slots_.data();
  // A device batch's bag offsets count from its first id (model/device_batch.h).
  return device_slots_.CopyFromHost(slots_.data() + begin, static_cast<size_t>(end - begin));
}

void FieldEmbeddings::Backward(const BatchView& batch, const float* dout, int64_t dout_stride, ParamArena& grads,
                               RowSelection* touched, GradientReadyListener* ready) const {
  const int64_t rows = batch.num_rows;
  const BatchView& host = batch.host != nullptr ? *batch.host : batch;
  int64_t column = 0;
  size_t t = 0;
  for (int f : fields_.categorical) {
    const int spec = tables_[t++];
    if (touched != nullptr && touched->sparse(spec)) {
      // Row-sparse: the same kernel, adding into the table's compact rows by slot.
      const int32_t* slots = Slots(host.categorical + f, host.num_categorical, 0, rows, spec, *touched);
      k_.EmbeddingScatterAdd(slots, 1, rows, dout, dout_stride, column, dim_, touched->gradients(spec));
    } else {
      k_.EmbeddingScatterAdd(batch.categorical + f, batch.num_categorical, rows, dout, dout_stride, column, dim_,
                             TensorIn(grads, layout_, spec));
    }
    if (ready != nullptr) ready->OnGradientReady(spec);
    column += dim_;
  }
  for (int b : fields_.bags) {
    const int spec = tables_[t++];
    const int64_t* offsets = batch.bags[b].offsets + batch.bag_row_begin;
    const int32_t* ids = batch.bags[b].values;
    float* dtable = TensorIn(grads, layout_, spec);
    if (touched != nullptr && touched->sparse(spec)) {
      // Slots at the positions of the ids (the offsets index the bag's values).
      const int64_t* host_offsets = host.bags[b].offsets + host.bag_row_begin;
      ids = Slots(host.bags[b].values, 1, host_offsets[0], host_offsets[rows], spec, *touched);
      dtable = touched->gradients(spec);
    }
    if (sum_bags_) {
      k_.EmbeddingBagSumBackward(offsets, ids, rows, dout, dout_stride, column, dim_, dtable);
    } else {
      k_.EmbeddingBagMeanBackward(offsets, ids, rows, dout, dout_stride, column, dim_, dtable);
    }
    if (ready != nullptr) ready->OnGradientReady(spec);
    column += dim_;
  }
}

WideLinear::WideLinear(const FeatureShape& features, bool sum_bags, ParamLayout& layout, Workspace& workspace)
    : layout_(layout),
      workspace_(workspace),
      weights_(features, FieldSet::All(features, /*dense=*/false), 1, sum_bags, "wide/", layout, workspace) {
  if (features.num_dense > 0) {
    dense_weight_ = layout.Add("wide/dense/weight", features.num_dense, 1, ParamKind::kDenseWeight);
  }
  bias_ = layout.Add("wide/bias", 1, 1, ParamKind::kBias);
  field_weights_ = workspace.Add(weights_.num_fields());
}

void WideLinear::Forward(const BatchView& batch, const ParamArena& params, float* out) {
  const kernels::Kernels& k = workspace_.kernels();
  const int64_t rows = batch.num_rows;
  const int64_t fields = weights_.num_fields();
  const float* bias = TensorIn(params, layout_, bias_);
  if (dense_weight_ >= 0) {
    k.DenseForward(batch.dense, TensorIn(params, layout_, dense_weight_), bias, rows, batch.num_dense, 1, out);
  } else {
    k.Fill(out, rows, 0.0f);
    k.AddScalar(bias, out, rows);
  }
  if (fields == 0) return;
  float* field_weights = workspace_.at(field_weights_);
  weights_.Forward(batch, params, field_weights, fields);
  k.AddRowSums(field_weights, rows, fields, out);
}

void WideLinear::Backward(const BatchView& batch, const float* dout, ParamArena& grads, RowSelection* touched,
                          GradientReadyListener* ready) {
  const kernels::Kernels& k = workspace_.kernels();
  const int64_t rows = batch.num_rows;
  const int64_t fields = weights_.num_fields();
  float* dbias = TensorIn(grads, layout_, bias_);
  if (dense_weight_ >= 0) {
    k.DenseBackward(batch.dense, nullptr, dout, rows, batch.num_dense, 1, TensorIn(grads, layout_, dense_weight_),
                    dbias, nullptr);
  } else {
    k.AddSum(dout, rows, dbias);
  }
  if (ready != nullptr) {
    ready->OnGradientReady(bias_);
    if (dense_weight_ >= 0) ready->OnGradientReady(dense_weight_);
  }
  // Every field weight of row r enters the sum once: its gradient is dout(r).
  float* field_weights = workspace_.at(field_weights_);
  k.BroadcastRows(dout, rows, fields, field_weights);
  weights_.Backward(batch, field_weights, fields, grads, touched, ready);
}

Mlp::Mlp(int64_t in, const std::vector<int64_t>& hidden, int64_t output_width, const std::string& prefix,
         const std::string& output_name, bool layer_norm, double dropout, ParamLayout& layout, Workspace& workspace)
    : in_(in), dropout_(static_cast<float>(dropout)), layout_(layout), workspace_(workspace), k_(workspace.kernels()) {
  int64_t width = in;
  for (size_t i = 0; i <= hidden.size(); ++i) {
    Layer l;
    l.in = width;
    l.hidden = i < hidden.size();
    if (!l.hidden && output_width <= 0) break;
    l.out = l.hidden ? hidden[i] : output_width;
    const std::string name = l.hidden ? prefix + "dense_" + std::to_string(i) : output_name;
    l.weight = layout.Add(name + "/weight", l.in, l.out, ParamKind::kDenseWeight);
    l.bias = layout.Add(name + "/bias", 1, l.out, ParamKind::kBias);
    if (l.hidden && layer_norm) {
      const std::string norm = prefix + "layer_norm_" + std::to_string(i);
      l.gamma = layout.Add(norm + "/gamma", 1, l.out, ParamKind::kBias);
      l.beta = layout.Add(norm + "/beta", 1, l.out, ParamKind::kBias);
      unit_scales_.push_back(l.gamma);
      l.xhat = workspace.Add(l.out);
      l.inv_std = workspace.Add(1);
      l.y = workspace.Add(l.out);
      l.dz = workspace.Add(l.out);
    }
    l.z = workspace.Add(l.out);
    l.grad = workspace.Add(l.out);
    if (l.hidden && dropout_ > 0) l.mask = workspace.Add(l.out);
    layers_.push_back(l);
    width = l.out;
  }
}

const float* Mlp::Forward(const float* x, int64_t rows, const ParamArena& params, bool train, uint64_t dropout_key) {
  dropped_ = train && dropout_ > 0;
  const float* input = x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Layer& l = layers_[i];
    float* z = workspace_.at(l.z);
    k_.DenseForward(input, TensorIn(params, layout_, l.weight), TensorIn(params, layout_, l.bias), rows, l.in, l.out,
                    z);
    if (l.gamma >= 0) {
      k_.LayerNormForward(z, TensorIn(params, layout_, l.gamma), TensorIn(params, layout_, l.beta), rows, l.out,
                          kLayerNormEpsilon, workspace_.at(l.y), workspace_.at(l.xhat), workspace_.at(l.inv_std));
    }
    float* y = Output(l);  // (rows, l.out): transformed in place below
    if (l.hidden) {
      k_.ReluForward(y, rows * l.out);
      if (dropped_) {
        float* mask = workspace_.at(l.mask);
        k_.DropoutMask(kernels::MixKey(dropout_key, i), rows, l.out, dropout_, mask);
        k_.ScaleBy(y, mask, rows * l.out);
      }
    }
    input = y;
  }
  return input;
}

void Mlp::Backward(const float* x, int64_t rows, const ParamArena& params, ParamArena& grads, float* dx,
                   GradientReadyListener* ready) {
  for (size_t i = layers_.size(); i-- > 0;) {
    const Layer& l = layers_[i];
    const int64_t n = rows * l.out;
    float* dy = workspace_.at(l.grad);  // (rows, l.out), at the layer's output; becomes the gradient at z
    if (l.hidden) {
      if (dropped_) k_.ScaleBy(dy, workspace_.at(l.mask), n);
      // The output after dropout is positive exactly where the ReLU passed and the mask kept.
      k_.ReluBackward(Output(l), dy, n);
    }
    if (l.gamma >= 0) {
      k_.LayerNormBackward(workspace_.at(l.xhat), workspace_.at(l.inv_std), TensorIn(params, layout_, l.gamma), dy,
                           rows, l.out, TensorIn(grads, layout_, l.gamma), TensorIn(grads, layout_, l.beta),
                           workspace_.at(l.dz));
      dy = workspace_.at(l.dz);
      if (ready != nullptr) {
        ready->OnGradientReady(l.beta);
        ready->OnGradientReady(l.gamma);
      }
    }
    const float* input = i > 0 ? Output(layers_[i - 1]) : x;
    float* dinput = i > 0 ? workspace_.at(layers_[i - 1].grad) : dx;
    k_.DenseBackward(input, TensorIn(params, layout_, l.weight), dy, rows, l.in, l.out,
                     TensorIn(grads, layout_, l.weight), TensorIn(grads, layout_, l.bias), dinput);
    if (ready != nullptr) {
      ready->OnGradientReady(l.bias);
      ready->OnGradientReady(l.weight);
    }
  }
}

CrossNetwork::CrossNetwork(int64_t d, int64_t layers, ParamLayout& layout, Workspace& workspace)
    : d_(d), layout_(layout), workspace_(workspace), k_(workspace.kernels()) {
  xs_.push_back(-1);
  for (int64_t l = 0; l < layers; ++l) {
    const std::string name = "cross_" + std::to_string(l);
    weights_.push_back(layout.Add(name + "/weight", d, d, ParamKind::kDenseWeight));
    biases_.push_back(layout.Add(name + "/bias", 1, d, ParamKind::kBias));
    xs_.push_back(workspace.Add(d));
    us_.push_back(workspace.Add(d));
  }
  grad_ = workspace.Add(d);
  grad_below_ = workspace.Add(d);
}

const float* CrossNetwork::Forward(const float* x0, int64_t rows, const ParamArena& params) {
  const float* xl = x0;
  for (size_t l = 0; l < weights_.size(); ++l) {
    k_.CrossLayerForward(x0, xl, TensorIn(params, layout_, weights_[l]), TensorIn(params, layout_, biases_[l]), rows,
                         d_, workspace_.at(us_[l]), workspace_.at(xs_[l + 1]));
    xl = workspace_.at(xs_[l + 1]);
  }
  return xl;
}

void CrossNetwork::Backward(const float* x0, int64_t rows, const ParamArena& params, ParamArena& grads, float* dx0,
                            GradientReadyListener* ready) {
  k_.Fill(dx0, rows * d_, 0.0f);
  float* g = workspace_.at(grad_);              // at layer l's output
  float* g_below = workspace_.at(grad_below_);  // at its input x_l
  for (size_t l = weights_.size(); l-- > 0;) {
    const float* xl = l > 0 ? workspace_.at(xs_[l]) : x0;
    k_.CrossLayerBackward(x0, xl, workspace_.at(us_[l]), TensorIn(params, layout_, weights_[l]), g, rows, d_,
                          TensorIn(grads, layout_, weights_[l]), TensorIn(grads, layout_, biases_[l]), g_below, dx0);
    if (ready != nullptr) {
      ready->OnGradientReady(biases_[l]);
      ready->OnGradientReady(weights_[l]);
    }
    std::swap(g, g_below);
  }
  // The first layer's input is x0 itself.
  k_.Add(g, dx0, rows * d_);
}

}  // namespace ectrain::model
