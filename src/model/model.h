// Model: the interface every architecture of the zoo implements (CtrModel for logistic, mlp,
// wide_deep, deepfm, dcn and classifier; TwoTowerModel; MatrixFactorizationModel), and
// CreateModel, which picks one by model.type after checking the options against the features.
// Parameters live in a ParamArena of layout(); a model holds only its workspace (model/workspace.h:
// one block, grown to the largest batch seen, then reused, so a training step does not allocate).
// A model runs on the device of the kernels it is built with (kernels/kernels.h): its parameters,
// gradients and batches must then be in that device's memory. One instance per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/batch.h"
#include "core/param_arena.h"
#include "core/row_selection.h"
#include "core/status.h"
#include "kernels/kernels.h"
#include "model/device_batch.h"
#include "model/options.h"
#include "model/workspace.h"

namespace ectrain::model {

// The inputs a model sees, in BatchView order.
struct FeatureShape {
  // Every member has an initializer, so an aggregate initialization such as `{3, {"a"}, {5}}` may leave
  // out the trailing ones without a -Wmissing-field-initializers warning.
  int num_dense = 0;
  std::vector<std::string> categorical_names{};
  std::vector<int64_t> vocab_sizes{};      // parallel to categorical_names
  std::vector<std::string> bag_names{};    // multi-valued fields: one pooled embedding each
  std::vector<int64_t> bag_vocab_sizes{};  // parallel to bag_names
};

// What the outputs mean: kBinary one logit (probability = sigmoid), kMulticlass num_outputs()
// logits (probabilities = softmax), kRegression one predicted value.
enum class Task { kBinary, kMulticlass, kRegression };
const char* TaskName(Task task);

class Model {
 public:
  virtual ~Model() = default;
  const kernels::Kernels& kernels() const { return workspace_.kernels(); }

  virtual const ParamLayout& layout() const = 0;
  virtual const FeatureShape& features() const = 0;
  virtual Task task() const = 0;
  virtual int64_t num_outputs() const = 0;

  // Glorot-uniform dense weights, zero biases, uniform(-0.05, 0.05) embeddings, layer-norm
  // scales 1, and the wide (linear) part at 0, so the first predictions are the prior's; from `seed` only.
  virtual void Initialize(ParamArena& params, uint64_t seed) const = 0;

  // Adds d(loss_scale * sum of row losses)/d(params) into `grads` and returns the sum of row
  // losses. The batch is in host memory (a model on a device copies it there). A batch of zero rows adds nothing. For
  // each embedding table that `touched` marks row-sparse, appends the ids this batch looked up. `ready` hears of each
  // tensor exactly once, as soon as its gradient is final (output layer first). Dropout is on here, keyed as
  // SetTrainingStep says.
  virtual double ForwardBackward(const BatchView& batch, const ParamArena& params, ParamArena& grads, float loss_scale,
                                 RowSelection* touched = nullptr, GradientReadyListener* ready = nullptr) = 0;

  // outputs (batch.num_rows, num_outputs()), row-major, in host memory: logits, or predictions
  // for regression. Never drops out.
  virtual void Forward(const BatchView& batch, const ParamArena& params, float* outputs) = 0;

  // Sets the output's bias to what a model with no other signal should output, from the training
  // labels' prior (data/label_prior.h: the mean label, or each class's share): the log-odds of the
  // positive rate (binary), each class's log share (multiclass), the mean (regression).
  void InitializeOutputBias(ParamArena& params, const std::vector<double>& prior) const;

  // What Forward's outputs (rows, num_outputs()) mean to a user, same shape: the probability of
  // the positive class (binary: sigmoid of the logit), each class's probability (multiclass:
  // softmax of the row's logits, in double), or the prediction itself (regression).
  std::vector<double> Probabilities(std::span<const float> outputs) const;

  // Bytes of the workspace (activations and their gradients, for the largest batch so far, and a
  // device's copy of the batch): what the model holds besides parameters, for the memory report.
  virtual int64_t workspace_bytes() const { return workspace_.bytes() + device_batch_.bytes(); }

  // Keys the dropout masks of the ForwardBackward calls that follow by (seed, step, call since
  // this one, row), so a run, and a resumed run, draw the same masks. Until called, (0, 0, call).
  void SetTrainingStep(uint64_t seed, int64_t step) {
    dropout_seed_ = seed;
    dropout_step_ = step;
    dropout_calls_ = 0;
  }

 protected:
  explicit Model(const kernels::Kernels& kernels) : workspace_(kernels), device_batch_(kernels.allocator()) {}
  // The tensor that holds the output's bias, (1, num_outputs()).
  virtual int output_bias() const = 0;
  // The batch in the kernels' memory (the same view on the CPU; a copy on a device).
  const BatchView& OnDevice(const BatchView& batch) { return device_batch_.Stage(batch); }
  // The key of this ForwardBackward call's dropout masks; counts the call.
  uint64_t NextDropoutKey();
  // Copies the model's outputs (rows, num_outputs()) to the caller's host memory.
  void CopyOutputs(const float* outputs, int64_t rows, float* host) const;

  Workspace workspace_;

 private:
  DeviceBatch device_batch_;
  uint64_t dropout_seed_ = 0;
  int64_t dropout_step_ = 0;
  int64_t dropout_calls_ = 0;
};

// The model.type model over `features`, after CheckModelOptions and the checks of the options
// that name fields (an error names the config key).
// It runs on `kernels`' device.
StatusOr<std::unique_ptr<Model>> CreateModel(const ModelOptions& options, const FeatureShape& features,
                                             const kernels::Kernels& kernels = kernels::Cpu());

}  // namespace ectrain::model
