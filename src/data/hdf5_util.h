// Small RAII and string helpers over the HDF5 C API, shared by data/ and ckpt/.
// HDF5's own error printing is turned off; callers turn failures into a Status.
#pragma once

#include <hdf5.h>

#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/hdf5_library.h"

namespace ectrain::data {

// Owns one hid_t and closes it with the matching H5?close.
class H5Handle {
 public:
  H5Handle() = default;
  explicit H5Handle(hid_t id) : id_(id) {}
  H5Handle(H5Handle&& o) noexcept : id_(o.id_) { o.id_ = -1; }
  H5Handle& operator=(H5Handle&& o) noexcept;
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  ~H5Handle() { Close(); }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void Close();
  // Gives up ownership (for a close whose result matters, such as a file's last flush).
  hid_t Release() {
    const hid_t id = id_;
    id_ = -1;
    return id;
  }

 private:
  hid_t id_ = -1;
};

// Debian's HDF5 is not built thread-safe: every HDF5 call of the process (reading data,
// writing checkpoints in the background) holds this lock.
std::mutex& Hdf5Mutex();

// Silences HDF5's automatic error stack printing on the calling thread (HDF5's thread-safe builds
// keep the setting per thread), unless ECTRAIN_HDF5_ERRORS is set (`ectrain --verbose` sets it):
// then HDF5 prints its whole error stack as it happens. Cheap after the first call per thread.
void QuietHdf5Errors();

// A DataError when a dataset's compression filter is not in this HDF5 library (LZF from h5py,
// Blosc, ...), naming the file, the column and the filter, and how to rewrite the file.
Status CheckFiltersAvailable(hid_t dataset, const std::string& file, const std::string& column);

// Why the last HDF5 call failed, from its error stack: the operating system's reason where the
// file driver recorded one ("No space left on device", "Permission denied"), else HDF5's
// innermost message; "" when the stack is empty. Call it right after the call that failed.
std::string Hdf5FailureReason();

// Returns the memory HDF5 keeps on its free lists after files are closed (H5garbage_collect).
void ReleaseHdf5FreeLists();

// Writes a scalar fixed-length UTF-8 string dataset; reads fixed- or variable-length ones (as
// h5py writes them). Both are readable by h5py and h5dump.
Status WriteStringDataset(hid_t location, const std::string& name, const std::string& value);
StatusOr<std::string> ReadStringDataset(hid_t location, const std::string& name, const std::string& file_for_errors);
bool LinkExists(hid_t location, const std::string& path);
// The names of the links at the root of `file`, in name order (HDF5's name index is sorted).
std::vector<std::string> RootLinkNames(hid_t file);

}  // namespace ectrain::data
