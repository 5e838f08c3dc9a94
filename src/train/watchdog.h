// StallWatchdog: ends a job that would otherwise hang. The training loop marks each collective
// it enters (name, step, bytes) and leaves; a background thread checks once a second, and when
// one has waited longer than the timeout it prints what this rank waits in and aborts the job
// through the communicator (MPI_Abort ends every rank). A rank that died or hangs thus ends the
// job within the timeout, with every live rank saying where it stood. One per rank.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "comm/communicator.h"

namespace ectrain::train {

class StallWatchdog {
 public:
  StallWatchdog(comm::Communicator& comm, double timeout_seconds);
  ~StallWatchdog();

  // Marks the start of a collective (`step` < 0: not within a step). Copies the name: no allocation.
  void Enter(std::string_view collective, int64_t step, int64_t num_bytes);
  void Leave();

 private:
  void Loop();

  comm::Communicator& comm_;
  const double timeout_seconds_;
  std::mutex mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  bool inside_ = false;
  char collective_[160] = {};
  int64_t step_ = 0;
  int64_t num_bytes_ = 0;
  std::chrono::steady_clock::time_point entered_;
  std::thread thread_;
};

// Marks a collective for the scope of a block.
class InCollective {
 public:
  InCollective(StallWatchdog& watchdog, std::string_view collective, int64_t step, int64_t num_bytes)
      : watchdog_(watchdog) {
    watchdog_.Enter(collective, step, num_bytes);
  }
  ~InCollective() { watchdog_.Leave(); }
  InCollective(const InCollective&) = delete;
  InCollective& operator=(const InCollective&) = delete;

 private:
  StallWatchdog& watchdog_;
};

}  // namespace ectrain::train
