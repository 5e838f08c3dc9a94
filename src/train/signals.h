// Stop requests from signals. SIGTERM, SIGINT and SIGUSR1 (Slurm's warning signal) only set a
// flag here; the training loop agrees on it collectively at the next step boundary, writes a
// checkpoint on all ranks and exits with status 3. A second SIGINT or SIGTERM exits at once
// (status 128 + the signal: 130, 143), whatever the process is doing.
// Process-wide; async-signal-safe.
#pragma once

namespace ectrain::train {

// Installs the handlers (idempotent).
void InstallStopSignalHandlers();
// The number of the first stop signal received, or 0.
int StopSignalReceived();
// "SIGTERM", "SIGUSR1", ...
const char* SignalName(int signal_number);
// For tests: forget a received signal.
void ClearStopSignal();

}  // namespace ectrain::train
