// `ectrain plan`: what a training run will read and hold, before it runs. Computed from the config
// and the training files' metadata with the code training uses: the block table and shuffle
// windows of data/sharding.h for which rows each rank reads, CreateModel for the parameter shapes,
// Optimizer::Create (on a copy of the layout one row per tensor) for how many state arrays there
// are, GradSync's rule for which tables are row-sparse, StreamReader's bound for the reader's
// buffers, and the model's own workspace, measured on a copy of the model with one-row tables.
// Memory figures use the categories of the end-of-run report (train/run_report.h). Nothing the
// size of the model or the data is allocated.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/run_config.h"
#include "core/status.h"
#include "data/sharding.h"
#include "data/training_files.h"
#include "plan/data_check.h"
#include "train/run_plan.h"

namespace ectrain::plan {

// What one rank reads: in the first epoch, and over the run (all its epochs, to train.max_steps).
struct RankRows {
  int64_t epoch1_rows = 0;
  int64_t epoch1_blocks = 0;
  int64_t run_rows = 0;
  int64_t min_epoch_rows = 0;  // the fewest rows of any whole epoch of the run
  int64_t empty_epoch = -1;    // the first epoch (0-based) in which it reads no row; -1 none
};

// Every rank's rows under the training order (data/sharding.h): epochs of `run`, each epoch's
// blocks permuted by (seed, epoch) and cut into windows of `window_blocks`; a run that ends at
// train.max_steps reads its last epoch up to that step. Pure.
std::vector<RankRows> RowsPerRank(const data::BlockTable& table, int64_t window_blocks, uint64_t seed,
                                  const train::RunPlan& run, int64_t global_batch_size, int ranks);

// The most rows one rank gets of a global batch when the shuffle window's blocks are full: its
// share of a window's blocks (ceil(m / ranks) of m = min(window_blocks, blocks)) of the batch.
int64_t BusiestRankBatchRows(int64_t global_batch_size, int64_t window_blocks, int64_t num_blocks, int ranks);

struct TableMemory {
  std::string name;
  int64_t rows = 0;
  int64_t cols = 0;
  bool row_sparse = false;
  int64_t bytes = 0;  // parameters and optimizer state
};

// Bytes one rank holds, in the end-of-run report's categories.
struct MemoryEstimate {
  int64_t parameters = 0;
  int64_t optimizer_state = 0;
  int64_t gradients = 0;            // whole tensors, row-sparse tables' compact rows (at most) and slot index
  int64_t gradient_rows_bound = 0;  // of which the compact rows
  int64_t workspace = 0;            // at the busiest rank's micro-batch
  int64_t workspace_rank0 = 0;      // rank 0 also evaluates batches of eval.batch_size
  int64_t reader = 0;               // the reader's bound
  int64_t data_in_memory = 0;       // data.in_memory
  int64_t snapshot = 0;             // rank 0's checkpoint snapshot (checkpoints before the last only)
  bool shared_model = false;        // parameters and optimizer state one copy for the machine's ranks
  // Per rank without the shared copy; rank 0 adds its workspace difference and the snapshot.
  int64_t Private(bool rank0) const;
  int64_t Rank(bool rank0) const;    // with parameters and optimizer state
  int64_t Machine(int ranks) const;  // all ranks on one machine
};

struct RunEstimate {
  std::string config_path;
  int ranks = 1;
  std::vector<std::string> files;
  int64_t rows = 0;
  int64_t blocks = 0;
  data::DataOptions data;
  int64_t global_batch_size = 0;
  train::RunPlan run;
  int64_t rank_batch_rows = 0;   // the busiest rank's rows of a global batch
  int64_t micro_batch_rows = 0;  // those over train.accumulation_steps
  int64_t eval_batch_rows = 0;
  std::string model_type;
  std::string loss;
  std::string optimizer;
  int64_t parameters = 0;  // real values, as `ectrain inspect` counts them
  int64_t tensors = 0;
  int64_t state_arrays = 0;  // optimizer state arrays of the whole layout
  std::vector<RankRows> per_rank;
  std::vector<TableMemory> tables;  // embedding tables, largest first
  MemoryEstimate memory;
  int64_t machine_total_bytes = -1;  // /proc/meminfo; -1 unknown
  int64_t machine_available_bytes = -1;
  std::vector<std::string> warnings;
};

// From a config and its data that passed CheckConfigData (its resolved config, training files and
// held-out rows).
StatusOr<RunEstimate> EstimateRun(const DataCheck& check, int ranks, const std::string& config_path);

// The warnings of an estimate whose other fields are filled (pure): ranks without rows or with
// fewer than a batch's share, data smaller than a batch, unbalanced windows, tables or totals
// larger than the machine's memory.
std::vector<std::string> Warnings(const RunEstimate& estimate);

std::string FormatEstimate(const RunEstimate& estimate);
nlohmann::json EstimateJson(const RunEstimate& estimate);

}  // namespace ectrain::plan
