// Test tool: damages HDF5 files the way the fault tests need.
//   damage_file set FILE DATASET VALUE [--rechecksum]
//       sets the first value of a float dataset (e.g. params/output/bias) to VALUE (a number, nan
//       or inf); --rechecksum also rewrites its xxh3 attribute, as a run that diverged wrote it;
//   damage_file empty FILE
//       cuts every 1-D dataset at the root to 0 rows (a data file with no rows, schema kept).
#include <hdf5.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ckpt/checksum.h"

namespace {

int SetValue(hid_t file, const char* dataset, const char* value, bool rechecksum) {
  const hid_t set = H5Dopen2(file, dataset, H5P_DEFAULT);
  if (set < 0) {
    std::fprintf(stderr, "damage_file: no dataset %s\n", dataset);
    return 1;
  }
  const hid_t space = H5Dget_space(set);
  std::vector<float> values(static_cast<size_t>(H5Sget_simple_extent_npoints(space)));
  H5Dread(set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  values[0] = std::strtof(value, nullptr);
  H5Dwrite(set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  if (rechecksum) {
    const uint64_t checksum = ectrain::ckpt::Checksum(values.data(), values.size() * sizeof(float));
    const hid_t attr = H5Aopen(set, "xxh3", H5P_DEFAULT);
    H5Awrite(attr, H5T_NATIVE_UINT64, &checksum);
    H5Aclose(attr);
  }
  H5Sclose(space);
  H5Dclose(set);
  return 0;
}

int Empty(hid_t file) {
  H5G_info_t info;
  H5Gget_info(file, &info);
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    char name[256];
    H5Lget_name_by_idx(file, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof(name), H5P_DEFAULT);
    H5O_info_t object;
    if (H5Oget_info_by_name(file, name, &object, H5P_DEFAULT) < 0 || object.type != H5O_TYPE_DATASET) continue;
    const hid_t set = H5Dopen2(file, name, H5P_DEFAULT);
    const hsize_t zero = 0;
    if (H5Dset_extent(set, &zero) < 0) {
      std::fprintf(stderr, "damage_file: cannot resize %s\n", name);
      return 1;
    }
    H5Dclose(set);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 2 ? argv[1] : "";
  if (!((mode == "set" && argc >= 5) || (mode == "empty" && argc == 3))) {
    std::fprintf(stderr, "usage: damage_file set FILE DATASET VALUE [--rechecksum] | damage_file empty FILE\n");
    return 2;
  }
  const hid_t file = H5Fopen(argv[2], H5F_ACC_RDWR, H5P_DEFAULT);
  if (file < 0) {
    std::fprintf(stderr, "damage_file: cannot open %s\n", argv[2]);
    return 1;
  }
  const int rc = mode == "set" ? SetValue(file, argv[3], argv[4], argc > 5 && std::strcmp(argv[5], "--rechecksum") == 0)
                               : Empty(file);
  return H5Fclose(file) < 0 ? 1 : rc;
}
