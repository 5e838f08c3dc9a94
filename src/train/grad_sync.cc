#include "train/grad_sync.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "comm/staged_bucket_reducer.h"

namespace ectrain::train {

GradSync::GradSync(comm::Communicator& comm, const ParamLayout& layout, int64_t global_batch_size,
                   bool sparse_embeddings, int64_t bucket_bytes, Allocator& memory)
    : reducer_(comm.MakeBucketReducer()), world_size_(comm.size()), layout_(layout) {
  if (memory.kind() != DeviceKind::kCpu && world_size_ > 1 && !reducer_->reads_device_memory()) {
    reducer_ = std::make_unique<comm::StagedBucketReducer>(std::move(reducer_), memory);
  }
  selection_.Reset(static_cast<int>(layout.specs().size()));
  selection_.KeepGradientsOn(memory);
  for (size_t i = 0; i < layout.specs().size(); ++i) {
    const ParamSpec& spec = layout.spec(static_cast<int>(i));
    if (IsRowSparse(spec, global_batch_size, sparse_embeddings)) {
      selection_.SetSparse(static_cast<int>(i), spec.rows, spec.cols);
      sparse_specs_.push_back(static_cast<int>(i));
    }
  }
  dense_ranges_ = DenseRanges(layout, selection_);

  // Buckets from the last tensor backwards, cut at tensor boundaries; a new bucket starts when
  // the next tensor would overfill it or is not adjacent (a row-sparse table lies between).
  bucket_of_spec_.assign(layout.specs().size(), -1);
  if (bucket_bytes <= 0) return;
  const auto& specs = layout.specs();
  for (int i = static_cast<int>(specs.size()) - 1; i >= 0; --i) {
    if (selection_.sparse(i)) continue;
    const int64_t begin = specs[i].offset;
    const int64_t end = i + 1 < static_cast<int>(specs.size()) ? specs[i + 1].offset : layout.total_size();
    const bool adjacent = !buckets_.empty() && buckets_.back().offset == end;
    if (!adjacent || (buckets_.back().count + end - begin) * 4 > bucket_bytes)
      buckets_.push_back({end, 0, 0, 0, false});
    Bucket& b = buckets_.back();
    b.offset = begin;
    b.count += end - begin;
    ++b.num_specs;
    bucket_of_spec_[i] = static_cast<int>(buckets_.size()) - 1;
  }
  // Every bucket but the last is started during backward (the last is reduced in Synchronize).
  if (buckets_.size() > 1) reducer_->Reserve(buckets_.size() - 1);
}

void GradSync::BeginStep(ParamArena& grads) {
  grads_data_ = grads.data();
  next_to_start_ = 0;
  for (Bucket& b : buckets_) {
    b.ready_specs = 0;
    b.started = false;
  }
}

void GradSync::OnGradientReady(int spec) {
  const int bucket = bucket_of_spec_[spec];
  if (bucket < 0 || buckets_.size() < 2) return;
  ++buckets_[bucket].ready_specs;
  // In order only; the last bucket is left to Synchronize on this thread (no hand-over at the end).
  while (next_to_start_ + 1 < buckets_.size() &&
         buckets_[next_to_start_].ready_specs == buckets_[next_to_start_].num_specs) {
    Bucket& b = buckets_[next_to_start_++];
    b.started = true;
    reducer_->Start(BucketIn(grads_data_, b));  // Collective
  }
}

// Packs this rank's rows where the reducer wants them (a host segment: straight into this rank's
// slot), then adds every rank's rows, in rank order, reading them where they lie.
void GradSync::RowExchange::Fill(std::span<uint8_t> mine) {
  RowSelection& selection = sync_.selection_;
  uint8_t* out = mine.data();
  for (int t : sync_.sparse_specs_) {
    const std::vector<int64_t>& ids = selection.rows(t);
    const auto count = static_cast<int64_t>(ids.size());
    const size_t id_bytes = ids.size() * sizeof(int64_t);
    const size_t row_bytes = ids.size() * static_cast<size_t>(selection.cols(t)) * sizeof(float);
    std::memcpy(out, &count, sizeof(count));
    std::memcpy(out + sizeof(count), ids.data(), id_bytes);
    std::memcpy(out + sizeof(count) + id_bytes, selection.host_gradients(t), row_bytes);
    out += sizeof(count) + id_bytes + row_bytes;
    selection.ClearRows(t);
  }
}

// Every rank adds every rank's rows in rank order, so all hold the same sums; the rows to update
// are their union, or the part of it this rank owns. A table's slots are scattered over its rows:
// each is fetched a few ids ahead.
void GradSync::RowExchange::Read(int /*rank*/, std::span<const uint8_t> theirs) {
  RowSelection& selection = sync_.selection_;
  const int part = sync_.owner_part_, parts = sync_.owner_parts_;
  constexpr int64_t kAhead = 8;
  const uint8_t* at = theirs.data();
  for (int t : sync_.sparse_specs_) {
    const int64_t cols = selection.cols(t);
    int64_t count = 0;
    std::memcpy(&count, at, sizeof(count));
    const uint8_t* ids = at + sizeof(count);
    const uint8_t* rows = ids + count * sizeof(int64_t);
    const auto id_at = [ids](int64_t k) {
      int64_t id = 0;
      std::memcpy(&id, ids + k * sizeof(int64_t), sizeof(id));
      return id;
    };
    const int shift = GroupShift(cols);
    const auto mine = [&](int64_t id) { return parts == 1 || GroupOwner(id >> shift, parts) == part; };
    for (int64_t k = 0; k < count; ++k) {
      if (!mine(id_at(k))) continue;
      if (k + kAhead < count) __builtin_prefetch(selection.slot_address(t, id_at(k + kAhead)), 1);
      const int32_t slot = selection.Slot(t, id_at(k));  // first: it may move the gradients
      float* sum = selection.host_gradients(t) + slot * cols;
      const uint8_t* values = rows + k * cols * sizeof(float);
      for (int64_t c = 0; c < cols; ++c) {
        float value = 0;
        std::memcpy(&value, values + c * sizeof(float), sizeof(value));
        sum[c] += value;
      }
    }
    at = rows + count * cols * sizeof(float);
  }
}

void GradSync::KeepOwnedRows(int part, int parts) {
  owner_part_ = part;
  owner_parts_ = parts;
}

int GradSync::num_row_sparse_tables() const { return static_cast<int>(sparse_specs_.size()); }

int64_t GradSync::dense_equivalent_bytes() const { return layout_.total_size() * 4; }

int64_t GradSync::gradient_bytes() const {
  int64_t floats = 0;
  for (const auto& [offset, count] : dense_ranges_) floats += count;
  return floats * static_cast<int64_t>(sizeof(float)) + selection_.gradient_capacity_bytes();
}

void GradSync::Synchronize(ParamArena& grads) {
  const auto start = std::chrono::steady_clock::now();
  bytes_last_step_ = 0;
  if (!buckets_.empty()) {
    // Buckets in backward order: those started during backward, then what is left, here.
    for (Bucket& b : buckets_) {
      if (b.started) continue;
      b.started = true;
      reducer_->Reduce(BucketIn(grads.data(), b));  // Collective
    }
    reducer_->Wait();
    for (const Bucket& b : buckets_) bytes_last_step_ += b.count * 4;
  }
  if (!sparse_specs_.empty() && world_size_ > 1) {
    const auto sparse_start = std::chrono::steady_clock::now();
    // This rank's rows in one contribution (one collective, not one for ids and one for rows):
    // per table, the count, the ids, then their compact gradient rows. (One rank: its rows are
    // the sums already.)
    size_t bytes = 0;
    for (int t : sparse_specs_) {
      bytes += sizeof(int64_t) + selection_.rows(t).size() * (sizeof(int64_t) + selection_.cols(t) * sizeof(float));
    }
    RowExchange exchange(*this);
    selection_.CopyGradientsToHost();
    reducer_->ExchangeRows(bytes, exchange);  // Collective
    selection_.CopyGradientsToDevice();
    bytes_last_step_ += static_cast<int64_t>(bytes);
    row_sparse_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - sparse_start).count();
  }
  if (buckets_.empty()) {
    for (const auto& [offset, count] : dense_ranges_) {
      reducer_->Reduce(std::span<float>(grads.data() + offset, static_cast<size_t>(count)));  // Collective
      bytes_last_step_ += count * 4;
    }
  }
  exposed_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void GradSync::ZeroGradients(ParamArena& grads) {
  for (const auto& [offset, count] : dense_ranges_) {
    grads.allocator().Zero(grads.data() + offset, static_cast<size_t>(count) * sizeof(float));
  }
  selection_.ClearRows();  // the row-sparse tables' gradients
}

}  // namespace ectrain::train
