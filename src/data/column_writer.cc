#include "data/column_writer.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>

#include "data/hdf5_util.h"

namespace ectrain::data {
namespace {

hid_t MemoryType(ColumnType type) {
  switch (type) {
    case ColumnType::kFloat32:
      return H5T_NATIVE_FLOAT;
    case ColumnType::kInt32:
      return H5T_NATIVE_INT32;
    case ColumnType::kInt64:
      return H5T_NATIVE_INT64;
  }
  return H5T_NATIVE_FLOAT;
}

hid_t FileType(ColumnType type) {
  switch (type) {
    case ColumnType::kFloat32:
      return H5T_IEEE_F32LE;
    case ColumnType::kInt32:
      return H5T_STD_I32LE;
    case ColumnType::kInt64:
      return H5T_STD_I64LE;
  }
  return H5T_IEEE_F32LE;
}

size_t ElementSize(ColumnType type) { return type == ColumnType::kInt64 ? 8 : 4; }

// One growable 1-D dataset with its unflushed tail. Appends land in `pending` and go to the file
// a chunk at a time, so memory stays at one chunk per dataset.
struct Stream {
  std::string name;  // path inside the file, for errors
  ColumnType type = ColumnType::kFloat32;
  H5Handle dataset;
  std::vector<unsigned char> pending;  // one chunk of elements of `type`
  int64_t pending_count = 0;
  int64_t written = 0;  // elements already in the file
  int64_t chunk = 0;

  int64_t size() const { return written + pending_count; }

  Status Flush(const std::string& path) {
    const auto count = static_cast<hsize_t>(pending_count);
    if (count == 0) return Status::Ok();
    std::lock_guard<std::mutex> lock(Hdf5Mutex());
    const hsize_t new_size = static_cast<hsize_t>(written) + count;
    const hsize_t start = static_cast<hsize_t>(written);
    if (H5Dset_extent(dataset.get(), &new_size) < 0) {
      return Internal("could not grow dataset '" + name + "' of " + path + "; check free disk space");
    }
    H5Handle file_space(H5Dget_space(dataset.get()));
    H5Handle memory_space(H5Screate_simple(1, &count, nullptr));
    if (H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr) < 0 ||
        H5Dwrite(dataset.get(), MemoryType(type), memory_space.get(), file_space.get(), H5P_DEFAULT, pending.data()) <
            0) {
      return Internal("could not write dataset '" + name + "' of " + path + "; check free disk space");
    }
    written = static_cast<int64_t>(new_size);
    pending_count = 0;
    return Status::Ok();
  }

  // Converts to the column's type; an integer column takes only exact integers in its range.
  template <typename T>
  Status Append(std::span<const T> values, const std::string& path) {
    for (const T& v : values) {
      switch (type) {
        case ColumnType::kFloat32:
          Put(static_cast<float>(v));
          break;
        case ColumnType::kInt32:
          if (!FitsInteger(v, double(std::numeric_limits<int32_t>::min()),
                           double(std::numeric_limits<int32_t>::max()))) {
            return NotInteger(static_cast<double>(v));
          }
          Put(static_cast<int32_t>(v));
          break;
        case ColumnType::kInt64:
          if (!FitsInteger(v, -9.2e18, 9.2e18)) return NotInteger(static_cast<double>(v));
          Put(static_cast<int64_t>(v));
          break;
      }
      if (pending_count == chunk) RETURN_IF_ERROR(Flush(path));
    }
    return Status::Ok();
  }

  template <typename T>
  static bool FitsInteger(T v, double low, double high) {
    if constexpr (std::is_floating_point_v<T>) {
      return v == std::floor(v) && double(v) >= low && double(v) <= high;
    } else {
      return double(v) >= low && double(v) <= high;
    }
  }

  template <typename T>
  void Put(T v) {
    std::memcpy(pending.data() + pending_count * static_cast<int64_t>(sizeof(T)), &v, sizeof(T));
    ++pending_count;
  }

  Status NotInteger(double v) const {
    return InvalidArgument("column '" + name + "' holds integers; " + std::to_string(v) + " is not one in its range");
  }
};

}  // namespace

