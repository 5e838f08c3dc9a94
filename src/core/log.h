// Logging and invariant checks. Every line carries the rank; INFO lines from ranks other
// than 0 are dropped unless verbose, so rank 0 is the log sink in one place.
// CHECK failures print rank, file:line and the expression, then abort through the handler the
// communicator installs (so the other ranks do not hang). Thread-safe: one line at a time.
#pragma once

#include <functional>
#include <sstream>
#include <string>

namespace ectrain {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

void SetLogRank(int rank);
void SetLogVerbose(bool verbose);
bool LogVerbose();
// Called on a CHECK failure; the MPI communicator installs MPI_Abort here.
void SetAbortHandler(std::function<void()> handler);
[[noreturn]] void AbortJob();

// The live progress line (train/progress.h) shares stderr with the log: a log line erases it, is
// printed, and the line is drawn again below it. ShowLiveLine draws (or redraws) it in place;
// EndLiveLine leaves it as it stands on a line of its own.
void ShowLiveLine(const std::string& line);
void EndLiveLine();
// Every log line of this process starts by erasing the terminal line it starts on: set where a live
// line may be drawn, by this process or (under mpirun, into the same terminal) by rank 0.
void SetLogErasesLine(bool erase);

namespace internal {
class LogMessage {
 public:
  LogMessage(LogLevel level, const char* file, int line);
  ~LogMessage();
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* expression);
  [[noreturn]] ~CheckFailure();
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};
}  // namespace internal
}  // namespace ectrain

#define LOG_DEBUG ::ectrain::internal::LogMessage(::ectrain::LogLevel::kDebug, __FILE__, __LINE__).stream()
#define LOG_INFO ::ectrain::internal::LogMessage(::ectrain::LogLevel::kInfo, __FILE__, __LINE__).stream()
#define LOG_WARNING ::ectrain::internal::LogMessage(::ectrain::LogLevel::kWarning, __FILE__, __LINE__).stream()
#define LOG_ERROR ::ectrain::internal::LogMessage(::ectrain::LogLevel::kError, __FILE__, __LINE__).stream()

#define CHECK(cond) \
  if (cond) {       \
  } else            \
    ::ectrain::internal::CheckFailure(__FILE__, __LINE__, #cond).stream()
