#include "train/step_agreement.h"

#include <array>
#include <span>

namespace ectrain::train {

void StepAgreement::Agree(comm::Communicator& comm) {
  std::array<double, 6> values{loss,
                               static_cast<double>(non_finite_ranks),
                               static_cast<double>(read_failed_ranks),
                               stop ? 1.0 : 0.0,
                               checkpoint_due ? 1.0 : 0.0,
                               checkpoint_failed ? 1.0 : 0.0};
  static_assert(sizeof(values) == kBytes);
  comm.AllReduce(std::span<double>(values));
  loss = values[0];
  non_finite_ranks = static_cast<int64_t>(values[1]);
  read_failed_ranks = static_cast<int64_t>(values[2]);
  stop = values[3] > 0;
  checkpoint_due = values[4] > 0;
  checkpoint_failed = values[5] > 0;
}

}  // namespace ectrain::train
