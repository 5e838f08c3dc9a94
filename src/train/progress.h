// Training hooks owned by rank 0: the live progress line (a terminal) or periodic log lines
// (a file or pipe), and the JSON-lines metrics log. On other ranks they are disabled and do nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>

namespace ectrain::train {

class ProgressReporter {
 public:
  ProgressReporter(bool enabled, int64_t total_steps, int64_t log_every_steps);
  // `step` counts steps since the start of the run (1-based after the first step).
  void Update(int64_t epoch, int64_t num_epochs, int64_t step, double loss, double samples_per_sec);
  // Ends the live line so that the next log line starts clean.
  void Finish();

 private:
  bool enabled_;
  bool terminal_;
  int64_t total_steps_;
  int64_t log_every_steps_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  int64_t first_step_ = -1;
};

// Appends one JSON object per line to <output_dir>/metrics.jsonl; flushed per line so a killed
// run keeps what it logged.
class MetricsLog {
 public:
  MetricsLog() = default;
  explicit MetricsLog(const std::string& path);
  bool enabled() const { return out_.is_open(); }
  void Append(const std::string& json_line);

 private:
  std::ofstream out_;
};

std::string FormatDuration(double seconds);

}  // namespace ectrain::train
