#include "export/onnx_builder.h"

#include <cstring>

namespace ectrain::exporter {

onnx::AttributeProto IntAttr(const std::string& name, int64_t value) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INT);
  a.set_i(value);
  return a;
}

onnx::AttributeProto FloatAttr(const std::string& name, float value) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::FLOAT);
  a.set_f(value);
  return a;
}

onnx::AttributeProto IntsAttr(const std::string& name, const std::vector<int64_t>& values) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a.add_ints(v);
  return a;
}

onnx::AttributeProto StringAttr(const std::string& name, const std::string& value) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::STRING);
  a.set_s(value);
  return a;
}

onnx::AttributeProto Int64TensorAttr(const std::string& name, int64_t value) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::TENSOR);
  onnx::TensorProto* t = a.mutable_t();
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_dims(1);
  t->add_int64_data(value);
  return a;
}

onnx::AttributeProto FloatTensorAttr(const std::string& name, float value) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::TENSOR);
  onnx::TensorProto* t = a.mutable_t();
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(1);
  t->add_float_data(value);
  return a;
}

namespace {
void SetType(onnx::ValueInfoProto* info, onnx::TensorProto::DataType type, const std::vector<Dim>& dims) {
  onnx::TypeProto::Tensor* tensor = info->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(type);
  onnx::TensorShapeProto* shape = tensor->mutable_shape();
  for (const Dim& dim : dims) {
    onnx::TensorShapeProto::Dimension* d = shape->add_dim();
    if (const auto* size = std::get_if<int64_t>(&dim)) {
      d->set_dim_value(*size);
    } else {
      d->set_dim_param(std::get<std::string>(dim));
    }
  }
}
}  // namespace

StatusOr<std::string> OnnxBuilder::Input(const std::string& name, onnx::TensorProto::DataType type,
                                         const std::vector<Dim>& dims) {
  if (!names_.insert(name).second) {
    return InvalidArgument("the input name '" + name + "' is used twice in the graph (a column named like another)");
  }
  SetType(graph_->add_input(), type, dims);
  graph_->mutable_input(graph_->input_size() - 1)->set_name(name);
  return name;
}

Status OnnxBuilder::Output(const std::string& value, const std::string& name, onnx::TensorProto::DataType type,
                           const std::vector<Dim>& dims) {
  if (!names_.insert(name).second) {
    return InvalidArgument("the output name '" + name + "' is also an input column's name");
  }
  onnx::NodeProto* node = graph_->add_node();
  node->set_op_type("Identity");
  node->add_input(value);
  node->add_output(name);
  onnx::ValueInfoProto* out = graph_->add_output();
  out->set_name(name);
  SetType(out, type, dims);
  return Status::Ok();
}

StatusOr<std::string> OnnxBuilder::Initializer(const std::string& name, const std::vector<int64_t>& dims,
                                               const float* data) {
  if (!names_.insert(name).second) {
    return InvalidArgument("the parameter name '" + name + "' is also an input column's name");
  }
  onnx::TensorProto* t = graph_->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  int64_t size = 1;
  for (int64_t d : dims) {
    t->add_dims(d);
    size *= d;
  }
  // raw_data is little-endian float32, as this machine's floats are.
  t->mutable_raw_data()->assign(reinterpret_cast<const char*>(data), static_cast<size_t>(size) * sizeof(float));
  return name;
}

std::string OnnxBuilder::Int64s(const std::vector<int64_t>& values) {
  const std::string name = Fresh("const");
  onnx::TensorProto* t = graph_->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_dims(static_cast<int64_t>(values.size()));
  for (int64_t v : values) t->add_int64_data(v);
  return name;
}

std::string OnnxBuilder::Int64Scalar(int64_t value) {
  const std::string name = Fresh("const");
  onnx::TensorProto* t = graph_->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_int64_data(value);
  return name;
}

std::string OnnxBuilder::FloatScalar(float value) {
  const std::string name = Fresh("const");
  onnx::TensorProto* t = graph_->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_float_data(value);
  return name;
}

std::string OnnxBuilder::Node(const std::string& op, const std::vector<std::string>& inputs,
                              const std::vector<onnx::AttributeProto>& attributes, const std::string& hint) {
  const std::string output = Fresh(hint.empty() ? op : hint);
  onnx::NodeProto* node = graph_->add_node();
  node->set_op_type(op);
  node->set_name(output);
  for (const std::string& in : inputs) node->add_input(in);
  node->add_output(output);
  for (const onnx::AttributeProto& a : attributes) *node->add_attribute() = a;
  return output;
}

std::string OnnxBuilder::Fresh(const std::string& hint) {
  // The "~" keeps made-up names apart from column and tensor names, which come from configs.
  std::string name;
  do {
    name = hint + "~" + std::to_string(counter_++);
  } while (names_.count(name) > 0);
  names_.insert(name);
  return name;
}

}  // namespace ectrain::exporter
