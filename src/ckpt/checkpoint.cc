#include "ckpt/checkpoint.h"

#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/log.h"
#include "data/hdf5_util.h"

namespace ectrain::ckpt {
namespace {
namespace fs = std::filesystem;
using data::H5Handle;

// The scalar fields of CheckpointInfo, stored as root attributes (one table for writing and reading).
struct IntField {
  const char* name;
  int64_t CheckpointInfo::*field;
};
struct RealField {
  const char* name;
  double CheckpointInfo::*field;
};
const IntField kIntFields[] = {
    {"format_version", &CheckpointInfo::format_version}, {"step", &CheckpointInfo::step},
    {"epoch", &CheckpointInfo::epoch}, {"step_in_epoch", &CheckpointInfo::step_in_epoch},
    {"global_batch_size", &CheckpointInfo::global_batch_size}, {"train_rows", &CheckpointInfo::train_rows},
    {"world_size", &CheckpointInfo::world_size}, {"epoch_rows", &CheckpointInfo::epoch_rows},
    {"evals_since_best", &CheckpointInfo::evals_since_best}};
const RealField kRealFields[] = {{"epoch_loss_sum", &CheckpointInfo::epoch_loss_sum},
                                 {"best_metric", &CheckpointInfo::best_metric}};

template <typename T>
Status WriteAttribute(hid_t location, const char* name, hid_t file_type, hid_t memory_type, T value) {
  H5Handle space(H5Screate(H5S_SCALAR));
  H5Handle attr(H5Acreate2(location, name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid() || H5Awrite(attr.get(), memory_type, &value) < 0) {
    return Internal(std::string("cannot write checkpoint attribute '") + name + "'");
  }
  return Status::Ok();
}

template <typename T>
StatusOr<T> ReadAttribute(hid_t location, const char* name, hid_t memory_type, const std::string& path) {
  if (H5Aexists(location, name) <= 0) {
    return DataError("checkpoint " + path + " has no attribute '" + name + "': not an ectrain checkpoint");
  }
  H5Handle attr(H5Aopen(location, name, H5P_DEFAULT));
  T value{};
  if (!attr.valid() || H5Aread(attr.get(), memory_type, &value) < 0) {
    return DataError("checkpoint " + path + ": attribute '" + name + "' is unreadable");
  }
  return value;
}

// Writes each tensor of `arena` as a 2-D float dataset <group>/<spec.name>.
Status WriteArena(hid_t file, const std::string& group, const ParamLayout& layout, const ParamArena& arena) {
  H5Handle lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  for (const ParamSpec& spec : layout.specs()) {
    hsize_t dims[2] = {static_cast<hsize_t>(spec.rows), static_cast<hsize_t>(spec.cols)};
    H5Handle space(H5Screate_simple(2, dims, nullptr));
    std::string name = group + "/" + spec.name;
    H5Handle set(H5Dcreate2(file, name.c_str(), H5T_IEEE_F32LE, space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
    if (!set.valid() ||
        H5Dwrite(set.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, arena.data() + spec.offset) < 0) {
      return Internal("cannot write checkpoint dataset " + name);
    }
  }
  return Status::Ok();
}

Status ReadArena(hid_t file, const std::string& path, const std::string& group, const ParamLayout& layout,
                 ParamArena& arena) {
  for (const ParamSpec& spec : layout.specs()) {
    std::string name = group + "/" + spec.name;
    if (!data::LinkExists(file, name)) return DataError("checkpoint " + path + " has no dataset " + name);
    H5Handle set(H5Dopen2(file, name.c_str(), H5P_DEFAULT));
    H5Handle space(H5Dget_space(set.get()));
    hsize_t dims[2] = {0, 0};
    if (H5Sget_simple_extent_ndims(space.get()) != 2 || H5Sget_simple_extent_dims(space.get(), dims, nullptr) != 2 ||
        dims[0] != static_cast<hsize_t>(spec.rows) || dims[1] != static_cast<hsize_t>(spec.cols)) {
      return DataError("checkpoint " + path + ": dataset " + name + " has the wrong shape for this model");
    }
    if (H5Dread(set.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, arena.data() + spec.offset) < 0) {
      return DataError("checkpoint " + path + ": dataset " + name + " is unreadable (corrupt or truncated file)");
    }
  }
  return Status::Ok();
}

// Data and the directory entry both reach the disk before the rename is trusted.
Status SyncPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return Internal("cannot open " + path + " to sync it");
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Internal("fsync of " + path + " failed");
  return Status::Ok();
}

Status RenameDurably(const std::string& from, const std::string& to) {
  RETURN_IF_ERROR(SyncPath(from));
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) return Internal("cannot rename " + from + " to " + to + ": " + ec.message());
  return SyncPath(fs::path(to).parent_path().empty() ? "." : fs::path(to).parent_path().string());
}

StatusOr<H5Handle> OpenForReading(const std::string& path) {
  data::QuietHdf5Errors();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return NotFound("checkpoint '" + path + "' not found");
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    return DataError("checkpoint '" + path + "' is not a readable HDF5 file (corrupt or truncated)");
  }
  H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!file.valid()) return DataError("checkpoint '" + path + "' cannot be opened (corrupt or truncated)");
  return file;
}
}  // namespace

