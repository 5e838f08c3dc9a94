// `ectrain export`: a checkpoint's model as an ONNX graph for serving (src/export/), with its
// preprocessing sidecar OUT.json. Files are written whole or not at all (a temporary, renamed).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "ckpt/checkpoint.h"
#include "ckpt/restore.h"
#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/format.h"
#include "core/version.h"
#include "export/onnx_builder.h"
#include "export/onnx_export.h"
#include "export/sidecar.h"

namespace ectrain::cli {
namespace {

// Before the checkpoint is read: --out names a file in a folder this process may write (probed with
// the temporary file the write will use, so that no file of the user's is touched).
Status CheckWritable(const std::string& out) {
  std::error_code ec;
  if (std::filesystem::is_directory(out, ec)) {
    return InvalidArgument("--out '" + out + "' is a folder; give the model file's name, e.g. " +
                           (std::filesystem::path(out) / "model.onnx").string());
  }
  const std::string probe = TemporaryPathFor(out);
  std::FILE* file = std::fopen(probe.c_str(), "wb");
  if (file == nullptr) {
    return Internal("cannot write --out '" + out + "': " + std::strerror(errno) +
                    " (check that the folder exists and is writable)");
  }
  std::fclose(file);
  std::remove(probe.c_str());
  return Status::Ok();
}

}  // namespace

Status RunExport(const ExportArgs& args) {
  if (args.format != "onnx") {
    return InvalidArgument("--format '" + args.format + "' is not an export format; the formats are: onnx");
  }
  RETURN_IF_ERROR(CheckWritable(args.out));
  ASSIGN_OR_RETURN(const ckpt::RestoredModel restored, ckpt::RestoreModel(args.checkpoint, {}));
  ASSIGN_OR_RETURN(const ckpt::CheckpointInfo checkpoint, ckpt::ReadCheckpointInfo(restored.path));
  const exporter::ExportInfo info{ECTRAIN_VERSION, restored.path, checkpoint.step};
  ASSIGN_OR_RETURN(
      const onnx::ModelProto proto,
      exporter::BuildOnnxModel(*restored.model, restored.config.model, restored.schema.dense, *restored.params, info));
  RETURN_IF_ERROR(exporter::CheckOnnxModel(proto));
  // One protobuf message holds at most 2 GiB; larger models would need ONNX's external data.
  constexpr size_t kProtobufLimit = (size_t{1} << 31) - 1;
  const size_t bytes = proto.ByteSizeLong();
  if (bytes > kProtobufLimit) {
    return InvalidArgument("export: the model is " + std::to_string(bytes >> 20) +
                           " MiB, beyond the 2 GiB an ONNX file holds without external data, which export does not "
                           "write yet; use smaller embedding tables (fewer ids or a smaller model.embedding_dim)");
  }
  std::string serialized;
  if (!proto.SerializeToString(&serialized)) return Internal("export: serializing the ONNX model failed");
  RETURN_IF_ERROR(WriteFileAtomically(args.out, serialized, "--out '" + args.out + "'"));
  const std::string sidecar = args.out + ".json";
  RETURN_IF_ERROR(WriteFileAtomically(sidecar,
                                      exporter::SidecarJson(restored.schema, *restored.model, restored.config.model,
                                                            info, std::filesystem::path(args.out).filename().string()),
                                      "the sidecar '" + sidecar + "'"));
  std::printf("exported %s (step %lld, model %s) to %s (%s, ONNX opset %lld, output '%s') and %s\n",
              restored.path.c_str(), static_cast<long long>(checkpoint.step), restored.config.model.type.c_str(),
              args.out.c_str(), FormatMegabytes(static_cast<int64_t>(serialized.size())).c_str(),
              static_cast<long long>(exporter::kOpsetVersion), exporter::OutputName(restored.model->task()),
              sidecar.c_str());
  return Status::Ok();
}

}  // namespace ectrain::cli
