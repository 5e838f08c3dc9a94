// GradSync: sums gradients over all ranks after backward, through the BucketReducer its
// communicator makes (comm/bucket_reducer.h). Tensors updated whole (dense layers, small
// embedding tables) are all-reduced as a few contiguous ranges of the gradient arena.
// Large embedding tables are row-sparse: each rank contributes only the rows its batch looked up
// (ids + rows, in one all-gather-v, read where the communicator holds them), every rank adds them
// up in rank order, and the optimizer then updates only the union of those rows. A table is
// row-sparse when even a batch of all-distinct ids would move fewer bytes than the whole table:
// global_batch * (dim * 4 + 8) < rows * dim * 4.
// The rule depends on sizes only, never on the number of ranks, so training means the same thing
// at every world size. Ranks that share one copy of the parameters (KeepOwnedRows) each keep only
// the summed rows they own, which are the rows they update.
// Buckets: the whole-tensor part is cut, at tensor boundaries, into buckets of about bucket_bytes,
// from the end of the arena (the output layer, whose gradient is final first). While backward
// continues, each bucket is started (BucketReducer::Start) as soon as all its tensors are final;
// the last bucket is reduced by the caller in Synchronize. Every rank issues the same collectives
// in the same order. Gradients in a device's memory (`memory`, the gradient arena's allocator) go
// to the reducer as they are where it reads device memory (NCCL), else through the host
// (comm/staged_bucket_reducer.h); the row-sparse rows meet the other ranks' on the host.
// One per rank; all calls from the training thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "comm/bucket_reducer.h"
#include "comm/communicator.h"
#include "core/param_arena.h"
#include "core/row_selection.h"

namespace ectrain::train {

class GradSync final : public GradientReadyListener {
 public:
  // bucket_bytes 0: no buckets, the whole-tensor part is reduced in Synchronize.
  GradSync(comm::Communicator& comm, const ParamLayout& layout, int64_t global_batch_size, bool sparse_embeddings,
           int64_t bucket_bytes, Allocator& memory = HostAllocator());

  // Whether `spec` is synchronised row-sparsely: an embedding table, with comm.sparse_embeddings,
  // that a global batch of all-distinct ids would move fewer bytes of than the whole table.
  static bool IsRowSparse(const ParamSpec& spec, int64_t global_batch_size, bool sparse_embeddings) {
    const int64_t table_bytes = spec.rows * spec.cols * 4;
    const int64_t sparse_bytes_at_most = global_batch_size * (spec.cols * 4 + 8);
    return sparse_embeddings && spec.kind == ParamKind::kEmbedding && sparse_bytes_at_most < table_bytes;
  }

  // Called by backward (the last micro-batch's) as tensors become final: starts full buckets.
  void OnGradientReady(int spec) override;
  // Before the first backward of a step: nothing is final yet. `grads` is where buckets reduce.
  void BeginStep(ParamArena& grads);
  int num_buckets() const { return static_cast<int>(buckets_.size()); }

  // Where backward puts the gradients of row-sparse tables (compact rows, by id), not `grads`.
  RowSelection& selection() { return selection_; }
  const RowSelection& selection() const { return selection_; }
  int num_row_sparse_tables() const;
  // From now on Synchronize leaves in selection() only the rows owned by part `part` of `parts`
  // (RowOwner), every rank's contributions summed as before.
  void KeepOwnedRows(int part, int parts);
  // Which of `parts` owns row `row` of a table with `cols` values a row: rows are taken in groups
  // of the most that fit in a cache line (16 floats; a group is one whole line where `cols`
  // divides 16, so no two owners write one line), groups are spread by a hash (no division).
  static int RowOwner(int64_t row, int64_t cols, int parts) { return GroupOwner(row >> GroupShift(cols), parts); }

  // Collective: all ranks, same order. Sums the gradients over ranks: whole tensors in `grads`,
  // row-sparse tables in selection(), which then holds the union of the ranks' rows.
  void Synchronize(ParamArena& grads);
  // Clears what Synchronize left: whole tensors in `grads`, and the row-sparse tables' compact
  // rows (forgetting the rows). So a step never zeroes a whole large table.
  void ZeroGradients(ParamArena& grads);

  // Bytes this rank handed to the communicator in the last Synchronize (payload, not wire bytes).
  int64_t bytes_last_step() const { return bytes_last_step_; }
  // Memory gradients take: the arena's whole tensors and the row-sparse tables' compact rows
  // (the arena's row-sparse tables are never written).
  int64_t gradient_bytes() const;
  // The same step's bytes if every tensor were all-reduced whole.
  int64_t dense_equivalent_bytes() const;
  // Seconds spent inside Synchronize so far: communication not hidden behind backward.
  double exposed_seconds() const { return exposed_seconds_; }
  // The part of it spent on row-sparse tables: packing, the all-gather (waiting included), adding up.
  double row_sparse_seconds() const { return row_sparse_seconds_; }

 private:
  std::unique_ptr<comm::BucketReducer> reducer_;
  const int world_size_;
  const ParamLayout& layout_;
  RowSelection selection_;
  std::vector<std::pair<int64_t, int64_t>> dense_ranges_;
  std::vector<int> sparse_specs_;
  // The row-sparse exchange's side of BucketReducer::ExchangeRows (comm::AllGatherVRead).
  class RowExchange final : public comm::GatherReader {
   public:
    explicit RowExchange(GradSync& sync) : sync_(sync) {}
    void Fill(std::span<uint8_t> mine) override;
    void Read(int rank, std::span<const uint8_t> theirs) override;

   private:
    GradSync& sync_;
  };
  // RowOwner in two halves, so that a loop over one table's rows finds the group size once: rows
  // are grouped by 2^GroupShift(cols).
  static int GroupShift(int64_t cols) {
    int shift = 0;
    while ((cols << (shift + 1)) <= 16) ++shift;
    return shift;
  }
  static int GroupOwner(int64_t group, int parts) {
    const uint32_t hash = static_cast<uint32_t>(group) * 0x9E3779B1u;
    return static_cast<int>((static_cast<uint64_t>(hash) * static_cast<uint64_t>(parts)) >> 32);
  }
  int owner_part_ = 0;
  int owner_parts_ = 1;
  int64_t bytes_last_step_ = 0;
  double exposed_seconds_ = 0;
  double row_sparse_seconds_ = 0;

  struct Bucket {
    int64_t offset = 0;
    int64_t count = 0;
    int num_specs = 0;
    int ready_specs = 0;
    bool started = false;
  };
  std::span<float> BucketIn(float* grads, const Bucket& b) const {
    return {grads + b.offset, static_cast<size_t>(b.count)};
  }

  std::vector<Bucket> buckets_;      // in the order backward finishes them
  std::vector<int> bucket_of_spec_;  // -1: row-sparse
  size_t next_to_start_ = 0;         // buckets start strictly in order, the same on every rank
  float* grads_data_ = nullptr;
};

}  // namespace ectrain::train
