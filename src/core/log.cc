#include "core/log.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

namespace ectrain {
namespace {
int g_rank = 0;
bool g_verbose = false;
std::function<void()> g_abort_handler;
std::mutex g_log_mutex;

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "DEBUG";
    case LogLevel::kInfo: return "INFO";
    case LogLevel::kWarning: return "WARNING";
    case LogLevel::kError: return "ERROR";
  }
  return "?";
}

void WriteLine(const std::string& text) {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  // A progress line may be on the terminal: start on a clean line.
  if (isatty(STDERR_FILENO)) std::fputs("\r\033[K", stderr);
  std::fputs(text.c_str(), stderr);
  std::fflush(stderr);
}

std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
  return buf;
}
}  // namespace

void SetLogRank(int rank) { g_rank = rank; }
void SetLogVerbose(bool verbose) { g_verbose = verbose; }
void SetAbortHandler(std::function<void()> handler) { g_abort_handler = std::move(handler); }

void AbortJob() {
  if (g_abort_handler) g_abort_handler();
  std::abort();
}

namespace internal {
LogMessage::LogMessage(LogLevel level, const char* file, int line) : level_(level) {
  (void)file;
  (void)line;
}

LogMessage::~LogMessage() {
  bool quiet = (level_ == LogLevel::kDebug && !g_verbose) ||
               (level_ == LogLevel::kInfo && g_rank != 0 && !g_verbose);
  if (quiet) return;
  WriteLine("[" + Timestamp() + " rank " + std::to_string(g_rank) + "] " +
            (level_ == LogLevel::kInfo ? "" : std::string(LevelName(level_)) + ": ") +
            stream_.str() + "\n");
}

CheckFailure::CheckFailure(const char* file, int line, const char* expression) {
  stream_ << "[rank " << g_rank << "] " << file << ":" << line << " CHECK failed: " << expression << " ";
}

CheckFailure::~CheckFailure() {
  WriteLine(stream_.str() + "\n");
  AbortJob();
}
}  // namespace internal

}  // namespace ectrain
