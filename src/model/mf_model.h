// MatrixFactorizationModel: score = global bias + user bias + item bias + <user vector, item
// vector>, the classic rating model (mse by default; bce for implicit feedback). The biases are
// the wide part (model.user_field's and model.item_field's 1-wide tables), which also gives every
// other field a learned weight per id, every multi-valued field a pooled one and the dense columns
// a linear term. Tensors: wide/*, then "mf/embedding/<user_field>" and "mf/embedding/<item_field>"
// (embedding_dim wide), then with model.parents each parent's "mf/embedding/<parent>", whose vector
// is added to its child's (user's or item's). model.embedding_dropout drops values of both vectors.
// One instance per thread; not copyable.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "model/layers.h"
#include "model/model.h"

namespace ectrain::model {

class MatrixFactorizationModel final : public Model {
 public:
  // `options` must pass CheckModelOptions and CheckModelFields (CreateModel checks both).
  MatrixFactorizationModel(const ModelOptions& options, FeatureShape features,
                           const kernels::Kernels& kernels = kernels::Cpu());
  MatrixFactorizationModel(const MatrixFactorizationModel&) = delete;
  MatrixFactorizationModel& operator=(const MatrixFactorizationModel&) = delete;

  const ParamLayout& layout() const override { return layout_; }
  const FeatureShape& features() const override { return features_; }
  Task task() const override { return TaskOf(loss_); }
  int64_t num_outputs() const override { return 1; }
  void Initialize(ParamArena& params, uint64_t seed) const override;
  double ForwardBackward(const BatchView& batch, const ParamArena& params, ParamArena& grads, float loss_scale,
                         RowSelection* touched = nullptr, GradientReadyListener* ready = nullptr) override;
  void Forward(const BatchView& batch, const ParamArena& params, float* outputs) override;
  int64_t workspace_bytes() const override;

 protected:
  int output_bias() const override { return wide_.bias(); }

 private:
  // `train`: with model.embedding_dropout.
  void ForwardInto(const BatchView& batch, const ParamArena& params, bool train);

  // model.parents: the parent's vector, added to the user's or the item's.
  struct Parent {
    std::unique_ptr<FieldEmbeddings> factors;  // not movable: held by pointer
    int child;                                 // users_ or items_
  };

  FeatureShape features_;
  Loss loss_;
  int64_t dim_;
  ParamLayout layout_;
  WideLinear wide_;
  FieldEmbeddings user_factors_;
  FieldEmbeddings item_factors_;
  std::vector<Parent> parents_;
  float embedding_dropout_ = 0;
  int user_mask_ = -1, item_mask_ = -1;  // workspace (rows, dim), with embedding dropout
  int parent_vectors_ = -1;              // workspace (rows, dim), with parents
  int users_, items_, dusers_, ditems_;  // workspace: (rows, dim)
  int dots_, scores_, dscores_;          // workspace: (rows)
};

}  // namespace ectrain::model
