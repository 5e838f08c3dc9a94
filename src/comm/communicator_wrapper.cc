#include "comm/communicator_wrapper.h"

#include <cstdlib>

#include "core/log.h"

namespace ectrain::comm {

CommunicatorWrapper::CommunicatorWrapper(std::unique_ptr<Communicator> target)
    : owned_(std::move(target)), target_(owned_.get()) {
  CHECK(target_ != nullptr) << "a communicator wrapper needs a communicator to wrap";
}

void CommunicatorWrapper::Abort(int exit_code) {
  target_->Abort(exit_code);
  std::_Exit(exit_code);  // not reached (a virtual call's [[noreturn]] is not the compiler's to see)
}

}  // namespace ectrain::comm
