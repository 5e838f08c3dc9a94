#include "comm/no_gradient_exchange.h"

#include <cstdlib>
#include <cstring>

#include "comm/bucket_reducer.h"
#include "core/log.h"

namespace ectrain::comm {
namespace {
// Leaves every gradient as this rank computed it, and the row-sparse tables' rows as its own.
class NoExchangeReducer final : public BucketReducer {
 public:
  void Reserve(size_t) override {}
  void Start(std::span<float>) override {}
  void Reduce(std::span<float>) override {}
  void Wait() override {}
  void ExchangeRows(size_t, GatherReader&) override {}
};
}  // namespace

bool NoGradientExchangeRequested() {
  const char* value = std::getenv(kNoGradientExchangeVariable);
  return value != nullptr && *value != '\0' && std::strcmp(value, "0") != 0;
}

NoGradientExchangeCommunicator::NoGradientExchangeCommunicator(Communicator& target) : CommunicatorWrapper(target) {
  if (rank() == 0) {
    LOG_WARNING << kNoGradientExchangeVariable << " is set: the ranks exchange NO gradients (timing only, for "
                << "bench/comm_ceiling.sh); each rank steps on its own gradients, so the model, its metrics and "
                << "checkpoints are WRONG. Unset it to train.";
  }
}

std::unique_ptr<BucketReducer> NoGradientExchangeCommunicator::MakeBucketReducer() {
  return std::make_unique<NoExchangeReducer>();
}

}  // namespace ectrain::comm
