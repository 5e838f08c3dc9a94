#include "data/stream_reader.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/log.h"
#include "data/hdf5_util.h"

namespace ectrain::data {
namespace {

// This rank's blocks of one shuffle window, read. Block slot t holds the window's block
// k = rank + t * world_size; its rows are row-major (so that gathering a row for a batch touches a
// few cache lines, not one per column), from row t * block_rows of the window's own buffers, or,
// with the data set in memory, from the block's first row there (the buffers stay empty).
struct Window {
  int64_t epoch = -1;
  RowRange positions;          // epoch positions of the whole window (all ranks' blocks)
  std::vector<int64_t> ids;    // (window_blocks) block ids, window order; num_blocks used
  std::vector<int64_t> sizes;  // their rows
  int64_t num_blocks = 0;
  int64_t own_blocks = 0;                        // this rank's
  int64_t loaded = 0;                            // of own_blocks
  std::vector<float> dense;                      // (own_max * block_rows, num_dense)
  std::vector<int32_t> categorical;              // (own_max * block_rows, num_categorical)
  std::vector<float> labels;                     // (own_max * block_rows)
  std::vector<int32_t> permutation;              // (own_max, block_rows): row j of the block's order
  std::vector<int64_t> first_row;                // (own_max) slot t's first row in the row arrays
  std::vector<int64_t> bag_offsets;              // (num_bags, own_max, block_rows + 1)
  std::vector<std::vector<int32_t>> bag_values;  // (num_bags * own_max)
  bool ready() const { return loaded == own_blocks; }
};

// One batch of the ring, row-major, with room for a whole global batch.
struct Slot {
  int64_t num_rows = 0;
  std::vector<float> dense;
  std::vector<int32_t> categorical;
  std::vector<float> labels;
  std::vector<int64_t> bag_offsets;  // (num_bags, global_batch_size + 1)
  std::vector<std::vector<int32_t>> bag_values;
  std::vector<int64_t> bag_used;  // ids in use of each bag_values
  std::vector<BagColumnView> bag_views;
  BatchView view;
};

enum class Work { kNone, kLoad, kAssemble };

}  // namespace

struct StreamReader::Impl {
  // Fixed at Open.
  StreamOptions options;
  FeatureSchema schema;
  BlockTable table;
  std::vector<std::string> paths;
  int64_t steps_per_epoch = 0;
  int num_dense = 0, num_categorical = 0, num_bags = 0;
  int64_t own_max = 0;  // this rank's blocks in a window, at most
  int64_t bytes = 0;

  // in_memory: every block, decoded at Open, row-major in block-table order (block b's rows from
  // row table.block(b).global_begin); batches are gathered straight from here, the windows keep
  // only their blocks' row orders, and the files are closed.
  struct InMemory {
    std::vector<float> dense;                       // (num_rows, num_dense)
    std::vector<int32_t> categorical;               // (num_rows, num_categorical)
    std::vector<float> labels;                      // (num_rows)
    std::vector<std::vector<int64_t>> bag_offsets;  // (num_bags * num_blocks): a block's rows + 1 each
    std::vector<std::vector<int32_t>> bag_values;   // (num_bags * num_blocks)
    int64_t bytes = 0;
    double load_seconds = 0;
  };
  std::unique_ptr<InMemory> memory;

  // The reader thread's own state.
  std::vector<std::unique_ptr<ColumnFile>> files;
  std::vector<int64_t> last_used;
  int64_t use_tick = 0;
  int open_files = 0;
  ReadScratch scratch;
  std::vector<float*> dense_out;
  std::vector<int32_t*> categorical_out;
  std::vector<int64_t*> bag_offsets_out;
  std::vector<std::vector<int32_t>*> bag_values_out;
  std::unique_ptr<EpochPlan> plan;
  int64_t load_epoch = 0, load_window = 0;  // the next window to read
  Window windows[2];
  int queue_front = 0, queue_size = 0;  // windows in use, oldest first
  int64_t next_step = 0;                // global step being assembled
  int64_t assemble_position = 0;        // its next epoch position
  int64_t slot_rows = 0;
  int64_t stop_step = 0;
  int64_t generation_seen = -1;
  bool failed = false;
  std::vector<Slot> slots;
  std::vector<int64_t> gather_rows;   // (global_batch_size) rows of the batch being copied, in the row arrays
  std::vector<int64_t> gather_slots;  // their block slots (multi-valued columns only)

