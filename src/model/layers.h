// The parts models are assembled from. Each registers its tensors in the model's ParamLayout and
// its buffers in the model's Workspace when constructed, and runs its forward and backward pass
// through the workspace's kernels (kernels/kernels.h), so it runs on whichever device those are.
// Backward passes tell `ready` about their tensors top down. Not thread-safe: one set per model
// instance.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/batch.h"
#include "core/device_buffer.h"
#include "core/param_arena.h"
#include "core/row_selection.h"
#include "model/model.h"
#include "model/workspace.h"

namespace ectrain::model {

constexpr float kLayerNormEpsilon = 1e-5f;

enum class Loss { kBce, kSoftmax, kMse };
Loss LossOf(const ModelOptions& options);
Task TaskOf(Loss loss);
// Sum of row losses of outputs (rows, num_outputs); writes doutputs = scale * d(sum)/d(outputs).
double LossAndGradient(const kernels::Kernels& k, Loss loss, const float* outputs, const float* labels, int64_t rows,
                       int64_t num_outputs, const float* class_weights, float scale, float* doutputs);

// Every tensor of `layout`, last first: what a backward pass over an empty batch announces.
void AnnounceAll(const ParamLayout& layout, GradientReadyListener* ready);
// Model::Initialize for a layout: by kind (see Model), and 1 for the tensors in `ones`. The values
// are drawn on the host and copied to the arena's memory.
void InitializeParams(const ParamLayout& layout, ParamArena& params, uint64_t seed, const std::vector<int>& ones);
// Where a tensor of `arena` starts.
inline float* TensorIn(ParamArena& arena, const ParamLayout& layout, int spec) {
  return arena.data() + layout.spec(spec).offset;
}
inline const float* TensorIn(const ParamArena& arena, const ParamLayout& layout, int spec) {
  return arena.data() + layout.spec(spec).offset;
}

// The parts below keep a reference to the layout and workspace they registered in: a model that
// owns them must not be copied or moved.

// Which inputs a part reads: indices into FeatureShape's categorical and bag lists, and whether
// it also takes the dense columns.
struct FieldSet {
  std::vector<int> categorical;
  std::vector<int> bags;
  bool dense = false;
  int64_t num_fields() const { return static_cast<int64_t>(categorical.size() + bags.size()); }
  static FieldSet All(const FeatureShape& features, bool dense);
};

// One embedding table per field, `dim` wide, named prefix + "embedding/<field>" or
// "embedding_bag/<field>" (bags pooled by mean or sum). Writes each row as
// [categorical embeddings | pooled bags | dense columns when fields.dense].
class FieldEmbeddings {
 public:
  FieldEmbeddings(const FeatureShape& features, FieldSet fields, int64_t dim, bool sum_bags, const std::string& prefix,
                  ParamLayout& layout, Workspace& workspace);
  int64_t width() const { return fields_.num_fields() * dim_ + (fields_.dense ? num_dense_ : 0); }
  int64_t dim() const { return dim_; }
  int64_t num_fields() const { return fields_.num_fields(); }
  // out (rows, out_stride), columns [0, width()).
  void Forward(const BatchView& batch, const ParamArena& params, float* out, int64_t out_stride) const;
  // Adds dout's embedding columns into the tables' gradients: in `grads`, or for the tables
  // `touched` holds row-sparse, into its compact rows (listing the ids, read from the batch's
  // host view).
  void Backward(const BatchView& batch, const float* dout, int64_t dout_stride, ParamArena& grads,
                RowSelection* touched, GradientReadyListener* ready) const;
  // The slots' buffers (they grow with the lookups of a batch, not with its rows).
  int64_t workspace_bytes() const {
    return static_cast<int64_t>(slots_.capacity() * sizeof(int32_t) + device_slots_.bytes());
  }

 private:
  // Each lookup's compact row in `touched` for lookups [begin, end) of host_ids, computed on the
  // host; where the kernels read them (on a device: from lookup `begin` on).
  const int32_t* Slots(const int32_t* host_ids, int64_t stride, int64_t begin, int64_t end, int spec,
                       RowSelection& touched) const;

  FieldSet fields_;
  int64_t dim_;
  int num_dense_;
  bool sum_bags_;
  const ParamLayout& layout_;
  const kernels::Kernels& k_;
  std::vector<int> tables_;                     // ParamSpec index per field: categorical ones, then bags
  mutable std::vector<int32_t> slots_;          // backward: each lookup's compact row in `touched`
  mutable DeviceBuffer<int32_t> device_slots_;  // their copy in the kernels' memory (unused on the CPU)
};

// The wide (linear) part: a 1-wide embedding per field ("wide/embedding/<field>", a learned
// weight per id), a linear map of the dense columns ("wide/dense/weight") and "wide/bias".
// out(r) = sum of the row's field weights + dense(r) . w + bias.
class WideLinear {
 public:
  WideLinear(const FeatureShape& features, bool sum_bags, ParamLayout& layout, Workspace& workspace);
  void Forward(const BatchView& batch, const ParamArena& params, float* out);  // out (rows)
  void Backward(const BatchView& batch, const float* dout, ParamArena& grads, RowSelection* touched,
                GradientReadyListener* ready);
  int64_t workspace_bytes() const { return weights_.workspace_bytes(); }
  int bias() const { return bias_; }  // "wide/bias", (1, 1)

