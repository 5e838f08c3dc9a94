// Small RAII and string helpers over the HDF5 C API, shared by data/ and ckpt/.
// HDF5's own error printing is turned off; callers turn failures into a Status.
#pragma once

#include <hdf5.h>

#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"

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

 private:
  hid_t id_ = -1;
};

// Debian's HDF5 is not built thread-safe: every HDF5 call of the process (reading data,
// writing checkpoints in the background) holds this lock.
std::mutex& Hdf5Mutex();

// Silences HDF5's automatic error stack printing (once per process).
void QuietHdf5Errors();

// Returns the memory HDF5 keeps on its free lists after files are closed (H5garbage_collect).
void ReleaseHdf5FreeLists();

// Writes a scalar fixed-length UTF-8 string dataset; reads fixed- or variable-length ones (as
// h5py writes them). Both are readable by h5py and h5dump.
Status WriteStringDataset(hid_t location, const std::string& name, const std::string& value);
StatusOr<std::string> ReadStringDataset(hid_t location, const std::string& name,
                                        const std::string& file_for_errors);
bool LinkExists(hid_t location, const std::string& path);
// The names of the links at the root of `file`, in name order (HDF5's name index is sorted).
std::vector<std::string> RootLinkNames(hid_t file);

}  // namespace ectrain::data
