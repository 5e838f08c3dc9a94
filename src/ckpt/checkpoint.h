// Checkpoints: self-describing HDF5 files (format version, binary version, resolved config,
// feature schema, step/epoch, parameters and optimizer state, one dataset per tensor under
// /params and /optimizer/<state>), readable with h5py or h5dump.
// CheckpointDir writes them atomically: a temporary name, flush and fsync, rename, then the
// `latest` pointer file is replaced the same way; a crash at any moment leaves the previous
// checkpoint valid and `latest` pointing to it. Used by rank 0 only; not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/param_arena.h"
#include "core/status.h"
#include "optim/optimizer.h"

namespace ectrain::ckpt {

inline constexpr int64_t kFormatVersion = 1;

struct CheckpointInfo {
  int64_t format_version = kFormatVersion;
  std::string binary_version;
  std::string config_yaml;  // the resolved configuration of the run that wrote it
  std::string schema_json;  // data::FeatureSchema, so predict encodes raw rows as training did
  std::string layout;       // ParamLayout::Describe(): identifies the model's shape
  int64_t step = 0;         // optimizer steps taken
  int64_t epoch = 0;        // epochs completed
  std::string optimizer;    // "adam" | "sgd"
};

Status WriteCheckpoint(const std::string& path, const CheckpointInfo& info, const ParamLayout& layout,
                       const ParamArena& params, optim::Optimizer& optimizer);

StatusOr<CheckpointInfo> ReadCheckpointInfo(const std::string& path);

// Loads parameters (and optimizer state, when `optimizer` is not null) into arenas of `layout`.
// A checkpoint of another model shape or optimizer is refused with a message naming the difference.
Status LoadCheckpoint(const std::string& path, const ParamLayout& layout, ParamArena& params,
                      optim::Optimizer* optimizer);

// A folder path -> the file its `latest` pointer names; a file path -> itself.
StatusOr<std::string> ResolveCheckpointPath(const std::string& path);

class CheckpointDir {
 public:
  CheckpointDir(std::string dir, int64_t keep_last) : dir_(std::move(dir)), keep_last_(keep_last) {}
  // Writes <dir>/ckpt-<step>.h5, points `latest` at it, and removes all but the newest keep_last.
  // Returns the path written.
  StatusOr<std::string> Save(const CheckpointInfo& info, const ParamLayout& layout, const ParamArena& params,
                             optim::Optimizer& optimizer);
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  int64_t keep_last_;
};

}  // namespace ectrain::ckpt
