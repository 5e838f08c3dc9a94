// The training reader's speed against a plain HDF5 read of the same columns (bench/reader_throughput.sh).
//   reader_throughput generate OUT ROWS [CHUNK_ROWS]  8 float32 columns d0..d7, 8 int32 ids c0..c7 (1000
//                                                      values), a 0/1 label; ColumnWriter (shuffle+deflate)
//   reader_throughput plain FILE                      rows/s of sequential H5Dread calls, a chunk of rows
//                                                      per call, each column into its native type
//   reader_throughput stream FILE WORLD RANK BLOCK_ROWS WINDOW_BLOCKS BATCH
//                                                      one epoch of rank RANK's batches through the
//                                                      StreamReader, as fast as they come: rank rows/s
// Prints one line: "rows R seconds S rows_per_second X [bound_bytes B]".
#include <hdf5.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "data/column_file.h"
#include "data/column_writer.h"
#include "data/stream_reader.h"

namespace {
using namespace ectrain;
using Clock = std::chrono::steady_clock;
constexpr int kDense = 8, kCategorical = 8, kVocab = 1000;

int Fail(const std::string& message) {
  std::fprintf(stderr, "reader_throughput: %s\n", message.c_str());
  return 1;
}

data::FeatureSchema Schema() {
  data::FeatureSchema schema;
  schema.label = "label";
  for (int c = 0; c < kDense; ++c) schema.dense.push_back("d" + std::to_string(c));
  for (int c = 0; c < kCategorical; ++c) {
    schema.categorical.push_back("c" + std::to_string(c));
    schema.vocab_sizes.push_back(kVocab);
  }
  return schema;
}

int Generate(const std::string& path, int64_t rows, int64_t chunk_rows) {
  std::vector<data::ColumnSpec> specs;
  for (int c = 0; c < kDense; ++c) specs.push_back({"d" + std::to_string(c), data::ColumnType::kFloat32});
  for (int c = 0; c < kCategorical; ++c) specs.push_back({"c" + std::to_string(c), data::ColumnType::kInt32});
  specs.push_back({"label", data::ColumnType::kFloat32});
  auto writer = data::ColumnWriter::Create(path, specs, chunk_rows);
  if (!writer.ok()) return Fail(writer.status().message());
  uint64_t state = 12345;
  auto next = [&state] {  // a fast LCG: the values only need to look varied
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  constexpr int64_t kPiece = 65536;
  std::vector<float> floats(kPiece);
  std::vector<int32_t> ids(kPiece);
  for (int64_t begin = 0; begin < rows; begin += kPiece) {
    const int64_t n = std::min(kPiece, rows - begin);
    for (int c = 0; c < kDense + kCategorical + 1; ++c) {
      Status status;
      if (c < kDense) {
        for (int64_t i = 0; i < n; ++i) floats[i] = static_cast<float>(next() % 100000) / 50000.0f - 1.0f;
        status = writer->Append(c, std::span<const float>(floats.data(), n));
      } else if (c < kDense + kCategorical) {
        for (int64_t i = 0; i < n; ++i) ids[i] = static_cast<int32_t>(next() % kVocab);
        status = writer->Append(c, std::span<const int32_t>(ids.data(), n));
      } else {
        for (int64_t i = 0; i < n; ++i) floats[i] = static_cast<float>(next() % 2);
        status = writer->Append(c, std::span<const float>(floats.data(), n));
      }
      if (!status.ok()) return Fail(status.message());
    }
  }
  const Status committed = writer->Commit();
  if (!committed.ok()) return Fail(committed.message());
  std::printf("wrote %s: %lld rows, chunks of %lld rows\n", path.c_str(), static_cast<long long>(rows),
              static_cast<long long>(chunk_rows));
  return 0;
}

int Plain(const std::string& path) {
  const auto start = Clock::now();
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) return Fail("cannot open " + path);
  std::vector<std::string> names = Schema().dense;
  for (const auto& name : Schema().categorical) names.push_back(name);
  names.push_back("label");
  std::vector<hid_t> sets;
  for (const auto& name : names) sets.push_back(H5Dopen2(file, name.c_str(), H5P_DEFAULT));
  hsize_t rows = 0, chunk = 0;
  {
    const hid_t space = H5Dget_space(sets[0]);
    H5Sget_simple_extent_dims(space, &rows, nullptr);
    H5Sclose(space);
    const hid_t plist = H5Dget_create_plist(sets[0]);
    if (H5Pget_layout(plist) != H5D_CHUNKED || H5Pget_chunk(plist, 1, &chunk) != 1) chunk = 65536;
    H5Pclose(plist);
  }
  std::vector<float> floats(chunk);
  std::vector<int32_t> ids(chunk);
  double checksum = 0;
  for (hsize_t begin = 0; begin < rows; begin += chunk) {
    const hsize_t n = std::min<hsize_t>(chunk, rows - begin);
    const hid_t memory = H5Screate_simple(1, &n, nullptr);
    for (size_t c = 0; c < sets.size(); ++c) {
      const hid_t space = H5Dget_space(sets[c]);
      H5Sselect_hyperslab(space, H5S_SELECT_SET, &begin, nullptr, &n, nullptr);
      const bool is_id = c >= kDense && c < kDense + kCategorical;
      if (H5Dread(sets[c], is_id ? H5T_NATIVE_INT32 : H5T_NATIVE_FLOAT, memory, space, H5P_DEFAULT,
                  is_id ? static_cast<void*>(ids.data()) : static_cast<void*>(floats.data())) < 0) {
        return Fail("read failed");
      }
      checksum += is_id ? ids[0] : floats[0];
      H5Sclose(space);
    }
    H5Sclose(memory);
  }
  for (hid_t set : sets) H5Dclose(set);
  H5Fclose(file);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("rows %llu seconds %.3f rows_per_second %.0f checksum %g\n", static_cast<unsigned long long>(rows),
              seconds, static_cast<double>(rows) / seconds, checksum);
  return 0;
}

int Stream(const std::string& path, int world, int rank, int64_t block_rows, int64_t window_blocks, int64_t batch) {
  const auto start = Clock::now();
  auto file = data::ColumnFile::Open(path);
  if (!file.ok()) return Fail(file.status().message());
  data::StreamFile checked;
  checked.path = path;
  auto rows = file->Bind(Schema(), true);
  if (!rows.ok()) return Fail(rows.status().message());
  checked.rows = *rows;
  checked.file = std::move(*file);
  std::vector<data::StreamFile> files;
  files.push_back(std::move(checked));
  data::StreamOptions options;
  options.global_batch_size = batch;
  options.world_size = world;
  options.rank = rank;
  options.seed = 7;
  options.block_rows = block_rows;
  options.window_blocks = window_blocks;
  auto reader = data::StreamReader::Open(std::move(files), Schema(), options);
  if (!reader.ok()) return Fail(reader.status().message());
  int64_t read = 0;
  double checksum = 0;
  (*reader)->Seek(0, 0, (*reader)->steps_per_epoch());
  for (int64_t s = 0; s < (*reader)->steps_per_epoch(); ++s) {
    auto view = (*reader)->Batch(0, s);
    if (!view.ok()) return Fail(view.status().message());
    read += view->num_rows;
    if (view->num_rows > 0) checksum += view->dense[0] + view->categorical[0];
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("rows %lld seconds %.3f rows_per_second %.0f bound_bytes %lld checksum %g\n",
              static_cast<long long>(read), seconds, static_cast<double>(read) / seconds,
              static_cast<long long>((*reader)->buffer_bytes()), checksum);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() >= 3 && args[0] == "generate") {
    return Generate(args[1], std::atoll(args[2].c_str()), args.size() > 3 ? std::atoll(args[3].c_str()) : 4096);
  }
  if (args.size() == 2 && args[0] == "plain") return Plain(args[1]);
  if (args.size() == 7 && args[0] == "stream") {
    return Stream(args[1], std::atoi(args[2].c_str()), std::atoi(args[3].c_str()), std::atoll(args[4].c_str()),
                  std::atoll(args[5].c_str()), std::atoll(args[6].c_str()));
  }
  return Fail("usage: generate OUT ROWS [CHUNK_ROWS] | plain FILE | stream FILE WORLD RANK BLOCK_ROWS WINDOW BATCH");
}
