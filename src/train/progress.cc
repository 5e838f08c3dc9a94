#include "train/progress.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/log.h"

namespace ectrain::train {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);  // at most 10 redraws a second
// The bar's inside, in characters: narrower, no bar; the fields less useful than the bar only where it
// keeps kRoomyBar; wider says no more.
constexpr int kMinBar = 8;
constexpr int kRoomyBar = 20;
constexpr int kMaxBar = 40;
constexpr int kBarPriority = 4;

// Under mpirun, a rank's stderr (and its stdout, a pty Open MPI makes whether or not mpirun's own output is a
// terminal) is a pipe into mpirun, which copies it to its own stderr. A rank on mpirun's host is its child and
// sees that stderr, terminal or not, as /proc/<parent>/fd/2; -1 where that is no terminal.
int LauncherTerminal() {
  static const int fd = [] {
    if (std::getenv("OMPI_COMM_WORLD_SIZE") == nullptr) return -1;  // not started by Open MPI's mpirun
    const std::string path = "/proc/" + std::to_string(getppid()) + "/fd/2";
    int f = open(path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (f >= 0 && isatty(f) == 0) {
      close(f);
      f = -1;
    }
    return f;  // kept open for the terminal's size, which may change
  }();
  return fd;
}

// The terminal the log ends up on, or -1.
int LogTerminal() { return isatty(STDERR_FILENO) != 0 ? STDERR_FILENO : LauncherTerminal(); }

std::string Format(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, value);
  return buf;
}

// Fields keep their width from one redraw to the next (numbers padded), so that the bar keeps its.
std::string FormatRate(double samples_per_sec) {
  const std::string number = samples_per_sec >= 1e6   ? Format("%.2fM", samples_per_sec / 1e6)
                             : samples_per_sec >= 1e4 ? Format("%.1fk", samples_per_sec / 1e3)
                                                      : Format("%.0f", samples_per_sec);
  return std::string(std::max<size_t>(6, number.size()) - number.size(), ' ') + number + " samples/s";
}

std::string PadLeft(const std::string& text, size_t width) {
  return std::string(std::max(width, text.size()) - text.size(), ' ') + text;
}

// The fields of the live line in the order they are shown; `bar` marks where the bar goes.
struct Field {
  std::string text;
  int priority;  // fields are kept in this order (0 first) while they fit
  bool bar = false;
};

std::vector<Field> FieldsOf(const ProgressState& s) {
  const bool total_known = s.total_steps > 0;
  std::vector<Field> fields;
  if (s.num_epochs > 0) {
    fields.push_back({"epoch " + std::to_string(s.epoch + 1) + "/" + std::to_string(s.num_epochs), 7});
  }
  if (total_known) {
    fields.push_back({"", kBarPriority, true});
    const double fraction = std::clamp(static_cast<double>(s.step) / static_cast<double>(s.total_steps), 0.0, 1.0);
    fields.push_back({PadLeft(std::to_string(static_cast<int>(std::floor(fraction * 100.0))) + "%", 4), 0});
    const std::string total = std::to_string(s.total_steps);
    fields.push_back({PadLeft(std::to_string(s.step), total.size()) + "/" + total, 1});
  } else {
    fields.push_back({"step " + std::to_string(s.step), 0});
  }
  fields.push_back({Format("loss %7.4f", s.loss), 2});
  fields.push_back({FormatRate(s.samples_per_sec), 5});
  fields.push_back({"elapsed " + PadLeft(FormatDuration(s.elapsed_seconds), 5), 6});
  if (total_known) fields.push_back({FormatEta(s.eta_seconds), 3});
  return fields;
}

// The length of the kept fields joined by spaces, with `bar` characters inside the bar.
int LineLength(const std::vector<Field>& fields, const std::vector<bool>& kept, int bar) {
  int length = -1;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (kept[i]) length += 1 + (fields[i].bar ? bar + 2 : static_cast<int>(fields[i].text.size()));
  }
  return std::max(length, 0);
}

}  // namespace

bool LiveProgressWanted(const std::string& setting) {
  if (setting == "live") return true;
  if (setting == "lines") return false;
  return LogTerminal() >= 0;
}

int ProgressWidth(int terminal_columns, const char* columns_variable) {
  if (terminal_columns > 0) return terminal_columns;
  const int from_env = columns_variable != nullptr ? std::atoi(columns_variable) : 0;
  return from_env > 0 ? from_env : 80;
}

