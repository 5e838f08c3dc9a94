// Settings of the comm module, filled and validated by config/; plain values.
#pragma once

#include <string>

namespace ectrain::comm {

struct CommOptions {
  std::string backend = "auto";    // auto | local | mpi
  bool sparse_embeddings = true;   // exchange and update large embedding tables by touched rows
  bool host_shared_memory = true;  // ranks on one host meet in a shared segment, not MPI messages
  bool host_shared_model = true;   // ranks on one host hold one copy of parameters and optimizer state
  double bucket_mb = 4;            // gradient all-reduce buckets, started during backward (0: one pass after it)
  double timeout_seconds = 300;    // a collective waiting longer ends the job (stall watchdog)
};

}  // namespace ectrain::comm
