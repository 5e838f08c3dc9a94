// StepAgreement: what every rank must decide alike after a step's gradients are summed, agreed in
// one small all-reduce, so that no rank takes a path the others skip (a non-finite loss, a stop
// signal, a timed checkpoint, data that could not be read, a checkpoint that could not be written).
// Value type.
#pragma once

#include <cstdint>

#include "comm/communicator.h"

namespace ectrain::train {

struct StepAgreement {
  double loss = 0;                 // this rank's share of the global mean loss; agreed: the step's
  int64_t non_finite_ranks = 0;    // ranks whose loss was not finite
  int64_t read_failed_ranks = 0;   // ranks whose rows could not be read
  bool stop = false;               // a stop signal reached some rank
  bool checkpoint_due = false;     // checkpoint.every_minutes has passed (rank 0's clock)
  bool checkpoint_failed = false;  // rank 0's background checkpoint write failed

  // Collective: all ranks, same order. Sums the loss and the counts, ORs the flags.
  void Agree(comm::Communicator& comm);
  static constexpr int64_t kBytes = 6 * sizeof(double);  // what Agree sends, for the watchdog
};

}  // namespace ectrain::train