  // Shared between the threads, under `mu`.
  std::mutex mu;
  std::condition_variable reader_wakeup, batch_ready;
  bool shutdown = false;
  bool seek_pending = false;
  int64_t seek_step = 0, seek_stop = 0;
  int64_t generation = 0;
  int64_t produced_end = 0;    // global steps before this are ready (this generation)
  int64_t consumer_floor = 0;  // the oldest global step the training loop may still read
  Status error;

  // The training loop's own state.
  bool started = false;
  int64_t expected_step = 0;
  int64_t stop_limit = 0;
  double wait_seconds = 0;

  std::thread thread;

  int64_t ring() const { return static_cast<int64_t>(slots.size()); }
  Window& front() { return windows[queue_front]; }

  // Reader thread.
  void Run();
  void ApplySeek(int64_t step, int64_t stop);
  Work Choose(int64_t floor) const;
  bool NextWindowNeeded() const;
  Status Load();
  void BeginWindow();
  StatusOr<ColumnFile*> File(int file);
  // Block `id` from its file: rows row-major from `dense`, `categorical` and `labels`; multi-valued
  // columns into bag_offsets_out / bag_values_out, which the caller sets.
  Status ReadBlock(int64_t id, float* dense, int32_t* categorical, float* labels);
  Status LoadBlock(Window& window, int64_t slot);
  Status LoadAllIntoMemory();  // on the opening thread, before the reader thread starts
  // Where a window's rows are: its buffers, or the data set in memory.
  struct RowArrays {
    const float* dense;
    const int32_t* categorical;
    const float* labels;
  };
  RowArrays Rows(const Window& window) const;
  // Slot t's offsets and ids of multi-valued column b.
  std::pair<const int64_t*, const int32_t*> Bag(const Window& window, int b, int64_t t) const;
  // Assembles what the front window holds of the current batch; sets `published` when done.
  void Assemble(int64_t& published);
  void CopyRows(const Window& window, int64_t begin, int64_t end, Slot& slot);
  void Finish(Slot& slot);
};

void StreamReader::Impl::Run() {
  std::unique_lock<std::mutex> lock(mu);
  for (;;) {
    if (shutdown) return;
    if (seek_pending) {
      ApplySeek(seek_step, seek_stop);
      generation_seen = generation;
      seek_pending = false;
      failed = false;
    }
    const Work work = failed ? Work::kNone : Choose(consumer_floor);
    if (work == Work::kNone) {
      reader_wakeup.wait(lock);
      continue;
    }
    lock.unlock();
    int64_t published = -1;
    Status status;
    if (work == Work::kLoad) {
      status = Load();
    } else {
      Assemble(published);
    }
    lock.lock();
    if (!status.ok()) {
      failed = true;
      if (generation_seen == generation) {
        error = std::move(status);
        batch_ready.notify_all();
      }
    } else if (published >= 0 && generation_seen == generation && !seek_pending) {
      produced_end = published + 1;
      batch_ready.notify_all();
    }
  }
}

void StreamReader::Impl::ApplySeek(int64_t step, int64_t stop) {
  next_step = step;
  stop_step = stop;
  const int64_t epoch = step / steps_per_epoch;
  assemble_position = GlobalBatchRange(table.num_rows(), options.global_batch_size, step % steps_per_epoch).begin;
  slot_rows = 0;
  queue_front = queue_size = 0;
  if (plan->epoch() != epoch) plan->Reset(options.seed, epoch);
  load_epoch = epoch;
  load_window = plan->WindowOf(assemble_position);
}

bool StreamReader::Impl::NextWindowNeeded() const {
  if (stop_step <= 0) return true;
  const int64_t last = stop_step - 1;
  const int64_t last_epoch = last / steps_per_epoch;
  if (load_epoch != last_epoch) return load_epoch < last_epoch;
  const int64_t end = GlobalBatchRange(table.num_rows(), options.global_batch_size, last % steps_per_epoch).end;
  return plan->WindowPositions(load_window).begin < end;
}

Work StreamReader::Impl::Choose(int64_t floor) const {
  const bool batch_wanted = (stop_step <= 0 || next_step < stop_step) && next_step < floor + ring();
  if (batch_wanted && queue_size > 0 && windows[queue_front].ready()) return Work::kAssemble;
  if (batch_wanted) return Work::kLoad;  // the front window (or its first block) is missing
  // Read ahead while the ring is full: finish the windows begun, then begin the next one.
  for (int i = 0; i < queue_size; ++i) {
    if (!windows[(queue_front + i) % 2].ready()) return Work::kLoad;
  }
  return queue_size < 2 && NextWindowNeeded() ? Work::kLoad : Work::kNone;
}

Status StreamReader::Impl::Load() {
  for (int i = 0; i < queue_size; ++i) {
    Window& window = windows[(queue_front + i) % 2];
    if (!window.ready()) return LoadBlock(window, window.loaded);
  }
  CHECK(queue_size < 2) << "reader: no window buffer free";
  BeginWindow();
  Window& window = windows[(queue_front + queue_size - 1) % 2];
  return window.ready() ? Status::Ok() : LoadBlock(window, 0);
}

void StreamReader::Impl::BeginWindow() {
  Window& window = windows[(queue_front + queue_size) % 2];
  ++queue_size;
  if (plan->epoch() != load_epoch) plan->Reset(options.seed, load_epoch);
  const std::span<const int64_t> ids = plan->WindowBlocks(load_window);
  window.epoch = load_epoch;
  window.positions = plan->WindowPositions(load_window);
  window.num_blocks = static_cast<int64_t>(ids.size());
  for (int64_t k = 0; k < window.num_blocks; ++k) {
    window.ids[k] = ids[k];
    window.sizes[k] = table.block(ids[k]).num_rows;
  }
  const int64_t world = options.world_size;
  window.own_blocks = window.num_blocks > options.rank ? (window.num_blocks - options.rank + world - 1) / world : 0;
  window.loaded = 0;
  if (++load_window == plan->num_windows()) {
    ++load_epoch;
    load_window = 0;
    plan->Reset(options.seed, load_epoch);
  }
}

StatusOr<ColumnFile*> StreamReader::Impl::File(int file) {
  if (files[file] == nullptr) {
    if (open_files >= options.max_open_files) {
      int oldest = -1;
      for (int f = 0; f < static_cast<int>(files.size()); ++f) {
        if (files[f] != nullptr && (oldest < 0 || last_used[f] < last_used[oldest])) oldest = f;
      }
      files[oldest].reset();
      --open_files;
    }
    ASSIGN_OR_RETURN(ColumnFile opened, ColumnFile::Open(paths[file]));
    ASSIGN_OR_RETURN(const int64_t rows, opened.Bind(schema, /*with_labels=*/true));
    if (rows != table.file_rows(file)) {
      return DataError("data file '" + paths[file] + "' now has " + std::to_string(rows) + " rows, but had " +
                       std::to_string(table.file_rows(file)) +
                       " when training started; do not change the data "
                       "while training");
    }
    files[file] = std::make_unique<ColumnFile>(std::move(opened));
    ++open_files;
  }
  last_used[file] = ++use_tick;
  return files[file].get();
}

Status StreamReader::Impl::ReadBlock(int64_t id, float* dense, int32_t* categorical, float* labels) {
  const Block& block = table.block(id);
  ASSIGN_OR_RETURN(ColumnFile * file, File(block.file));
  for (int c = 0; c < num_dense; ++c) dense_out[c] = dense + c;
  for (int c = 0; c < num_categorical; ++c) categorical_out[c] = categorical + c;
  for (int b = 0; b < num_bags; ++b) bag_values_out[b]->clear();
  const RowsOut out{dense_out, num_dense, categorical_out, num_categorical, labels, bag_offsets_out, bag_values_out};
  return file->ReadRows(block.file_begin, block.file_begin + block.num_rows, out, scratch);
}

Status StreamReader::Impl::LoadBlock(Window& window, int64_t slot) {
  const int64_t block_rows = options.block_rows;
  const int64_t id = window.ids[options.rank + slot * options.world_size];
  if (memory != nullptr) {
    window.first_row[slot] = table.block(id).global_begin;  // read at Open
  } else {
    window.first_row[slot] = slot * block_rows;
    for (int b = 0; b < num_bags; ++b) {
      bag_offsets_out[b] = window.bag_offsets.data() + (b * own_max + slot) * (block_rows + 1);
      bag_values_out[b] = &window.bag_values[b * own_max + slot];
    }
    RETURN_IF_ERROR(ReadBlock(id, window.dense.data() + slot * block_rows * num_dense,
                              window.categorical.data() + slot * block_rows * num_categorical,
                              window.labels.data() + slot * block_rows));
  }
  BlockRowPermutation(options.seed, window.epoch, id,
                      std::span<int32_t>(window.permutation.data() + slot * block_rows, table.block(id).num_rows));
  ++window.loaded;
  return Status::Ok();
}

StreamReader::Impl::RowArrays StreamReader::Impl::Rows(const Window& window) const {
  if (memory != nullptr) return {memory->dense.data(), memory->categorical.data(), memory->labels.data()};
  return {window.dense.data(), window.categorical.data(), window.labels.data()};
}

std::pair<const int64_t*, const int32_t*> StreamReader::Impl::Bag(const Window& window, int b, int64_t t) const {
  if (memory != nullptr) {
    const int64_t at = b * table.num_blocks() + window.ids[options.rank + t * options.world_size];
    return {memory->bag_offsets[at].data(), memory->bag_values[at].data()};
  }
  return {window.bag_offsets.data() + (b * own_max + t) * (options.block_rows + 1),
          window.bag_values[b * own_max + t].data()};
}

Status StreamReader::Impl::LoadAllIntoMemory() {
  const auto start = std::chrono::steady_clock::now();
  const int64_t rows = table.num_rows(), blocks = table.num_blocks();
  auto loaded = std::make_unique<InMemory>();
  loaded->dense.resize(rows * num_dense);
  loaded->categorical.resize(rows * num_categorical);
  loaded->labels.resize(rows);
  loaded->bag_offsets.resize(num_bags * blocks);
  loaded->bag_values.resize(num_bags * blocks);
  int64_t bag_bytes = 0;
  for (int64_t id = 0; id < blocks; ++id) {
    const Block& block = table.block(id);
    for (int b = 0; b < num_bags; ++b) {
      loaded->bag_offsets[b * blocks + id].resize(block.num_rows + 1);
      bag_offsets_out[b] = loaded->bag_offsets[b * blocks + id].data();
      bag_values_out[b] = &loaded->bag_values[b * blocks + id];
    }
    RETURN_IF_ERROR(ReadBlock(id, loaded->dense.data() + block.global_begin * num_dense,
                              loaded->categorical.data() + block.global_begin * num_categorical,
                              loaded->labels.data() + block.global_begin));
    for (int b = 0; b < num_bags; ++b) {
      std::vector<int32_t>& values = loaded->bag_values[b * blocks + id];
      values.shrink_to_fit();  // appending left up to twice the room
      bag_bytes += (block.num_rows + 1) * 8 + static_cast<int64_t>(values.size()) * 4;
    }
  }
  // Nothing is read from the files again: close them (HDF5 keeps metadata per open file).
  for (auto& file : files) file.reset();
  open_files = 0;
  ReleaseHdf5FreeLists();
  loaded->bytes = rows * 4 * (num_dense + num_categorical + 1) + bag_bytes;
  loaded->load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  memory = std::move(loaded);
  return Status::Ok();
}

void StreamReader::Impl::CopyRows(const Window& window, int64_t begin, int64_t end, Slot& slot) {
  const int64_t block_rows = options.block_rows;
  const int world = options.world_size;
  const std::span<const int64_t> sizes(window.sizes.data(), window.num_blocks);
  // First where the rows are, then the copies. Consecutive positions come from different blocks,
  // so the rows lie all over the window (megabytes): copying them as found stalls on a cache miss
  // each; knowing them ahead, each copy prefetches the row kPrefetchRows places on.
  int64_t n = 0;
  ForEachInWindow(sizes, begin, end, world, options.rank, [&](int64_t k, int64_t j) {
    const int64_t t = k / world;
    CHECK(slot_rows + n < options.global_batch_size) << "reader: batch overflow";
    if (num_bags > 0) gather_slots[n] = t;
    gather_rows[n++] = window.first_row[t] + window.permutation[t * block_rows + j];
  });
  const RowArrays rows = Rows(window);
  constexpr int64_t kPrefetchRows = 16;
  for (int64_t g = 0; g < n; ++g) {
    if (g + kPrefetchRows < n) {
      const int64_t ahead = gather_rows[g + kPrefetchRows];
      __builtin_prefetch(rows.dense + ahead * num_dense);
      __builtin_prefetch(rows.categorical + ahead * num_categorical);
      __builtin_prefetch(rows.labels + ahead);
    }
    const int64_t at = gather_rows[g];
    const int64_t i = slot_rows + g;
    // Plain loops: a row is a few dozen bytes, less than a memmove call costs.
    const float* dense_in = rows.dense + at * num_dense;
    float* dense_out_row = slot.dense.data() + i * num_dense;
    for (int c = 0; c < num_dense; ++c) dense_out_row[c] = dense_in[c];
    const int32_t* ids_in = rows.categorical + at * num_categorical;
    int32_t* ids_out = slot.categorical.data() + i * num_categorical;
    for (int c = 0; c < num_categorical; ++c) ids_out[c] = ids_in[c];
    slot.labels[i] = rows.labels[at];
    if (num_bags > 0) {  // multi-valued columns: the row's ids in its block
      const int64_t t = gather_slots[g], row = at - window.first_row[t];
      for (int b = 0; b < num_bags; ++b) {
        const auto [offsets, block_ids] = Bag(window, b, t);
        const int32_t* ids = block_ids + offsets[row];
        const int64_t count = offsets[row + 1] - offsets[row];
        std::vector<int32_t>& values = slot.bag_values[b];
        int64_t& used = slot.bag_used[b];
        if (used + count > static_cast<int64_t>(values.size())) {
          values.resize(std::max<int64_t>(2 * values.size(), used + count));  // rare: more ids than any batch before
        }
        std::copy(ids, ids + count, values.data() + used);
        slot.bag_offsets[b * (options.global_batch_size + 1) + i] = used;
        used += count;
      }
    }
  }
  slot_rows += n;
}

void StreamReader::Impl::Finish(Slot& slot) {
  const int64_t batch = options.global_batch_size;
  slot.num_rows = slot_rows;
  for (int b = 0; b < num_bags; ++b) {
    slot.bag_offsets[b * (batch + 1) + slot_rows] = slot.bag_used[b];
    slot.bag_views[b] = {slot.bag_offsets.data() + b * (batch + 1), slot.bag_values[b].data()};
  }
  BatchView& view = slot.view;
  view.num_rows = slot_rows;
  view.dense = slot.dense.data();
  view.num_dense = num_dense;
  view.categorical = slot.categorical.data();
  view.num_categorical = num_categorical;
  view.labels = slot.labels.data();
  view.bags = num_bags > 0 ? slot.bag_views.data() : nullptr;
  view.num_bags = num_bags;
  view.bag_row_begin = 0;
}

void StreamReader::Impl::Assemble(int64_t& published) {
  const int64_t step = next_step % steps_per_epoch;
  const RowRange batch = GlobalBatchRange(table.num_rows(), options.global_batch_size, step);
  Slot& slot = slots[next_step % ring()];
  if (slot_rows == 0 && assemble_position == batch.begin) {
    for (int b = 0; b < num_bags; ++b) slot.bag_used[b] = 0;
  }
  Window& window = front();
  CHECK(window.epoch == next_step / steps_per_epoch && window.positions.begin <= assemble_position &&
        assemble_position < window.positions.end)
      << "reader: window (epoch " << window.epoch << ", positions " << window.positions.begin << ".."
      << window.positions.end << ") does not hold position " << assemble_position << " of step " << next_step;
  const int64_t end = std::min(batch.end, window.positions.end);
  CopyRows(window, assemble_position - window.positions.begin, end - window.positions.begin, slot);
  assemble_position = end;
  if (assemble_position == window.positions.end) {  // the window is used up: free it
    queue_front = (queue_front + 1) % 2;
    --queue_size;
  }
  if (assemble_position == batch.end) {
    Finish(slot);
    published = next_step;
    ++next_step;
    slot_rows = 0;
    assemble_position = step + 1 < steps_per_epoch ? batch.end : 0;
  }
}

StreamReader::StreamReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

StreamReader::~StreamReader() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->shutdown = true;
  }
  impl_->reader_wakeup.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int64_t RingBatches(const StreamOptions& options) {
  // The ring: prefetch_batches batches, or more when those would hold under 512 rows. The
  // reader is woken once half the ring is free (Batch()), so small batches cost it fewer wake-ups
  // and context switches a row (bench/RESULTS.md, profile at batch 32).
  constexpr int64_t kRingRows = 512;
  const int64_t batch = options.global_batch_size;
  return std::max(options.prefetch_batches, (kRingRows + batch - 1) / batch);
}

