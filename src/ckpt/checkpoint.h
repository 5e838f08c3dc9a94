// Checkpoints: self-describing HDF5 files holding everything needed to continue a run exactly:
// format and binary version, resolved config, feature schema, model layout, the step and the
// data cursor (epoch, step within it), parameters and optimizer state (one dataset per tensor
// under /params and /optimizer_state/<state>/), and the best test metric so far. Data order and
// initialisation are pure functions of (train.seed, epoch), so no other RNG state exists.
// Readable with h5py or h5dump.
//
// Every tensor carries a checksum (XXH3) of its bytes and the root one over the attributes and stored
// strings; loading verifies them and refuses non-finite values, naming the tensor.
// CheckpointDir writes atomically: a temporary name, flush and fsync, rename, then the `latest`
// pointer (and `best`, for the best-so-far checkpoint) replaced the same way; a crash at any
// moment leaves the previous checkpoint valid. `latest` is a hint: what resuming and reading a
// folder trust is the newest checkpoint there that loads whole and verified.
// AsyncCheckpointWriter does that on a background thread from a snapshot, so training continues
// while rank 0's disk works. Used by rank 0 only.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/param_arena.h"
#include "core/status.h"
#include "optim/optimizer.h"

namespace ectrain::ckpt {

inline constexpr int64_t kFormatVersion = 4;          // 2: evals_since_best; 3: checksums; 4: rate_reductions
inline constexpr int64_t kOldestReadableVersion = 2;  // version 2 is read without checksums

struct CheckpointInfo {
  int64_t format_version = kFormatVersion;
  std::string binary_version;
  std::string config_yaml;  // the resolved configuration of the run that wrote it
  // data::FeatureSchema, so predict encodes raw rows as training did; shared, not copied, from
  // checkpoint to checkpoint (real vocabularies make it tens of MB)
  std::shared_ptr<const std::string> schema_json;
  std::string layout;         // ParamLayout::Describe(): identifies the model's shape
  std::string optimizer;      // "adam" | "sgd"
  int64_t step = 0;           // optimizer steps taken
  int64_t epoch = 0;          // data cursor: the epoch the next step belongs to
  int64_t step_in_epoch = 0;  // data cursor: the next step within that epoch
  int64_t global_batch_size = 0;
  int64_t train_rows = 0;
  int64_t world_size = 0;     // of the run that wrote it (resume may use another)
  double epoch_loss_sum = 0;  // the current epoch's loss so far, so its mean is reported exactly
  int64_t epoch_rows = 0;
  double best_metric = std::numeric_limits<double>::quiet_NaN();  // checkpoint.keep_best's value so far
  int64_t evals_since_best = 0;                                   // evaluations without improvement (early stopping)
  int64_t rate_reductions = 0;  // optimizer.schedule: plateau: the plateaus met so far (format 4; before: 0)
};

// A checkpoint's tensors: parameters and named optimizer state, all of one layout.
struct TrainingState {
  const ParamArena* params = nullptr;
  std::vector<std::pair<std::string, const ParamArena*>> optimizer_state;
  int64_t optimizer_steps = 0;
};
TrainingState StateOf(const ParamArena& params, optim::Optimizer& optimizer);

Status WriteCheckpoint(const std::string& path, const CheckpointInfo& info, const ParamLayout& layout,
                       const TrainingState& state);

StatusOr<CheckpointInfo> ReadCheckpointInfo(const std::string& path);

// Loads parameters (and optimizer state, when `optimizer` is not null) into arenas of `layout`.
// A checkpoint of another model shape or optimizer is refused with a message naming the difference.
Status LoadCheckpoint(const std::string& path, const ParamLayout& layout, ParamArena& params,
                      optim::Optimizer* optimizer);

// The checkpoints of a folder (ckpt-<step>.h5), newest step first.
std::vector<std::string> CheckpointsNewestFirst(const std::string& dir);

// What a checkpoint argument names: a file, a pointer file (`latest`, `best`: the file it names
// beside it), or a folder, which means its newest checkpoint that `load` accepts.
// `load` reads a checkpoint whole (verifying it); a DataError or NotFound from it (a damaged or
// missing file) passes to the next older checkpoint, with a note; any other error is returned.
// notes: why checkpoints were passed over, and why the `latest` pointer was not followed.
struct ChosenCheckpoint {
  std::string path;
  std::vector<std::string> notes;
};
using CheckpointLoader = std::function<Status(const std::string& path)>;
StatusOr<ChosenCheckpoint> LoadNewestVerified(const std::string& path, const CheckpointLoader& load);

// A pointer file or folder -> the file it names (a folder: by `latest`, unchecked); a file -> itself.
StatusOr<std::string> ResolveCheckpointPath(const std::string& path);

class CheckpointDir {
 public:
  CheckpointDir(std::string dir, int64_t keep_last) : dir_(std::move(dir)), keep_last_(keep_last) {}
  // Writes <dir>/ckpt-<step>.h5 and points `latest` (and `best`, when is_best) at it; then removes
  // all but the newest keep_last and the one `best` names. Returns the path written.
  StatusOr<std::string> Save(const CheckpointInfo& info, const ParamLayout& layout, const TrainingState& state,
                             bool is_best);
  const std::string& dir() const { return dir_; }

