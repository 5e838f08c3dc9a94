// RunFolderLock: one training job per run folder. An advisory lock (flock) on <folder>/.lock,
// whose text names the holder (host, PID, start time), held until the object is destroyed or the
// process ends (the kernel drops it even on kill -9, so a crash leaves no stale lock). A second
// job on the folder is refused with the holder named. Rank 0 only; not thread-safe.
#pragma once

#include <string>

#include "core/status.h"

namespace ectrain::train {

class RunFolderLock {
 public:
  RunFolderLock() = default;
  RunFolderLock(RunFolderLock&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) { other.fd_ = -1; }
  RunFolderLock& operator=(RunFolderLock&& other) noexcept;
  RunFolderLock(const RunFolderLock&) = delete;
  RunFolderLock& operator=(const RunFolderLock&) = delete;
  ~RunFolderLock();

  // Creates `folder` if needed and locks it; `key` names the setting that chose the folder, for
  // the message when another job holds it.
  static StatusOr<RunFolderLock> Acquire(const std::string& folder, const std::string& key);

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace ectrain::train