int64_t ReaderBufferBytes(const StreamOptions& options, const BlockTable& table, int num_dense, int num_categorical,
                          const std::vector<int64_t>& bag_values_total, int num_files) {
  const int64_t num_bags = static_cast<int64_t>(bag_values_total.size());
  const int64_t own_max = (options.window_blocks + options.world_size - 1) / options.world_size;
  const int64_t block_rows = options.block_rows, batch = options.global_batch_size, plane = own_max * block_rows;
  int64_t largest_bag_block = 0, mean_ids_per_row_bytes = 0;
  for (const int64_t total : bag_values_total) {
    const double mean = static_cast<double>(total) / static_cast<double>(std::max<int64_t>(table.num_rows(), 1));
    largest_bag_block =
        std::max(largest_bag_block, static_cast<int64_t>(2 * mean * static_cast<double>(block_rows)) + 16);
    mean_ids_per_row_bytes += static_cast<int64_t>(4 * 2 * mean) + 1;
  }
  // Windows (in memory: their row permutations only), ring, scratch and metadata.
  const int64_t window_row_bytes =
      options.in_memory ? 4 : 4 * (num_dense + num_categorical + 2) + 8 * num_bags + mean_ids_per_row_bytes;
  const int64_t batch_row_bytes = 4 * (num_dense + num_categorical + 1) + 8 * num_bags + mean_ids_per_row_bytes;
  const int64_t windows = (table.num_blocks() + options.window_blocks - 1) / options.window_blocks;
  return 2 * (plane * window_row_bytes + own_max * (8 + num_bags * 8) + options.window_blocks * 16) +
         RingBatches(options) * (batch * batch_row_bytes + num_bags * 8) + 8 * batch * (num_bags > 0 ? 2 : 1) +
         4 * 8 * std::max(block_rows + 1, largest_bag_block) +
         table.num_blocks() * static_cast<int64_t>(sizeof(Block) + 8) + (windows + 1) * 8 +
         static_cast<int64_t>(num_files) * 64;
}