struct ColumnWriter::Impl {
  std::string path;
  std::string temp_path;
  std::vector<ColumnSpec> specs;
  H5Handle file;
  // Per column: a scalar column has one stream; a multi-valued one has values then offsets.
  std::vector<std::vector<Stream>> streams;
  std::vector<int64_t> bag_values;  // per column: ids appended so far (the next offset)
  bool committed = false;

  ~Impl() {
    if (committed) return;
    for (auto& column : streams) {
      for (Stream& s : column) {
        std::lock_guard<std::mutex> lock(Hdf5Mutex());
        s.dataset.Close();
      }
    }
    {
      std::lock_guard<std::mutex> lock(Hdf5Mutex());
      file.Close();
    }
    std::error_code ignored;
    if (!temp_path.empty()) std::filesystem::remove(temp_path, ignored);
  }

  StatusOr<Stream> MakeStream(const std::string& name, ColumnType type, int64_t chunk_rows, int deflate_level) {
    Stream s;
    s.name = name;
    s.type = type;
    s.chunk = chunk_rows;
    s.pending.resize(static_cast<size_t>(chunk_rows) * ElementSize(type));
    const hsize_t zero = 0;
    const hsize_t unlimited = H5S_UNLIMITED;
    const auto chunk = static_cast<hsize_t>(chunk_rows);
    H5Handle space(H5Screate_simple(1, &zero, &unlimited));
    H5Handle create(H5Pcreate(H5P_DATASET_CREATE));
    H5Pset_chunk(create.get(), 1, &chunk);
    if (deflate_level > 0) {
      H5Pset_shuffle(create.get());
      H5Pset_deflate(create.get(), static_cast<unsigned>(deflate_level));
    }
    H5Handle link(H5Pcreate(H5P_LINK_CREATE));
    H5Pset_create_intermediate_group(link.get(), 1);
    s.dataset = H5Handle(
        H5Dcreate2(file.get(), name.c_str(), FileType(type), space.get(), link.get(), create.get(), H5P_DEFAULT));
    if (!s.dataset.valid()) {
      return Internal("could not create dataset '" + name + "' in " + temp_path + "; is the name a valid HDF5 name?");
    }
    return s;
  }
};

ColumnWriter::ColumnWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ColumnWriter::ColumnWriter(ColumnWriter&&) noexcept = default;
ColumnWriter& ColumnWriter::operator=(ColumnWriter&&) noexcept = default;
ColumnWriter::~ColumnWriter() = default;

