#include "train/run_report.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>

#include "core/format.h"

namespace ectrain::train {
int64_t PeakRssBytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux: kilobytes
}

std::string MemoryLine(const TrainResult& r) {
  char in_memory[64] = "";
  if (r.data_in_memory_bytes > 0) {
    std::snprintf(in_memory, sizeof(in_memory), ", training data in memory %.1f MB", Megabytes(r.data_in_memory_bytes));
  }
  char memory[360];
  std::snprintf(memory, sizeof(memory),
                "memory: peak %.1f MB resident; parameters, gradients and optimizer state %.1f MB%s, model workspace "
                "%.1f MB, reader buffers <= %.1f MB%s, checkpoint snapshot %.1f MB",
                Megabytes(r.peak_rss_bytes), Megabytes(r.state_bytes),
                r.state_shared_on_host ? " (parameters and optimizer state one copy for the host's ranks)" : "",
                Megabytes(r.workspace_bytes), Megabytes(r.reader_bound_bytes), in_memory, Megabytes(r.snapshot_bytes));
  return memory;
}

std::string StepLoopLine(const TrainResult& r) {
  const auto share = [&r](double seconds) {
    char text[16];
    std::snprintf(text, sizeof(text), "%.0f%%", 100.0 * seconds / std::max(r.train_seconds, 1e-9));
    return std::string(text);
  };
  const double other = r.train_seconds - r.data_wait_seconds - r.forward_backward_seconds - r.sync_exposed_seconds -
                       r.agreement_seconds - r.optimizer_seconds;
  return "step loop " + FormatSeconds(r.train_seconds) + " on rank 0: forward+backward " +
         share(r.forward_backward_seconds) + ", gradient sync " + share(r.sync_exposed_seconds) +
         " (row-sparse tables " + share(r.sync_row_sparse_seconds) + "), step agreement " + share(r.agreement_seconds) +
         ", optimizer " + share(r.optimizer_seconds) + ", waiting for data " + share(r.data_wait_seconds) + ", other " +
         share(other);
}

nlohmann::json DoneJson(const TrainResult& r) {
  nlohmann::json line = {{"event", "done"},
                         {"steps", r.steps},
                         {"epochs", r.epochs},
                         {"train_seconds", r.train_seconds},
                         {"samples_per_second", r.samples_per_second},
                         {"seconds_to_first_step", r.seconds_to_first_step},
                         {"checkpoint_stall_seconds", r.checkpoint_stall_seconds},
                         {"skipped_steps", r.skipped_steps},
                         {"stopped_early", r.stopped_early},
                         {"sync_bytes_per_step", r.sync_bytes_last_step},
                         {"sync_exposed_seconds", r.sync_exposed_seconds},
                         {"sync_row_sparse_seconds", r.sync_row_sparse_seconds},
                         {"forward_backward_seconds", r.forward_backward_seconds},
                         {"agreement_seconds", r.agreement_seconds},
                         {"optimizer_seconds", r.optimizer_seconds},
                         {"data_wait_seconds", r.data_wait_seconds},
                         {"peak_rss_mb", r.peak_rss_bytes / 1e6},
                         {"state_mb", r.state_bytes / 1e6},
                         {"workspace_mb", r.workspace_bytes / 1e6},
                         {"reader_bound_mb", r.reader_bound_bytes / 1e6},
                         {"data_in_memory_mb", r.data_in_memory_bytes / 1e6},
                         {"checkpoint_snapshot_mb", r.snapshot_bytes / 1e6},
                         {"checkpoint", r.checkpoint_path}};
  if (!r.rows_per_rank.empty()) line["rows_per_rank"] = r.rows_per_rank;
  if (r.resumed_from_step >= 0) line["resumed_from_step"] = r.resumed_from_step;
  if (r.best_step >= 0) line["best_step"] = r.best_step;
  if (r.validation_metrics) line["validation"] = MetricsJson(*r.validation_metrics);
  if (r.test_metrics) line["test"] = MetricsJson(*r.test_metrics);
  return line;
}

nlohmann::json MetricsJson(const eval::Metrics& m) {
  nlohmann::json out = {{"count", m.count}};
  for (const auto& [name, value] : m.values) out[name] = value;
  if (m.num_classes > 0) out["confusion"] = m.confusion;
  return out;
}

}  // namespace ectrain::train