StatusOr<std::unique_ptr<StreamReader>> StreamReader::Open(std::vector<StreamFile> files, const FeatureSchema& schema,
                                                           const StreamOptions& options) {
  const int world = options.world_size;
  CHECK(world > 0 && options.rank >= 0 && options.rank < world) << "rank " << options.rank << " of " << world;
  CHECK(options.block_rows > 0 && options.global_batch_size > 0 && options.prefetch_batches >= 2 &&
        options.max_open_files > 0);
  if (options.window_blocks < world) {
    return InvalidArgument("data.shuffle_window_blocks is " + std::to_string(options.window_blocks) +
                           " but there are " + std::to_string(world) +
                           " ranks; each rank owns whole blocks of a window, so set it to at "
                           "least the number of ranks (a multiple of it keeps ranks balanced)");
  }
  auto impl = std::make_unique<Impl>();
  Impl& r = *impl;
  r.options = options;
  r.schema = schema.ColumnsOnly();  // binding files needs no vocabularies (large with real data)
  std::vector<int64_t> file_rows;
  std::vector<int64_t> bag_values_total(schema.multi_valued.size(), 0);
  for (const StreamFile& file : files) {
    file_rows.push_back(file.rows);
    r.paths.push_back(file.path);
    CHECK(file.bag_values.size() == bag_values_total.size()) << file.path;
    for (size_t b = 0; b < file.bag_values.size(); ++b) bag_values_total[b] += file.bag_values[b];
  }
  r.table = BlockTable(file_rows, options.block_rows);
  if (r.table.num_rows() == 0) return DataError("the training data has no rows");
  r.steps_per_epoch = StepsPerEpoch(r.table.num_rows(), options.global_batch_size);
  r.plan = std::make_unique<EpochPlan>(r.table, options.window_blocks);
  r.num_dense = static_cast<int>(schema.dense.size());
  r.num_categorical = static_cast<int>(schema.categorical.size());
  r.num_bags = static_cast<int>(schema.multi_valued.size());
  r.own_max = (options.window_blocks + world - 1) / world;

  // Keep the files open for the thread, up to max_open_files.
  r.files.resize(files.size());
  r.last_used.assign(files.size(), 0);
  for (size_t f = 0; f < files.size(); ++f) {
    if (!files[f].file || r.open_files >= options.max_open_files) continue;
    r.files[f] = std::make_unique<ColumnFile>(std::move(*files[f].file));
    ++r.open_files;
  }
  files.clear();

  // Every buffer, now. Ids of multi-valued columns start at twice their mean per row.
  const int64_t block_rows = options.block_rows, batch = options.global_batch_size, plane = r.own_max * block_rows;
  std::vector<int64_t> ids_per_block(r.num_bags), ids_per_batch(r.num_bags);
  for (int b = 0; b < r.num_bags; ++b) {
    const double mean = static_cast<double>(bag_values_total[b]) / static_cast<double>(r.table.num_rows());
    ids_per_block[b] = static_cast<int64_t>(2 * mean * static_cast<double>(block_rows)) + 16;
    ids_per_batch[b] = static_cast<int64_t>(2 * mean * static_cast<double>(batch)) + 16;
  }
  for (Window& window : r.windows) {
    window.ids.resize(options.window_blocks);
    window.sizes.resize(options.window_blocks);
    window.permutation.resize(plane);
    window.first_row.resize(r.own_max);
    if (options.in_memory) continue;  // rows are gathered from the data set in memory
    window.dense.resize(r.num_dense * plane);
    window.categorical.resize(r.num_categorical * plane);
    window.labels.resize(plane);
    window.bag_offsets.resize(r.num_bags * r.own_max * (block_rows + 1));
    window.bag_values.resize(r.num_bags * r.own_max);
    for (int b = 0; b < r.num_bags; ++b) {
      for (int64_t t = 0; t < r.own_max; ++t) window.bag_values[b * r.own_max + t].reserve(ids_per_block[b]);
    }
  }
  // The ring: prefetch_batches batches, or more when those would hold under 512 rows. The
  // reader is woken once half the ring is free (Batch()), so small batches cost it fewer wake-ups
  // and context switches a row (bench/RESULTS.md, profile at batch 32).
  r.slots.resize(static_cast<size_t>(RingBatches(options)));
  r.gather_rows.resize(batch);
  r.gather_slots.resize(r.num_bags > 0 ? batch : 0);
  for (Slot& slot : r.slots) {
    slot.dense.resize(r.num_dense * batch);
    slot.categorical.resize(r.num_categorical * batch);
    slot.labels.resize(batch);
    slot.bag_offsets.resize(r.num_bags * (batch + 1));
    slot.bag_values.resize(r.num_bags);
    for (int b = 0; b < r.num_bags; ++b) slot.bag_values[b].resize(ids_per_batch[b]);
    slot.bag_used.assign(r.num_bags, 0);
    slot.bag_views.resize(r.num_bags);
  }
  r.dense_out.resize(r.num_dense);
  r.categorical_out.resize(r.num_categorical);
  r.bag_offsets_out.resize(r.num_bags);
  r.bag_values_out.resize(r.num_bags);
  int64_t largest_bag_block = 0;
  for (int b = 0; b < r.num_bags; ++b) largest_bag_block = std::max(largest_bag_block, ids_per_block[b]);
  r.scratch.Reserve(std::max(block_rows + 1, largest_bag_block));

  r.bytes = ReaderBufferBytes(options, r.table, r.num_dense, r.num_categorical, bag_values_total,
                              static_cast<int>(r.paths.size()));

  if (options.in_memory) RETURN_IF_ERROR(r.LoadAllIntoMemory());
  r.thread = std::thread([&r] { r.Run(); });
  return std::unique_ptr<StreamReader>(new StreamReader(std::move(impl)));
}

