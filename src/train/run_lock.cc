#include "train/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

namespace ectrain::train {
namespace {

std::string Holder() {
  char host[256] = "?";
  gethostname(host, sizeof(host) - 1);
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char started[32];
  std::strftime(started, sizeof(started), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return "host " + std::string(host) + ", pid " + std::to_string(getpid()) + ", started " + started;
}

}  // namespace

RunFolderLock& RunFolderLock::operator=(RunFolderLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

RunFolderLock::~RunFolderLock() {
  if (fd_ >= 0) ::close(fd_);  // closing drops the lock
}

StatusOr<RunFolderLock> RunFolderLock::Acquire(const std::string& folder, const std::string& key) {
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) return Internal("cannot create " + key + " '" + folder + "': " + ec.message());
  RunFolderLock lock;
  lock.path_ = folder + "/.lock";
  lock.fd_ = ::open(lock.path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock.fd_ < 0) {
    return Internal("cannot open " + lock.path_ + " to lock " + key + ": " + std::strerror(errno) +
                    "; check the folder's permissions");
  }
  if (::flock(lock.fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    if (error != EWOULDBLOCK) {
      return Internal("cannot lock " + lock.path_ + ": " + std::strerror(error) +
                      " (a file system without locks? put " + key + " on a local or cluster file system)");
    }
    char text[512] = {};
    const ssize_t n = ::pread(lock.fd_, text, sizeof(text) - 1, 0);
    std::string holder = n > 0 ? std::string(text, static_cast<size_t>(n)) : "unknown";
    while (!holder.empty() && holder.back() == '\n') holder.pop_back();
    return Internal(key + " '" + folder + "' is in use by another training job (" + holder + "; lock file " +
                    lock.path_ + "); wait for it to end, stop it, or choose another " + key);
  }
  const std::string holder = Holder() + "\n";
  if (::ftruncate(lock.fd_, 0) != 0 || ::pwrite(lock.fd_, holder.data(), holder.size(), 0) < 0) {
    return Internal("cannot write " + lock.path_ + ": " + std::strerror(errno));
  }
  return lock;
}

}  // namespace ectrain::train
