// CtrModel: the seed's click/purchase model. Each categorical field has an embedding table, and
// each multi-valued field (genres, title tokens) one whose rows are averaged over the row's ids;
// the embeddings and the dense columns are concatenated and go through Dense+ReLU hidden
// layers and a Dense(1) output whose logit is scored with binary cross-entropy.
// (The seed's one-hot -> Dense(64) is this with per-field embeddings feeding the first layer.)
// Parameters live in a ParamArena of layout(); the model holds only its workspace, so one
// instance per thread. The workspace grows to the largest batch seen and is then reused.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/batch.h"
#include "core/param_arena.h"
#include "core/row_selection.h"
#include "model/options.h"

namespace ectrain::model {

struct FeatureShape {
  int num_dense = 0;
  std::vector<std::string> categorical_names;
  std::vector<int64_t> vocab_sizes;  // parallel to categorical_names
  std::vector<std::string> bag_names;    // multi-valued fields: one mean-pooled embedding each
  std::vector<int64_t> bag_vocab_sizes;  // parallel to bag_names
};

class CtrModel {
 public:
  CtrModel(const ModelOptions& options, FeatureShape features);

  const ParamLayout& layout() const { return layout_; }
  const FeatureShape& features() const { return features_; }

  // Glorot-uniform dense weights, zero biases, uniform(-0.05, 0.05) embeddings; from `seed` only.
  void Initialize(ParamArena& params, uint64_t seed) const;

  // Adds d(loss_scale * sum of row losses)/d(params) into `grads` and returns the sum of row
  // losses. A batch of zero rows adds nothing. For each embedding table that `touched` marks
  // row-sparse, appends the ids this batch looked up. `ready` hears of each tensor as soon as
  // its gradient is final (output layer first).
  double ForwardBackward(const BatchView& batch, const ParamArena& params, ParamArena& grads, float loss_scale,
                         RowSelection* touched = nullptr, GradientReadyListener* ready = nullptr);

  // logits(batch.num_rows); probabilities are Sigmoid(logit).
  void Forward(const BatchView& batch, const ParamArena& params, float* logits);

 private:
  struct DenseLayer {
    int weight = 0;  // ParamSpec indices
    int bias = 0;
    int64_t in = 0;
    int64_t out = 0;
  };

  void EnsureWorkspace(int64_t rows);
  // First input column of multi-valued field `b` (b == number of fields: the dense columns').
  int64_t BagColumn(size_t b) const {
    return static_cast<int64_t>(embedding_tables_.size() + b) * embedding_dim_;
  }
  void ForwardInto(const BatchView& batch, const ParamArena& params);

  FeatureShape features_;
  int64_t embedding_dim_;
  int64_t input_width_;
  ParamLayout layout_;
  std::vector<int> embedding_tables_;  // ParamSpec index per categorical field
  std::vector<int> bag_tables_;        // ParamSpec index per multi-valued field
  std::vector<DenseLayer> layers_;     // hidden layers, then the output layer

  int64_t workspace_rows_ = 0;
  // activations_[0] is the input (rows, input_width); activations_[i + 1] is layers_[i]'s output.
  std::vector<std::vector<float>> activations_;
  std::vector<std::vector<float>> gradients_;  // same shapes as activations_
};

}  // namespace ectrain::model
