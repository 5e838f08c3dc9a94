#include "ckpt/checkpoint.h"

#include <fcntl.h>
#include <hdf5.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ckpt/checksum.h"
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
const IntField kIntFields[] = {{"format_version", &CheckpointInfo::format_version},
                               {"step", &CheckpointInfo::step},
                               {"epoch", &CheckpointInfo::epoch},
                               {"step_in_epoch", &CheckpointInfo::step_in_epoch},
                               {"global_batch_size", &CheckpointInfo::global_batch_size},
                               {"train_rows", &CheckpointInfo::train_rows},
                               {"world_size", &CheckpointInfo::world_size},
                               {"epoch_rows", &CheckpointInfo::epoch_rows},
                               {"evals_since_best", &CheckpointInfo::evals_since_best}};
const RealField kRealFields[] = {{"epoch_loss_sum", &CheckpointInfo::epoch_loss_sum},
                                 {"best_metric", &CheckpointInfo::best_metric}};

// An I/O failure of writing `path`: the operation and the operating system's reason.
Status WriteFailed(const std::string& path, const std::string& operation) {
  const std::string reason = data::Hdf5FailureReason();
  return Internal("cannot write checkpoint " + path + " (" + operation + ")" + (reason.empty() ? "" : ": " + reason) +
                  "; the previous checkpoint is intact; free space or fix the folder's permissions, then run "
                  "the same command again to resume");
}