const BlockTable& StreamReader::blocks() const { return impl_->table; }
int64_t StreamReader::num_rows() const { return impl_->table.num_rows(); }
int64_t StreamReader::steps_per_epoch() const { return impl_->steps_per_epoch; }
int64_t StreamReader::buffer_bytes() const { return impl_->bytes; }
double StreamReader::wait_seconds() const { return impl_->wait_seconds; }
int64_t StreamReader::memory_bytes() const { return impl_->memory ? impl_->memory->bytes : 0; }
double StreamReader::memory_load_seconds() const { return impl_->memory ? impl_->memory->load_seconds : 0; }

void StreamReader::Seek(int64_t epoch, int64_t step, int64_t stop_step) {
  Impl& r = *impl_;
  CHECK(epoch >= 0 && step >= 0 && step < r.steps_per_epoch) << "epoch " << epoch << " step " << step;
  const int64_t global = epoch * r.steps_per_epoch + step;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    r.stop_limit = stop_step;
    ++r.generation;
    r.seek_pending = true;
    r.seek_step = global;
    r.seek_stop = stop_step;
    r.produced_end = global;
    r.consumer_floor = global;
    r.error = Status::Ok();
    r.started = true;
    r.expected_step = global;
  }
  r.reader_wakeup.notify_all();
}

