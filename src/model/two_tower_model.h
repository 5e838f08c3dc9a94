// TwoTowerModel: retrieval-style scoring. The user tower is an MLP over the embeddings of the
// user-side fields, the item tower one over the item-side fields (each field feeds one tower, the
// dense columns the tower model.dense_tower names); score = <user vector, item vector> + bias,
// so item vectors can be computed once and searched by inner product. Tower layers:
// model.tower_units = hidden widths, then the output width (linear). One instance per thread;
// not copyable.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "model/layers.h"
#include "model/model.h"

namespace ectrain::model {

class TwoTowerModel final : public Model {
 public:
  // `options` must pass CheckModelOptions and CheckModelFields (CreateModel checks both).
  TwoTowerModel(const ModelOptions& options, FeatureShape features, const kernels::Kernels& kernels = kernels::Cpu());
  TwoTowerModel(const TwoTowerModel&) = delete;
  TwoTowerModel& operator=(const TwoTowerModel&) = delete;

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
  int output_bias() const override { return bias_; }

 private:
  struct Tower {
    std::optional<FieldEmbeddings> inputs;
    std::optional<Mlp> mlp;
    int x = -1, dx = -1;         // workspace: (rows, inputs width)
    const float* out = nullptr;  // (rows, output width), inside mlp's workspace
  };
  void ForwardInto(const BatchView& batch, const ParamArena& params, bool train);

  FeatureShape features_;
  Loss loss_;
  ParamLayout layout_;
  Tower user_, item_;
  int bias_ = 0;
  int scores_ = -1, dscores_ = -1;  // workspace: (rows)
};

}  // namespace ectrain::model
