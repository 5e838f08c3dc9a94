// Training hooks owned by rank 0: the live progress bar (a terminal) or periodic log lines
// (a file or pipe), and the JSON-lines metrics log. On other ranks they are disabled and do nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>

namespace ectrain::train {

// Whether train.progress ("auto", "live", "lines") means the live bar in this process. auto: live when
// the stderr the log ends up on is a terminal: this process's own or, for a rank started by mpirun on
// its host (its stderr is a pipe into mpirun), mpirun's.
bool LiveProgressWanted(const std::string& setting);
// The columns of that terminal; else $COLUMNS; else 80.
int ProgressWidth();
// The same rule on given values: the terminal's columns (0: none), $COLUMNS (nullptr: unset).
int ProgressWidth(int terminal_columns, const char* columns_variable);

// What the live bar shows; total_steps <= 0 or eta_seconds < 0: not known.
struct ProgressState {
  int64_t epoch = 0;  // 0-based
  int64_t num_epochs = 0;
  int64_t step = 0;
  int64_t total_steps = 0;
  double loss = 0.0;
  double samples_per_sec = 0.0;
  double elapsed_seconds = 0.0;
  double eta_seconds = -1.0;
};

// The live line, at most width - 1 characters (a full last column wraps on some terminals): the
// fields that fit, least useful dropped first, and the bar in the room left over.
std::string FormatProgressLine(const ProgressState& state, int width);
// `inner` characters, '#' for the done fraction (clamped to [0, 1]) and '-' for the rest.
std::string ProgressBar(double fraction, int inner);
// "ETA 1:05", or "ETA --:--" while not known (eta_seconds < 0).
std::string FormatEta(double eta_seconds);

class ProgressReporter {
 public:
  // `progress`: train.progress. Live mode on any rank makes its log lines erase the bar first.
  ProgressReporter(bool enabled, const std::string& progress, int64_t total_steps, int64_t log_every_steps);
  ~ProgressReporter();
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;
  // `step` counts steps since the start of the run (1-based after the first step).
  void Update(int64_t epoch, int64_t num_epochs, int64_t step, double loss, double samples_per_sec);
  // Leaves the live bar as it stands now on a line of its own, so that the next log line starts clean.
  void Finish();

 private:
  void Draw(std::chrono::steady_clock::time_point now);

  bool enabled_;
  bool live_;
  int64_t total_steps_;
  int64_t log_every_steps_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point first_update_;
  std::chrono::steady_clock::time_point last_draw_;
  int64_t first_step_ = -1;
  ProgressState state_;
  bool drawn_ = false;    // the live line is on the terminal
  bool undrawn_ = false;  // state_ is newer than the line drawn
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