 private:
  const ParamLayout& layout_;
  Workspace& workspace_;
  FieldEmbeddings weights_;
  int dense_weight_ = -1;  // ParamSpec index; -1 without dense columns
  int bias_ = 0;
  int field_weights_;  // workspace: (rows, fields)
};

// A multi-layer perceptron: hidden layers Dense -> [LayerNorm] -> ReLU -> [dropout], then, when
// output_width > 0, a linear Dense(output_width) named output_name. Tensors: prefix + "dense_<i>"
// (and "layer_norm_<i>/gamma|beta"), output_name + "/weight|bias".
class Mlp {
 public:
  Mlp(int64_t in, const std::vector<int64_t>& hidden, int64_t output_width, const std::string& prefix,
      const std::string& output_name, bool layer_norm, double dropout, ParamLayout& layout, Workspace& workspace);
  int64_t out_width() const { return layers_.empty() ? in_ : layers_.back().out; }
  // Layer-norm scales, initialised to 1.
  const std::vector<int>& unit_scales() const { return unit_scales_; }
  // The output layer's bias (1, output_width), or -1 without an output layer.
  int output_bias() const { return layers_.empty() || layers_.back().hidden ? -1 : layers_.back().bias; }

  // x (rows, in) must stay unchanged until Backward; the workspace holds room for `rows`. Dropout
  // when `train` (masks keyed by dropout_key). Returns the output (rows, out_width()), which stays
  // valid until the next Forward.
  const float* Forward(const float* x, int64_t rows, const ParamArena& params, bool train, uint64_t dropout_key);
  // Where the caller writes d(loss)/d(output) before Backward; (rows, out_width()).
  float* output_gradient() { return layers_.empty() ? nullptr : workspace_.at(layers_.back().grad); }
  // Parameter gradients into `grads`; d(loss)/d(x) into dx (rows, in) when dx is not null.
  void Backward(const float* x, int64_t rows, const ParamArena& params, ParamArena& grads, float* dx,
                GradientReadyListener* ready);

 private:
  struct Layer {
    int64_t in = 0;
    int64_t out = 0;
    bool hidden = true;
    int weight = 0;  // ParamSpec indices
    int bias = 0;
    int gamma = -1;  // layer norm, hidden layers only
    int beta = -1;
    // Workspace handles, (rows, out) each unless said otherwise; -1 where the layer has none: the
    // dense output, then (layer norm) its normalised form, 1 / std (rows) and the layer's output,
    // the dropout mask, the gradient at the output, the gradient at the dense output.
    int z = -1, xhat = -1, inv_std = -1, y = -1, mask = -1, grad = -1, dz = -1;
  };
  // The layer's output after its activation (and layer norm): y, or z transformed in place.
  float* Output(const Layer& l) const { return workspace_.at(l.y >= 0 ? l.y : l.z); }

  int64_t in_;
  float dropout_;
  const ParamLayout& layout_;
  Workspace& workspace_;
  const kernels::Kernels& k_;
  std::vector<Layer> layers_;
  std::vector<int> unit_scales_;
  bool dropped_ = false;  // the last Forward applied masks
};

// DCN-v2 cross network of `layers` layers over width d: x_{l+1} = x0 * (x_l W_l + b_l) + x_l.
// Tensors "cross_<l>/weight" (d, d) and "cross_<l>/bias".
class CrossNetwork {
 public:
  CrossNetwork(int64_t d, int64_t layers, ParamLayout& layout, Workspace& workspace);
  // (rows, d); the workspace holds room for `rows`.
  const float* Forward(const float* x0, int64_t rows, const ParamArena& params);
  float* output_gradient() { return workspace_.at(grad_); }
  // Writes d(loss)/d(x0) into dx0 (rows, d).
  void Backward(const float* x0, int64_t rows, const ParamArena& params, ParamArena& grads, float* dx0,
                GradientReadyListener* ready);

 private:
  int64_t d_;
  const ParamLayout& layout_;
  Workspace& workspace_;
  const kernels::Kernels& k_;
  std::vector<int> weights_, biases_;
  // Workspace handles, (rows, d) each.
  std::vector<int> xs_;  // xs_[l + 1] = layer l's output; xs_[0] unused (x0)
  std::vector<int> us_;  // layer l's x_l W + b
  int grad_, grad_below_;
};

}  // namespace ectrain::model
