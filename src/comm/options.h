// Settings of the comm module, filled and validated by config/; plain values.
#pragma once

#include <string>

namespace ectrain::comm {

struct CommOptions {
  std::string backend = "auto";  // auto | local | mpi
};

}  // namespace ectrain::comm
