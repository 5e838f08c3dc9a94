#include "ckpt/checkpoint.h"

#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/hdf5_util.h"

namespace ectrain::ckpt {
namespace {
namespace fs = std::filesystem;
using data::H5Handle;

const char* const kIntAttributes[] = {"format_version", "step", "epoch"};

Status WriteInt64Attribute(hid_t location, const char* name, int64_t value) {
  H5Handle space(H5Screate(H5S_SCALAR));
  H5Handle attr(H5Acreate2(location, name, H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid() || H5Awrite(attr.get(), H5T_NATIVE_INT64, &value) < 0) {
    return Internal(std::string("cannot write checkpoint attribute '") + name + "'");
  }
  return Status::Ok();
}

StatusOr<int64_t> ReadInt64Attribute(hid_t location, const char* name, const std::string& path) {
  if (H5Aexists(location, name) <= 0) {
    return DataError("checkpoint " + path + " has no attribute '" + name + "': not an ectrain checkpoint");
  }
  H5Handle attr(H5Aopen(location, name, H5P_DEFAULT));
  int64_t value = 0;
  if (!attr.valid() || H5Aread(attr.get(), H5T_NATIVE_INT64, &value) < 0) {
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

Status WriteCheckpoint(const std::string& path, const CheckpointInfo& info, const ParamLayout& layout,
                       const ParamArena& params, optim::Optimizer& optimizer) {
  data::QuietHdf5Errors();
  H5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  if (!file.valid()) return Internal("cannot create checkpoint file " + path + ": check the folder is writable");
  const int64_t int_values[] = {info.format_version, info.step, info.epoch};
  for (size_t i = 0; i < std::size(kIntAttributes); ++i) {
    RETURN_IF_ERROR(WriteInt64Attribute(file.get(), kIntAttributes[i], int_values[i]));
  }
  RETURN_IF_ERROR(data::WriteStringDataset(file.get(), "ectrain_version", info.binary_version));
  RETURN_IF_ERROR(data::WriteStringDataset(file.get(), "config", info.config_yaml));
  RETURN_IF_ERROR(data::WriteStringDataset(file.get(), "schema", info.schema_json));
  RETURN_IF_ERROR(data::WriteStringDataset(file.get(), "layout", info.layout));
  RETURN_IF_ERROR(data::WriteStringDataset(file.get(), "optimizer", info.optimizer));
  RETURN_IF_ERROR(WriteArena(file.get(), "params", layout, params));
  for (auto& [name, arena] : optimizer.state()) {
    RETURN_IF_ERROR(WriteArena(file.get(), "optimizer_state/" + name, layout, *arena));
  }
  RETURN_IF_ERROR(WriteInt64Attribute(file.get(), "optimizer_steps", optimizer.step_count()));
  if (H5Fflush(file.get(), H5F_SCOPE_GLOBAL) < 0) return Internal("cannot flush checkpoint " + path);
  file.Close();
  return Status::Ok();
}

StatusOr<CheckpointInfo> ReadCheckpointInfo(const std::string& path) {
  ASSIGN_OR_RETURN(H5Handle file, OpenForReading(path));
  CheckpointInfo info;
  ASSIGN_OR_RETURN(info.format_version, ReadInt64Attribute(file.get(), "format_version", path));
  if (info.format_version != kFormatVersion) {
    return DataError("checkpoint " + path + " has format version " + std::to_string(info.format_version) +
                     "; this ectrain reads version " + std::to_string(kFormatVersion));
  }
  ASSIGN_OR_RETURN(info.step, ReadInt64Attribute(file.get(), "step", path));
  ASSIGN_OR_RETURN(info.epoch, ReadInt64Attribute(file.get(), "epoch", path));
  ASSIGN_OR_RETURN(info.binary_version, data::ReadStringDataset(file.get(), "ectrain_version", path));
  ASSIGN_OR_RETURN(info.config_yaml, data::ReadStringDataset(file.get(), "config", path));
  ASSIGN_OR_RETURN(info.schema_json, data::ReadStringDataset(file.get(), "schema", path));
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
  ASSIGN_OR_RETURN(int64_t steps, ReadInt64Attribute(file.get(), "optimizer_steps", path));
  optimizer->set_step_count(steps);
  return Status::Ok();
}

StatusOr<std::string> ResolveCheckpointPath(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return path;
  std::ifstream latest(fs::path(path) / "latest");
  std::string name;
  if (!latest || !std::getline(latest, name) || name.empty()) {
    return NotFound("checkpoint folder " + path + " has no 'latest' pointer: no checkpoint was completed there");
  }
  return (fs::path(path) / name).string();
}

StatusOr<std::string> CheckpointDir::Save(const CheckpointInfo& info, const ParamLayout& layout,
                                          const ParamArena& params, optim::Optimizer& optimizer) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return Internal("cannot create checkpoint folder " + dir_ + ": " + ec.message());
  char name[64];
  std::snprintf(name, sizeof(name), "ckpt-%09lld.h5", static_cast<long long>(info.step));
  const std::string final_path = (fs::path(dir_) / name).string();
  const std::string temp_path = (fs::path(dir_) / (std::string(".") + name + ".tmp")).string();
  RETURN_IF_ERROR(WriteCheckpoint(temp_path, info, layout, params, optimizer));
  RETURN_IF_ERROR(RenameDurably(temp_path, final_path));

  const std::string latest_temp = (fs::path(dir_) / ".latest.tmp").string();
  {
    std::ofstream out(latest_temp, std::ios::trunc);
    out << name << "\n";
    if (!out.flush()) return Internal("cannot write " + latest_temp);
  }
  RETURN_IF_ERROR(RenameDurably(latest_temp, (fs::path(dir_) / "latest").string()));

  std::vector<std::string> checkpoints;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    std::string file = entry.path().filename().string();
    if (file.rfind("ckpt-", 0) == 0 && entry.path().extension() == ".h5") checkpoints.push_back(file);
  }
  std::sort(checkpoints.begin(), checkpoints.end());  // zero-padded steps sort by step
  for (size_t i = 0; i + static_cast<size_t>(keep_last_) < checkpoints.size(); ++i) {
    if (checkpoints[i] != name) fs::remove(fs::path(dir_) / checkpoints[i], ec);
  }
  return final_path;
}

}  // namespace ectrain::ckpt
