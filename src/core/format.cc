#include "core/format.h"

#include <cstdio>

namespace ectrain {

double Megabytes(int64_t bytes) { return static_cast<double>(bytes) / 1e6; }

std::string FormatMegabytes(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f MB", Megabytes(bytes));
  return text;
}

std::string FormatSeconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3f s", seconds);
  return text;
}

}  // namespace ectrain