StatusOr<ColumnWriter> ColumnWriter::Create(const std::string& path, std::vector<ColumnSpec> columns,
                                            int64_t chunk_rows, int deflate_level) {
  if (chunk_rows < 1) return InvalidArgument("ColumnWriter: chunk_rows must be positive");
  QuietHdf5Errors();
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->temp_path = path + ".tmp";
  impl->specs = std::move(columns);
  {
    std::lock_guard<std::mutex> lock(Hdf5Mutex());
    impl->file = H5Handle(H5Fcreate(impl->temp_path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    if (!impl->file.valid()) {
      impl->temp_path.clear();  // nothing of ours to remove
      return NotFound("cannot create " + path + ".tmp; check that the folder exists and is writable");
    }
    for (const ColumnSpec& spec : impl->specs) {
      std::vector<Stream> streams;
      if (spec.multi_valued) {
        ASSIGN_OR_RETURN(Stream values,
                         impl->MakeStream(spec.name + "/values", ColumnType::kInt32, chunk_rows, deflate_level));
        ASSIGN_OR_RETURN(Stream offsets,
                         impl->MakeStream(spec.name + "/offsets", ColumnType::kInt64, chunk_rows, deflate_level));
        streams.push_back(std::move(values));
        streams.push_back(std::move(offsets));
      } else {
        ASSIGN_OR_RETURN(Stream s, impl->MakeStream(spec.name, spec.type, chunk_rows, deflate_level));
        streams.push_back(std::move(s));
      }
      impl->streams.push_back(std::move(streams));
    }
  }
  impl->bag_values.assign(impl->specs.size(), 0);
  ColumnWriter writer(std::move(impl));
  for (size_t c = 0; c < writer.impl_->specs.size(); ++c) {
    if (!writer.impl_->specs[c].multi_valued) continue;
    const int64_t zero = 0;  // offsets start at 0: rows + 1 entries
    RETURN_IF_ERROR(writer.impl_->streams[c][1].Append(std::span<const int64_t>(&zero, 1), path));
  }
  return writer;
}

const std::string& ColumnWriter::path() const { return impl_->path; }

int ColumnWriter::ColumnIndex(const std::string& name) const {
  for (size_t i = 0; i < impl_->specs.size(); ++i) {
    if (impl_->specs[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

namespace {
Status CheckScalar(const std::vector<ColumnSpec>& specs, int column) {
  if (column < 0 || column >= static_cast<int>(specs.size())) {
    return InvalidArgument("ColumnWriter: no column " + std::to_string(column));
  }
  if (specs[column].multi_valued) {
    return InvalidArgument("ColumnWriter: column '" + specs[column].name + "' is multi-valued; use AppendBagRow");
  }
  return Status::Ok();
}
}  // namespace

Status ColumnWriter::Append(int column, std::span<const float> values) {
  RETURN_IF_ERROR(CheckScalar(impl_->specs, column));
  return impl_->streams[column][0].Append(values, impl_->path);
}
Status ColumnWriter::Append(int column, std::span<const int32_t> values) {
  RETURN_IF_ERROR(CheckScalar(impl_->specs, column));
  return impl_->streams[column][0].Append(values, impl_->path);
}
Status ColumnWriter::Append(int column, std::span<const int64_t> values) {
  RETURN_IF_ERROR(CheckScalar(impl_->specs, column));
  return impl_->streams[column][0].Append(values, impl_->path);
}

Status ColumnWriter::AppendBagRow(int column, std::span<const int32_t> ids) {
  if (column < 0 || column >= static_cast<int>(impl_->specs.size()) || !impl_->specs[column].multi_valued) {
    return InvalidArgument("ColumnWriter: column " + std::to_string(column) + " is not multi-valued");
  }
  RETURN_IF_ERROR(impl_->streams[column][0].Append(ids, impl_->path));
  impl_->bag_values[column] += static_cast<int64_t>(ids.size());
  const int64_t end = impl_->bag_values[column];
  return impl_->streams[column][1].Append(std::span<const int64_t>(&end, 1), impl_->path);
}

int64_t ColumnWriter::rows(int column) const {
  const auto& streams = impl_->streams[column];
  return impl_->specs[column].multi_valued ? streams[1].size() - 1 : streams[0].size();
}

Status ColumnWriter::WriteSchema(const FeatureSchema& schema) { return WriteText(kSchemaDataset, schema.ToJson()); }

Status ColumnWriter::WriteText(const std::string& dataset_path, const std::string& text) {
  std::lock_guard<std::mutex> lock(Hdf5Mutex());
  return WriteStringDataset(impl_->file.get(), dataset_path, text);
}

Status ColumnWriter::Commit() {
  if (impl_->committed) return Internal("ColumnWriter: " + impl_->path + " was already committed");
  for (auto& column : impl_->streams) {
    for (Stream& s : column) RETURN_IF_ERROR(s.Flush(impl_->path));
  }
  for (size_t c = 1; c < impl_->specs.size(); ++c) {
    if (rows(static_cast<int>(c)) != rows(0)) {
      return Internal("ColumnWriter: " + impl_->path + ": column '" + impl_->specs[c].name + "' has " +
                      std::to_string(rows(static_cast<int>(c))) + " rows but '" + impl_->specs[0].name + "' has " +
                      std::to_string(rows(0)));
    }
  }
  {
    std::lock_guard<std::mutex> lock(Hdf5Mutex());
    for (auto& column : impl_->streams) {
      for (Stream& s : column) s.dataset.Close();
    }
    if (H5Fflush(impl_->file.get(), H5F_SCOPE_GLOBAL) < 0) {
      return Internal("could not flush " + impl_->temp_path + "; check free disk space");
    }
    impl_->file.Close();
  }
  std::error_code error;
  std::filesystem::rename(impl_->temp_path, impl_->path, error);
  if (error) return Internal("could not rename " + impl_->temp_path + " to " + impl_->path + ": " + error.message());
  impl_->committed = true;
  return Status::Ok();
}

}  // namespace ectrain::data