TrainingState StateOf(const ParamArena& params, optim::Optimizer& optimizer) {
  TrainingState state;
  state.params = &params;
  for (auto& [name, arena] : optimizer.state()) state.optimizer_state.emplace_back(name, arena);
  state.optimizer_steps = optimizer.step_count();
  return state;
}

Status WriteCheckpoint(const std::string& path, const CheckpointInfo& info, const ParamLayout& layout,
                       const TrainingState& state) {
  std::lock_guard<std::mutex> lock(data::Hdf5Mutex());
  data::QuietHdf5Errors();
  H5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  if (!file.valid()) return Internal("cannot create checkpoint file " + path + ": check the folder is writable");
  for (const auto& f : kIntFields) {
    RETURN_IF_ERROR(WriteAttribute(file.get(), f.name, H5T_STD_I64LE, H5T_NATIVE_INT64, info.*f.field));
  }
  for (const auto& f : kRealFields) {
    RETURN_IF_ERROR(WriteAttribute(file.get(), f.name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, info.*f.field));
  }
  RETURN_IF_ERROR(WriteAttribute(file.get(), "optimizer_steps", H5T_STD_I64LE, H5T_NATIVE_INT64,
                                 state.optimizer_steps));
  RETURN_IF_ERROR(data::WriteStringDataset(file.get(), "ectrain_version", info.binary_version));
  RETURN_IF_ERROR(data::WriteStringDataset(file.get(), "config", info.config_yaml));
  static const std::string kNoSchema = "{}";
  RETURN_IF_ERROR(data::WriteStringDataset(file.get(), "schema", info.schema_json ? *info.schema_json : kNoSchema));
  RETURN_IF_ERROR(data::WriteStringDataset(file.get(), "layout", info.layout));
  RETURN_IF_ERROR(data::WriteStringDataset(file.get(), "optimizer", info.optimizer));
  RETURN_IF_ERROR(WriteArena(file.get(), "params", layout, *state.params));
  for (const auto& [name, arena] : state.optimizer_state) {
    RETURN_IF_ERROR(WriteArena(file.get(), "optimizer_state/" + name, layout, *arena));
  }
  if (H5Fflush(file.get(), H5F_SCOPE_GLOBAL) < 0) return Internal("cannot flush checkpoint " + path);
  file.Close();
  return Status::Ok();
}