StatusOr<BatchView> StreamReader::Batch(int64_t epoch, int64_t step) {
  Impl& r = *impl_;
  CHECK(epoch >= 0 && step >= 0 && step < r.steps_per_epoch) << "epoch " << epoch << " step " << step;
  const int64_t global = epoch * r.steps_per_epoch + step;
  if (!r.started || global != r.expected_step) Seek(epoch, step, r.stop_limit);
  if (r.stop_limit > 0 && global >= r.stop_limit) {
    return Internal("asked the training data reader for step " + std::to_string(global) + " beyond its stop at " +
                    std::to_string(r.stop_limit));
  }
  std::unique_lock<std::mutex> lock(r.mu);
  r.consumer_floor = global;  // the previous batch's slot may be refilled
  // The reader is woken once half the ring is free (or this batch is not ready) and then fills
  // every free slot in one go: woken for each batch, it cost two context switches a step on the
  // core it shares with training (13% of the cycles at batch 32; bench/RESULTS.md, profile).
  if (r.produced_end - global <= r.ring() / 2) r.reader_wakeup.notify_all();
  if (r.produced_end <= global && r.error.ok()) {
    const auto start = std::chrono::steady_clock::now();
    r.batch_ready.wait(lock, [&] { return r.produced_end > global || !r.error.ok(); });
    r.wait_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  if (r.produced_end <= global) return r.error;
  r.expected_step = global + 1;
  return r.slots[global % r.ring()].view;
}

}  // namespace ectrain::data
