// The streaming reader over real files: several files (one empty), multi-valued columns, 1..4
// ranks, resume at any (epoch, step), the stop limit, and errors that name the file, column and
// row (bad values, a corrupt compressed chunk, too small a window).
#include "data/stream_reader.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>

#include "data/column_writer.h"
#include "data/hdf5_util.h"
#include "test_files.h"

namespace ectrain::data {
namespace {

using testing::ScratchDir;

constexpr int kVocab = 7;

// Row g of the data set: x = g, id = g % 5, label = g % 2, tags = (g % 3) ids g % 7, g+1 % 7...
// Files hold consecutive global rows starting at `first`.
Status WriteRows(const std::string& path, int64_t first, int64_t rows, int64_t chunk_rows = 16) {
  ASSIGN_OR_RETURN(ColumnWriter writer, ColumnWriter::Create(path,
                                                             {{"x", ColumnType::kFloat32},
                                                              {"id", ColumnType::kInt32},
                                                              {"label", ColumnType::kFloat32},
                                                              {"tags", ColumnType::kInt32, /*multi_valued=*/true}},
                                                             chunk_rows));
  for (int64_t g = first; g < first + rows; ++g) {
    const float x = static_cast<float>(g), label = static_cast<float>(g % 2);
    const int32_t id = static_cast<int32_t>(g % 5);
    RETURN_IF_ERROR(writer.Append(0, std::span<const float>(&x, 1)));
    RETURN_IF_ERROR(writer.Append(1, std::span<const int32_t>(&id, 1)));
    RETURN_IF_ERROR(writer.Append(2, std::span<const float>(&label, 1)));
    std::vector<int32_t> tags;
    for (int64_t t = 0; t < g % 3; ++t) tags.push_back(static_cast<int32_t>((g + t) % kVocab));
    RETURN_IF_ERROR(writer.AppendBagRow(3, tags));
  }
  return writer.Commit();
}

FeatureSchema Schema() {
  FeatureSchema schema;
  schema.label = "label";
  schema.dense = {"x"};
  schema.categorical = {"id"};
  schema.vocab_sizes = {5};
  schema.multi_valued = {"tags"};
  schema.multi_vocab_sizes = {kVocab};
  return schema;
}

// Files of these sizes in `dir`, consecutive rows; returns their paths.
std::vector<std::string> WriteDataSet(const ScratchDir& dir, const std::vector<int64_t>& sizes) {
  std::vector<std::string> paths;
  int64_t first = 0;
  for (size_t f = 0; f < sizes.size(); ++f) {
    paths.push_back(dir.File("part-" + std::to_string(f) + ".h5"));
    const Status written = WriteRows(paths.back(), first, sizes[f]);
    EXPECT_TRUE(written.ok()) << written.message();
    first += sizes[f];
  }
  return paths;
}

StatusOr<std::unique_ptr<StreamReader>> OpenReader(const std::vector<std::string>& paths, StreamOptions options) {
  std::vector<StreamFile> files;
  for (const std::string& path : paths) {
    ASSIGN_OR_RETURN(ColumnFile file, ColumnFile::Open(path));
    StreamFile checked;
    checked.path = path;
    ASSIGN_OR_RETURN(checked.rows, file.Bind(Schema(), true));
    checked.bag_values = file.BoundBagValueCounts();
    checked.file = std::move(file);
    files.push_back(std::move(checked));
  }
  return StreamReader::Open(std::move(files), Schema(), options);
}

StreamOptions Options(int world, int rank) {
  StreamOptions options;
  options.global_batch_size = 10;
  options.world_size = world;
  options.rank = rank;
  options.seed = 9;
  options.block_rows = 8;
  options.window_blocks = 4;
  options.prefetch_batches = 3;
  return options;
}

// The global rows of a batch (x holds the row), after checking every column of each row.
std::vector<int64_t> RowsOf(const BatchView& batch) {
  std::vector<int64_t> rows;
  EXPECT_EQ(batch.num_dense, 1);
  EXPECT_EQ(batch.num_categorical, 1);
  EXPECT_EQ(batch.num_bags, 1);
  for (int64_t i = 0; i < batch.num_rows; ++i) {
    const int64_t g = static_cast<int64_t>(batch.dense[i]);
    EXPECT_EQ(batch.categorical[i], g % 5) << "row " << g;
    EXPECT_EQ(batch.labels[i], g % 2) << "row " << g;
    const std::span<const int32_t> tags = batch.BagIds(0, i);
    EXPECT_EQ(static_cast<int64_t>(tags.size()), g % 3) << "row " << g;
    for (size_t t = 0; t < tags.size(); ++t) EXPECT_EQ(tags[t], (g + static_cast<int64_t>(t)) % kVocab) << "row " << g;
    rows.push_back(g);
  }
  return rows;
}

// Per step of `epoch`, the rows rank `rank` gets.
std::vector<std::vector<int64_t>> ReadEpoch(StreamReader& reader, int64_t epoch) {
  std::vector<std::vector<int64_t>> steps;
  for (int64_t s = 0; s < reader.steps_per_epoch(); ++s) {
    StatusOr<BatchView> batch = reader.Batch(epoch, s);
    EXPECT_TRUE(batch.ok()) << batch.status().message();
    steps.push_back(batch.ok() ? RowsOf(*batch) : std::vector<int64_t>{});
  }
  return steps;
}

TEST(StreamReaderTest, EveryRowOncePerEpochOnAnyRankCountAndTheSameGlobalBatches) {
  ScratchDir dir;
  const std::vector<std::string> paths = WriteDataSet(dir, {45, 0, 17, 30});  // 92 rows, uneven blocks
  auto single = OpenReader(paths, Options(1, 0));
  ASSERT_TRUE(single.ok()) << single.status().message();
  EXPECT_EQ((*single)->num_rows(), 92);
  EXPECT_EQ((*single)->steps_per_epoch(), 10);
  for (int64_t epoch : {0, 1}) {
    const auto one_rank = ReadEpoch(**single, epoch);
    std::vector<int64_t> all;
    for (const auto& step : one_rank) all.insert(all.end(), step.begin(), step.end());
    std::sort(all.begin(), all.end());
    std::vector<int64_t> identity(92);
    std::iota(identity.begin(), identity.end(), 0);
    EXPECT_EQ(all, identity) << "epoch " << epoch;
    for (int world = 2; world <= 4; ++world) {
      std::vector<std::vector<std::vector<int64_t>>> ranks;
      for (int rank = 0; rank < world; ++rank) {
        auto reader = OpenReader(paths, Options(world, rank));
        ASSERT_TRUE(reader.ok()) << reader.status().message();
        ranks.push_back(ReadEpoch(**reader, epoch));
      }
      for (size_t s = 0; s < one_rank.size(); ++s) {
        std::vector<int64_t> merged;
        for (const auto& rank : ranks) merged.insert(merged.end(), rank[s].begin(), rank[s].end());
        std::sort(merged.begin(), merged.end());
        std::vector<int64_t> expected = one_rank[s];
        std::sort(expected.begin(), expected.end());
        EXPECT_EQ(merged, expected) << world << " ranks, epoch " << epoch << ", step " << s;
      }
    }
  }
  // Another epoch, another order.
  EXPECT_NE(ReadEpoch(**single, 0), ReadEpoch(**single, 1));
}

TEST(StreamReaderTest, StartingAnywhereGivesTheBatchesOfAnUninterruptedRun) {
  ScratchDir dir;
  const std::vector<std::string> paths = WriteDataSet(dir, {40, 23});
  auto whole = OpenReader(paths, Options(2, 1));
  ASSERT_TRUE(whole.ok());
  std::vector<std::vector<int64_t>> uninterrupted = ReadEpoch(**whole, 0);
  for (const auto& step : ReadEpoch(**whole, 1)) uninterrupted.push_back(step);
  const int64_t steps = (*whole)->steps_per_epoch();
  for (int64_t start : {int64_t{0}, int64_t{3}, steps - 1, steps, steps + 4}) {
    auto resumed = OpenReader(paths, Options(2, 1));
    ASSERT_TRUE(resumed.ok());
    (*resumed)->Seek(start / steps, start % steps, 2 * steps);
    for (int64_t g = start; g < 2 * steps; ++g) {
      StatusOr<BatchView> batch = (*resumed)->Batch(g / steps, g % steps);
      ASSERT_TRUE(batch.ok()) << batch.status().message();
      EXPECT_EQ(RowsOf(*batch), uninterrupted[g]) << "started at " << start << ", step " << g;
    }
  }
  // Jumping back (a Batch that is not the next one) seeks by itself.
  StatusOr<BatchView> again = (*whole)->Batch(0, 2);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(RowsOf(*again), uninterrupted[2]);
}

TEST(StreamReaderTest, StopsAtTheStopStep) {
  ScratchDir dir;
  auto reader = OpenReader(WriteDataSet(dir, {50}), Options(1, 0));
  ASSERT_TRUE(reader.ok());
  (*reader)->Seek(0, 0, 3);
  for (int64_t s = 0; s < 3; ++s) ASSERT_TRUE((*reader)->Batch(0, s).ok());
  StatusOr<BatchView> beyond = (*reader)->Batch(0, 3);
  ASSERT_FALSE(beyond.ok());
  EXPECT_NE(beyond.status().message().find("beyond its stop at 3"), std::string::npos);
}

TEST(StreamReaderTest, AWindowSmallerThanTheRankCountIsRefusedNamingTheKey) {
  ScratchDir dir;
  StreamOptions options = Options(4, 0);
  options.window_blocks = 3;
  auto reader = OpenReader(WriteDataSet(dir, {50}), options);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(reader.status().message().find("data.shuffle_window_blocks is 3 but there are 4 ranks"), std::string::npos)
      << reader.status().message();
}

// Reads epoch 0 until an error; returns it (or "no error").
std::string FirstError(const std::vector<std::string>& paths, StreamOptions options) {
  auto reader = OpenReader(paths, options);
  if (!reader.ok()) return "open: " + reader.status().message();
  for (int64_t s = 0; s < (*reader)->steps_per_epoch(); ++s) {
    StatusOr<BatchView> batch = (*reader)->Batch(0, s);
    if (!batch.ok()) return batch.status().message();
  }
  return "no error";
}

void Poke(const std::string& path, const std::string& dataset, hsize_t row, double value) {
  H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
  H5Handle set(H5Dopen2(file.get(), dataset.c_str(), H5P_DEFAULT));
  H5Handle space(H5Dget_space(set.get()));
  const hsize_t one = 1;
  H5Sselect_elements(space.get(), H5S_SELECT_SET, 1, &row);
  H5Handle memory(H5Screate_simple(1, &one, nullptr));
  ASSERT_GE(H5Dwrite(set.get(), H5T_NATIVE_DOUBLE, memory.get(), space.get(), H5P_DEFAULT, &value), 0);
}

TEST(StreamReaderTest, BadValuesStopReadingNamingFileColumnAndRow) {
  ScratchDir dir;
  const std::vector<std::string> paths = WriteDataSet(dir, {30, 30});
  Poke(paths[1], "label", 12, std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(FirstError(paths, Options(1, 0)),
            paths[1] + ": column 'label' row 12: label is NaN; labels must be finite values in [0, 1]");
  Poke(paths[1], "label", 12, 0);
  Poke(paths[0], "id", 29, 5);
  EXPECT_NE(FirstError(paths, Options(1, 0))
                .find(paths[0] + ": column 'id' row 29: id 5 out of range [0, 5) (vocab size); ids must be integers "
                                 "below the vocab size: raise data.vocab_sizes.id"),
            std::string::npos);
  Poke(paths[0], "id", 29, 4);
  Poke(paths[0], "x", 3, std::numeric_limits<double>::infinity());
  EXPECT_NE(FirstError(paths, Options(1, 0)).find(paths[0] + ": column 'x' row 3: value is inf"), std::string::npos);
  Poke(paths[0], "x", 3, 3);
  EXPECT_EQ(FirstError(paths, Options(1, 0)), "no error");
  // Only the rank that owns the bad block sees it; the others read on.
  Poke(paths[0], "x", 3, std::numeric_limits<double>::quiet_NaN());
  int failed = 0;
  for (int rank = 0; rank < 2; ++rank) failed += FirstError(paths, Options(2, rank)) != "no error";
  EXPECT_EQ(failed, 1);
}

TEST(StreamReaderTest, CorruptCompressedChunkIsAnErrorNamingFileAndColumn) {
  ScratchDir dir;
  const std::vector<std::string> paths = WriteDataSet(dir, {64});
  haddr_t address = 0;
  hsize_t num_bytes = 0;
  {
    H5Handle file(H5Fopen(paths[0].c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    H5Handle set(H5Dopen2(file.get(), "x", H5P_DEFAULT));
    const hsize_t origin = 32;  // the third chunk of 16 rows
    ASSERT_GE(H5Dget_chunk_info_by_coord(set.get(), &origin, nullptr, &address, &num_bytes), 0);
    ASSERT_GT(num_bytes, 0u);
  }
  {
    std::fstream out(paths[0], std::ios::in | std::ios::out | std::ios::binary);
    out.seekp(static_cast<std::streamoff>(address));
    const std::string garbage(num_bytes, '\x5a');
    out.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  const std::string error = FirstError(paths, Options(1, 0));
  // The first block read that touches the chunk (rows 32..39 or 40..47) fails.
  EXPECT_EQ(error.rfind("data file '" + paths[0] + "': could not read column 'x' (rows ", 0), 0u) << error;
  EXPECT_NE(error.find("); the file is truncated or corrupt, re-create it"), std::string::npos) << error;
}

TEST(StreamReaderTest, InMemoryGivesTheBatchesOfStreamingAndReadsNoFileAfterOpen) {
  ScratchDir dir;
  const std::vector<std::string> paths = WriteDataSet(dir, {45, 0, 17, 30});
  for (int world = 1; world <= 3; ++world) {
    for (int rank = 0; rank < world; ++rank) {
      auto streaming = OpenReader(paths, Options(world, rank));
      StreamOptions options = Options(world, rank);
      options.in_memory = true;
      auto in_memory = OpenReader(paths, options);
      ASSERT_TRUE(streaming.ok() && in_memory.ok()) << in_memory.status().message();
      EXPECT_EQ((*streaming)->memory_bytes(), 0);
      // 92 rows of x, id and label (4 bytes each); tags: an offset (8) per row and one more per
      // block (13 blocks of <= 8 rows), and 91 ids (row g has g % 3).
      EXPECT_EQ((*in_memory)->memory_bytes(), 92 * 3 * 4 + (92 + 13) * 8 + 91 * 4);
      EXPECT_LT((*in_memory)->buffer_bytes(), (*streaming)->buffer_bytes());
      for (int64_t epoch : {0, 1, 2}) {
        EXPECT_EQ(ReadEpoch(**in_memory, epoch), ReadEpoch(**streaming, epoch))
            << world << " ranks, rank " << rank << ", epoch " << epoch;
      }
    }
  }
  StreamOptions options = Options(2, 1);
  options.in_memory = true;
  auto reader = OpenReader(paths, options);
  ASSERT_TRUE(reader.ok());
  auto streaming = OpenReader(paths, Options(2, 1));
  ASSERT_TRUE(streaming.ok());
  const auto expected = ReadEpoch(**streaming, 3);
  for (const std::string& path : paths) std::filesystem::resize_file(path, 0);
  EXPECT_EQ(ReadEpoch(**reader, 3), expected);
  (*reader)->Seek(3, 2, 0);  // seeking too
  StatusOr<BatchView> batch = (*reader)->Batch(3, 2);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(RowsOf(*batch), expected[2]);
}

TEST(StreamReaderTest, InMemoryChecksEveryRowAtOpenOnEveryRank) {
  ScratchDir dir;
  const std::vector<std::string> paths = WriteDataSet(dir, {30, 30});
  Poke(paths[1], "label", 12, std::numeric_limits<double>::quiet_NaN());
  for (int rank = 0; rank < 2; ++rank) {
    StreamOptions options = Options(2, rank);
    options.in_memory = true;
    EXPECT_EQ(FirstError(paths, options),
              "open: " + paths[1] + ": column 'label' row 12: label is NaN; labels must be finite values in [0, 1]");
  }
}

TEST(StreamReaderTest, SmallBatchesWakeTheReaderOnceInManyBatches) {
  // Batches of 10 rows get a ring of 52 (512 rows), whatever prefetch_batches below that says.
  ScratchDir dir;
  const std::vector<std::string> paths = WriteDataSet(dir, {600});
  StreamOptions options = Options(1, 0);
  options.in_memory = true;
  auto reader = OpenReader(paths, options);
  StreamOptions more = options;
  more.prefetch_batches = 52;
  auto same_ring = OpenReader(paths, more);
  more.prefetch_batches = 60;
  auto larger_ring = OpenReader(paths, more);
  ASSERT_TRUE(reader.ok() && same_ring.ok() && larger_ring.ok());
  EXPECT_EQ((*reader)->buffer_bytes(), (*same_ring)->buffer_bytes());
  EXPECT_LT((*reader)->buffer_bytes(), (*larger_ring)->buffer_bytes());
  // The reader is woken when half the ring is free, not for every batch: a thread blocks (a
  // voluntary context switch) about once in 26 batches instead of about once a batch. Each batch
  // takes the loop 20 us, as training would, so that the reader keeps ahead.
  const int64_t steps = (*reader)->steps_per_epoch(), epochs = 40;
  (*reader)->Seek(0, 0, 0);
  ASSERT_TRUE((*reader)->Batch(0, 0).ok());
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  for (int64_t g = 1; g < epochs * steps; ++g) {
    ASSERT_TRUE((*reader)->Batch(g / steps, g % steps).ok());
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < std::chrono::microseconds(20)) {
    }
  }
  getrusage(RUSAGE_SELF, &after);
  const double per_batch = static_cast<double>(after.ru_nvcsw - before.ru_nvcsw) / static_cast<double>(epochs * steps);
  EXPECT_LT(per_batch, 0.3) << "voluntary context switches a batch";
}

TEST(StreamReaderTest, BufferBoundDoesNotGrowWithTheRows) {
  ScratchDir small_dir, large_dir;
  auto small = OpenReader(WriteDataSet(small_dir, {64}), Options(1, 0));
  auto large = OpenReader(WriteDataSet(large_dir, {640, 640}), Options(1, 0));
  ASSERT_TRUE(small.ok() && large.ok());
  // Only the per-block metadata (a few dozen bytes a block) grows.
  const int64_t blocks = (*large)->blocks().num_blocks() - (*small)->blocks().num_blocks();
  EXPECT_LE((*large)->buffer_bytes() - (*small)->buffer_bytes(), blocks * 64);
}

}  // namespace
}  // namespace ectrain::data