StatusOr<CheckpointInfo> ReadCheckpointInfo(const std::string& path) {
  std::lock_guard<std::mutex> lock(data::Hdf5Mutex());
  ASSIGN_OR_RETURN(H5Handle file, OpenForReading(path));
  CheckpointInfo info;
  for (const auto& f : kIntFields) {
    ASSIGN_OR_RETURN(info.*f.field, ReadAttribute<int64_t>(file.get(), f.name, H5T_NATIVE_INT64, path));
    if (f.field == &CheckpointInfo::format_version && info.format_version != kFormatVersion) {
      return DataError("checkpoint " + path + " has format version " + std::to_string(info.format_version) +
                       "; this ectrain reads version " + std::to_string(kFormatVersion));
    }
  }
  for (const auto& f : kRealFields) {
    ASSIGN_OR_RETURN(info.*f.field, ReadAttribute<double>(file.get(), f.name, H5T_NATIVE_DOUBLE, path));
  }
  ASSIGN_OR_RETURN(info.binary_version, data::ReadStringDataset(file.get(), "ectrain_version", path));
  ASSIGN_OR_RETURN(info.config_yaml, data::ReadStringDataset(file.get(), "config", path));
  ASSIGN_OR_RETURN(std::string schema_json, data::ReadStringDataset(file.get(), "schema", path));
  info.schema_json = std::make_shared<const std::string>(std::move(schema_json));
  ASSIGN_OR_RETURN(info.layout, data::ReadStringDataset(file.get(), "layout", path));
  ASSIGN_OR_RETURN(info.optimizer, data::ReadStringDataset(file.get(), "optimizer", path));
  return info;
}

Status LoadCheckpoint(const std::string& path, const ParamLayout& layout, ParamArena& params,
                      optim::Optimizer* optimizer) {
  ASSIGN_OR_RETURN(CheckpointInfo info, ReadCheckpointInfo(path));
  if (info.layout != layout.Describe()) {
    return InvalidArgument("checkpoint " + path + " is of another model:\n  checkpoint: " + info.layout +
                           "\n  this run:   " + layout.Describe() +
                           "\nuse the same model.* and data.* settings as the run that wrote it");
  }
  std::lock_guard<std::mutex> lock(data::Hdf5Mutex());
  ASSIGN_OR_RETURN(H5Handle file, OpenForReading(path));
  RETURN_IF_ERROR(ReadArena(file.get(), path, "params", layout, params));
  if (optimizer == nullptr) return Status::Ok();
  if (info.optimizer != optimizer->type()) {
    return InvalidArgument("checkpoint " + path + " was trained with optimizer '" + info.optimizer +
                           "', this run uses '" + optimizer->type() + "'; set optimizer.type: " + info.optimizer);
  }
  for (auto& [name, arena] : optimizer->state()) {
    RETURN_IF_ERROR(ReadArena(file.get(), path, "optimizer_state/" + name, layout, *arena));
  }
  ASSIGN_OR_RETURN(int64_t steps, ReadAttribute<int64_t>(file.get(), "optimizer_steps", H5T_NATIVE_INT64, path));
  optimizer->set_step_count(steps);
  return Status::Ok();
}

namespace {
// Replaces <dir>/<pointer> with a file holding `target`'s name, atomically.
Status WritePointer(const std::string& dir, const std::string& pointer, const std::string& target) {
  const std::string temp = (fs::path(dir) / ("." + pointer + ".tmp")).string();
  {
    std::ofstream out(temp, std::ios::trunc);
    out << target << "\n";
    if (!out.flush()) return Internal("cannot write " + temp + ": check free disk space");
  }
  return RenameDurably(temp, (fs::path(dir) / pointer).string());
}

std::string ReadPointer(const std::string& dir, const std::string& pointer) {
  std::ifstream in(fs::path(dir) / pointer);
  std::string name;
  std::getline(in, name);
  return name;
}
}  // namespace

StatusOr<std::string> ResolveCheckpointPath(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return path;
  std::string name = ReadPointer(path, "latest");
  if (name.empty()) {
    return NotFound("checkpoint folder " + path + " has no 'latest' pointer: no checkpoint was completed there");
  }
  return (fs::path(path) / name).string();
}

StatusOr<std::string> CheckpointDir::Save(const CheckpointInfo& info, const ParamLayout& layout,
                                          const TrainingState& state, bool is_best) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return Internal("cannot create checkpoint folder " + dir_ + ": " + ec.message());
  char name[64];
  std::snprintf(name, sizeof(name), "ckpt-%09lld.h5", static_cast<long long>(info.step));
  const std::string final_path = (fs::path(dir_) / name).string();
  const std::string temp_path = (fs::path(dir_) / (std::string(".") + name + ".tmp")).string();
  RETURN_IF_ERROR(WriteCheckpoint(temp_path, info, layout, state));
  RETURN_IF_ERROR(RenameDurably(temp_path, final_path));
  RETURN_IF_ERROR(WritePointer(dir_, "latest", name));
  if (is_best) RETURN_IF_ERROR(WritePointer(dir_, "best", name));
  RETURN_IF_ERROR(Prune(name));
  return final_path;
}