 private:
  // An early, clear error for a disk that cannot hold the checkpoint.
  Status CheckFreeSpace(const std::string& temp_path, const CheckpointInfo& info, const TrainingState& state) const;
  Status Prune(const std::string& just_written) const;
  std::string dir_;
  int64_t keep_last_;
};

class AsyncCheckpointWriter {
 public:
  AsyncCheckpointWriter(std::string dir, int64_t keep_last, const ParamLayout& layout);
  ~AsyncCheckpointWriter();  // waits for a write in flight

  // Waits for the previous write, copies the state into the snapshot and returns; the write
  // runs in the background. Returns the previous write's failure, if any.
  // kInPlace (the last checkpoint of a run): nothing is copied, the file is written from `params`
  // and the optimizer's own state, and the caller must not change them before Wait() returns.
  // The snapshot (a copy of the parameters and the optimizer state, 3x the parameters with Adam)
  // is allocated at the first copying Submit, so a run that checkpoints only at its end never holds it.
  enum class Mode { kSnapshot, kInPlace };
  Status Submit(const CheckpointInfo& info, const ParamArena& params, optim::Optimizer& optimizer, bool is_best,
                Mode mode = Mode::kSnapshot);
  // Waits until no write is in flight; returns the last write's status.
  Status Wait();
  // Without waiting: the failure of the last finished write (Ok while one is in flight or all
  // succeeded), so the training loop can stop at the step it learns of it.
  Status Failure();
  // The file the last finished write produced ("" before the first).
  std::string last_path();
  // Seconds the caller spent in Submit (waiting for the previous write plus copying): the time
  // training stood still for checkpoints.
  double stalled_seconds() const { return stalled_seconds_; }
  // Bytes of the snapshot (0 until the first copying Submit).
  int64_t snapshot_bytes() const;

 private:
  void Loop();

  CheckpointDir dir_;
  const ParamLayout& layout_;
  std::unique_ptr<ParamArena> snapshot_params_;
  std::vector<std::pair<std::string, std::unique_ptr<ParamArena>>> snapshot_state_;
  CheckpointInfo snapshot_info_;
  TrainingState snapshot_;
  bool snapshot_is_best_ = false;

  std::mutex mutex_;
  std::condition_variable changed_;
  bool pending_ = false;  // a snapshot waits for, or is in, a write
  bool stopping_ = false;
  Status last_status_;
  std::string last_path_;
  double stalled_seconds_ = 0;
  std::thread worker_;
};

}  // namespace ectrain::ckpt
