// Numbers as the log lines show them. Pure functions.
#pragma once

#include <cstdint>
#include <string>

namespace ectrain {

// Decimal megabytes (1e6 bytes), as the log, metrics.jsonl's *_mb and `ectrain plan` count them.
double Megabytes(int64_t bytes);
// "12.3 MB" (decimal megabytes, one decimal).
std::string FormatMegabytes(int64_t bytes);
// "0.123 s".
std::string FormatSeconds(double seconds);

}  // namespace ectrain
