// Settings of the train module, filled and validated by config/; plain values.
#pragma once

#include <cstdint>
#include <string>

namespace ectrain::train {

struct TrainOptions {
  int64_t epochs = 10;
  int64_t global_batch_size = 256;
  int64_t seed = 42;
  std::string output_dir = "runs/default";
  int64_t log_every_steps = 100;   // plain log lines when stderr is not a terminal
  int64_t max_steps = 0;           // 0: no limit; else stop after this many steps in all
  int64_t accumulation_steps = 1;  // micro-batches per optimizer step (the global batch is split)
  std::string on_nan = "stop";     // a non-finite loss on any rank: "stop" the job, or "skip" the step
  int64_t verify_every_steps = 0;  // 0: off; else check every N steps that all ranks hold the same parameters
  // "live": a progress bar redrawn in place; "lines": a log line every log_every_steps; "auto": live
  // where the log ends up on a terminal (train/progress.h).
  std::string progress = "auto";
  // Where each rank computes: "auto" (a GPU where the build has CUDA and one is visible, else the
  // CPU), "cpu", "cuda", or "simulated" (the CPU's kernels on guarded memory: the device path
  // checked without a GPU; kernels/simulated_device.h).
  std::string device = "auto";
  bool tensorboard = false;  // rank 0 also writes metrics.jsonl's values as TensorBoard event files
};

struct EvalOptions {
  int64_t every_epochs = 1;  // 0: only at the end
  int64_t batch_size = 4096;
  // Stop when checkpoint.keep_best's metric has not improved for this many evaluations (0: never).
  int64_t early_stopping_patience = 0;
  // What an evaluation reports: "per_row" (each row's score against its label: auc, log_loss, ...,
  // rmse, ...), "ranking" (hr@K, ndcg@K, recall@K of each user's held-out items among every item
  // of the training rows, K = ranking_k; needs data.user_column and data.item_column), or "auto":
  // ranking for a 0/1-label model when the roles are named and every evaluated row is a positive
  // (held-out interactions, as prepare's split last_per_user makes), else per_row.
  std::string metrics = "auto";
  int64_t ranking_k = 10;
};

}  // namespace ectrain::train
