#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <thread>

namespace ectrain {
namespace {
// The rank each line carries. Thread-local, so that in-process ranks (threads) log their own; a
// thread that never called SetLogRank (a helper thread of an MPI rank) uses the rank the main
// thread set, which is the process's rank in a multi-process job.
thread_local int g_rank = -1;
std::atomic<int> g_process_rank{0};
const std::thread::id g_main_thread = std::this_thread::get_id();  // static initialization runs on it
int LogRank() { return g_rank >= 0 ? g_rank : g_process_rank.load(std::memory_order_relaxed); }
bool g_verbose = false;
std::function<void()> g_abort_handler;
std::mutex g_log_mutex;
std::atomic<bool> g_erase_line{false};
std::string g_live_line;  // drawn on stderr now; guarded by g_log_mutex

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARNING";
    case LogLevel::kError:
      return "ERROR";
  }
  return "?";
}

void WriteLine(const std::string& text) {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  // A progress line may be on the terminal: start on a clean line, and draw it again below.
  if (g_erase_line.load(std::memory_order_relaxed) || isatty(STDERR_FILENO)) std::fputs("\r\033[K", stderr);
  std::fputs(text.c_str(), stderr);
  std::fputs(g_live_line.c_str(), stderr);
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

void SetLogRank(int rank) {
  g_rank = rank;
  if (std::this_thread::get_id() == g_main_thread) g_process_rank.store(rank, std::memory_order_relaxed);
}
void SetLogVerbose(bool verbose) { g_verbose = verbose; }
bool LogVerbose() { return g_verbose; }
void SetLogErasesLine(bool erase) { g_erase_line.store(erase, std::memory_order_relaxed); }

void ShowLiveLine(const std::string& line) {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  g_live_line = line;
  std::fputs("\r\033[K", stderr);
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

void EndLiveLine() {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  if (g_live_line.empty()) return;
  g_live_line.clear();
  std::fputs("\n", stderr);
  std::fflush(stderr);
}

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
  bool quiet =
      (level_ == LogLevel::kDebug && !g_verbose) || (level_ == LogLevel::kInfo && LogRank() != 0 && !g_verbose);
  if (quiet) return;
  WriteLine("[" + Timestamp() + " rank " + std::to_string(LogRank()) + "] " +
            (level_ == LogLevel::kInfo ? "" : std::string(LevelName(level_)) + ": ") + stream_.str() + "\n");
}

CheckFailure::CheckFailure(const char* file, int line, const char* expression) {
  stream_ << "[rank " << LogRank() << "] " << file << ":" << line << " CHECK failed: " << expression << " ";
}

CheckFailure::~CheckFailure() {
  WriteLine(stream_.str() + "\n");
  AbortJob();
}
}  // namespace internal

}  // namespace ectrain
