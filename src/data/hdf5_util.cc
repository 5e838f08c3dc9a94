#include "data/hdf5_util.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace ectrain::data {
namespace {

// The file a location lives in, for messages.
std::string FileName(hid_t location) {
  const ssize_t size = H5Fget_name(location, nullptr, 0);
  if (size <= 0) return "?";
  std::string name(static_cast<size_t>(size) + 1, '\0');
  H5Fget_name(location, name.data(), name.size());
  name.resize(static_cast<size_t>(size));
  return name;
}

}  // namespace

H5Handle& H5Handle::operator=(H5Handle&& o) noexcept {
  if (this != &o) {
    Close();
    id_ = o.id_;
    o.id_ = -1;
  }
  return *this;
}

void H5Handle::Close() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE:
      H5Fclose(id_);
      break;
    case H5I_GROUP:
      H5Gclose(id_);
      break;
    case H5I_DATASET:
      H5Dclose(id_);
      break;
    case H5I_DATASPACE:
      H5Sclose(id_);
      break;
    case H5I_DATATYPE:
      H5Tclose(id_);
      break;
    case H5I_ATTR:
      H5Aclose(id_);
      break;
    case H5I_GENPROP_LST:
      H5Pclose(id_);
      break;
    default:
      H5Idec_ref(id_);
      break;
  }
  id_ = -1;
}

std::mutex& Hdf5Mutex() {
  static std::mutex mutex;
  return mutex;
}

void ReleaseHdf5FreeLists() {
  std::lock_guard<std::mutex> lock(Hdf5Mutex());
  H5garbage_collect();
}

void QuietHdf5Errors() {
  thread_local const bool quiet =
      std::getenv("ECTRAIN_HDF5_ERRORS") == nullptr && H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr) >= 0;
  (void)quiet;
}

Status CheckFiltersAvailable(hid_t dataset, const std::string& file, const std::string& column) {
  H5Handle plist(H5Dget_create_plist(dataset));
  const int filters = plist.valid() ? H5Pget_nfilters(plist.get()) : 0;
  for (int i = 0; i < filters; ++i) {
    unsigned flags = 0, config = 0;
    size_t values = 0;
    char name[64] = "";
    const H5Z_filter_t id =
        H5Pget_filter2(plist.get(), static_cast<unsigned>(i), &flags, &values, nullptr, sizeof(name), name, &config);
    if (id < 0 || H5Zfilter_avail(id) > 0) continue;
    return DataError("data file '" + file + "': column '" + column + "' is compressed with the HDF5 filter '" +
                     (name[0] != '\0' ? std::string(name) : std::string("unnamed")) + "' (id " + std::to_string(id) +
                     "), which this HDF5 library does not have; rewrite the file with gzip compression, e.g. "
                     "`h5repack -f GZIP=4 " +
                     file + " out.h5` (h5py: compression=\"gzip\")");
  }
  return Status::Ok();
}

void SkipHdf5ExitCleanup() { H5dont_atexit(); }

std::string Hdf5FailureReason() {
  struct Found {
    int os_error = 0;
    std::string innermost;
  } found;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned, const H5E_error2_t* error, void* data) -> herr_t {
        auto* found = static_cast<Found*>(data);
        const std::string description = error->desc != nullptr ? error->desc : "";
        // The POSIX file driver writes "..., errno = 28, error message = 'No space left on device', ...".
        const size_t at = description.find("errno = ");
        if (found->os_error == 0 && at != std::string::npos) found->os_error = std::atoi(description.c_str() + at + 8);
        if (found->innermost.empty()) found->innermost = description;
        return 0;
      },
      &found);
  if (found.os_error != 0) return std::strerror(found.os_error);
  return found.innermost;
}

Status WriteStringDataset(hid_t location, const std::string& name, const std::string& value) {
  // Fixed length (the text and its NUL), written straight to the file: a variable-length string
  // goes through HDF5's global heap, which holds copies of it in memory (tens of MB for a
  // schema with real vocabularies).
  H5Handle type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.get(), value.size() + 1);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  H5Handle space(H5Screate(H5S_SCALAR));
  H5Handle link_props(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(link_props.get(), 1);
  H5Handle dataset(
      H5Dcreate2(location, name.c_str(), type.get(), space.get(), link_props.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!dataset.valid() || H5Dwrite(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, value.c_str()) < 0) {
    return Internal("could not write dataset '" + name + "' in '" + FileName(location) + "'; check free disk space");
  }
  return Status::Ok();
}

StatusOr<std::string> ReadStringDataset(hid_t location, const std::string& name, const std::string& file_for_errors) {
  const std::string where = "'" + file_for_errors + "' dataset '" + name + "'";
  H5Handle dataset(H5Dopen2(location, name.c_str(), H5P_DEFAULT));
  if (!dataset.valid()) return NotFound(where + " could not be opened");
  H5Handle file_type(H5Dget_type(dataset.get()));
  H5Handle space(H5Dget_space(dataset.get()));
  if (H5Tget_class(file_type.get()) != H5T_STRING || H5Sget_simple_extent_npoints(space.get()) != 1) {
    return DataError(where + " is not a single string; re-create the file");
  }
  // h5py writes variable-length strings by default and fixed-length ones for numpy bytes.
  if (H5Tis_variable_str(file_type.get()) > 0) {
    H5Handle memory_type(H5Tcopy(H5T_C_S1));
    H5Tset_size(memory_type.get(), H5T_VARIABLE);
    H5Tset_cset(memory_type.get(), H5Tget_cset(file_type.get()));  // HDF5 converts no ASCII<->UTF-8
    char* data = nullptr;
    if (H5Dread(dataset.get(), memory_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &data) < 0) {
      return DataError(where + " could not be read; the file may be corrupt");
    }
    std::string value = data ? data : "";
    H5free_memory(data);
    return value;
  }
  std::string value(H5Tget_size(file_type.get()), '\0');
  if (H5Dread(dataset.get(), file_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, value.data()) < 0) {
    return DataError(where + " could not be read; the file may be corrupt");
  }
  value.resize(std::min(value.find('\0'), value.size()));  // drop the fixed-length padding
  return value;
}

std::vector<std::string> RootLinkNames(hid_t file) {
  std::vector<std::string> names;
  H5G_info_t info;
  if (H5Gget_info(file, &info) < 0) return names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t size = H5Lget_name_by_idx(file, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (size <= 0) continue;
    std::string name(static_cast<size_t>(size) + 1, '\0');
    H5Lget_name_by_idx(file, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT);
    name.resize(static_cast<size_t>(size));
    names.push_back(std::move(name));
  }
  return names;
}

bool LinkExists(hid_t location, const std::string& path) {
  // H5Lexists fails rather than answering false when an intermediate group is missing.
  size_t pos = path.starts_with('/') ? 1 : 0;
  while (true) {
    const size_t slash = path.find('/', pos);
    const std::string prefix = path.substr(0, slash);
    if (H5Lexists(location, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (slash == std::string::npos) return true;
    pos = slash + 1;
  }
}

}  // namespace ectrain::data
