// `ectrain inspect` of a checkpoint: the model, its parameters, where training stood and the data it
// expects, read from the checkpoint's attributes and stored strings (the tensors are not read).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ckpt/checkpoint.h"
#include "cli/commands.h"
#include "config/config.h"

namespace ectrain::cli {
namespace {

namespace fs = std::filesystem;

struct Tensor {
  std::string name;
  int64_t rows = 0, cols = 0;
};

// ParamLayout::Describe(): "name:RxC;name:RxC;...".
std::vector<Tensor> TensorsOf(const std::string& layout) {
  std::vector<Tensor> tensors;
  std::stringstream in(layout);
  std::string item;
  while (std::getline(in, item, ';')) {
    const size_t colon = item.rfind(':'), x = item.rfind('x');
    if (colon == std::string::npos || x == std::string::npos || x < colon) continue;
    tensors.push_back(
        {item.substr(0, colon), std::stoll(item.substr(colon + 1, x - colon - 1)), std::stoll(item.substr(x + 1))});
  }
  return tensors;
}

nlohmann::json Summary(const std::string& path, const ckpt::CheckpointInfo& info, const RunConfig& config,
                       const data::FeatureSchema& schema) {
  nlohmann::json j;
  j["checkpoint"] = path;
  j["bytes"] = static_cast<int64_t>(fs::file_size(path));
  j["format_version"] = info.format_version;
  j["written_by"] = info.binary_version;
  j["step"] = info.step;
  j["epoch"] = info.epoch + 1;
  j["step_in_epoch"] = info.step_in_epoch;
  j["world_size"] = info.world_size;
  j["global_batch_size"] = info.global_batch_size;
  j["train_rows"] = info.train_rows;
  j["model"] = {{"type", config.model.type}, {"loss", config.model.loss}};
  j["optimizer"] = info.optimizer;
  if (!config.checkpoint.keep_best.empty() && std::isfinite(info.best_metric)) {
    j["best"] = {{"metric", config.checkpoint.keep_best},
                 {"value", info.best_metric},
                 {"evaluations_since", info.evals_since_best}};
  }
  int64_t parameters = 0;
  nlohmann::json tensors = nlohmann::json::array();
  for (const Tensor& t : TensorsOf(info.layout)) {
    tensors.push_back({{"name", t.name}, {"shape", {t.rows, t.cols}}});
    parameters += t.rows * t.cols;
  }
  j["parameters"] = parameters;
  j["tensors"] = tensors;
  j["inputs"] = {{"label", schema.label},
                 {"dense", schema.dense},
                 {"categorical", schema.categorical},
                 {"vocab_sizes", schema.vocab_sizes},
                 {"multi_valued", schema.multi_valued},
                 {"preprocessing", schema.has_preprocessing()}};
  return j;
}

std::string ToText(const nlohmann::json& j) {
  std::ostringstream out;
  out << "checkpoint " << j["checkpoint"].get<std::string>() << " (" << j["bytes"].get<int64_t>() << " bytes, format "
      << j["format_version"].get<int64_t>() << ", written by ectrain " << j["written_by"].get<std::string>() << ")\n";
  out << "  step " << j["step"].get<int64_t>() << " (epoch " << j["epoch"].get<int64_t>() << ", step "
      << j["step_in_epoch"].get<int64_t>() << " within it), " << j["world_size"].get<int64_t>()
      << " rank(s), global batch " << j["global_batch_size"].get<int64_t>() << ", " << j["train_rows"].get<int64_t>()
      << " training rows\n";
  out << "  model: " << j["model"]["type"].get<std::string>() << " (loss " << j["model"]["loss"].get<std::string>()
      << "), " << j["parameters"].get<int64_t>() << " parameters; optimizer: " << j["optimizer"].get<std::string>()
      << "\n";
  if (j.contains("best")) {
    out << "  best " << j["best"]["metric"].get<std::string>() << " so far: " << j["best"]["value"].get<double>()
        << " (" << j["best"]["evaluations_since"].get<int64_t>() << " evaluation(s) since)\n";
  }
  out << "  tensors:\n";
  for (const auto& t : j["tensors"]) {
    out << "    " << t["name"].get<std::string>() << "  " << t["shape"][0].get<int64_t>() << " x "
        << t["shape"][1].get<int64_t>() << "\n";
  }
  const auto& in = j["inputs"];
  out << "  inputs: label " << in["label"].get<std::string>() << "; dense " << in["dense"].dump() << "; categorical "
      << in["categorical"].dump() << " (ids per column " << in["vocab_sizes"].dump() << "); multi-valued "
      << in["multi_valued"].dump() << (in["preprocessing"].get<bool>() ? "; with prepare's encoding" : "") << "\n";
  return out.str();
}

}  // namespace

bool IsCheckpointPath(const std::string& path) {
  std::error_code ec;
  const std::string name = fs::path(path).filename().string();
  if (fs::is_directory(path, ec)) return fs::exists(fs::path(path) / "latest", ec);
  if (name == "latest" || name == "best") return true;
  if (name.starts_with("ckpt-") && name.ends_with(".h5")) return true;
  return fs::is_regular_file(path, ec) && ckpt::ReadCheckpointInfo(path).ok();
}

Status InspectCheckpoint(const std::string& path, bool json) {
  ASSIGN_OR_RETURN(const std::string file, ckpt::ResolveCheckpointPath(path));
  ASSIGN_OR_RETURN(const ckpt::CheckpointInfo info, ckpt::ReadCheckpointInfo(file));
  ASSIGN_OR_RETURN(const RunConfig config,
                   config::ParseConfig(info.config_yaml, {}, file + " (stored config)", config::ConfigOrigin::kStored));
  ASSIGN_OR_RETURN(const data::FeatureSchema schema, data::FeatureSchema::FromJson(*info.schema_json, file));
  const nlohmann::json summary = Summary(file, info, config, schema);
  const std::string text = json ? summary.dump() + "\n" : ToText(summary);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return Status::Ok();
}

}  // namespace ectrain::cli
