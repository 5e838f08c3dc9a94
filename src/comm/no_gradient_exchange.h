// NoGradientExchangeCommunicator: for timing only (bench/comm_ceiling.sh), a decorator whose
// bucket reducer does nothing: no all-reduce of the whole tensors' gradients, no row-sparse
// exchange. Every other collective (the step agreement, broadcasts, barriers) goes to the target
// as usual. Numerically wrong: each rank steps on its own gradients, so its ranks' models drift
// apart. Chosen by the environment variable ECTRAIN_BENCH_NO_GRADIENT_EXCHANGE, read once where
// the communicator is made (cli/); rank 0 logs a warning that the results are wrong.
#pragma once

#include <memory>
#include <string>

#include "comm/communicator_wrapper.h"

namespace ectrain::comm {

// The variable that asks for it: set to anything but empty or "0".
inline constexpr char kNoGradientExchangeVariable[] = "ECTRAIN_BENCH_NO_GRADIENT_EXCHANGE";
bool NoGradientExchangeRequested();

class NoGradientExchangeCommunicator final : public CommunicatorWrapper {
 public:
  // Warns (rank 0) that results are wrong.
  explicit NoGradientExchangeCommunicator(Communicator& target);
  std::string name() const override { return target().name() + ", no gradient exchange: timing only"; }
  std::unique_ptr<BucketReducer> MakeBucketReducer() override;
};

}  // namespace ectrain::comm
