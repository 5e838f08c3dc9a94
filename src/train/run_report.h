// What a training run reports when it ends: TrainResult (the figures ectrain train prints and
// metrics.jsonl's `done` line holds), and the lines and JSON made of them. Value types and pure
// functions, except PeakRssBytes (reads the process's peak resident set).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "eval/metrics.h"

namespace ectrain::train {

struct TrainResult {
  int64_t steps = 0;
  int64_t epochs = 0;                     // epochs this run's data cursor went through (to the stop)
  int64_t resumed_from_step = -1;         // -1: a fresh start
  bool stopped_early = false;             // eval.early_stopping_patience ended the run
  bool already_complete = false;          // resumed a run that had finished: nothing trained
  int64_t best_step = -1;                 // early stopping: the step of the best checkpoint, evaluated last
  double train_seconds = 0.0;             // this run's step loop, without evaluation
  double samples_per_second = 0.0;        // global rows trained by this run / train_seconds
  double seconds_to_first_step = 0.0;     // from process launch to the end of the first step
  double final_train_loss = 0.0;          // mean over the last epoch
  double checkpoint_stall_seconds = 0.0;  // rank 0's training time spent handing checkpoints over
  int64_t skipped_steps = 0;              // steps skipped for a non-finite loss (train.on_nan: skip)
  int64_t sync_bytes_last_step = 0;       // gradient bytes this rank handed to the communicator
  double sync_exposed_seconds = 0.0;      // time in gradient sync not hidden behind backward
  double data_wait_seconds = 0.0;         // this rank's training time spent waiting for its data reader
  // The rest of this rank's step loop by phase (seconds); collectives include waiting for the
  // slowest rank, so on N ranks they also show imbalance. Whatever is left of train_seconds is
  // progress, checkpoint hand-over and the reader's bookkeeping.
  double forward_backward_seconds = 0.0;
  double sync_row_sparse_seconds = 0.0;  // the part of sync_exposed_seconds spent on row-sparse tables
  double agreement_seconds = 0.0;        // the step's agreement all-reduce (loss, stop, errors)
  double optimizer_seconds = 0.0;        // the optimizer step and zeroing the gradients
  // Memory: the process's peak resident set, and what training must hold: parameters, gradients
  // and optimizer state, the model's workspace (activations and their gradients), the reader's
  // buffers (their bound), the training set when data.in_memory, rank 0's checkpoint snapshot.
  int64_t peak_rss_bytes = 0;
  int64_t state_bytes = 0;
  bool state_shared_on_host = false;  // the parameters and optimizer state are one copy for the host's ranks
  int64_t workspace_bytes = 0;
  int64_t reader_bound_bytes = 0;
  int64_t data_in_memory_bytes = 0;
  int64_t snapshot_bytes = 0;
  std::vector<int64_t> rows_per_rank;               // training rows each rank read in this run, by rank
  std::optional<eval::Metrics> test_metrics;        // rank 0 only
  std::optional<eval::Metrics> validation_metrics;  // rank 0 only, with data.validation
  std::string checkpoint_path;                      // rank 0 only
};

// The process's peak resident set so far, in bytes.
int64_t PeakRssBytes();

// "memory: peak 59.8 MB resident; parameters, gradients and optimizer state 7.5 MB, ..."
std::string MemoryLine(const TrainResult& result);
// "step loop 0.765 s on rank 0: forward+backward 29%, gradient sync 29% (row-sparse tables 10%), ..."
std::string StepLoopLine(const TrainResult& result);
// metrics.jsonl's `done` event.
nlohmann::json DoneJson(const TrainResult& result);
// A Metrics set as JSON: its count, every value, and the confusion matrix of a classifier.
nlohmann::json MetricsJson(const eval::Metrics& metrics);

}  // namespace ectrain::train
