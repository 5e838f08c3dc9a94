#include "train/progress.h"

#include <unistd.h>

#include <cstdio>

#include "core/log.h"

namespace ectrain::train {

std::string FormatDuration(double seconds) {
  auto s = static_cast<long long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%lld:%02lld", s / 60, s % 60);
  }
  return buf;
}

ProgressReporter::ProgressReporter(bool enabled, int64_t total_steps, int64_t log_every_steps)
    : enabled_(enabled),
      terminal_(isatty(STDERR_FILENO) != 0),
      total_steps_(total_steps),
      log_every_steps_(log_every_steps),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

void ProgressReporter::Update(int64_t epoch, int64_t num_epochs, int64_t step, double loss, double samples_per_sec) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (first_step_ < 0) {
    first_step_ = step - 1;
    start_ = now;
  }
  bool last = step == total_steps_;
  if (terminal_ ? (now - last_draw_ < std::chrono::milliseconds(100) && !last)
                : (step % log_every_steps_ != 0 && !last)) {
    return;
  }
  last_draw_ = now;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  double done = static_cast<double>(step - first_step_);
  double eta = done > 0 ? elapsed / done * static_cast<double>(total_steps_ - step) : 0.0;
  char line[200];
  std::snprintf(line, sizeof(line), "epoch %lld/%lld  step %lld/%lld  loss %.4f  %.0f samples/s  ETA %s",
                static_cast<long long>(epoch + 1), static_cast<long long>(num_epochs), static_cast<long long>(step),
                static_cast<long long>(total_steps_), loss, samples_per_sec, FormatDuration(eta).c_str());
  if (terminal_) {
    std::fprintf(stderr, "\r\033[K%s", line);
    std::fflush(stderr);
  } else {
    LOG_INFO << line;
  }
}

void ProgressReporter::Finish() {
  if (enabled_ && terminal_) std::fputs("\r\033[K", stderr);
}

MetricsLog::MetricsLog(const std::string& path) : out_(path, std::ios::app) {}

void MetricsLog::Append(const std::string& json_line) {
  if (!out_.is_open()) return;
  out_ << json_line << "\n";
  out_.flush();
}

}  // namespace ectrain::train
