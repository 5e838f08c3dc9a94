#include "train/data_feed.h"

#include <cstdio>

#include "core/format.h"
#include "core/log.h"
#include "data/sharding.h"
#include "data/training_files.h"

namespace ectrain::train {
namespace {

// The kernel's estimate of memory available without swapping (/proc/meminfo); -1 if unknown.
int64_t AvailableMemoryBytes() {
  std::FILE* meminfo = std::fopen("/proc/meminfo", "r");
  if (meminfo == nullptr) return -1;
  char line[256];
  long long kilobytes = -1;
  while (std::fgets(line, sizeof(line), meminfo) != nullptr) {
    if (std::sscanf(line, "MemAvailable: %lld kB", &kilobytes) == 1) break;
  }
  std::fclose(meminfo);
  return kilobytes < 0 ? -1 : kilobytes * 1024;
}

}  // namespace

StatusOr<DataFeed> DataFeed::Open(const data::DataOptions& options, int world_size, int rank, int64_t global_batch_size,
                                  uint64_t seed) {
  ASSIGN_OR_RETURN(data::TrainingFiles training, data::OpenTrainingFiles(options));
  const data::FeatureSchema& schema = training.schema;
  data::StreamOptions stream;
  stream.global_batch_size = global_batch_size;
  stream.world_size = world_size;
  stream.rank = rank;
  stream.seed = seed;
  stream.block_rows = options.block_rows;
  stream.window_blocks = options.shuffle_window_blocks;
  stream.prefetch_batches = options.prefetch_batches;
  stream.in_memory = options.in_memory;
  const int64_t decoded_bytes = data::DecodedBytes(training.files, schema);
  const int64_t available_bytes = AvailableMemoryBytes();
  if (options.in_memory) {
    RETURN_IF_ERROR(data::CheckFitsInMemory(decoded_bytes, options.ranks_on_host, available_bytes));
  }
  DataFeed feed;
  ASSIGN_OR_RETURN(feed.reader_, data::StreamReader::Open(std::move(training.files), schema, stream));
  feed.schema_json_ = std::make_shared<const std::string>(schema.ToJson());
  feed.schema_ = schema.ColumnsOnly();
  feed.files_ = std::move(training.paths);
  feed.global_batch_size_ = global_batch_size;

  if (rank == 0) {  // the same on every rank: say it once
    const data::BlockTable& blocks = feed.reader_->blocks();
    const int64_t windows = (blocks.num_blocks() + options.shuffle_window_blocks - 1) / options.shuffle_window_blocks;
    const int64_t own = (options.shuffle_window_blocks + world_size - 1) / world_size;
    LOG_INFO << "training data: " << feed.files_.size() << " file(s), " << blocks.num_rows() << " rows in "
             << blocks.num_blocks() << " blocks of " << options.block_rows << " rows, " << windows
             << " shuffle window(s) of " << options.shuffle_window_blocks
             << " blocks per epoch; reader buffers per rank <= " << FormatMegabytes(feed.buffer_bytes()) << " ("
             << feed.buffer_bytes() << " bytes: 2 windows of <= " << own << " blocks + " << options.prefetch_batches
             << " batches)";
    if (options.in_memory) {
      char seconds[32];
      std::snprintf(seconds, sizeof(seconds), "%.2f s", feed.reader_->memory_load_seconds());
      LOG_INFO << "training data in memory (data.in_memory): " << FormatMegabytes(feed.memory_bytes())
               << " decoded per rank, read in " << seconds << "; no file is read while training";
    } else if (available_bytes >= 0 && 4 * decoded_bytes * options.ranks_on_host <= available_bytes) {
      // Streamed data that would fit easily (a quarter of the free memory, every rank's copy): say so.
      LOG_INFO << "the training data would take " << FormatMegabytes(decoded_bytes) << " per rank in memory; with "
               << "data.in_memory: true it is read once instead of every epoch (no decompression while training)";
    }
    const int64_t chunk_rows = training.chunk_rows;
    if (chunk_rows > options.block_rows || (chunk_rows > 0 && options.block_rows % chunk_rows != 0)) {
      LOG_WARNING << "data.block_rows " << options.block_rows << " is not a multiple of the chunk size (" << chunk_rows
                  << " rows) of " << training.chunked_file << ": a chunk is decompressed once per block that touches "
                  << "it; set data.block_rows to a multiple of " << chunk_rows << " for full read speed";
    }
    if (options.shuffle_window_blocks % world_size != 0) {
      LOG_WARNING << "data.shuffle_window_blocks " << options.shuffle_window_blocks << " is not a multiple of the "
                  << world_size << " ranks: some ranks own more blocks of a window and get more rows per step";
    }
  }
  return feed;
}

int64_t DataFeed::GlobalRowsInStep(int64_t step) const {
  return data::GlobalBatchRange(num_rows(), global_batch_size_, step).size();
}

}  // namespace ectrain::train
