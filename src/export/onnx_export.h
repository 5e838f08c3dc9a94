// The forward pass of a trained model as an ONNX graph (opset 17), for serving without ectrain:
// `ectrain export --format onnx`. The graph takes the prepared columns the model reads, one named
// input each with a dynamic batch dimension "batch": a dense column as float32 [batch] (after
// prepare's filling and scaling), a categorical column as int64 [batch] (vocabulary or hashed
// ids), a multi-valued column NAME as NAME/values int64 [ids] and NAME/offsets int64 [batch + 1]
// (row r's ids are values[offsets[r], offsets[r + 1]), offsets[0] = 0), as in the prepared HDF5
// file. Its one output is what `ectrain predict` writes: "probability" [batch] (binary: sigmoid),
// "probabilities" [batch, classes] (classifier: softmax) or "prediction" [batch] (regression).
// Dropout and embedding dropout are identity at inference. Pure functions.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/param_arena.h"
#include "core/status.h"
#include "model/model.h"
#include "model/options.h"

namespace ectrain::exporter {

// Provenance stored in the model's metadata_props and doc string.
struct ExportInfo {
  std::string version;     // ectrain's
  std::string checkpoint;  // the file exported
  int64_t step = 0;        // its optimizer steps
};

// The name of the graph's output for a model of `task`.
const char* OutputName(model::Task task);
// The graph input names of multi-valued column `column`.
std::string BagValuesName(const std::string& column);
std::string BagOffsetsName(const std::string& column);

// `model` (built from `options`) with parameters `params` (in host memory) as an ONNX model;
// `dense_columns` names the model's dense inputs (the schema's data.dense, in order). An
// InvalidArgument names an option the graph cannot express; an Internal error names a parameter
// tensor the graph would leave unused (so a model the exporter does not know is refused, never
// exported wrong).
StatusOr<onnx::ModelProto> BuildOnnxModel(const model::Model& model, const model::ModelOptions& options,
                                          const std::vector<std::string>& dense_columns, const ParamArena& params,
                                          const ExportInfo& info);

// ONNX's own checks of `model`: the checker, then shape inference in strict mode (every node's
// inputs of the types and shapes its operator takes). An Internal error quotes ONNX's message.
Status CheckOnnxModel(const onnx::ModelProto& model);

}  // namespace ectrain::exporter