int ProgressWidth() {
  struct winsize size {};
  const int fd = LogTerminal();
  const int terminal_columns = fd >= 0 && ioctl(fd, TIOCGWINSZ, &size) == 0 ? size.ws_col : 0;
  return ProgressWidth(terminal_columns, std::getenv("COLUMNS"));
}

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

std::string FormatEta(double eta_seconds) {
  return "ETA " + PadLeft(eta_seconds < 0 || !std::isfinite(eta_seconds) ? "--:--" : FormatDuration(eta_seconds), 5);
}

std::string ProgressBar(double fraction, int inner) {
  if (!(fraction >= 0.0)) fraction = 0.0;  // NaN too
  const int done = static_cast<int>(std::floor(std::min(fraction, 1.0) * inner));
  return std::string(done, '#') + std::string(inner - done, '-');
}

std::string FormatProgressLine(const ProgressState& state, int width) {
  const int room = std::max(width - 1, 0);
  const std::vector<Field> fields = FieldsOf(state);
  std::vector<bool> kept(fields.size(), false);
  for (int priority = 0; priority <= 7; ++priority) {
    for (size_t i = 0; i < fields.size(); ++i) {
      if (fields[i].priority != priority) continue;
      kept[i] = true;
      if (LineLength(fields, kept, priority > kBarPriority ? kRoomyBar : kMinBar) > room) kept[i] = false;
    }
  }
  const int bar_inner = std::min(kMaxBar, kMinBar + room - LineLength(fields, kept, kMinBar));
  const double fraction = state.total_steps > 0 ? static_cast<double>(state.step) / state.total_steps : 0.0;
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (!kept[i]) continue;
    if (!line.empty()) line += ' ';
    line += fields[i].bar ? "[" + ProgressBar(fraction, bar_inner) + "]" : fields[i].text;
  }
  return line;
}

ProgressReporter::ProgressReporter(bool enabled, const std::string& progress, int64_t total_steps,
                                   int64_t log_every_steps)
    : enabled_(enabled),
      live_(LiveProgressWanted(progress)),
      total_steps_(total_steps),
      log_every_steps_(log_every_steps),
      start_(Clock::now()),
      first_update_(start_),
      last_draw_(start_) {
  // Every rank: under mpirun another rank's warning would otherwise run into rank 0's bar.
  if (live_) SetLogErasesLine(true);
}

ProgressReporter::~ProgressReporter() { Finish(); }

void ProgressReporter::Update(int64_t epoch, int64_t num_epochs, int64_t step, double loss, double samples_per_sec) {
  if (!enabled_) return;
  auto now = Clock::now();
  if (first_step_ < 0) {
    first_step_ = step - 1;
    first_update_ = now;
  }
  // The rate since the first update: the first step's warm-up would skew the ETA.
  const double done = static_cast<double>(step - first_step_ - 1);
  const double since_first = std::chrono::duration<double>(now - first_update_).count();
  state_ = {epoch,
            num_epochs,
            step,
            total_steps_,
            loss,
            samples_per_sec,
            std::chrono::duration<double>(now - start_).count(),
            done > 0 ? since_first / done * static_cast<double>(total_steps_ - step) : -1.0};
  const bool last = step == total_steps_;
  if (live_) {
    undrawn_ = true;
    if (now - last_draw_ >= kRedrawInterval || !drawn_ || last) Draw(now);
    return;
  }
  if (step % log_every_steps_ != 0 && !last) return;
  char line[200];
  std::snprintf(line, sizeof(line), "epoch %lld/%lld  step %lld/%lld  loss %.4f  %.0f samples/s  ETA %s",
                static_cast<long long>(epoch + 1), static_cast<long long>(num_epochs), static_cast<long long>(step),
                static_cast<long long>(total_steps_), loss, samples_per_sec,
                FormatDuration(std::max(state_.eta_seconds, 0.0)).c_str());
  LOG_INFO << line;
}

void ProgressReporter::Draw(Clock::time_point now) {
  last_draw_ = now;
  drawn_ = true;
  undrawn_ = false;
  ShowLiveLine(FormatProgressLine(state_, ProgressWidth()));
}

void ProgressReporter::Finish() {
  if (!enabled_ || !live_ || !drawn_) return;
  if (undrawn_) Draw(Clock::now());  // the last update was throttled
  EndLiveLine();
  drawn_ = false;
}

MetricsLog::MetricsLog(const std::string& path) : out_(path, std::ios::app) {}

void MetricsLog::Append(const std::string& json_line) {
  if (!out_.is_open()) return;
  out_ << json_line << "\n";
  out_.flush();
}

}  // namespace ectrain::train
