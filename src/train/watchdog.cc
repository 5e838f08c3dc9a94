#include "train/watchdog.h"

#include <algorithm>
#include <cstdio>

#include "core/log.h"

namespace ectrain::train {

StallWatchdog::StallWatchdog(comm::Communicator& comm, double timeout_seconds)
    : comm_(comm), timeout_seconds_(timeout_seconds) {
  thread_ = std::thread([this] { Loop(); });
}

StallWatchdog::~StallWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  stop_.notify_all();
  thread_.join();
}

void StallWatchdog::Enter(std::string_view collective, int64_t step, int64_t num_bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  inside_ = true;
  const size_t n = std::min(collective.size(), sizeof(collective_) - 1);
  collective.copy(collective_, n);
  collective_[n] = '\0';
  step_ = step;
  num_bytes_ = num_bytes;
  entered_ = std::chrono::steady_clock::now();
}

void StallWatchdog::Leave() {
  std::lock_guard<std::mutex> lock(mutex_);
  inside_ = false;
}

void StallWatchdog::Loop() {
  SetLogRank(comm_.rank());
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
    if (!inside_) continue;
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - entered_).count();
    if (waited < timeout_seconds_) continue;
    char where[48] = "";
    if (step_ >= 0) std::snprintf(where, sizeof(where), " at step %lld", static_cast<long long>(step_ + 1));
    char message[512];
    std::snprintf(message, sizeof(message),
                  "stalled for %.0f s in %s%s (%lld bytes): another rank is not taking part (it died, hangs, or is "
                  "far slower); ending the job (comm.timeout_seconds = %g)",
                  waited, collective_, where, static_cast<long long>(num_bytes_), timeout_seconds_);
    LOG_ERROR << message;
    comm_.Abort(1);
  }
}

}  // namespace ectrain::train
