#include "train/signals.h"

#include <unistd.h>

#include <atomic>
#include <csignal>

namespace ectrain::train {
namespace {
std::atomic<int> g_stop_signal{0};
std::atomic<int> g_interrupts{0};

void OnStopSignal(int signal_number) {
  // A second SIGINT or SIGTERM (not SIGUSR1, Slurm's warning, which may come more than once)
  // stops at once: whatever the process is doing, it answers.
  if (signal_number != SIGUSR1 && g_interrupts.fetch_add(1) >= 1) {
    constexpr char kMessage[] = "\nectrain: second stop signal: stopping at once, without a checkpoint\n";
    (void)!write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
    _exit(128 + signal_number);
  }
  int expected = 0;
  g_stop_signal.compare_exchange_strong(expected, signal_number);
}
}  // namespace

void InstallStopSignalHandlers() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int s : {SIGTERM, SIGINT, SIGUSR1}) sigaction(s, &action, nullptr);
}

int StopSignalReceived() { return g_stop_signal.load(); }

void ClearStopSignal() {
  g_stop_signal = 0;
  g_interrupts = 0;
}

const char* SignalName(int signal_number) {
  switch (signal_number) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGUSR1:
      return "SIGUSR1";
    default:
      return "a signal";
  }
}

}  // namespace ectrain::train
