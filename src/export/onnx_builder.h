// OnnxBuilder: writes an ONNX graph (onnx::GraphProto, Debian's libonnx protobuf classes) node by
// node, so the exporter reads as the forward pass it mirrors: names for the graph's inputs and
// outputs, float initializers for parameters, int64/float constants, and one-output nodes whose
// result names are made unique here. Not thread-safe; one per graph.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "core/status.h"

namespace ectrain::exporter {

// The ONNX operator set the exported graphs use (LayerNormalization needs 17) and its IR version.
inline constexpr int64_t kOpsetVersion = 17;
inline constexpr int64_t kIrVersion = 8;

// A dimension of a graph input or output: a size, or a symbolic name such as "batch".
using Dim = std::variant<int64_t, std::string>;

onnx::AttributeProto IntAttr(const std::string& name, int64_t value);
onnx::AttributeProto FloatAttr(const std::string& name, float value);
onnx::AttributeProto IntsAttr(const std::string& name, const std::vector<int64_t>& values);
onnx::AttributeProto StringAttr(const std::string& name, const std::string& value);
// A one-element tensor attribute (ConstantOfShape's `value`).
onnx::AttributeProto Int64TensorAttr(const std::string& name, int64_t value);
onnx::AttributeProto FloatTensorAttr(const std::string& name, float value);

class OnnxBuilder {
 public:
  explicit OnnxBuilder(onnx::GraphProto* graph) : graph_(graph) {}

  // A graph input; returns its name. An error when the name is taken.
  StatusOr<std::string> Input(const std::string& name, onnx::TensorProto::DataType type, const std::vector<Dim>& dims);
  // Names `value` as the graph output `name` (through an Identity node).
  Status Output(const std::string& value, const std::string& name, onnx::TensorProto::DataType type,
                const std::vector<Dim>& dims);
  // A float initializer named `name`, dims {rows, cols, ...}, values copied from `data`.
  StatusOr<std::string> Initializer(const std::string& name, const std::vector<int64_t>& dims, const float* data);
  // Constant initializers with made-up names: a 1-D int64 vector, a scalar float, or a float tensor.
  std::string Int64s(const std::vector<int64_t>& values);
  std::string Int64Scalar(int64_t value);
  std::string FloatScalar(float value);

  // A node with one output; returns the output's name ("<hint>" made unique).
  std::string Node(const std::string& op, const std::vector<std::string>& inputs,
                   const std::vector<onnx::AttributeProto>& attributes = {}, const std::string& hint = "");

  bool Has(const std::string& name) const { return names_.count(name) > 0; }
  int64_t num_nodes() const { return graph_->node_size(); }

 private:
  std::string Fresh(const std::string& hint);

  onnx::GraphProto* graph_;
  std::set<std::string> names_;  // every input, initializer and node output
  int64_t counter_ = 0;
};

}  // namespace ectrain::exporter
