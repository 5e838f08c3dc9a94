#include "core/status.h"

namespace ectrain {
int Status::ExitCode() const {
  switch (code_) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kInvalidArgument:
      return 2;
    case StatusCode::kInterrupted:
      return 3;
    default:
      return 1;
  }
}
}  // namespace ectrain