template <typename T>
Status WriteAttribute(hid_t location, const std::string& path, const char* name, hid_t file_type, hid_t memory_type,
                      T value) {
  H5Handle space(H5Screate(H5S_SCALAR));
  H5Handle attr(H5Acreate2(location, name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid() || H5Awrite(attr.get(), memory_type, &value) < 0) {
    return WriteFailed(path, std::string("attribute ") + name);
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

// Writes each tensor of `arena` as a 2-D float dataset <group>/<spec.name> with the checksum of its
// bytes as the dataset's attribute `xxh3`.
Status WriteArena(hid_t file, const std::string& path, const std::string& group, const ParamLayout& layout,
                  const ParamArena& arena) {
  std::vector<float> copy;  // an arena on a device, on the host
  if (!arena.on_host()) {
    copy.resize(static_cast<size_t>(arena.size()));
    arena.CopyToHost(copy.data());
  }
  const float* base = arena.on_host() ? arena.data() : copy.data();
  H5Handle lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  for (const ParamSpec& spec : layout.specs()) {
    hsize_t dims[2] = {static_cast<hsize_t>(spec.rows), static_cast<hsize_t>(spec.cols)};
    H5Handle space(H5Screate_simple(2, dims, nullptr));
    std::string name = group + "/" + spec.name;
    H5Handle set(H5Dcreate2(file, name.c_str(), H5T_IEEE_F32LE, space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
    const float* values = base + spec.offset;
    if (!set.valid() || H5Dwrite(set.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) < 0) {
      return WriteFailed(path, "dataset " + name);
    }
    const uint64_t checksum = Checksum(values, static_cast<size_t>(spec.size()) * sizeof(float));
    RETURN_IF_ERROR(WriteAttribute(set.get(), path, "xxh3", H5T_STD_U64LE, H5T_NATIVE_UINT64, checksum));
  }
  return Status::Ok();
}

// Reads every tensor of <group> into `arena`; with `verify`, each must match its checksum. Every
// value must be finite: a diverged run's parameters are refused, naming the tensor.
Status ReadArena(hid_t file, const std::string& path, const std::string& group, const ParamLayout& layout,
                 ParamArena& arena, bool verify) {
  std::vector<float> copy;  // an arena on a device: read on the host, then copied over whole
  if (!arena.on_host()) copy.resize(static_cast<size_t>(arena.size()));
  float* base = arena.on_host() ? arena.data() : copy.data();
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
    float* values = base + spec.offset;
    if (H5Dread(set.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) < 0) {
      return DataError("checkpoint " + path + ": dataset " + name + " is unreadable (corrupt or truncated file)");
    }
    const auto bytes = static_cast<size_t>(spec.size()) * sizeof(float);
    if (verify) {
      ASSIGN_OR_RETURN(const uint64_t stored, ReadAttribute<uint64_t>(set.get(), "xxh3", H5T_NATIVE_UINT64, path));
      if (Checksum(values, bytes) != stored) {
        return DataError("checkpoint " + path + ": tensor " + name +
                         " does not match its checksum: the file was damaged or changed after it was written; "
                         "use an earlier checkpoint");
      }
    }
    const float* bad = std::find_if(values, values + spec.size(), [](float v) { return !std::isfinite(v); });
    if (bad != values + spec.size()) {
      const int64_t at = bad - values;
      return DataError("checkpoint " + path + ": tensor " + name + " holds " + std::to_string(*bad) + " at row " +
                       std::to_string(at / spec.cols) + ", column " + std::to_string(at % spec.cols) +
                       ": the run that wrote it diverged; use an earlier checkpoint (or lower "
                       "optimizer.learning_rate and train again)");
    }
  }
  if (!arena.on_host()) arena.CopyFromHost(copy.data());
  return Status::Ok();
}

// The checksum of the attributes and stored strings, fed piece by piece (the schema holds the
// vocabularies: tens of MB that must not be copied): what a checkpoint says about itself must be
// what was written, as its tensors must.
uint64_t HeaderChecksum(const CheckpointInfo& info, int64_t optimizer_steps, const std::string& schema) {
  ChecksumStream stream;
  const auto feed = [&stream](const void* bytes, size_t size) { stream.Add(bytes, size); };
  for (const auto& f : kIntFields) feed(&(info.*f.field), sizeof(int64_t));
  for (const auto& f : kRealFields) feed(&(info.*f.field), sizeof(double));  // bits, NaN included
  feed(&optimizer_steps, sizeof(optimizer_steps));
  if (info.format_version >= 4) feed(&info.rate_reductions, sizeof(info.rate_reductions));
  for (const std::string* value : {&info.binary_version, &info.config_yaml, &schema, &info.layout, &info.optimizer}) {
    const uint64_t size = value->size();
    feed(&size, sizeof(size));
    feed(value->data(), value->size());
  }
  return stream.Digest();
}

// Data and the directory entry both reach the disk before the rename is trusted.
Status SyncPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return Internal("cannot open " + path + " to sync it: " + std::strerror(errno));
  int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0) return Internal("cannot sync " + path + " to disk (fsync): " + std::strerror(error));
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
  if (!file.valid()) return WriteFailed(path, "creating the file");
  for (const auto& f : kIntFields) {
    RETURN_IF_ERROR(WriteAttribute(file.get(), path, f.name, H5T_STD_I64LE, H5T_NATIVE_INT64, info.*f.field));
  }
  for (const auto& f : kRealFields) {
    RETURN_IF_ERROR(WriteAttribute(file.get(), path, f.name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, info.*f.field));
  }
  RETURN_IF_ERROR(
      WriteAttribute(file.get(), path, "optimizer_steps", H5T_STD_I64LE, H5T_NATIVE_INT64, state.optimizer_steps));
  RETURN_IF_ERROR(
      WriteAttribute(file.get(), path, "rate_reductions", H5T_STD_I64LE, H5T_NATIVE_INT64, info.rate_reductions));
  static const std::string kNoSchema = "{}";
  const std::string& schema = info.schema_json ? *info.schema_json : kNoSchema;
  const uint64_t header_checksum = HeaderChecksum(info, state.optimizer_steps, schema);
  RETURN_IF_ERROR(WriteAttribute(file.get(), path, "header_xxh3", H5T_STD_U64LE, H5T_NATIVE_UINT64, header_checksum));
  const std::pair<const char*, const std::string*> strings[] = {{"ectrain_version", &info.binary_version},
                                                                {"config", &info.config_yaml},
                                                                {"schema", &schema},
                                                                {"layout", &info.layout},
                                                                {"optimizer", &info.optimizer}};
  for (const auto& [name, value] : strings) {
    if (!data::WriteStringDataset(file.get(), name, *value).ok())
      return WriteFailed(path, std::string("dataset ") + name);
  }
  RETURN_IF_ERROR(WriteArena(file.get(), path, "params", layout, *state.params));
  for (const auto& [name, arena] : state.optimizer_state) {
    RETURN_IF_ERROR(WriteArena(file.get(), path, "optimizer_state/" + name, layout, *arena));
  }
  if (H5Fflush(file.get(), H5F_SCOPE_GLOBAL) < 0) return WriteFailed(path, "flushing it to the file");
  if (H5Fclose(file.Release()) < 0) return WriteFailed(path, "closing it");
  return Status::Ok();
}

StatusOr<CheckpointInfo> ReadCheckpointInfo(const std::string& path) {
  std::lock_guard<std::mutex> lock(data::Hdf5Mutex());
  ASSIGN_OR_RETURN(H5Handle file, OpenForReading(path));
  CheckpointInfo info;
  for (const auto& f : kIntFields) {
    ASSIGN_OR_RETURN(info.*f.field, ReadAttribute<int64_t>(file.get(), f.name, H5T_NATIVE_INT64, path));
    if (f.field == &CheckpointInfo::format_version &&
        (info.format_version < kOldestReadableVersion || info.format_version > kFormatVersion)) {
      return InvalidArgument("checkpoint " + path + " has format version " + std::to_string(info.format_version) +
                             "; this ectrain reads versions " + std::to_string(kOldestReadableVersion) + " to " +
                             std::to_string(kFormatVersion));
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
  if (info.format_version >= 4) {
    ASSIGN_OR_RETURN(info.rate_reductions,
                     ReadAttribute<int64_t>(file.get(), "rate_reductions", H5T_NATIVE_INT64, path));
  }
  if (info.format_version >= 3) {
    ASSIGN_OR_RETURN(const int64_t steps,
                     ReadAttribute<int64_t>(file.get(), "optimizer_steps", H5T_NATIVE_INT64, path));
    ASSIGN_OR_RETURN(const uint64_t stored,
                     ReadAttribute<uint64_t>(file.get(), "header_xxh3", H5T_NATIVE_UINT64, path));
    if (HeaderChecksum(info, steps, *info.schema_json) != stored) {
      return DataError("checkpoint " + path +
                       ": its attributes or stored config, schema or layout do not match their checksum: the file "
                       "was damaged or changed after it was written; use an earlier checkpoint");
    }
  }
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
  const bool verify = info.format_version >= 3;
  RETURN_IF_ERROR(ReadArena(file.get(), path, "params", layout, params, verify));
  if (optimizer == nullptr) return Status::Ok();
  if (info.optimizer != optimizer->type()) {
    return InvalidArgument("checkpoint " + path + " was trained with optimizer '" + info.optimizer +
                           "', this run uses '" + optimizer->type() +
                           "'; use the optimizer.type and optimizer.wide it was trained with");
  }
  bool without_clock = false;
  for (auto& [name, arena] : optimizer->state()) {
    // Checkpoints older than the decay clock: the rows start with no decay pending.
    if (name == "decay_clock" && !data::LinkExists(file.get(), "optimizer_state/decay_clock")) {
      without_clock = true;
      continue;
    }
    RETURN_IF_ERROR(ReadArena(file.get(), path, "optimizer_state/" + name, layout, *arena, verify));
  }
  ASSIGN_OR_RETURN(int64_t steps, ReadAttribute<int64_t>(file.get(), "optimizer_steps", H5T_NATIVE_INT64, path));
  optimizer->set_step_count(steps);
  if (without_clock) optimizer->StartDecayClocksNow();
  return Status::Ok();
}

namespace {
// Replaces <dir>/<pointer> with a file holding `target`'s name, atomically.
Status WritePointer(const std::string& dir, const std::string& pointer, const std::string& target) {
  const std::string temp = (fs::path(dir) / ("." + pointer + ".tmp")).string();
  {
    std::ofstream out(temp, std::ios::trunc);
    out << target << "\n";
    if (!out.flush()) {
      const int error = errno;
      out.close();
      std::error_code ec;
      fs::remove(temp, ec);
      return Internal("cannot write " + temp + ": " + std::strerror(error));
    }
  }
  return RenameDurably(temp, (fs::path(dir) / pointer).string());
}

std::string ReadPointer(const std::string& dir, const std::string& pointer) {
  std::ifstream in(fs::path(dir) / pointer);
  std::string name;
  std::getline(in, name);
  return name;
}

// The step of a checkpoint file name ckpt-<step>.h5; -1 for any other name.
int64_t StepOf(const std::string& file) {
  if (!file.starts_with("ckpt-") || !file.ends_with(".h5")) return -1;
  const std::string digits = file.substr(5, file.size() - 8);
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return -1;
  return std::stoll(digits);
}

// Why the `latest` pointer of `dir` was not followed to `chosen` ("" when it was).
std::string LatestNote(const std::string& dir, const std::string& chosen) {
  std::error_code ec;
  const fs::path pointer = fs::path(dir) / "latest";
  const std::string chosen_name = fs::path(chosen).filename().string();
  if (!fs::exists(pointer, ec)) return "there is no 'latest' pointer in " + dir;
  const std::string named = ReadPointer(dir, "latest");
  if (named == chosen_name) return "";
  if (StepOf(named) < 0) {
    std::string shown = named.substr(0, 60);
    for (char& c : shown) c = std::isprint(static_cast<unsigned char>(c)) ? c : '?';
    return dir + "/latest is garbled ('" + shown + "')";
  }
  if (!fs::exists(fs::path(dir) / named, ec)) return dir + "/latest names " + named + ", which does not exist";
  return dir + "/latest names " + named + ", not the newest complete checkpoint";
}
}  // namespace

std::vector<std::string> CheckpointsNewestFirst(const std::string& dir) {
  std::vector<std::pair<int64_t, std::string>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string file = entry.path().filename().string();
    if (StepOf(file) >= 0 && entry.is_regular_file(ec)) found.emplace_back(StepOf(file), entry.path().string());
  }
  std::sort(found.rbegin(), found.rend());
  std::vector<std::string> paths;
  for (auto& [step, path] : found) paths.push_back(std::move(path));
  return paths;
}

StatusOr<std::string> ResolveCheckpointPath(const std::string& path) {
  std::error_code ec;
  const std::string file = fs::path(path).filename().string();
  if (fs::is_regular_file(path, ec) && (file == "latest" || file == "best")) {
    const std::string dir = fs::path(path).parent_path().string();
    const std::string named = ReadPointer(dir.empty() ? "." : dir, file);
    if (StepOf(named) < 0) return DataError("checkpoint pointer " + path + " does not name a checkpoint file");
    return (fs::path(dir) / named).string();
  }
  if (!fs::is_directory(path, ec)) return path;
  std::string name = ReadPointer(path, "latest");
  if (name.empty()) {
    return NotFound("checkpoint folder " + path + " has no 'latest' pointer: no checkpoint was completed there");
  }
  return (fs::path(path) / name).string();
}

StatusOr<ChosenCheckpoint> LoadNewestVerified(const std::string& path, const CheckpointLoader& load) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    ASSIGN_OR_RETURN(std::string file, ResolveCheckpointPath(path));
    RETURN_IF_ERROR(load(file));
    return ChosenCheckpoint{file, {}};
  }
  ChosenCheckpoint chosen;
  for (const std::string& candidate : CheckpointsNewestFirst(path)) {
    const Status loaded = load(candidate);
    if (loaded.ok()) {
      chosen.path = candidate;
      const std::string note = LatestNote(path, candidate);
      if (!note.empty()) chosen.notes.push_back(note + "; using " + candidate + ", the newest that reads back whole");
      return chosen;
    }
    if (loaded.code() != StatusCode::kDataError && loaded.code() != StatusCode::kNotFound) return loaded;
    chosen.notes.push_back("passed over " + candidate + ": " + loaded.message());
  }
  if (!chosen.notes.empty()) {
    std::string why;
    for (const std::string& note : chosen.notes) why += "\n  " + note;
    return DataError("no checkpoint in " + path + " reads back whole:" + why +
                     "\nmove the folder aside (or use --fresh when training) to start over");
  }
  return NotFound("no checkpoint in " + path);
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
  RETURN_IF_ERROR(CheckFreeSpace(temp_path, info, state));
  Status written = WriteCheckpoint(temp_path, info, layout, state);
  if (written.ok()) written = RenameDurably(temp_path, final_path);
  if (!written.ok()) {
    fs::remove(temp_path, ec);  // a full disk gets its space back; the previous checkpoint stays
    return written;
  }
  RETURN_IF_ERROR(WritePointer(dir_, "latest", name));
  if (is_best) RETURN_IF_ERROR(WritePointer(dir_, "best", name));
  RETURN_IF_ERROR(Prune(name));
  return final_path;
}

Status CheckpointDir::CheckFreeSpace(const std::string& temp_path, const CheckpointInfo& info,
                                     const TrainingState& state) const {
  struct statvfs fs_info {};
  if (::statvfs(dir_.c_str(), &fs_info) != 0) return Status::Ok();  // unknown: the write will tell
  // The tensors, the stored strings, and HDF5's own structures (about 1 kB per dataset).
  const int64_t tensors = state.params->size() * static_cast<int64_t>(sizeof(float)) *
                          (1 + static_cast<int64_t>(state.optimizer_state.size()));
  const int64_t strings = static_cast<int64_t>(info.config_yaml.size() + info.layout.size()) +
                          (info.schema_json ? static_cast<int64_t>(info.schema_json->size()) : 0);
  const int64_t needed = tensors + strings + (64 << 10);
  const auto free_bytes = static_cast<int64_t>(fs_info.f_bavail) * static_cast<int64_t>(fs_info.f_frsize);
  if (free_bytes >= needed) return Status::Ok();
  char sizes[96];
  std::snprintf(sizes, sizeof(sizes), "it needs about %.1f MB and %.1f MB are free", static_cast<double>(needed) / 1e6,
                static_cast<double>(free_bytes) / 1e6);
  return Internal("cannot write checkpoint " + temp_path + ": " + std::strerror(ENOSPC) + " (" + sizes +
                  "); the previous checkpoint is intact; free space (or lower checkpoint.keep_last), then run the "
                  "same command again to resume");
}

Status CheckpointDir::Prune(const std::string& just_written) const {
  const std::string best = ReadPointer(dir_, "best");
  const int64_t written_step = StepOf(just_written);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    // A temporary file left by a writer that was killed mid-write.
    const std::string file = entry.path().filename().string();
    if (file.starts_with(".ckpt-") && file != "." + just_written + ".tmp") fs::remove(entry.path(), ec);
  }
  // Only checkpoints older than the one just written go, beyond the newest keep_last and the best:
  // a newer one (a run that restarted behind it) is never removed.
  int64_t kept = 0;
  for (const std::string& path : CheckpointsNewestFirst(dir_)) {
    const std::string file = fs::path(path).filename().string();
    if (StepOf(file) > written_step || file == best) continue;
    if (++kept > keep_last_) fs::remove(path, ec);
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

Status AsyncCheckpointWriter::Submit(const CheckpointInfo& info, const ParamArena& params, optim::Optimizer& optimizer,
                                     bool is_best, Mode mode) {
  const auto start = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return !pending_; });
  Status previous = last_status_;
  if (mode == Mode::kInPlace && params.on_host()) {
    snapshot_ = StateOf(params, optimizer);
  } else {  // a snapshot on the host, also of a device's arenas
    auto state = optimizer.state();
    if (snapshot_params_ == nullptr) {
      snapshot_params_ = std::make_unique<ParamArena>(layout_);
      for (auto& [name, arena] : state) snapshot_state_.emplace_back(name, std::make_unique<ParamArena>(layout_));
    }
    params.CopyToHost(snapshot_params_->data());
    snapshot_ = TrainingState{snapshot_params_.get(), {}, optimizer.step_count()};
    for (size_t i = 0; i < state.size(); ++i) {
      state[i].second->CopyToHost(snapshot_state_[i].second->data());
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
  return static_cast<int64_t>(1 + snapshot_state_.size()) * snapshot_params_->size() *
         static_cast<int64_t>(sizeof(float));
}

Status AsyncCheckpointWriter::Wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return !pending_; });
  return last_status_;
}

Status AsyncCheckpointWriter::Failure() {
  std::lock_guard<std::mutex> lock(mutex_);
  return pending_ ? Status::Ok() : last_status_;
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
    if (written.ok()) {  // a failure is the trainer's to report, once (Failure, Submit, Wait)
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
