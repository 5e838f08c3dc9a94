// CtrModel: the feature-interaction family, one stack of optional parts over the same inputs.
// Each categorical field has an embedding table and each multi-valued field (genres, title
// tokens) one whose rows are pooled over the row's ids; with the dense columns they form the input
// row x0 = [field embeddings | pooled bags | dense]. The output is the sum of the parts present:
//   mlp, classifier  deep(x0)                       deep = hidden Dense+ReLU layers, Dense(outputs)
//   logistic         wide                           wide = a learned weight per id + linear(dense) + bias
//   wide_deep        wide + deep(x0)
//   deepfm           wide + FM(field embeddings) + deep(x0)   (FM and deep share the embeddings)
//   dcn              deep(cross(x0))                cross = DCN-v2 cross layers, stacked under deep
// With model.interaction: dot (mlp, wide_deep, classifier) deep reads DLRM's interaction instead
// of x0: [p | <v_i, v_j> for i < j], the v being p and the field embeddings, where p = bottom(dense)
// is the dense columns projected to embedding_dim by a Dense+ReLU ("bottom/..."; without dense
// columns there is no p and only the embeddings pair up).
// model.parents: a child field's vector in x0 is its own plus its parent field's (both embedded);
// model.embedding_dropout drops values of x0's embedding vectors in training.
// The classifier has num_classes outputs (softmax); the others one (bce, or mse for ratings).
// Layout: embeddings, wide, cross or bottom, deep, output, so the tensors whose gradients are
// final first sit at the arena's end. One instance per thread; not copyable (the parts refer to the layout).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "model/layers.h"
#include "model/model.h"

namespace ectrain::model {

class CtrModel final : public Model {
 public:
  // `options` must pass CheckModelOptions and be of a type above (CreateModel checks both).
  CtrModel(const ModelOptions& options, FeatureShape features, const kernels::Kernels& kernels = kernels::Cpu());
  CtrModel(const CtrModel&) = delete;
  CtrModel& operator=(const CtrModel&) = delete;

  const ParamLayout& layout() const override { return layout_; }
  const FeatureShape& features() const override { return features_; }
  Task task() const override { return TaskOf(loss_); }
  int64_t num_outputs() const override { return num_outputs_; }
  void Initialize(ParamArena& params, uint64_t seed) const override;
  double ForwardBackward(const BatchView& batch, const ParamArena& params, ParamArena& grads, float loss_scale,
                         RowSelection* touched = nullptr, GradientReadyListener* ready = nullptr) override;
  void Forward(const BatchView& batch, const ParamArena& params, float* outputs) override;
  int64_t workspace_bytes() const override;

 protected:
  int output_bias() const override { return deep_ ? deep_->output_bias() : wide_->bias(); }

 private:
  // The model's own buffers in the workspace, after its parts'.
  void AddWorkspace();
  // outputs_ (rows, num_outputs) = the sum of the parts; with dropout when `train`.
  void ForwardInto(const BatchView& batch, const ParamArena& params, bool train);
  // Dot interaction: fills x0_'s first vector with p (when there are dense columns), then
  // interaction_ = [p | pairwise dots of x0_'s vectors]. x0_'s embeddings must be in place.
  void InteractionForward(const BatchView& batch, const ParamArena& params);
  // From dinteraction_: dx0_ for the embeddings, and the bottom layer's gradients.
  void InteractionBackward(const BatchView& batch, const ParamArena& params, ParamArena& grads,
                           GradientReadyListener* ready);
  // model.parents and model.embedding_dropout on x0's vectors, after the lookups; and their backward
  // on dx0, before the tables get it.
  void ShapeEmbeddings(int64_t rows, bool train, uint64_t dropout_key);
  void ShapeEmbeddingsBackward(int64_t rows);

  FeatureShape features_;
  Loss loss_;
  int64_t num_outputs_;
  std::optional<DeviceBuffer<float>> class_weights_;  // model.class_weights, in the kernels' memory
  ParamLayout layout_;
  std::optional<FieldEmbeddings> embeddings_;  // x0, for deep, FM and cross
  std::optional<WideLinear> wide_;
  bool fm_ = false;
  std::optional<CrossNetwork> cross_;
  std::optional<Mlp> deep_;
  bool dot_ = false;          // model.interaction: dot
  int64_t vectors_ = 0;       // dot: the vectors that pair up (p, when there is one, and the fields)
  int64_t bottom_width_ = 0;  // dot with dense columns: embedding_dim (p's width, first in x0_); else 0
  int bottom_weight_ = -1;    // ParamSpec indices of "bottom/weight|bias"; -1 without p
  int bottom_bias_ = -1;
  int64_t x0_width_ = 0;    // concat: the embeddings' width (dense included); dot: vectors_ * embedding_dim
  int64_t deep_width_ = 0;  // the deep part's input width
  // model.parents: x0 columns of each child's vector and of its parent's.
  std::vector<std::pair<int64_t, int64_t>> parent_columns_;
  float embedding_dropout_ = 0;
  bool dropped_ = false;                     // the last forward dropped embedding values
  std::optional<DeviceBuffer<float>> ones_;  // a row of 1s: the mask of x0's other columns

  // Workspace handles.
  int x0_ = -1, dx0_ = -1;                    // (rows, x0_width_)
  int bottom_ = -1, dbottom_ = -1;            // dot: (rows, bottom_width_), p after its ReLU
  int interaction_ = -1, dinteraction_ = -1;  // dot: (rows, deep_width_)
  int outputs_ = -1, doutputs_ = -1;          // (rows, num_outputs)
  int part_ = -1;                             // (rows): the wide or FM term
  int child_sum_ = -1;                        // parents: (rows, dim), a child's vector while it is summed
  int embedding_mask_ = -1;                   // embedding dropout: (rows, x0_width_)
  const float* deep_input_ = nullptr;         // x0, or the cross network's output
};

}  // namespace ectrain::model