Status CheckpointDir::Prune(const std::string& just_written) const {
  const std::string best = ReadPointer(dir_, "best");
  std::error_code ec;
  std::vector<std::string> checkpoints;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    std::string file = entry.path().filename().string();
    if (file.rfind("ckpt-", 0) == 0 && entry.path().extension() == ".h5") checkpoints.push_back(file);
    // A temporary file left by a writer that was killed mid-write.
    if (file.rfind(".ckpt-", 0) == 0 && file != "." + just_written + ".tmp") fs::remove(entry.path(), ec);
  }
  std::sort(checkpoints.begin(), checkpoints.end());  // zero-padded steps sort by step
  for (size_t i = 0; i + static_cast<size_t>(keep_last_) < checkpoints.size(); ++i) {
    if (checkpoints[i] != just_written && checkpoints[i] != best) fs::remove(fs::path(dir_) / checkpoints[i], ec);
  }
  return Status::Ok();
}

AsyncCheckpointWriter::AsyncCheckpointWriter(std::string dir, int64_t keep_last, const ParamLayout& layout)
    : dir_(std::move(dir), keep_last), layout_(layout) {
  worker_ = std::thread([this] { Loop(); });
}

AsyncCheckpointWriter::~AsyncCheckpointWriter() {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return !pending_; });
    stopping_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

Status AsyncCheckpointWriter::Submit(const CheckpointInfo& info, const ParamArena& params,
                                     optim::Optimizer& optimizer, bool is_best, Mode mode) {
  const auto start = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return !pending_; });
  Status previous = last_status_;
  if (mode == Mode::kInPlace) {
    snapshot_ = StateOf(params, optimizer);
  } else {
    auto state = optimizer.state();
    if (snapshot_params_ == nullptr) {
      snapshot_params_ = std::make_unique<ParamArena>(layout_);
      for (auto& [name, arena] : state) snapshot_state_.emplace_back(name, std::make_unique<ParamArena>(layout_));
    }
    std::memcpy(snapshot_params_->data(), params.data(), static_cast<size_t>(params.size()) * sizeof(float));
    snapshot_ = TrainingState{snapshot_params_.get(), {}, optimizer.step_count()};
    for (size_t i = 0; i < state.size(); ++i) {
      std::memcpy(snapshot_state_[i].second->data(), state[i].second->data(),
                  static_cast<size_t>(state[i].second->size()) * sizeof(float));
      snapshot_.optimizer_state.emplace_back(snapshot_state_[i].first, snapshot_state_[i].second.get());
    }
  }
  snapshot_info_ = info;
  snapshot_is_best_ = is_best;
  pending_ = true;
  stalled_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  lock.unlock();
  changed_.notify_all();
  return previous;
}

int64_t AsyncCheckpointWriter::snapshot_bytes() const {
  if (snapshot_params_ == nullptr) return 0;
  return static_cast<int64_t>(1 + snapshot_state_.size()) * snapshot_params_->size() * static_cast<int64_t>(sizeof(float));
}

Status AsyncCheckpointWriter::Wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return !pending_; });
  return last_status_;
}

std::string AsyncCheckpointWriter::last_path() {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_path_;
}

void AsyncCheckpointWriter::Loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return pending_ || stopping_; });
    if (stopping_ && !pending_) return;
    lock.unlock();  // the snapshot is ours until pending_ is cleared
    const auto start = std::chrono::steady_clock::now();
    StatusOr<std::string> written = dir_.Save(snapshot_info_, layout_, snapshot_, snapshot_is_best_);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (written.ok()) {
      std::error_code ec;
      char line[96];
      std::snprintf(line, sizeof(line), " written in %.3f s (%.1f MB, in the background)", seconds,
                    static_cast<double>(fs::file_size(*written, ec)) / 1e6);
      LOG_INFO << "checkpoint " << *written << line;
    }
    lock.lock();
    last_status_ = written.status();
    if (written.ok()) last_path_ = *written;
    pending_ = false;
    changed_.notify_all();
  }
}

}  // namespace ectrain::ckpt
