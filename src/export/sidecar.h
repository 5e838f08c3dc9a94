// The preprocessing sidecar of an exported model (`model.onnx.json`): what a serving system needs
// to turn raw values into the graph's inputs as `ectrain prepare` did (per input: column, dtype,
// shape, vocabulary or hashing, dense filling and scaling, bag splitting and pooling), what the
// output means, and where the model came from. Its schema is in README.md ("Export for serving").
// Pure function.
#pragma once

#include <string>

#include "data/schema.h"
#include "export/onnx_export.h"
#include "model/model.h"
#include "model/options.h"

namespace ectrain::exporter {

// The sidecar's JSON text for `model` trained on data encoded as `schema`; `onnx_file` is the
// graph's file name, as the sidecar names it.
std::string SidecarJson(const data::FeatureSchema& schema, const model::Model& model,
                        const model::ModelOptions& options, const ExportInfo& info, const std::string& onnx_file);

}  // namespace ectrain::exporter
